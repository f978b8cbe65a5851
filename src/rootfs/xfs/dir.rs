//! Directories: short form (entries in the inode), and block, leaf and node form, whose entries are all in
//! the data blocks below the 32 GiB logical offset; the hash and free-space index blocks above it are not
//! needed to list or look up, so they are not read.

use super::super::{FsErrorKind, MAX_DIR_ENTRIES};
use super::blocks::Blocks;
use super::bmap::{self, Extent};
use super::inode::{FORMAT_BTREE, FORMAT_EXTENTS, FORMAT_LOCAL, Inode};
use super::{be16, be32, be64, corrupt, crc};

/// Where a directory's data blocks end and its index blocks start (`XFS_DIR2_LEAF_OFFSET`).
const LEAF_OFFSET: u64 = 32 << 30;
/// Most bytes of data blocks read for one directory (millions of entries).
pub const MAX_DIR_BYTES: u64 = 64 << 20;

const FREE_TAG: u16 = 0xffff;

/// One entry, not `.` or `..`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub name: Vec<u8>,
    pub ino: u64,
    /// The file type byte (0 when the filesystem does not record it).
    pub ftype: u8,
}

/// A directory's entries and the parent its `..` names.
#[derive(Debug)]
pub struct Listing {
    pub parent: u64,
    pub entries: Vec<DirEntry>,
}

/// The entries of directory `dir`.
pub fn list(blocks: &Blocks, dir: &Inode) -> Result<Listing, FsErrorKind> {
    let raw = match dir.format {
        FORMAT_LOCAL => short_form(blocks, dir)?,
        FORMAT_EXTENTS | FORMAT_BTREE => data_blocks(blocks, dir)?,
        _ => return Err(bad(dir.ino, "directory data fork of an unknown format")),
    };
    let mut parent = None;
    let mut entries = Vec::with_capacity(raw.len());
    for entry in raw {
        if entry.ino == 0 || blocks.sb.inode_location(entry.ino).is_none() {
            return Err(bad(
                dir.ino,
                "an entry names an inode outside the filesystem",
            ));
        }
        match entry.name.as_slice() {
            b"." if entry.ino == dir.ino => {}
            b"." => return Err(bad(dir.ino, "'.' is not the directory itself")),
            b".." if parent.is_none() => parent = Some(entry.ino),
            b".." => return Err(bad(dir.ino, "two '..' entries")),
            name if name.contains(&b'/') || name.contains(&0) => {
                return Err(bad(dir.ino, "a name holds '/' or NUL"));
            }
            _ => entries.push(entry),
        }
    }
    let parent = parent.ok_or_else(|| bad(dir.ino, "no '..' entry"))?;
    Ok(Listing { parent, entries })
}

fn bad(ino: u64, what: &str) -> FsErrorKind {
    corrupt(format!("directory inode {ino}: {what}"))
}

/// A short-form directory: a header (count, 8-byte inode count, parent) and packed entries, with `..`
/// as the header's parent and no `.`.
fn short_form(blocks: &Blocks, dir: &Inode) -> Result<Vec<DirEntry>, FsErrorKind> {
    let ino = dir.ino;
    let bytes = usize::try_from(dir.size)
        .ok()
        .and_then(|size| dir.fork.get(..size))
        .ok_or_else(|| bad(ino, "short-form size larger than its fork"))?;
    let truncated = || bad(ino, "short-form entries overrun it");
    let (count, i8count) = match bytes {
        [count, i8count, ..] => (*count, *i8count),
        _ => return Err(truncated()),
    };
    let ino_len = if i8count == 0 { 4 } else { 8 };
    let number = |at: usize| -> Option<u64> {
        if ino_len == 4 {
            be32(bytes, at).map(u64::from)
        } else {
            be64(bytes, at)
        }
    };
    let mut out = vec![DirEntry {
        name: b"..".to_vec(),
        ino: number(2).ok_or_else(truncated)?,
        ftype: 2,
    }];
    out.push(DirEntry {
        name: b".".to_vec(),
        ino,
        ftype: 2,
    });
    let ftype_len = usize::from(blocks.sb.ftype);
    let mut at = 2 + ino_len;
    for _ in 0..count {
        let name_len = usize::from(*bytes.get(at).ok_or_else(truncated)?);
        let name_at = at + 3; // length, then a 2-byte offset hint
        let name = bytes
            .get(name_at..name_at + name_len)
            .ok_or_else(truncated)?;
        if name.is_empty() || name == b"." || name == b".." {
            return Err(bad(ino, "short-form entry with an empty, '.' or '..' name"));
        }
        let ftype = if ftype_len == 1 {
            *bytes.get(name_at + name_len).ok_or_else(truncated)?
        } else {
            0
        };
        let ino_at = name_at + name_len + ftype_len;
        out.push(DirEntry {
            name: name.to_vec(),
            ino: number(ino_at).ok_or_else(truncated)?,
            ftype,
        });
        at = ino_at + ino_len;
    }
    if at != bytes.len() {
        return Err(bad(ino, "short-form size does not match its entries"));
    }
    Ok(out)
}

