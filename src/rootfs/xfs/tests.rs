//! Over real images made by mkfs.xfs 6.1 (see `testdata/README.md`), and those images with structures
//! broken on purpose.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::super::disk::{Disk, MemDisk, SparseDisk};
use super::*;

fn load(name: &str) -> Arc<SparseDisk> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("src/rootfs/xfs/testdata")
        .join(name);
    Arc::new(SparseDisk::load_recorded(&dir).expect("test image"))
}

fn open(name: &str) -> XfsFs {
    XfsFs::open(load(name)).expect("opens")
}

fn p(path: &str) -> ImagePath {
    ImagePath::new(path)
}

fn text(fs: &XfsFs, path: &str) -> String {
    String::from_utf8(fs.read_file(&p(path), 1 << 20).expect(path)).expect("utf-8")
}

fn names(fs: &XfsFs, path: &str) -> Vec<String> {
    fs.read_dir(&p(path))
        .expect(path)
        .into_iter()
        .map(|e| e.name.to_string_lossy().into_owned())
        .collect()
}

fn kind(result: Result<impl std::fmt::Debug, FsError>) -> FsErrorKind {
    result.expect_err("an error").kind
}

/// A disk with bytes changed, remembering where it was read.
struct Patched {
    base: Arc<dyn Disk>,
    patches: BTreeMap<u64, u8>,
    reads: Mutex<Vec<(u64, usize)>>,
}

impl Patched {
    fn new(base: Arc<dyn Disk>) -> Self {
        Self {
            base,
            patches: BTreeMap::new(),
            reads: Mutex::new(Vec::new()),
        }
    }

    /// Change `len` bytes at `offset` with `f`, then stamp a CRC at `crc_at` in them.
    fn patch(&mut self, offset: u64, len: usize, crc_at: Option<usize>, f: impl FnOnce(&mut [u8])) {
        let mut buf = vec![0u8; len];
        self.read_at(offset, &mut buf).expect("in the image");
        f(&mut buf);
        if let Some(at) = crc_at {
            crc::stamp(&mut buf, at);
        }
        for (i, b) in buf.into_iter().enumerate() {
            self.patches.insert(offset + i as u64, b);
        }
    }
}

impl Disk for Patched {
    fn size(&self) -> u64 {
        self.base.size()
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.base.read_at(offset, buf)?;
        self.reads.lock().expect("lock").push((offset, buf.len()));
        let end = offset + buf.len() as u64;
        for (at, b) in self.patches.range(offset..end) {
            buf[(at - offset) as usize] = *b;
        }
        Ok(())
    }
}

/// Where inode `ino` is on the disk.
fn inode_offset(fs: &XfsFs, ino: u64) -> u64 {
    let (block, within) = fs.blocks.sb.inode_location(ino).expect("inode");
    block + within as u64
}

fn ino(fs: &XfsFs, path: &str) -> u64 {
    fs.symlink_metadata(&p(path)).expect(path).inode
}

/// The v5 image with `f` applied to it, opened.
fn broken(f: impl FnOnce(&XfsFs, &mut Patched)) -> XfsFs {
    let base = load("v5");
    let fs = XfsFs::open(base.clone()).expect("opens");
    let mut disk = Patched::new(base);
    f(&fs, &mut disk);
    XfsFs::open(Arc::new(disk)).expect("still opens")
}

