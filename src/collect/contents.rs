//! `image --contents`: an AMI's files read from its root snapshot's blocks through the EBS direct APIs,
//! with no volume and no instance. Only the blocks the filesystem walk needs are fetched: the partition
//! table, the filesystem's metadata along the paths the content rules read, and those files.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::OnceCell;

use crate::aws::{Aws, BlockList};
use crate::facts::{CollectError, ContentsFacts, SnapshotRead};
use crate::rootfs::{self, disk::Disk};

/// Blocks kept in memory per snapshot (64 MiB): a filesystem walk comes back to its metadata (inode
/// clusters, directory blocks) often, and to file data rarely; a large /var spreads its metadata over
/// a hundred blocks or more, and a block evicted is a block paid for twice.
const CACHE_BLOCKS: usize = 128;
/// Most blocks one prefetch hint starts fetching: most of the cache, never all of it (a directory of
/// thousands of entries must not evict what the walk is in the middle of). Measured on a /var of 9,174
/// entries: 32 left the walk at 5.7 s, 96 at 4.3 s, with the same blocks fetched.
const PREFETCH_BLOCKS: usize = 96;
/// Blocks fetched ahead of a run of consecutive reads (a file or directory read front to back).
const READ_AHEAD: u64 = 2;
/// Most blocks one snapshot may cost (512 MiB): far above what reading the content rules' files
/// takes (tens of blocks), low enough that a hostile filesystem sending the reader all over the
/// volume stops with an error instead of downloading it.
pub const MAX_BLOCKS: u64 = 1024;

/// EBS direct API prices in us-east-1 (USD per 1,000 requests), for the estimate in the report.
const PRICE_LIST_PER_1000: f64 = 0.0006;
const PRICE_GET_PER_1000: f64 = 0.003;

/// Read the root filesystem of snapshot `snapshot_id`: the content facts, and what reading cost. An
/// error is the snapshot that could not be read at all (listing denied, no readable filesystem, …).
pub async fn read_snapshot(
    aws: &Aws,
    snapshot_id: &str,
) -> (Result<ContentsFacts, String>, SnapshotRead) {
    let started = Instant::now();
    let mut read = SnapshotRead {
        snapshot_id: snapshot_id.to_string(),
        ..Default::default()
    };
    let list = match aws.snapshot_blocks(snapshot_id).await {
        Ok(list) => list,
        Err(error) => {
            read.elapsed_ms = started.elapsed().as_millis() as u64;
            read.error = Some(not_read(&error));
            return (Err(not_read(&error)), read);
        }
    };
    read.list_calls = list.pages;
    read.volume_gib = list.volume_bytes >> 30;
    read.blocks_listed = list.tokens.len() as u64;
    let disk = Arc::new(SnapshotDisk::new(
        aws.clone(),
        tokio::runtime::Handle::current(),
        snapshot_id,
        list,
    ));
    let reader = Arc::clone(&disk);
    let name = snapshot_id.to_string();
    let walked = tokio::task::spawn_blocking(move || {
        let (fs, located) = rootfs::open_root(reader)?;
        Ok::<_, String>((rootfs::read_image(&*fs, &PathBuf::from(name)), located))
    })
    .await;
    disk.stop_reading_ahead().await;
    read.blocks_fetched = disk.fetched.load(Ordering::Relaxed);
    read.bytes_fetched = read.blocks_fetched * disk.list.block_size;
    read.estimated_cost_usd = (read.list_calls as f64 * PRICE_LIST_PER_1000
        + read.blocks_fetched as f64 * PRICE_GET_PER_1000)
        / 1000.0;
    read.elapsed_ms = started.elapsed().as_millis() as u64;
    let facts = match walked {
        Ok(Ok((facts, located))) => {
            read.filesystem = Some(located.to_string());
            Ok(facts)
        }
        Ok(Err(why)) => Err(why),
        Err(join) => Err(format!("the filesystem reader stopped: {join}")),
    };
    read.error = facts.as_ref().err().cloned();
    (facts, read)
}

