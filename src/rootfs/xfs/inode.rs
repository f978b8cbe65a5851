//! Inodes: the core (v1/v2 of v4 filesystems, v3 of v5 ones, with 64-bit extent counters when the inode
//! says so) and the data fork's bytes, checked against the superblock.

use super::super::{FsErrorKind, NodeKind};
use super::blocks::Blocks;
use super::{be16, be32, be64, corrupt, crc};

const MAGIC: u16 = 0x494e; // "IN"

pub const FORMAT_LOCAL: u8 = 1;
pub const FORMAT_EXTENTS: u8 = 2;
pub const FORMAT_BTREE: u8 = 3;

const DIFLAG_REALTIME: u16 = 0x1;
const DIFLAG2_NREXT64: u64 = 1 << 4;

/// An inode, as far as this reader needs it.
#[derive(Debug, Clone)]
pub struct Inode {
    pub ino: u64,
    pub kind: NodeKind,
    /// `di_size`.
    pub size: u64,
    pub format: u8,
    /// Extents in the data fork, as the inode counts them.
    pub nextents: u64,
    /// Data on a realtime device, which an image of the data device does not hold.
    pub realtime: bool,
    /// The data fork's bytes (local data, extent records or a btree root).
    pub fork: Vec<u8>,
}

fn kind_of(mode: u16) -> NodeKind {
    match mode & 0o170000 {
        0o100000 => NodeKind::File,
        0o040000 => NodeKind::Dir,
        0o120000 => NodeKind::Symlink,
        0o010000 => NodeKind::Fifo,
        0o140000 => NodeKind::Socket,
        0o020000 => NodeKind::CharDevice,
        0o060000 => NodeKind::BlockDevice,
        _ => NodeKind::Unknown,
    }
}

/// Read inode `ino`.
pub fn read(blocks: &Blocks, ino: u64) -> Result<Inode, FsErrorKind> {
    let sb = &blocks.sb;
    let (block, within) = sb
        .inode_location(ino)
        .ok_or_else(|| corrupt(format!("inode number {ino} is outside the filesystem")))?;
    let block = blocks.block_at(block)?;
    let raw = within
        .checked_add(sb.inode_size as usize)
        .and_then(|end| block.get(within..end))
        .ok_or_else(|| corrupt(format!("inode {ino} is outside its block")))?;
    parse(blocks, ino, raw)
}

fn parse(blocks: &Blocks, ino: u64, raw: &[u8]) -> Result<Inode, FsErrorKind> {
    let sb = &blocks.sb;
    let bad = |what: &str| corrupt(format!("inode {ino}: {what}"));
    let truncated = || bad("truncated");
    if be16(raw, 0) != Some(MAGIC) {
        return Err(bad("bad magic (not an inode)"));
    }
    let version = *raw.get(4).ok_or_else(truncated)?;
    match (sb.v5, version) {
        (true, 3) | (false, 1 | 2) => {}
        _ => return Err(bad("inode version does not match the filesystem's")),
    }
    if version == 3 {
        if !crc::verify(raw, 100) {
            return Err(bad("checksum mismatch"));
        }
        if be64(raw, 152) != Some(ino) {
            return Err(bad("records a different inode number"));
        }
        if raw.get(160..176) != Some(sb.meta_uuid.as_slice()) {
            return Err(bad("belongs to another filesystem (UUID)"));
        }
    }
    let mode = be16(raw, 2).ok_or_else(truncated)?;
    if mode == 0 {
        return Err(bad("is free, yet a directory names it"));
    }
    let format = *raw.get(5).ok_or_else(truncated)?;
    let size = be64(raw, 56).ok_or_else(truncated)?;
    if size > i64::MAX as u64 {
        return Err(bad("negative size"));
    }
    let flags = be16(raw, 90).ok_or_else(truncated)?;
    let flags2 = if version == 3 {
        be64(raw, 120).ok_or_else(truncated)?
    } else {
        0
    };
    let nextents = if sb.nrext64 && flags2 & DIFLAG2_NREXT64 != 0 {
        be64(raw, 24).ok_or_else(truncated)?
    } else {
        u64::from(be32(raw, 76).ok_or_else(truncated)?)
    };
    let core = if version == 3 { 176 } else { 100 };
    let forkoff = usize::from(*raw.get(82).ok_or_else(truncated)?) * 8;
    let fork_end = if forkoff == 0 {
        raw.len()
    } else {
        core + forkoff
    };
    let fork = raw
        .get(core..fork_end)
        .ok_or_else(|| bad("attribute fork offset outside the inode"))?
        .to_vec();
    Ok(Inode {
        ino,
        kind: kind_of(mode),
        size,
        format,
        nextents,
        realtime: flags & DIFLAG_REALTIME != 0,
        fork,
    })
}

/// The kind a directory entry's file type byte says (`None`: not recorded).
pub fn ftype_kind(ftype: u8) -> Option<NodeKind> {
    Some(match ftype {
        1 => NodeKind::File,
        2 => NodeKind::Dir,
        3 => NodeKind::CharDevice,
        4 => NodeKind::BlockDevice,
        5 => NodeKind::Fifo,
        6 => NodeKind::Socket,
        7 => NodeKind::Symlink,
        _ => return None,
    })
}