#[test]
fn reads_what_the_auditor_reads() {
    let fs = open("v5");
    assert!(text(&fs, "/etc/passwd").starts_with("root:x:0:0:"));
    assert!(text(&fs, "etc/group").contains("hadoop:x:1000:"));
    assert!(text(&fs, "etc/os-release").contains("VERSION_ID=\"2023\""));
    assert!(text(&fs, "etc/resolv.conf").contains("options rotate"));
    assert_eq!(names(&fs, "etc/NetworkManager/conf.d"), ["90-dns.conf"]);
    assert_eq!(
        names(&fs, "lib/modules"),
        ["5.10.0-2.amzn2.x86_64", "6.1.0-1.amzn2023.x86_64"]
    );
    assert_eq!(names(&fs, "boot"), ["vmlinuz-6.1.0-1.amzn2023.x86_64"]);
    let passwd = fs.metadata(&p("etc/passwd")).expect("passwd");
    assert_eq!(
        (passwd.kind, passwd.size, passwd.device, passwd.inode),
        (NodeKind::File, 75, 1, 136)
    );
    let link = p("etc/os-release");
    assert_eq!(
        fs.symlink_metadata(&link).expect("lstat").kind,
        NodeKind::Symlink
    );
    assert_eq!(fs.metadata(&link).expect("stat").kind, NodeKind::File);
    assert_eq!(fs.read_link(&link).expect("link"), "../usr/lib/os-release");
    let wants = "etc/systemd/system/multi-user.target.wants/amazon-ssm-agent.service";
    assert_eq!(fs.metadata(&p(wants)).expect("wants").kind, NodeKind::File);
    assert_eq!(
        fs.read_link(&p(wants)).expect("link"),
        "/usr/lib/systemd-ssm.service"
    );
    let root = fs.metadata(&ImagePath::root()).expect("root");
    assert_eq!((root.kind, root.inode), (NodeKind::Dir, 128));
    let emr = fs.read_dir(&p("emr")).expect("emr");
    assert_eq!(emr[0].node.as_ref().expect("blob").size, 12345);
}

#[test]
fn leaf_and_node_directories() {
    let fs = open("v5");
    let leaf = names(&fs, "usr/leafdir");
    assert_eq!(leaf.len(), 200);
    let node = names(&fs, "usr/nodedir");
    assert_eq!(node.len(), 1500);
    assert!(node.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        text(&fs, "usr/nodedir/entry-number-1499"),
        text(&fs, "etc/group")
    );
    assert!(
        fs.metadata(&p("usr/nodedir/entry-number-1501"))
            .expect_err("absent")
            .is_absent()
    );
}

#[test]
fn btree_files_and_sparse_sizes() {
    let fs = open("v5");
    let frag = fs.read_file(&p("var/lib/x/frag"), 1 << 20).expect("frag");
    assert_eq!(frag.len(), 487_424);
    let (zeros, last) = frag.split_at(frag.len() - 4096);
    assert!(zeros.iter().all(|b| *b == 0) && last.iter().all(|b| *b == b'Z'));
    let huge = p("var/lib/x/huge");
    assert_eq!(fs.metadata(&huge).expect("huge").size, 1 << 40);
    assert!(matches!(
        kind(fs.read_file(&huge, u64::MAX)),
        FsErrorKind::TooLarge { size: Some(s), .. } if s == 1 << 40
    ));
    assert!(matches!(
        kind(fs.read_file(&p("etc/passwd"), 10)),
        FsErrorKind::TooLarge {
            size: Some(75),
            cap: 10
        }
    ));
}

#[test]
fn links_resolve_inside_the_image() {
    let fs = open("v5");
    assert_eq!(text(&fs, "var/lib/x/escape"), text(&fs, "etc/passwd"));
    assert_eq!(text(&fs, "var/lib/x/abs"), text(&fs, "etc/group"));
    assert_eq!(
        fs.read_link(&p("var/lib/x/remote")).expect("remote").len(),
        511
    );
    assert_eq!(text(&fs, "var/lib/x/remote"), text(&fs, "etc/passwd"));
    let long = fs
        .read_link(&p("var/lib/x/remote1000"))
        .expect("remote1000");
    assert!(long.len() == 1000 && long.as_bytes().iter().all(|b| *b == b'x'));
    assert!(matches!(
        kind(fs.metadata(&p("var/lib/x/loop1"))),
        FsErrorKind::LinkLoop
    ));
    assert_eq!(
        fs.symlink_metadata(&p("var/lib/x/loop1"))
            .expect("lstat")
            .kind,
        NodeKind::Symlink
    );
    let dangling = fs.metadata(&p("var/lib/x/dangling")).expect_err("dangling");
    assert!(dangling.is_absent());
    assert_eq!(dangling.resolved, Some(p("var/lib/x/nowhere")));
    assert_eq!(text(&fs, "/../../a/b/../b/c/./file"), "deep\n");
    assert!(matches!(
        kind(fs.metadata(&p("etc/passwd/x"))),
        FsErrorKind::NotADirectory
    ));
    assert!(matches!(
        kind(fs.read_link(&p("etc/passwd"))),
        FsErrorKind::WrongKind {
            found: NodeKind::File,
            wanted: NodeKind::Symlink
        }
    ));
    assert!(matches!(
        kind(fs.read_file(&p("var/lib/x/fifo"), 1 << 20)),
        FsErrorKind::WrongKind {
            found: NodeKind::Fifo,
            wanted: NodeKind::File
        }
    ));
    assert!(matches!(
        kind(fs.read_dir(&p("etc/passwd"))),
        FsErrorKind::WrongKind {
            found: NodeKind::File,
            wanted: NodeKind::Dir
        }
    ));
    assert_eq!(
        fs.metadata(&p("var/lib/x/null")).expect("null").kind,
        NodeKind::CharDevice
    );
}

