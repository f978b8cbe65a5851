//! The bytes under a filesystem: [`Disk`], read at offsets. A snapshot read through the EBS direct APIs, a
//! partition of one ([`Slice`]), or, in tests, bytes in memory ([`MemDisk`]).
//!
//! Every offset a filesystem reader asks for comes from untrusted structures, so a read past the end is
//! an error, never a short read padded with anything.

use std::io;
use std::sync::Arc;

/// A read-only disk.
pub trait Disk: Send + Sync {
    /// Its size in bytes.
    fn size(&self) -> u64;
    /// Fill `buf` with the bytes from `offset`; an error if any of them lies past [`Disk::size`], or could
    /// not be read (for a snapshot: the block could not be fetched, or failed its checksum).
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// A hint: the bytes at these offsets will be read soon (a directory's entries' inodes). A disk
    /// whose reads wait on the network starts fetching them together; others ignore it.
    fn prefetch(&self, _offsets: &[u64]) {}
}

/// An error for a read of `len` bytes at `offset` that does not fit in a disk of `size` bytes.
pub fn past_end(offset: u64, len: usize, size: u64) -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        format!("read of {len} bytes at offset {offset} is past the end of the {size}-byte disk"),
    )
}

/// Whether `len` bytes at `offset` fit in `size` bytes.
pub fn fits(offset: u64, len: usize, size: u64) -> bool {
    offset
        .checked_add(len as u64)
        .is_some_and(|end| end <= size)
}

/// Part of a disk (a partition), itself a disk.
pub struct Slice {
    disk: Arc<dyn Disk>,
    start: u64,
    len: u64,
}

impl Slice {
    /// `len` bytes of `disk` from `start`; `None` when they do not fit in it.
    pub fn new(disk: Arc<dyn Disk>, start: u64, len: u64) -> Option<Self> {
        let end = start.checked_add(len)?;
        (end <= disk.size()).then_some(Self { disk, start, len })
    }
}

impl Disk for Slice {
    fn size(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        if !fits(offset, buf.len(), self.len) {
            return Err(past_end(offset, buf.len(), self.len));
        }
        self.disk.read_at(self.start + offset, buf)
    }

    fn prefetch(&self, offsets: &[u64]) {
        let inside: Vec<u64> = offsets
            .iter()
            .filter(|o| **o < self.len)
            .map(|o| self.start + o)
            .collect();
        self.disk.prefetch(&inside);
    }
}

/// A disk in memory.
pub struct MemDisk(pub Vec<u8>);

impl Disk for MemDisk {
    fn size(&self) -> u64 {
        self.0.len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        if !fits(offset, buf.len(), self.size()) {
            return Err(past_end(offset, buf.len(), self.size()));
        }
        let start = offset as usize;
        buf.copy_from_slice(&self.0[start..start + buf.len()]);
        Ok(())
    }
}

/// A disk held as its blocks that are not all zeros; the rest reads as zeros, as a snapshot's unwritten
/// blocks do. Loads a snapshot recorded in a scenario ([`SparseDisk::load_recorded`]).
pub struct SparseDisk {
    size: u64,
    block_size: u64,
    blocks: std::collections::BTreeMap<u64, Vec<u8>>,
}

impl SparseDisk {
    /// An all-zero disk of `size` bytes made of `block_size`-byte blocks.
    pub fn new(size: u64, block_size: u64) -> Self {
        Self {
            size,
            block_size: block_size.max(1),
            blocks: Default::default(),
        }
    }

    /// Block `index`'s bytes; shorter than a block means the rest is zeros.
    pub fn set_block(&mut self, index: u64, bytes: Vec<u8>) {
        self.blocks.insert(index, bytes);
    }

    /// A snapshot recorded in a scenario folder (`ebs/<snapshot-id>/`, the format of
    /// [`crate::replay::SnapshotIndex`]): its listed blocks that were recorded. For tests over the shipped
    /// images; replays read the same folders through the replay server.
    pub fn load_recorded(dir: &std::path::Path) -> io::Result<Self> {
        let index: crate::replay::SnapshotIndex =
            serde_json::from_slice(&std::fs::read(dir.join("blocks.json"))?)
                .map_err(io::Error::other)?;
        let mut disk = Self::new(index.volume_size << 30, index.block_size);
        for listed in &index.blocks {
            match std::fs::read(dir.join(format!("{}.bin", listed.block_index))) {
                Ok(bytes) => disk.set_block(listed.block_index, bytes),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(disk)
    }
}

impl Disk for SparseDisk {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        if !fits(offset, buf.len(), self.size) {
            return Err(past_end(offset, buf.len(), self.size));
        }
        let mut done = 0usize;
        while done < buf.len() {
            let at = offset + done as u64;
            let (block, within) = (at / self.block_size, (at % self.block_size) as usize);
            let n = (buf.len() - done).min(self.block_size as usize - within);
            let out = &mut buf[done..done + n];
            out.fill(0);
            if let Some(bytes) = self.blocks.get(&block)
                && within < bytes.len()
            {
                let have = n.min(bytes.len() - within);
                out[..have].copy_from_slice(&bytes[within..within + have]);
            }
            done += n;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_stay_inside_their_disk() {
        let disk: Arc<dyn Disk> = Arc::new(MemDisk((0u8..=255).collect()));
        assert!(Slice::new(disk.clone(), 200, 57).is_none());
        assert!(Slice::new(disk.clone(), u64::MAX, 2).is_none());
        let slice = Slice::new(disk, 16, 32).expect("fits");
        let mut buf = [0u8; 4];
        slice.read_at(28, &mut buf).expect("inside");
        assert_eq!(buf, [44, 45, 46, 47]);
        assert!(slice.read_at(29, &mut buf).is_err());
        assert!(slice.read_at(u64::MAX, &mut buf).is_err());
    }
}
