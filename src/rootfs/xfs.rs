//! [`XfsFs`]: an XFS filesystem (v4 or v5, as Amazon Linux 2 and 2023 roots are) read straight from a
//! [`Disk`]'s blocks, without mounting it, as an [`ImageFs`].
//!
//! Only what a question needs is read: the superblock once, then the inodes along a path, their directory
//! blocks, and a file's data extents; a directory walk that asks only sizes reads inodes, never file data.
//! Every structure is untrusted: reads are bounded, trees are walked with bounded depth and block counts,
//! v5 checksums are checked, and whatever does not add up is a [`FsErrorKind::Corrupt`] error, never a
//! silent "not there". The journal is not replayed: an image of a filesystem that was not cleanly
//! unmounted may lag behind what its last writes said.

mod blocks;
mod bmap;
mod crc;
mod dir;
mod inode;
mod resolve;
mod superblock;
#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::sync::Arc;

use super::disk::Disk;
use super::{Entry, FsError, FsErrorKind, ImageFs, ImagePath, Node, NodeKind};
use blocks::Blocks;
use inode::{FORMAT_BTREE, FORMAT_EXTENTS, FORMAT_LOCAL, Inode};
use resolve::{Resolved, Tree, resolve};

/// The device number every node of the filesystem has: one filesystem.
const DEVICE: u64 = 1;
/// Longest symbolic link target (`MAXPATHLEN`).
const MAX_LINK: u64 = 1024;
const SYMLINK_MAGIC: &[u8; 4] = b"XSLM";
const SYMLINK_HEADER: usize = 56;
/// Most bytes of one file read into memory, whatever cap the caller gives.
const MAX_READ: u64 = 1 << 30;

/// Whether `first_bytes` (the start of a disk or partition) is an XFS superblock.
pub fn is_xfs(first_bytes: &[u8]) -> bool {
    first_bytes.starts_with(superblock::MAGIC)
}

/// An XFS filesystem on a disk, read-only.
pub struct XfsFs {
    blocks: Blocks,
}

impl XfsFs {
    /// Open the filesystem at the start of `disk`: an error, in one line, when it is not an XFS this
    /// reader can read (bad magic, an incompatible feature it does not know, a corrupt superblock).
    pub fn open(disk: Arc<dyn Disk>) -> Result<XfsFs, String> {
        let size = disk.size();
        let mut sector = vec![0u8; 512];
        disk.read_at(0, &mut sector)
            .map_err(|e| format!("cannot read the XFS superblock: {e}"))?;
        let sect_size = usize::from(be16(&sector, 102).unwrap_or(0));
        if is_xfs(&sector) && (1024..=32768).contains(&sect_size) {
            sector.resize(sect_size, 0);
            disk.read_at(0, &mut sector)
                .map_err(|e| format!("cannot read the XFS superblock: {e}"))?;
        }
        let sb = superblock::Superblock::parse(&sector, size)?;
        let fs = XfsFs {
            blocks: Blocks::new(disk, sb),
        };
        let root = fs.blocks.sb.root_ino;
        match inode::read(&fs.blocks, root) {
            Ok(inode) if inode.kind == NodeKind::Dir => Ok(fs),
            Ok(_) => Err(format!("corrupt XFS: root inode {root} is not a directory")),
            Err(FsErrorKind::Corrupt(what)) => Err(format!("corrupt XFS: {what}")),
            Err(e) => Err(format!("cannot read the XFS root inode: {e:?}")),
        }
    }

    fn inode(&self, ino: u64) -> Result<Inode, FsErrorKind> {
        inode::read(&self.blocks, ino)
    }

    /// The entries of directory `dir`, checked to be where its `..` says it is.
    fn listing(&self, dir: &Inode, parent: u64) -> Result<Vec<dir::DirEntry>, FsErrorKind> {
        let listing = dir::list(&self.blocks, dir)?;
        if listing.parent != parent {
            return Err(corrupt(format!(
                "directory inode {} says its parent is inode {}, but it is in inode {parent} \
                 (a directory linked twice, or a loop)",
                dir.ino, listing.parent
            )));
        }
        Ok(listing.entries)
    }

    fn resolve(&self, path: &ImagePath, follow_last: bool) -> Result<Resolved, FsError> {
        resolve(self, path, follow_last)
    }