/// One line for a snapshot that could not be listed, naming the IAM action when it was denied.
fn not_read(error: &CollectError) -> String {
    error.to_string()
}

/// A snapshot as a [`Disk`]: blocks fetched on first read (several at once when a read spans them),
/// verified, cached (a bounded number), and blocks never written read as zeros without a call.
///
/// Filesystem readers are synchronous; they run on a blocking thread, and each read waits there for
/// the fetches it needs, made on the runtime through the run's gate (budget, pacing, retries).
struct SnapshotDisk {
    aws: Aws,
    handle: tokio::runtime::Handle,
    snapshot_id: Arc<str>,
    list: BlockList,
    cache: Mutex<BlockCache>,
    /// Blocks asked for so far, read ahead included: what [`MAX_BLOCKS`] bounds.
    asked: Arc<AtomicU64>,
    /// Blocks fetched and verified: what the report counts.
    fetched: Arc<AtomicU64>,
    /// Fetches started ahead of the reads, to stop when the walk is over.
    ahead: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

/// A block being fetched or fetched: every reader of it waits on the same fetch.
type Slot = Arc<OnceCell<Result<Arc<[u8]>, String>>>;
/// Blocks to fetch, each with its slot.
type Wanted = Vec<(u64, Slot)>;

#[derive(Default)]
struct BlockCache {
    slots: HashMap<u64, Slot>,
    /// Blocks by last use, oldest first.
    order: VecDeque<u64>,
    /// Where the last read ended: a read starting there continues a front-to-back run.
    end: Option<u64>,
}

impl BlockCache {
    /// The slot of `block`, made if new, marked as just used; the oldest slots beyond the cache's size
    /// are dropped (a fetch in flight finishes for whoever holds its slot).
    fn slot(&mut self, block: u64) -> Slot {
        self.order.retain(|b| *b != block);
        self.order.push_back(block);
        let slot = Arc::clone(self.slots.entry(block).or_default());
        while self.order.len() > CACHE_BLOCKS {
            if let Some(old) = self.order.pop_front() {
                self.slots.remove(&old);
            }
        }
        slot
    }
}

impl SnapshotDisk {
    fn new(aws: Aws, handle: tokio::runtime::Handle, snapshot_id: &str, list: BlockList) -> Self {
        Self {
            aws,
            handle,
            snapshot_id: snapshot_id.into(),
            list,
            cache: Mutex::default(),
            asked: Arc::default(),
            fetched: Arc::default(),
            ahead: Mutex::default(),
        }
    }

    /// The bytes of written block `block`, fetched once.
    async fn block(fetch: Fetch, block: u64, slot: Slot) -> Result<Arc<[u8]>, String> {
        slot.get_or_init(|| async move {
            if fetch.asked.fetch_add(1, Ordering::Relaxed) >= MAX_BLOCKS {
                return Err(format!(
                    "reading it took more than {MAX_BLOCKS} blocks of {}; stopped (a filesystem whose \
                     structures send the reader all over the volume)",
                    fetch.snapshot_id
                ));
            }
            let bytes = fetch
                .aws
                .snapshot_block(&fetch.snapshot_id, block, &fetch.token)
                .await
                .map_err(|e| e.to_string())?;
            fetch.fetched.fetch_add(1, Ordering::Relaxed);
            Ok(Arc::from(bytes))
        })
        .await
        .clone()
    }

    /// The fetch of written block `block` into `slot`.
    fn fetch(
        &self,
        block: u64,
        slot: Slot,
    ) -> impl std::future::Future<Output = Result<Arc<[u8]>, String>> + use<> {
        let job = Fetch {
            aws: self.aws.clone(),
            snapshot_id: Arc::clone(&self.snapshot_id),
            token: self.list.tokens.get(&block).cloned().unwrap_or_default(),
            asked: Arc::clone(&self.asked),
            fetched: Arc::clone(&self.fetched),
        };
        Self::block(job, block, slot)
    }

