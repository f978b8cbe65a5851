//! The primary superblock (sector 0): the geometry every other address is computed from, and the feature
//! bits that say whether this reader understands the on-disk format.

use super::{be16, be32, be64, crc};

pub const MAGIC: &[u8; 4] = b"XFSB";

// v5 incompatible features (sb_features_incompat).
const INCOMPAT_FTYPE: u32 = 1 << 0;
const INCOMPAT_SPINODES: u32 = 1 << 1;
const INCOMPAT_META_UUID: u32 = 1 << 2;
const INCOMPAT_BIGTIME: u32 = 1 << 3;
const INCOMPAT_NREXT64: u32 = 1 << 5;
const INCOMPAT_EXCHRANGE: u32 = 1 << 6;
const INCOMPAT_PARENT: u32 = 1 << 7;
/// What this reader handles: none of these change the structures it reads (directories, inodes, data
/// forks), except FTYPE and NREXT64, which it reads.
const INCOMPAT_KNOWN: u32 = INCOMPAT_FTYPE
    | INCOMPAT_SPINODES
    | INCOMPAT_META_UUID
    | INCOMPAT_BIGTIME
    | INCOMPAT_NREXT64
    | INCOMPAT_EXCHRANGE
    | INCOMPAT_PARENT;
const INCOMPAT_NAMES: [(u32, &str); 10] = [
    (1 << 0, "ftype"),
    (1 << 1, "sparse inodes"),
    (1 << 2, "meta uuid"),
    (1 << 3, "bigtime"),
    (1 << 4, "needsrepair (an interrupted xfs_repair)"),
    (1 << 5, "nrext64"),
    (1 << 6, "exchange range"),
    (1 << 7, "parent pointers"),
    (1 << 8, "metadata directory tree (metadir)"),
    (1 << 9, "zoned"),
];

// v4 version bits (sb_versionnum) and features2.
const VERSION_DIRV2: u16 = 0x2000;
const VERSION_BORG: u16 = 0x4000;
const VERSION_MOREBITS: u16 = 0x8000;
const FEATURES2_FTYPE: u32 = 0x200;

/// The geometry and features of a filesystem.
#[derive(Debug, Clone)]
pub struct Superblock {
    pub block_log: u32,
    pub block_size: u32,
    pub ag_blocks: u32,
    pub ag_count: u32,
    pub ag_blk_log: u32,
    pub inode_size: u32,
    pub inopb_log: u32,
    /// Blocks in the data device.
    pub dblocks: u64,
    pub root_ino: u64,
    /// Directory blocks are `1 << dir_blk_log` filesystem blocks.
    pub dir_blk_log: u32,
    /// Version 5: self-describing metadata with CRCs.
    pub v5: bool,
    /// Directory entries carry the file type.
    pub ftype: bool,
    /// Inodes may have 64-bit extent counters.
    pub nrext64: bool,
    /// The UUID stamped in v5 metadata (the meta UUID when it differs from the user-visible one).
    pub meta_uuid: [u8; 16],
}