    /// The contents of regular file `inode` (its size already checked against the caller's cap).
    fn file_data(&self, inode: &Inode) -> Result<Vec<u8>, FsErrorKind> {
        let ino = inode.ino;
        if !matches!(inode.format, FORMAT_EXTENTS | FORMAT_BTREE) {
            return Err(corrupt(format!(
                "inode {ino}: a regular file without a block map"
            )));
        }
        if inode.realtime {
            return Err(corrupt(format!(
                "inode {ino}: data on a realtime device, which is not in the image"
            )));
        }
        let sb = &self.blocks.sb;
        let size = usize::try_from(inode.size)
            .map_err(|_| corrupt(format!("inode {ino}: size too large")))?;
        let block_size = u64::from(sb.block_size);
        let mut data = vec![0u8; size];
        for extent in bmap::extents(&self.blocks, inode, inode.size.div_ceil(block_size))? {
            if extent.unwritten {
                continue;
            }
            let start = extent.off << sb.block_log;
            let end = start
                .saturating_add(extent.len << sb.block_log)
                .min(inode.size);
            let offset = sb
                .block_offset(extent.block)
                .ok_or_else(|| corrupt(format!("inode {ino}: extent outside the filesystem")))?;
            // start < size (the extent starts below the file's last block), end <= size.
            if let Some(out) = data.get_mut(start as usize..end as usize) {
                self.blocks.read(offset, out)?;
            }
        }
        Ok(data)
    }

    /// The target of symbolic link `inode`: in the inode, or in blocks (on v5 each with a header).
    fn link_target(&self, inode: &Inode) -> Result<Vec<u8>, FsErrorKind> {
        let ino = inode.ino;
        let bad = |what: &str| corrupt(format!("symbolic link inode {ino}: {what}"));
        if inode.size > MAX_LINK {
            return Err(bad("target longer than 1024 bytes"));
        }
        let size = inode.size as usize;
        let target = match inode.format {
            FORMAT_LOCAL => inode
                .fork
                .get(..size)
                .ok_or_else(|| bad("target larger than its fork"))?
                .to_vec(),
            FORMAT_EXTENTS | FORMAT_BTREE => self.remote_target(inode, size)?,
            _ => return Err(bad("unknown data fork format")),
        };
        if target.contains(&0) {
            return Err(bad("target holds a NUL byte"));
        }
        Ok(target)
    }

    /// A target in blocks: on v5, each extent's blocks are one buffer, with a header and a checksum.
    fn remote_target(&self, inode: &Inode, size: usize) -> Result<Vec<u8>, FsErrorKind> {
        let ino = inode.ino;
        let bad = |what: &str| corrupt(format!("symbolic link inode {ino}: {what}"));
        let sb = &self.blocks.sb;
        let header = if sb.v5 { SYMLINK_HEADER } else { 0 };
        // A 1024-byte target with its headers takes at most 3 blocks of 512 bytes or more.
        let extents = bmap::extents(&self.blocks, inode, 4)?;
        let mut target = Vec::with_capacity(size);
        let mut next = 0;
        for extent in extents {
            if target.len() == size {
                break;
            }
            if extent.off != next || extent.unwritten || extent.len > 4 {
                return Err(bad("target blocks missing or misplaced"));
            }
            next = extent.off + extent.len;
            let offset = sb
                .block_offset(extent.block)
                .ok_or_else(|| bad("target block outside the filesystem"))?;
            let mut buffer = Vec::new();
            for i in 0..extent.len {
                buffer.extend_from_slice(&self.blocks.block_at(offset + (i << sb.block_log))?);
            }
            let want = (size - target.len()).min(buffer.len().saturating_sub(header));
            if sb.v5 {
                if buffer.get(..4) != Some(SYMLINK_MAGIC.as_slice()) || !crc::verify(&buffer, 12) {
                    return Err(bad("bad target block (magic or checksum)"));
                }
                if be32(&buffer, 4).map(|o| o as usize) != Some(target.len())
                    || be32(&buffer, 8).map(|n| n as usize) != Some(want)
                    || buffer.get(16..32) != Some(sb.meta_uuid.as_slice())
                    || be64(&buffer, 32) != Some(ino)
                    || be64(&buffer, 40) != Some(offset >> 9)
                {
                    return Err(bad("target block belongs elsewhere"));
                }
            }
            let bytes = buffer
                .get(header..header + want)
                .ok_or_else(|| bad("target block truncated"))?;
            target.extend_from_slice(bytes);
        }
        if target.len() != size {
            return Err(bad("target blocks missing"));
        }
        Ok(target)
    }
}

impl Tree for XfsFs {
    fn root(&self) -> u64 {
        self.blocks.sb.root_ino
    }

    fn kind(&self, node: u64) -> Result<NodeKind, FsErrorKind> {
        Ok(self.inode(node)?.kind)
    }

    fn lookup(&self, dir: u64, parent: u64, name: &[u8]) -> Result<Option<u64>, FsErrorKind> {
        let dir = self.inode(dir)?;
        Ok(self
            .listing(&dir, parent)?
            .into_iter()
            .find(|e| e.name == name)
            .map(|e| e.ino))
    }

    fn readlink(&self, node: u64) -> Result<Vec<u8>, FsErrorKind> {
        self.link_target(&self.inode(node)?)
    }
}

fn node(inode: &Inode) -> Node {
    Node {
        kind: inode.kind,
        size: inode.size,
        device: DEVICE,
        inode: inode.ino,
    }
}

