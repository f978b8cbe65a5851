//! A data fork's block map: extent records held in the inode, or in a B+tree of long-format blocks
//! ("BMAP" on v4, "BMA3" on v5) rooted in the inode. Only the extents below a logical block are
//! gathered, so a huge file costs nothing beyond what is read of it.

use super::super::FsErrorKind;
use super::blocks::Blocks;
use super::inode::{FORMAT_BTREE, FORMAT_EXTENTS, Inode};
use super::{be16, be64, corrupt, crc};

/// Most extents gathered for one read.
const MAX_EXTENTS: usize = 1 << 18;
/// Deepest tree accepted (a 64-bit extent count needs fewer).
const MAX_LEVELS: u16 = 16;
/// Most tree blocks read for one map.
const MAX_TREE_BLOCKS: usize = 1 << 16;

const MAGIC_V4: &[u8; 4] = b"BMAP";
const MAGIC_V5: &[u8; 4] = b"BMA3";

/// Logical blocks `off..off + len` of the fork are filesystem blocks `block..block + len`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    pub off: u64,
    pub block: u64,
    pub len: u64,
    /// Allocated but never written: reads as zeros.
    pub unwritten: bool,
}

/// The extents of `inode`'s data fork that start below logical block `below`, in order.
pub fn extents(blocks: &Blocks, inode: &Inode, below: u64) -> Result<Vec<Extent>, FsErrorKind> {
    let mut map = Map {
        blocks,
        ino: inode.ino,
        below,
        out: Vec::new(),
        tree_blocks: 0,
    };
    match inode.format {
        FORMAT_EXTENTS => {
            let n = usize::try_from(inode.nextents)
                .ok()
                .filter(|n| n.checked_mul(16).is_some_and(|b| b <= inode.fork.len()))
                .ok_or_else(|| map.bad("more extents than its fork holds"))?;
            for i in 0..n {
                map.record(&inode.fork, i * 16)?;
            }
        }
        FORMAT_BTREE => map.root(&inode.fork)?,
        _ => return Err(map.bad("data fork is not a block map")),
    }
    Ok(map.out)
}

struct Map<'a> {
    blocks: &'a Blocks,
    ino: u64,
    below: u64,
    out: Vec<Extent>,
    tree_blocks: usize,
}

impl Map<'_> {
    fn bad(&self, what: &str) -> FsErrorKind {
        corrupt(format!("inode {}: {what}", self.ino))
    }

    /// The extent record at `at` in `bytes`, kept if it starts below the limit.
    fn record(&mut self, bytes: &[u8], at: usize) -> Result<(), FsErrorKind> {
        let (Some(l0), Some(l1)) = (be64(bytes, at), be64(bytes, at + 8)) else {
            return Err(self.bad("extent record truncated"));
        };
        let extent = Extent {
            off: (l0 & (u64::MAX >> 1)) >> 9,
            block: ((l0 & 0x1ff) << 43) | (l1 >> 21),
            len: l1 & ((1 << 21) - 1),
            unwritten: l0 >> 63 == 1,
        };
        if extent.off >= self.below {
            return Ok(());
        }
        if extent.len == 0 || !self.blocks.sb.extent_fits(extent.block, extent.len) {
            return Err(self.bad("an extent lies outside the filesystem"));
        }
        if let Some(last) = self.out.last()
            && last.off + last.len > extent.off
        {
            return Err(self.bad("extents overlap or are out of order"));
        }
        if self.out.len() >= MAX_EXTENTS {
            return Err(self.bad("more extents than this reader reads for one file"));
        }
        self.out.push(extent);
        Ok(())
    }

    /// The tree's root, in the inode's fork: level, record count, keys, then pointers.
    fn root(&mut self, fork: &[u8]) -> Result<(), FsErrorKind> {
        let (Some(level), Some(count)) = (be16(fork, 0), be16(fork, 2)) else {
            return Err(self.bad("block map root truncated"));
        };
        let max = fork.len().saturating_sub(4) / 16;
        if level == 0 || level > MAX_LEVELS || count == 0 || usize::from(count) > max {
            return Err(self.bad("bad block map root"));
        }
        self.node(fork, 4, 4 + 8 * max, usize::from(count), level)
    }

    /// The children of a node at `level` whose keys start at `keys` and pointers at `ptrs`.
    fn node(
        &mut self,
        bytes: &[u8],
        keys: usize,
        ptrs: usize,
        count: usize,
        level: u16,
    ) -> Result<(), FsErrorKind> {
        let mut previous = None;
        for i in 0..count {
            let (Some(key), Some(ptr)) = (be64(bytes, keys + 8 * i), be64(bytes, ptrs + 8 * i))
            else {
                return Err(self.bad("block map node truncated"));
            };
            if previous.is_some_and(|p| p >= key) {
                return Err(self.bad("block map keys out of order"));
            }
            previous = Some(key);
            if key >= self.below {
                break;
            }
            self.child(ptr, level - 1)?;
        }
        Ok(())
    }

    /// A tree block, which must be at `level`: each level is one less than its parent's, so the walk
    /// ends, whatever the pointers say.
    fn child(&mut self, fsb: u64, level: u16) -> Result<(), FsErrorKind> {
        self.tree_blocks += 1;
        if self.tree_blocks > MAX_TREE_BLOCKS {
            return Err(self.bad("block map tree too large"));
        }
        let sb = &self.blocks.sb;
        let offset = sb
            .block_offset(fsb)
            .ok_or_else(|| self.bad("block map pointer outside the filesystem"))?;
        let block = self.blocks.block_at(offset)?;
        let (magic, header) = if sb.v5 {
            (MAGIC_V5, 72)
        } else {
            (MAGIC_V4, 24)
        };
        if block.get(..4) != Some(magic.as_slice()) {
            return Err(self.bad("block map block has a bad magic"));
        }
        if sb.v5 {
            if !crc::verify(&block, 64) {
                return Err(self.bad("block map block checksum mismatch"));
            }
            if be64(&block, 24) != Some(offset >> 9)
                || block.get(40..56) != Some(sb.meta_uuid.as_slice())
                || be64(&block, 56) != Some(self.ino)
            {
                return Err(self.bad("block map block belongs elsewhere"));
            }
        }
        let (Some(got_level), Some(count)) = (be16(&block, 4), be16(&block, 6)) else {
            return Err(self.bad("block map block truncated"));
        };
        let max = (block.len() - header) / 16;
        if got_level != level || count == 0 || usize::from(count) > max {
            return Err(self.bad("bad block map block (level or record count)"));
        }
        if level == 0 {
            for i in 0..usize::from(count) {
                self.record(&block, header + 16 * i)?;
            }
            Ok(())
        } else {
            self.node(&block, header, header + 8 * max, usize::from(count), level)
        }
    }
}