#[test]
fn names_are_bytes() {
    let fs = open("v5");
    let entries = fs.read_dir(&p("var/lib/x")).expect("x");
    let odd = OsStr::from_bytes(b"esc\x1b[31mname\xff");
    let entry = entries.iter().find(|e| e.name == odd).expect("listed");
    assert_eq!(entry.node.as_ref().expect("node").kind, NodeKind::File);
    assert!(fs.metadata(&ImagePath::new("var/lib/x").join(odd)).is_ok());
}

#[test]
fn other_geometries() {
    // 1 KiB blocks, 8 KiB directory blocks, 64-bit extent counters, reflink.
    let fs = open("v5-1k-blocks");
    assert_eq!(names(&fs, "usr/nodedir").len(), 1500);
    assert_eq!(names(&fs, "usr/leafdir").len(), 200);
    assert_eq!(
        fs.read_link(&p("var/lib/x/remote1000"))
            .expect("remote")
            .len(),
        1000
    );
    assert_eq!(text(&fs, "var/lib/x/remote"), text(&fs, "etc/passwd"));
    assert_eq!(
        fs.read_file(&p("var/lib/x/frag"), 1 << 20)
            .expect("frag")
            .len(),
        487_424
    );
    // v4: no CRCs, no file types in entries, 4 KiB directory blocks of 1 KiB blocks.
    let fs = open("v4");
    assert_eq!(names(&fs, "usr/leafdir").len(), 400);
    assert_eq!(text(&fs, "etc/remote"), "root:x:0:0:root:/root:/bin/bash\n");
    assert_eq!(text(&fs, "etc/escape"), "root:x:0:\n");
    assert!(text(&fs, "etc/os-release").contains("VERSION_ID=\"2\""));
    assert!(matches!(
        kind(fs.metadata(&p("etc/loop1"))),
        FsErrorKind::LinkLoop
    ));
    let kinds: Vec<NodeKind> = fs
        .read_dir(&p("etc"))
        .expect("etc")
        .into_iter()
        .map(|e| e.node.expect("node").kind)
        .collect();
    assert!(kinds.contains(&NodeKind::Fifo) && kinds.contains(&NodeKind::CharDevice));
}

#[test]
fn open_says_why_not() {
    let too_small = XfsFs::open(Arc::new(MemDisk(vec![0; 100])))
        .err()
        .expect("small");
    assert!(too_small.contains("cannot read"), "{too_small}");
    let zeros = XfsFs::open(Arc::new(MemDisk(vec![0; 4096])))
        .err()
        .expect("zeros");
    assert!(zeros.contains("magic"), "{zeros}");
    assert!(is_xfs(b"XFSB\0\0\x10\0") && !is_xfs(b"XFS") && !is_xfs(&[0; 512]));
    let patched = |f: fn(&mut [u8]), stamp: bool| {
        let mut disk = Patched::new(load("v5"));
        disk.patch(0, 512, stamp.then_some(224), f);
        XfsFs::open(Arc::new(disk)).err().expect("refused")
    };
    let metadir = patched(|sb| sb[218] |= 1, true); // incompat bit 8
    assert!(metadir.contains("metadir"), "{metadir}");
    let crc = patched(|sb| sb[100] ^= 0x40, false);
    assert!(crc.contains("checksum"), "{crc}");
    let geometry = patched(
        |sb| sb[88..92].copy_from_slice(&1000u32.to_be_bytes()),
        true,
    );
    assert!(geometry.contains("corrupt XFS superblock"), "{geometry}");
    let truncated = Arc::new(Slice(load("v5"), 500 << 20));
    let truncated = XfsFs::open(truncated).err().expect("truncated");
    assert!(truncated.contains("larger than its"), "{truncated}");
}

