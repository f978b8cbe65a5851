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