/// The entries of every data block (block, leaf or node form).
fn data_blocks(blocks: &Blocks, dir: &Inode) -> Result<Vec<DirEntry>, FsErrorKind> {
    let sb = &blocks.sb;
    let ino = dir.ino;
    if dir.realtime {
        return Err(bad(ino, "on a realtime device"));
    }
    let per_dir_block = 1u64 << sb.dir_blk_log;
    let dir_block_size = sb.dir_block_size();
    let extents = bmap::extents(blocks, dir, LEAF_OFFSET >> sb.block_log)?;
    let max_dir_blocks = MAX_DIR_BYTES / dir_block_size as u64;
    let mut out = Vec::new();
    let mut done: Option<u64> = None;
    let mut read = 0u64;
    // Block form (one data block, holding its own hash table) says so by its magic.
    let mut block_form = false;
    for extent in &extents {
        if extent.unwritten {
            return Err(bad(ino, "unwritten directory blocks"));
        }
        let first = extent.off >> sb.dir_blk_log;
        let last = (extent.off + extent.len - 1) >> sb.dir_blk_log;
        for index in first..=last {
            if done.is_some_and(|d| d >= index) {
                continue;
            }
            done = Some(index);
            read += 1;
            if read > max_dir_blocks {
                return Err(FsErrorKind::TooLarge {
                    size: Some(dir.size),
                    cap: MAX_DIR_BYTES,
                });
            }
            if block_form {
                return Err(bad(ino, "block-form directory with blocks past its first"));
            }
            let (bytes, daddr) =
                dir_block(blocks, &extents, index * per_dir_block, dir_block_size, ino)?;
            block_form = index == 0 && bytes.get(..4) == Some(block_magic(sb.v5).as_slice());
            parse_data_block(blocks, ino, &bytes, daddr, block_form, &mut out)?;
            if out.len() > MAX_DIR_ENTRIES {
                return Err(bad(
                    ino,
                    &format!("directory with more than {MAX_DIR_ENTRIES} entries"),
                ));
            }
        }
    }
    Ok(out)
}

fn block_magic(v5: bool) -> &'static [u8; 4] {
    if v5 { b"XDB3" } else { b"XD2B" }
}

/// The directory block starting at logical block `start`: every one of its filesystem blocks must be
/// mapped. Its bytes and the 512-byte sector address of its first block (which v5 headers record).
fn dir_block(
    blocks: &Blocks,
    extents: &[Extent],
    start: u64,
    size: usize,
    ino: u64,
) -> Result<(Vec<u8>, u64), FsErrorKind> {
    let sb = &blocks.sb;
    let block_size = sb.block_size as usize;
    let mut bytes = Vec::with_capacity(size);
    let mut daddr = 0;
    for (i, logical) in (start..).take(size / block_size).enumerate() {
        let extent = extents
            .get(extents.partition_point(|e| e.off + e.len <= logical))
            .filter(|e| e.off <= logical)
            .ok_or_else(|| bad(ino, "a directory block is only partly mapped"))?;
        let fsb = extent.block + (logical - extent.off);
        let offset = sb
            .block_offset(fsb)
            .ok_or_else(|| bad(ino, "directory block outside the filesystem"))?;
        if i == 0 {
            daddr = offset >> 9;
        }
        bytes.extend_from_slice(&blocks.block_at(offset)?);
    }
    Ok((bytes, daddr))
}

/// The entries of one data block, in `out`; free space is skipped, and a block-form block's entries
/// end where its hash table and tail begin.
fn parse_data_block(
    blocks: &Blocks,
    ino: u64,
    bytes: &[u8],
    daddr: u64,
    block_form: bool,
    out: &mut Vec<DirEntry>,
) -> Result<(), FsErrorKind> {
    let sb = &blocks.sb;
    let (magic, header): (&[u8; 4], usize) = match (sb.v5, block_form) {
        (v5, true) => (block_magic(v5), if v5 { 64 } else { 16 }),
        (true, false) => (b"XDD3", 64),
        (false, false) => (b"XD2D", 16),
    };
    if bytes.get(..4) != Some(magic.as_slice()) {
        return Err(bad(ino, "directory block has a bad magic"));
    }
    if sb.v5 {
        if !crc::verify(bytes, 4) {
            return Err(bad(ino, "directory block checksum mismatch"));
        }
        if be64(bytes, 8) != Some(daddr)
            || bytes.get(24..40) != Some(sb.meta_uuid.as_slice())
            || be64(bytes, 40) != Some(ino)
        {
            return Err(bad(ino, "directory block belongs elsewhere"));
        }
    }
    let end = if block_form {
        let count = be32(bytes, bytes.len().saturating_sub(8)).unwrap_or(u32::MAX);
        (count as usize)
            .checked_mul(8)
            .and_then(|leaf| bytes.len().checked_sub(8 + leaf))
            .filter(|end| *end >= header)
            .ok_or_else(|| bad(ino, "block-form directory tail overruns the block"))?
    } else {
        bytes.len()
    };
    let ftype_len = usize::from(sb.ftype);
    let mut at = header;
    while at < end {
        let overrun = || bad(ino, "directory entry overruns its block");
        if be16(bytes, at) == Some(FREE_TAG) {
            let len = usize::from(be16(bytes, at + 2).ok_or_else(overrun)?);
            if len < 8 || len % 8 != 0 || at + len > end {
                return Err(bad(ino, "bad free space in a directory block"));
            }
            at += len;
            continue;
        }
        let number = be64(bytes, at).ok_or_else(overrun)?;
        let name_len = usize::from(*bytes.get(at + 8).ok_or_else(overrun)?);
        let len = (8 + 1 + name_len + ftype_len + 2).next_multiple_of(8);
        if name_len == 0 || at + len > end {
            return Err(overrun());
        }
        if be16(bytes, at + len - 2) != u16::try_from(at).ok() {
            return Err(bad(ino, "directory entry tag does not match its place"));
        }
        out.push(DirEntry {
            name: bytes[at + 9..at + 9 + name_len].to_vec(),
            ino: number,
            ftype: if ftype_len == 1 {
                bytes[at + 9 + name_len]
            } else {
                0
            },
        });
        at += len;
    }
    if at != end {
        return Err(bad(ino, "directory entries overrun their block"));
    }
    Ok(())
}