/// The first `1` bytes of a disk.
struct Slice(Arc<SparseDisk>, u64);

impl Disk for Slice {
    fn size(&self) -> u64 {
        self.1
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        self.0.read_at(offset, buf)
    }
}

#[test]
fn a_broken_directory_block_is_corrupt_not_absent() {
    let fs = broken(|fs, disk| {
        let dir = fs.inode(ino(fs, "usr/nodedir")).expect("inode");
        let first = bmap::extents(&fs.blocks, &dir, u64::MAX).expect("map")[0];
        let at = fs.blocks.sb.block_offset(first.block).expect("block");
        disk.patch(at + 200, 1, None, |b| b[0] ^= 0x20);
    });
    for path in ["usr/nodedir/entry-number-5", "usr/nodedir/no-such-name"] {
        assert!(
            matches!(kind(fs.metadata(&p(path))), FsErrorKind::Corrupt(_)),
            "{path}"
        );
    }
    assert!(matches!(
        kind(fs.read_dir(&p("usr/nodedir"))),
        FsErrorKind::Corrupt(_)
    ));
}

#[test]
fn a_directory_linked_into_its_own_subtree_is_corrupt() {
    let fs = broken(|fs, disk| {
        let (a, b, c) = (ino(fs, "a"), ino(fs, "a/b"), ino(fs, "a/b/c"));
        // a/b is short form: header (count, i8count, 4-byte parent), then "c": length, offset, name,
        // file type, 4-byte inode number.
        disk.patch(inode_offset(fs, b), 512, Some(100), |raw| {
            assert_eq!(&raw[182..187], &[1, 0, 0x60, b'c', 2]);
            assert_eq!(raw[187..191], (c as u32).to_be_bytes());
            raw[187..191].copy_from_slice(&(a as u32).to_be_bytes());
        });
    });
    let error = fs
        .read_file(&p("a/b/c/b/c/file"), 1 << 20)
        .expect_err("loop");
    assert!(
        matches!(&error.kind, FsErrorKind::Corrupt(what) if what.contains("parent")),
        "{error}"
    );
    assert!(matches!(
        kind(fs.read_dir(&p("a/b/c"))),
        FsErrorKind::Corrupt(_)
    ));
}

#[test]
fn a_btree_block_at_the_wrong_level_is_corrupt() {
    let fs = broken(|fs, disk| {
        let frag = fs.inode(ino(fs, "var/lib/x/frag")).expect("frag");
        // Root in the fork: level, count, keys, then the pointers.
        let max = (frag.fork.len() - 4) / 16;
        let child = be64(&frag.fork, 4 + max * 8).expect("pointer");
        let at = fs.blocks.sb.block_offset(child).expect("child");
        disk.patch(at, 4096, Some(64), |block| {
            assert_eq!(&block[..6], b"BMA3\0\0");
            block[5] = 1; // a node, whose children would be read again
        });
    });
    assert!(matches!(
        kind(fs.read_file(&p("var/lib/x/frag"), 1 << 20)),
        FsErrorKind::Corrupt(_)
    ));
}