    /// Fetch `jobs` in the background: a later read of one of their blocks waits on the same slot.
    fn fetch_ahead(&self, jobs: Wanted) {
        if jobs.is_empty() {
            return;
        }
        let mut running = self.ahead.lock().unwrap_or_else(|e| e.into_inner());
        running.retain(|h| !h.is_finished());
        for (block, slot) in jobs {
            let task = self.fetch(block, slot);
            running.push(self.handle.spawn(async move {
                let _ = task.await;
            }));
        }
    }

    /// Stop the fetches still running ahead of a walk that is over: their blocks will not be read.
    async fn stop_reading_ahead(&self) {
        let handles = std::mem::take(&mut *self.ahead.lock().unwrap_or_else(|e| e.into_inner()));
        for handle in handles {
            handle.abort();
            let _ = handle.await;
        }
    }
}

/// What one block's fetch needs, owned, so it can run on its own task.
struct Fetch {
    aws: Aws,
    snapshot_id: Arc<str>,
    token: String,
    asked: Arc<AtomicU64>,
    fetched: Arc<AtomicU64>,
}

impl Disk for SnapshotDisk {
    fn size(&self) -> u64 {
        self.list.volume_bytes
    }

    fn prefetch(&self, offsets: &[u64]) {
        let size = self.list.block_size;
        let mut blocks: Vec<u64> = offsets
            .iter()
            .map(|o| o / size)
            .filter(|b| self.list.tokens.contains_key(b))
            .collect();
        blocks.sort_unstable();
        blocks.dedup();
        let jobs: Wanted = {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            let new: Vec<u64> = blocks
                .into_iter()
                .filter(|b| !cache.slots.contains_key(b))
                .take(PREFETCH_BLOCKS)
                .collect();
            new.into_iter().map(|b| (b, cache.slot(b))).collect()
        };
        self.fetch_ahead(jobs);
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        if !rootfs::disk::fits(offset, buf.len(), self.size()) {
            return Err(rootfs::disk::past_end(offset, buf.len(), self.size()));
        }
        if buf.is_empty() {
            return Ok(());
        }
        let size = self.list.block_size;
        let first = offset / size;
        let last = (offset + buf.len() as u64 - 1) / size;
        let written = |b: &u64| self.list.tokens.contains_key(b);
        // The blocks this read needs, then those worth fetching ahead when reads run front to back.
        let (needed, ahead): (Wanted, Wanted) = {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            let sequential = cache.end == Some(offset);
            cache.end = Some(offset + buf.len() as u64);
            let needed = (first..=last)
                .filter(written)
                .map(|b| (b, cache.slot(b)))
                .collect();
            let ahead = if sequential {
                let new: Vec<u64> = (last + 1..=last + READ_AHEAD)
                    .filter(written)
                    .filter(|b| !cache.slots.contains_key(b))
                    .collect();
                new.into_iter().map(|b| (b, cache.slot(b))).collect()
            } else {
                Vec::new()
            };
            (needed, ahead)
        };
        self.fetch_ahead(ahead);
        let blocks: Vec<u64> = needed.iter().map(|(b, _)| *b).collect();
        let fetched = self.handle.block_on(futures::future::join_all(
            needed
                .into_iter()
                .map(|(block, slot)| self.fetch(block, slot)),
        ));
        buf.fill(0);
        for (block, bytes) in blocks.into_iter().zip(fetched) {
            let bytes = bytes.map_err(io::Error::other)?;
            let block_start = block * size;
            let from = offset.max(block_start);
            let to = (offset + buf.len() as u64).min(block_start + size);
            let src = bytes
                .get((from - block_start) as usize..(to - block_start) as usize)
                .ok_or_else(|| io::Error::other(format!("block {block} is short")))?;
            buf[(from - offset) as usize..(to - offset) as usize].copy_from_slice(src);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::replay::{ReplayServer, Scenario, SnapshotRecording};

    const SNAP: &str = "snap-0123456789abcdef0";
    const BLOCK: usize = crate::aws::BLOCK_SIZE as usize;

    /// A 1 GiB snapshot whose written blocks are `written`, block `i` filled with byte `i`.
    fn scenario(written: &[u64], edit: impl FnOnce(&std::path::Path)) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let recording = SnapshotRecording {
            volume_gib: 1,
            listed: written.to_vec(),
            read: written
                .iter()
                .map(|&i| (i, vec![i as u8 + 1; BLOCK]))
                .collect::<BTreeMap<_, _>>(),
            ..Default::default()
        };
        write(dir.path(), &recording);
        edit(dir.path());
        dir
    }

    /// A scenario of one recorded snapshot, `SNAP`, in `dir`.
    fn write(dir: &std::path::Path, recording: &SnapshotRecording) {
        std::fs::write(dir.join("exchanges.json"), r#"{"exchanges": []}"#).expect("index");
        for (path, bytes) in recording.files(SNAP) {
            let path = dir.join(path);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, bytes).expect("write");
        }
    }

    /// The snapshot as a disk, through a replay server, on a blocking thread as the reader runs.
    async fn with_disk<T: Send + 'static>(
        dir: &std::path::Path,
        read: impl FnOnce(&SnapshotDisk) -> T + Send + 'static,
    ) -> (T, ReplayServer) {
        let server = ReplayServer::start(Scenario::load(dir).expect("scenario")).await;
        let aws = Aws::for_replay(&server.url(), "us-east-1", 1).expect("clients");
        let list = aws.snapshot_blocks(SNAP).await.expect("listed");
        let disk = SnapshotDisk::new(aws, tokio::runtime::Handle::current(), SNAP, list);
        let out = tokio::task::spawn_blocking(move || read(&disk))
            .await
            .expect("reader");
        (out, server)
    }