/// An error about `path`, which resolved to `resolved`.
fn error(path: &ImagePath, resolved: &Resolved, kind: FsErrorKind) -> FsError {
    FsError {
        path: path.clone(),
        resolved: Some(resolved.path()),
        kind,
    }
}

impl ImageFs for XfsFs {
    fn symlink_metadata(&self, path: &ImagePath) -> Result<Node, FsError> {
        let resolved = self.resolve(path, false)?;
        self.inode(resolved.node())
            .map(|i| node(&i))
            .map_err(|kind| error(path, &resolved, kind))
    }

    fn metadata(&self, path: &ImagePath) -> Result<Node, FsError> {
        let resolved = self.resolve(path, true)?;
        self.inode(resolved.node())
            .map(|i| node(&i))
            .map_err(|kind| error(path, &resolved, kind))
    }

    fn read_file(&self, path: &ImagePath, cap: u64) -> Result<Vec<u8>, FsError> {
        let resolved = self.resolve(path, true)?;
        let fail = |kind| error(path, &resolved, kind);
        let inode = self.inode(resolved.node()).map_err(fail)?;
        if inode.kind != NodeKind::File {
            return Err(fail(FsErrorKind::WrongKind {
                found: inode.kind,
                wanted: NodeKind::File,
            }));
        }
        if inode.size > cap || inode.size > MAX_READ {
            return Err(fail(FsErrorKind::TooLarge {
                size: Some(inode.size),
                cap: cap.min(MAX_READ),
            }));
        }
        self.file_data(&inode).map_err(fail)
    }

    fn read_dir(&self, path: &ImagePath) -> Result<Vec<Entry>, FsError> {
        let resolved = self.resolve(path, true)?;
        let fail = |kind| error(path, &resolved, kind);
        let dir = self.inode(resolved.node()).map_err(fail)?;
        if dir.kind != NodeKind::Dir {
            return Err(fail(FsErrorKind::WrongKind {
                found: dir.kind,
                wanted: NodeKind::Dir,
            }));
        }
        let here = resolved.path();
        let listing = self.listing(&dir, resolved.parent()).map_err(fail)?;
        // Each entry's inode is read next: on a snapshot, fetch their blocks together, not one by one.
        let inodes: Vec<u64> = listing
            .iter()
            .filter_map(|entry| self.blocks.sb.inode_location(entry.ino))
            .map(|(block, within)| block.saturating_add(within as u64))
            .collect();
        self.blocks.disk.prefetch(&inodes);
        let read: Vec<_> = listing
            .into_iter()
            .map(|entry| {
                let inode = self.inode(entry.ino);
                (entry, inode)
            })
            .collect();
        // A walk lists the subdirectories next: fetch their first directory blocks together too (those
        // whose block map is in the inode; a map that doesn't parse is reported when it is read).
        let dir_blocks: Vec<u64> = read
            .iter()
            .filter_map(|(_, inode)| inode.as_ref().ok())
            .filter(|inode| inode.kind == NodeKind::Dir && inode.format == inode::FORMAT_EXTENTS)
            .filter_map(|inode| {
                let first = bmap::extents(&self.blocks, inode, 1).ok()?;
                self.blocks.sb.block_offset(first.first()?.block)
            })
            .collect();
        self.blocks.disk.prefetch(&dir_blocks);
        let mut entries: Vec<Entry> = read
            .into_iter()
            .map(|(entry, inode)| {
                let name = OsString::from_vec(entry.name);
                let node = inode
                    .and_then(|inode| match inode::ftype_kind(entry.ftype) {
                        Some(kind) if kind != inode.kind => Err(corrupt(format!(
                            "directory inode {} says inode {} is {kind}, but it is {}",
                            dir.ino, inode.ino, inode.kind
                        ))),
                        _ => Ok(node(&inode)),
                    })
                    .map_err(|kind| FsError {
                        path: path.join(&name),
                        resolved: Some(here.join(&name)),
                        kind,
                    });
                Entry { name, node }
            })
            .collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    fn read_link(&self, path: &ImagePath) -> Result<OsString, FsError> {
        let resolved = self.resolve(path, false)?;
        let fail = |kind| error(path, &resolved, kind);
        let inode = self.inode(resolved.node()).map_err(fail)?;
        if resolved.last.is_none() || inode.kind != NodeKind::Symlink {
            return Err(fail(FsErrorKind::WrongKind {
                found: inode.kind,
                wanted: NodeKind::Symlink,
            }));
        }
        self.link_target(&inode)
            .map(OsString::from_vec)
            .map_err(fail)
    }
}

fn corrupt(what: String) -> FsErrorKind {
    FsErrorKind::Corrupt(what)
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(
        bytes.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        bytes.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn be64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(
        bytes.get(at..at.checked_add(8)?)?.try_into().ok()?,
    ))
}