#[test]
fn broken_inodes_are_corrupt() {
    let passwd = |f: fn(&mut [u8]), stamp: bool| {
        broken(|fs, disk| disk.patch(inode_offset(fs, 136), 512, stamp.then_some(100), f))
    };
    // An extent past the end of the filesystem.
    let fs = passwd(
        |raw| {
            let l0 = u64::from_be_bytes(raw[176..184].try_into().unwrap()) | 0x1ff;
            let l1 = u64::from_be_bytes(raw[184..192].try_into().unwrap()) | !((1 << 21) - 1);
            raw[176..184].copy_from_slice(&l0.to_be_bytes());
            raw[184..192].copy_from_slice(&l1.to_be_bytes());
        },
        true,
    );
    assert!(matches!(
        kind(fs.read_file(&p("etc/passwd"), 1 << 20)),
        FsErrorKind::Corrupt(_)
    ));
    // A size of 4 EiB: refused without allocating it, whatever the cap.
    let fs = passwd(
        |raw| raw[56..64].copy_from_slice(&(1u64 << 62).to_be_bytes()),
        true,
    );
    assert_eq!(fs.metadata(&p("etc/passwd")).expect("stat").size, 1 << 62);
    assert!(matches!(
        kind(fs.read_file(&p("etc/passwd"), u64::MAX)),
        FsErrorKind::TooLarge { size: Some(s), cap: MAX_READ } if s == 1 << 62
    ));
    // A checksum mismatch: the entry is listed, its node is an error, and the path is not absent.
    let fs = passwd(|raw| raw[60] ^= 1, false);
    let etc = fs.read_dir(&p("etc")).expect("etc still lists");
    let entry = etc.iter().find(|e| e.name == "passwd").expect("listed");
    assert!(matches!(
        entry.node.as_ref().map_err(|e| &e.kind),
        Err(FsErrorKind::Corrupt(_))
    ));
    assert!(matches!(
        kind(fs.metadata(&p("etc/passwd"))),
        FsErrorKind::Corrupt(_)
    ));
    // A free inode named by a directory.
    let fs = passwd(|raw| raw[2..4].fill(0), true);
    assert!(matches!(
        kind(fs.metadata(&p("etc/passwd"))),
        FsErrorKind::Corrupt(_)
    ));
}

/// Every call the auditor makes, over a broken image: each ends, with an answer or an error.
fn exercise(fs: &XfsFs) {
    for path in [
        "etc/passwd",
        "etc/os-release",
        "var/lib/x/remote",
        "var/lib/x/escape",
        "var/lib/x/frag",
        "var/lib/x/loop1",
        "usr/nodedir/entry-number-700",
        "etc/systemd/system/multi-user.target.wants/amazon-ssm-agent.service",
    ] {
        let path = p(path);
        let _ = fs.symlink_metadata(&path);
        let _ = fs.metadata(&path);
        let _ = fs.read_link(&path);
        let _ = fs.read_file(&path, 4 << 20);
    }
    let mut pending = vec![ImagePath::root()];
    let mut listed = 0;
    while let Some(dir) = pending.pop() {
        let Ok(entries) = fs.read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            listed += 1;
            if listed > 20_000 {
                return;
            }
            if entry.node.is_ok_and(|n| n.kind == NodeKind::Dir) {
                pending.push(dir.join(&entry.name));
            }
        }
    }
}

/// The byte ranges a clean run over the v5 image reads: its metadata (and a few files' data).
fn metadata_ranges() -> Vec<(u64, usize)> {
    static RANGES: Mutex<Vec<(u64, usize)>> = Mutex::new(Vec::new());
    let mut ranges = RANGES.lock().expect("lock");
    if ranges.is_empty() {
        let disk = Arc::new(Patched::new(load("v5")));
        exercise(&XfsFs::open(disk.clone()).expect("opens"));
        let mut reads = disk.reads.lock().expect("lock").clone();
        reads.sort();
        reads.dedup();
        *ranges = reads;
    }
    ranges.clone()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_damage_never_panics_or_hangs(
        picks in proptest::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), 1u8..=255), 1..24),
        restamp in any::<bool>(),
    ) {
        let ranges = metadata_ranges();
        let base = load("v5");
        let mut disk = Patched::new(base);
        for (range, within, xor) in picks {
            let (offset, len) = ranges[range.index(ranges.len())];
            let at = offset + within.index(len) as u64;
            let block = at & !4095;
            // With restamp, checksums are made good again, so the damage reaches the parsers.
            let crc_at = restamp.then(|| {
                let mut head = [0u8; 4];
                disk.read_at(block, &mut head).ok();
                match &head {
                    b"XDB3" | b"XDD3" => Some((block, 4096, 4)),
                    b"BMA3" => Some((block, 4096, 64)),
                    b"XSLM" => Some((block, 4096, 12)),
                    _ if head[..2] == *b"IN" || at & !511 != block => Some((at & !511, 512, 100)),
                    _ => None,
                }
            }).flatten();
            disk.patch(at, 1, None, |b| b[0] ^= xor);
            if let Some((start, len, crc_at)) = crc_at {
                disk.patch(start, len, Some(crc_at), |_| {});
            }
        }
        let started = Instant::now();
        if let Ok(fs) = XfsFs::open(Arc::new(disk)) {
            exercise(&fs);
        }
        prop_assert!(started.elapsed() < Duration::from_secs(20));
    }
}