impl Superblock {
    /// Parse and check the superblock in `sector` (at least 512 bytes, the whole sector for the CRC) of a
    /// disk of `disk_size` bytes. An error says, in one line, why this is not an XFS this reader can read.
    pub fn parse(sector: &[u8], disk_size: u64) -> Result<Self, String> {
        let u16_at = |at| be16(sector, at).ok_or("XFS superblock truncated");
        let u32_at = |at| be32(sector, at).ok_or("XFS superblock truncated");
        let u64_at = |at| be64(sector, at).ok_or("XFS superblock truncated");
        if sector.get(..4) != Some(MAGIC.as_slice()) {
            return Err("no XFS superblock magic (XFSB) at the start of the disk".into());
        }
        let block_size = u32_at(4)?;
        let dblocks = u64_at(8)?;
        let root_ino = u64_at(56)?;
        let ag_blocks = u32_at(84)?;
        let ag_count = u32_at(88)?;
        let versionnum = u16_at(100)?;
        let sect_size = u16_at(102)?;
        let inode_size = u16_at(104)?;
        let inopblock = u16_at(106)?;
        let byte = |at: usize| sector.get(at).copied().ok_or("XFS superblock truncated");
        let (block_log, sect_log, inode_log, inopb_log, ag_blk_log) =
            (byte(120)?, byte(121)?, byte(122)?, byte(123)?, byte(124)?);
        let inprogress = byte(126)?;
        let dir_blk_log = byte(192)?;
        let features2 = u32_at(200)?;
        let incompat = u32_at(216)?;

        let version = versionnum & 0xf;
        let v5 = match version {
            5 => true,
            4 => false,
            other => return Err(format!("XFS superblock version {other} is not supported")),
        };
        if inprogress != 0 {
            return Err("XFS filesystem creation (mkfs) did not finish".into());
        }
        let corrupt = |what: &str| Err(format!("corrupt XFS superblock: {what}"));
        if !(9..=16).contains(&block_log) || block_size != 1 << block_log {
            return corrupt("bad block size");
        }
        if !(9..=15).contains(&sect_log) || u32::from(sect_size) != 1 << sect_log {
            return corrupt("bad sector size");
        }
        if !(8..=11).contains(&inode_log)
            || u32::from(inode_size) != 1 << inode_log
            || inode_log > block_log
            || u32::from(inopb_log) != u32::from(block_log - inode_log)
            || u32::from(inopblock) != 1 << inopb_log
        {
            return corrupt("bad inode size");
        }
        if v5 && inode_log < 9 {
            return corrupt("inodes under 512 bytes on a v5 filesystem");
        }
        if ag_count == 0 || ag_blocks < 64 {
            return corrupt("bad allocation group geometry");
        }
        // agblklog is log2 of agblocks rounded up.
        let want_log = 32 - (ag_blocks - 1).leading_zeros();
        if u32::from(ag_blk_log) != want_log {
            return corrupt("allocation group size and its log disagree");
        }
        let max_blocks = u64::from(ag_count) * u64::from(ag_blocks);
        if dblocks == 0 || dblocks > max_blocks || dblocks <= max_blocks - u64::from(ag_blocks) {
            return corrupt("block count does not match the allocation groups");
        }
        if u32::from(block_log) + u32::from(dir_blk_log) > 16 {
            return corrupt("directory blocks over 64 KiB");
        }
        let Some(fs_bytes) = dblocks.checked_mul(u64::from(block_size)) else {
            return corrupt("size overflows");
        };
        if fs_bytes > disk_size {
            return Err(format!(
                "XFS filesystem of {fs_bytes} bytes is larger than its {disk_size}-byte disk (a truncated image?)"
            ));
        }
        if v5 {
            if sector.len() < usize::from(sect_size)
                || !crc::verify(&sector[..usize::from(sect_size)], 224)
            {
                return corrupt("checksum mismatch");
            }
            let unknown = incompat & !INCOMPAT_KNOWN;
            if unknown != 0 {
                let names: Vec<String> = (0..32)
                    .map(|bit| 1u32 << bit)
                    .filter(|b| unknown & b != 0)
                    .map(|b| {
                        INCOMPAT_NAMES
                            .iter()
                            .find(|(bit, _)| *bit == b)
                            .map_or(format!("unknown bit {b:#x}"), |(_, n)| (*n).to_string())
                    })
                    .collect();
                return Err(format!(
                    "XFS incompatible feature not supported: {}",
                    names.join(", ")
                ));
            }
        } else {
            if versionnum & VERSION_DIRV2 == 0 {
                return Err("XFS v4 with version 1 directories is not supported".into());
            }
            if versionnum & VERSION_BORG != 0 {
                return Err(
                    "XFS v4 with case-insensitive (ASCII CI) names is not supported".into(),
                );
            }
        }
        let ftype = if v5 {
            incompat & INCOMPAT_FTYPE != 0
        } else {
            versionnum & VERSION_MOREBITS != 0 && features2 & FEATURES2_FTYPE != 0
        };
        let mut meta_uuid = [0u8; 16];
        let uuid_at = if v5 && incompat & INCOMPAT_META_UUID != 0 {
            248
        } else {
            32
        };
        meta_uuid.copy_from_slice(
            sector
                .get(uuid_at..uuid_at + 16)
                .ok_or("XFS superblock truncated")?,
        );
        let sb = Self {
            block_log: u32::from(block_log),
            block_size,
            ag_blocks,
            ag_count,
            ag_blk_log: u32::from(ag_blk_log),
            inode_size: u32::from(inode_size),
            inopb_log: u32::from(inopb_log),
            dblocks,
            root_ino,
            dir_blk_log: u32::from(dir_blk_log),
            v5,
            ftype,
            nrext64: v5 && incompat & INCOMPAT_NREXT64 != 0,
            meta_uuid,
        };
        if sb.inode_location(root_ino).is_none() {
            return corrupt("root inode number out of range");
        }
        Ok(sb)
    }

    /// The byte offset of filesystem block `fsb` (allocation group in the high bits), if it is one.
    pub fn block_offset(&self, fsb: u64) -> Option<u64> {
        let ag = fsb >> self.ag_blk_log;
        let agbno = fsb & ((1u64 << self.ag_blk_log) - 1);
        if ag >= u64::from(self.ag_count) || agbno >= u64::from(self.ag_blocks) {
            return None;
        }
        let linear = ag * u64::from(self.ag_blocks) + agbno;
        (linear < self.dblocks).then(|| linear << self.block_log)
    }

    /// Whether `len` blocks from `fsb` are all in the filesystem, in one allocation group.
    pub fn extent_fits(&self, fsb: u64, len: u64) -> bool {
        let Some(last) = len.checked_sub(1).and_then(|l| fsb.checked_add(l)) else {
            return false;
        };
        self.block_offset(fsb).is_some()
            && self.block_offset(last).is_some()
            && fsb >> self.ag_blk_log == last >> self.ag_blk_log
    }

    /// Where inode `ino` is: the byte offset of its block and its byte offset in that block.
    pub fn inode_location(&self, ino: u64) -> Option<(u64, usize)> {
        let agino_bits = self.ag_blk_log + self.inopb_log;
        if agino_bits >= 64 {
            return None;
        }
        let ag = ino >> agino_bits;
        let agino = ino & ((1u64 << agino_bits) - 1);
        let agbno = agino >> self.inopb_log;
        let index = agino & ((1u64 << self.inopb_log) - 1);
        if ag >= u64::from(self.ag_count) {
            return None;
        }
        let block = self.block_offset((ag << self.ag_blk_log) | agbno)?;
        let within = usize::try_from(index)
            .ok()?
            .checked_mul(self.inode_size as usize)?;
        Some((block, within))
    }

    /// Bytes in a directory block.
    pub fn dir_block_size(&self) -> usize {
        (self.block_size as usize) << self.dir_blk_log
    }
}
