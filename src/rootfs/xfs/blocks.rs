//! Reading the filesystem's blocks from its [`Disk`]: metadata blocks through a small cache (an inode's
//! block is read once for the inodes around it, a directory's blocks once for many lookups), file data
//! straight from the disk.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::super::FsErrorKind;
use super::super::disk::Disk;
use super::superblock::Superblock;

/// Most bytes of metadata blocks held at once; past it the cache starts again empty.
const CACHE_BYTES: usize = 16 << 20;

pub struct Blocks {
    pub disk: Arc<dyn Disk>,
    pub sb: Superblock,
    cache: Mutex<HashMap<u64, Arc<[u8]>>>,
}

impl Blocks {
    pub fn new(disk: Arc<dyn Disk>, sb: Superblock) -> Self {
        Self {
            disk,
            sb,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The filesystem block at byte `offset` (a multiple of the block size, inside the filesystem).
    pub fn block_at(&self, offset: u64) -> Result<Arc<[u8]>, FsErrorKind> {
        if let Some(block) = self.lock().get(&offset) {
            return Ok(block.clone());
        }
        let mut buf = vec![0u8; self.sb.block_size as usize];
        self.read(offset, &mut buf)?;
        let block: Arc<[u8]> = buf.into();
        let mut cache = self.lock();
        if (cache.len() + 1) * self.sb.block_size as usize > CACHE_BYTES {
            cache.clear();
        }
        cache.insert(offset, block.clone());
        Ok(block)
    }

    /// Bytes straight from the disk (file data; not cached).
    pub fn read(&self, offset: u64, buf: &mut [u8]) -> Result<(), FsErrorKind> {
        self.disk.read_at(offset, buf).map_err(FsErrorKind::Io)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<[u8]>>> {
        // A panic elsewhere while holding the lock leaves a cache that is still consistent.
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}