    fn gets(server: &ReplayServer) -> usize {
        server
            .log()
            .requests
            .iter()
            .filter(|(key, _)| key.action == "GetSnapshotBlock")
            .count()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn blocks_are_fetched_once_and_unwritten_ones_read_as_zeros() {
        let dir = scenario(&[1, 2, 7], |_| {});
        let ((first, again, zeros, fetched), server) = with_disk(dir.path(), |disk| {
            // Across blocks 1 and 2 (both written), then the same bytes again from the cache.
            let mut buf = vec![0u8; 16];
            disk.read_at(2 * BLOCK as u64 - 8, &mut buf).expect("read");
            let first = buf.clone();
            disk.read_at(2 * BLOCK as u64 - 8, &mut buf).expect("read");
            // Block 5 was never written: zeros without a call.
            let mut zeros = vec![9u8; 32];
            disk.read_at(5 * BLOCK as u64 + 100, &mut zeros)
                .expect("read");
            (first, buf, zeros, disk.fetched.load(Ordering::Relaxed))
        })
        .await;
        assert_eq!(first, [[2u8; 8], [3u8; 8]].concat());
        assert_eq!(again, first);
        assert!(zeros.iter().all(|b| *b == 0));
        assert_eq!(fetched, 2);
        assert_eq!(gets(&server), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_front_to_back_fetch_ahead() {
        let dir = scenario(&[0, 1, 2, 3, 4, 5], |_| {});
        let ((scattered, fetched), server) = with_disk(dir.path(), |disk| {
            // Two reads that do not follow each other: no read-ahead.
            let mut buf = vec![0u8; 4096];
            disk.read_at(100, &mut buf).expect("read");
            disk.read_at(BLOCK as u64 + 7, &mut buf).expect("read");
            let scattered = disk.fetched.load(Ordering::Relaxed);
            // A read that continues the last one: the next two written blocks are fetched ahead.
            disk.read_at(BLOCK as u64 + 7 + 4096, &mut buf)
                .expect("read");
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while disk.fetched.load(Ordering::Relaxed) < 4 && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let mut next = vec![0u8; 8];
            disk.read_at(2 * BLOCK as u64, &mut next).expect("read");
            assert_eq!(next[0], 3);
            (scattered, disk.fetched.load(Ordering::Relaxed))
        })
        .await;
        assert_eq!(scattered, 2);
        // Blocks 0 and 1 read, 2 and 3 fetched ahead (and 2 then read from there): never one twice.
        assert_eq!(fetched, 4);
        let asked: Vec<String> = server
            .log()
            .requests
            .iter()
            .filter(|(key, _)| key.action == "GetSnapshotBlock")
            .map(|(key, _)| key.params["BlockIndex"].to_string())
            .collect();
        assert_eq!(asked.len(), 4, "{asked:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_block_that_fails_its_checksum_is_an_error_not_data() {
        let dir = scenario(&[0, 1], |dir| {
            // Block 1's bytes changed after its checksum was recorded.
            std::fs::write(dir.join("ebs").join(SNAP).join("1.bin"), [0xffu8; 64]).expect("edit");
        });
        let ((good, bad), _server) = with_disk(dir.path(), |disk| {
            let mut buf = [0u8; 8];
            let good = disk.read_at(0, &mut buf).map(|_| buf);
            let bad = disk.read_at(BLOCK as u64, &mut buf).map(|_| buf);
            (good, bad)
        })
        .await;
        assert_eq!(good.expect("block 0 reads"), [1u8; 8]);
        let error = bad.expect_err("block 1 must not read").to_string();
        assert!(error.contains("ChecksumMismatch"), "{error}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_past_the_volume_and_beyond_the_block_budget_stop() {
        let written: Vec<u64> = (0..MAX_BLOCKS + 8).collect();
        let dir = tempfile::tempdir().expect("temp dir");
        // Listed, never read: the budget stops the reader before it asks for them.
        let recording = SnapshotRecording {
            volume_gib: 1,
            listed: written,
            read: BTreeMap::from([(0, vec![1u8; BLOCK])]),
            ..Default::default()
        };
        write(dir.path(), &recording);
        let ((past, budget), server) = with_disk(dir.path(), |disk| {
            let mut buf = [0u8; 8];
            let past = disk.read_at((1 << 30) - 4, &mut buf);
            disk.asked.store(MAX_BLOCKS, Ordering::Relaxed);
            let budget = disk.read_at(0, &mut buf);
            (past, budget)
        })
        .await;
        assert!(
            past.expect_err("past the end")
                .to_string()
                .contains("past the end")
        );
        let error = budget.expect_err("over budget").to_string();
        assert!(
            error.contains(&format!("more than {MAX_BLOCKS} blocks")),
            "{error}"
        );
        assert_eq!(gets(&server), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_prefetch_hint_fetches_written_blocks_together_once() {
        let dir = scenario(&[1, 3, 4], |_| {});
        let (fetched, server) = with_disk(dir.path(), |disk| {
            // Blocks 3 and 4 (twice), and 2, which was never written: nothing to fetch there.
            let b = BLOCK as u64;
            disk.prefetch(&[3 * b + 10, 4 * b, 4 * b + 99, 2 * b]);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            while disk.fetched.load(Ordering::Relaxed) < 2 && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let mut buf = [0u8; 4];
            disk.read_at(4 * b, &mut buf).expect("read");
            assert_eq!(buf, [5u8; 4]);
            disk.fetched.load(Ordering::Relaxed)
        })
        .await;
        assert_eq!(fetched, 2);
        assert_eq!(gets(&server), 2, "the read waited on the prefetched block");
    }
}
