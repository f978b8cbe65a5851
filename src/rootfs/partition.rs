//! Where an image's root filesystem lies on its disk: a GPT (behind a protective MBR), an MBR, or no
//! partition table at all (a bare filesystem). [`root_filesystem`] reads the table, checks it (GPT
//! signature and both CRC32s, entry count and size bounded, every entry inside the disk), and returns the
//! root filesystem's bytes as a [`Slice`] of the disk, with where it was found for the report.
//!
//! Everything read here comes from a snapshot the auditor does not control, so every offset and count is
//! checked before use and a malformed table is a one-line error, never a panic or an unbounded read.

use std::fmt;
use std::sync::Arc;

use super::disk::{Disk, Slice};

/// Sector size the tables are read with. EBS volumes have 512-byte logical sectors, and so do the AMIs
/// built on them (a GPT written for 4096-byte sectors is not looked for).
const SECTOR: u64 = 512;

/// Most GPT entries read: the spec's minimum array is 128 entries; 4096 is far beyond any real table.
const MAX_GPT_ENTRIES: u32 = 4096;
/// Largest GPT entry accepted (the spec allows 128 × 2^n; real ones are 128).
const MAX_GPT_ENTRY_SIZE: u32 = 4096;
/// Most bytes of partition entries read, whatever the header claims.
const MAX_GPT_ARRAY: u64 = 1 << 20;

/// Filesystem types recognised at the start of a partition (or a whole disk).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsKind {
    Xfs,
    /// ext2, ext3 or ext4 (they share a superblock and its magic).
    Ext,
}

impl fmt::Display for FsKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FsKind::Xfs => "XFS",
            FsKind::Ext => "ext2/3/4",
        })
    }
}

/// Bytes read to recognise a filesystem: the ext superblock's magic is at byte 1080.
const PROBE: usize = 2048;

/// Which filesystem starts at the beginning of `disk`, if a known one does: XFS's superblock magic
/// `XFSB` at byte 0, ext2/3/4's `0xEF53` at byte 1080. `Ok(None)` for anything else (or a disk too small
/// to hold either); an error only when the bytes could not be read.
pub fn detect(disk: &dyn Disk) -> std::io::Result<Option<FsKind>> {
    let len = PROBE.min(usize::try_from(disk.size()).unwrap_or(PROBE));
    let mut head = vec![0u8; len];
    disk.read_at(0, &mut head)?;
    Ok(detect_bytes(&head))
}

/// [`detect`] on the first bytes of a disk (at least 1082 for ext).
pub fn detect_bytes(head: &[u8]) -> Option<FsKind> {
    if head.starts_with(b"XFSB") {
        Some(FsKind::Xfs)
    } else if head.get(1080..1082) == Some(&[0x53, 0xEF]) {
        Some(FsKind::Ext)
    } else {
        None
    }
}

/// A filesystem that may be the root: its bytes, and where they are.
pub type Candidate = (Arc<dyn Disk>, Located);

/// Where the root filesystem was found, for the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// E.g. `GPT partition 1 (Linux filesystem), 7.9 GiB at 1 MiB`, `MBR partition 1 (Linux), 1023.0 MiB
    /// at 1 MiB`, `whole disk (no partition table)`.
    pub description: String,
    /// Offset of the filesystem on the disk, in bytes.
    pub offset: u64,
    /// Its size in bytes.
    pub size: u64,
    /// Its type, as recognised from its first bytes.
    pub kind: FsKind,
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

/// One partition, from either table.
#[derive(Debug, Clone)]
struct Partition {
    /// Its number as tools show it (`/dev/nvme0n1p128` is 128).
    number: u32,
    /// What its type is, for the report (`Linux filesystem`, `EFI System`, `type 0x07`).
    type_name: String,
    /// How much it is wanted as the root: 0 not at all, higher first.
    tier: u8,
    offset: u64,
    size: u64,
    /// The GPT partition name, escaped; empty on MBR.
    name: String,
}

/// The disk's layout.
#[derive(Debug)]
enum Table {
    /// No partition table: the disk is the filesystem (or nothing known).
    None,
    Mbr(Vec<Partition>),
    Gpt(Vec<Partition>),
}

/// Find the root filesystem on `disk`: the partition a Linux boot mounts as `/`, or the whole disk when it
/// has no partition table. Among the candidates (GPT: Linux root partitions, then Linux filesystem data;
/// MBR: type 0x83), those whose first bytes are a filesystem this tool reads; if several, the largest
/// (see [`root_candidates`] for all of them).
pub fn root_filesystem(disk: Arc<dyn Disk>) -> Result<(Arc<dyn Disk>, Located), String> {
    root_candidates(disk)?
        .into_iter()
        .next()
        .ok_or_else(|| "no root filesystem".to_string())
}

/// Every partition that could be the root filesystem, most likely first (a Linux root partition before
/// Linux filesystem data, the larger first), or the whole disk when it has no partition table. A
/// candidate that can't be read is an error: it may be the root. Images with a separate `/var` or
/// `/home` have several candidates; [`super::open_root`] tells them apart by their content.
pub fn root_candidates(disk: Arc<dyn Disk>) -> Result<Vec<Candidate>, String> {
    let table = read_table(disk.as_ref())?;
    let (scheme, partitions) = match table {
        Table::None => {
            return match detect(disk.as_ref()) {
                Ok(Some(kind)) => {
                    let size = disk.size();
                    Ok(vec![(
                        disk,
                        Located {
                            description: format!(
                                "whole disk (no partition table), {kind}, {}",
                                human(size)
                            ),
                            offset: 0,
                            size,
                            kind,
                        },
                    )])
                }
                Ok(None) => Err(
                    "no partition table and no known filesystem (XFS, ext2/3/4) at the start of the disk"
                        .into(),
                ),
                Err(error) => Err(format!("the start of the disk could not be read: {error}")),
            };
        }
        Table::Mbr(partitions) => ("MBR", partitions),
        Table::Gpt(partitions) => ("GPT", partitions),
    };
    // What each partition turned out to be, for the error when none will do.
    let mut seen: Vec<String> = Vec::new();
    let mut found: Vec<(u8, Partition, FsKind)> = Vec::new();
    for partition in &partitions {
        if partition.tier == 0 {
            seen.push(format!("{} ({})", partition.number, partition.type_name));
            continue;
        }
        // The table was checked: every partition lies inside the disk.
        let Some(slice) = Slice::new(disk.clone(), partition.offset, partition.size) else {
            seen.push(format!(
                "{} ({}, outside the disk)",
                partition.number, partition.type_name
            ));
            continue;
        };
        match detect(&slice) {
            Ok(Some(kind)) => {
                seen.push(format!(
                    "{} ({}, {kind})",
                    partition.number, partition.type_name
                ));
                found.push((partition.tier, partition.clone(), kind));
            }
            Ok(None) => seen.push(format!(
                "{} ({}, no known filesystem)",
                partition.number, partition.type_name
            )),
            // Not passed over for another candidate: the one that could not be read may be the root.
            Err(error) => {
                return Err(format!(
                    "{scheme} partition {} ({}) could not be read: {error}",
                    partition.number, partition.type_name
                ));
            }
        }
    }
    if found.is_empty() {
        return Err(if seen.is_empty() {
            format!("the {scheme} partition table lists no partitions")
        } else {
            format!(
                "no Linux partition holds a readable filesystem: partitions {}",
                seen.join(", ")
            )
        });
    }
    // Most wanted first: the higher tier, then the larger.
    found.sort_by(|(ta, a, _), (tb, b, _)| tb.cmp(ta).then(b.size.cmp(&a.size)));
    let mut candidates = Vec::with_capacity(found.len());
    for (_, chosen, kind) in found {
        let slice = Slice::new(disk.clone(), chosen.offset, chosen.size).ok_or_else(|| {
            format!(
                "{scheme} partition {} lies past the disk's end",
                chosen.number
            )
        })?;
        let named = if chosen.name.is_empty() {
            String::new()
        } else {
            format!(", named \"{}\"", chosen.name)
        };
        candidates.push((
            Arc::new(slice) as Arc<dyn Disk>,
            Located {
                description: format!(
                    "{scheme} partition {} ({}{named}), {kind}, {} at {}",
                    chosen.number,
                    chosen.type_name,
                    human(chosen.size),
                    human(chosen.offset)
                ),
                offset: chosen.offset,
                size: chosen.size,
                kind,
            },
        ));
    }
    Ok(candidates)
}

/// Read the partition table, if any.
fn read_table(disk: &dyn Disk) -> Result<Table, String> {
    if disk.size() < SECTOR {
        return Ok(Table::None);
    }
    let mut mbr = [0u8; SECTOR as usize];
    disk.read_at(0, &mut mbr)
        .map_err(|e| format!("the disk's first sector could not be read: {e}"))?;
    // A bare XFS starts with its superblock; its byte 510 could be anything.
    if mbr.starts_with(b"XFSB") || mbr[510..512] != [0x55, 0xAA] {
        return Ok(Table::None);
    }
    let entries: Vec<&[u8]> = mbr[446..510].chunks_exact(16).collect();
    // A boot sector that is not an MBR (a filesystem's own, as FAT's) has other bytes where the status
    // flags are: then there is no table.
    if entries.iter().any(|e| e[0] != 0x00 && e[0] != 0x80) {
        return Ok(Table::None);
    }
    if entries.iter().any(|e| e[4] == 0xEE) {
        return read_gpt(disk).map(Table::Gpt);
    }
    let mut partitions = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let kind = entry[4];
        let start = u64::from(le32(entry, 8));
        let sectors = u64::from(le32(entry, 12));
        if kind == 0 || sectors == 0 {
            continue;
        }
        let number = i as u32 + 1;
        // At most 2^32 sectors of 2^9 bytes: no overflow.
        let (offset, size) = (start * SECTOR, sectors * SECTOR);
        if offset.checked_add(size).is_none_or(|end| end > disk.size()) {
            return Err(format!("MBR partition {number} lies past the disk's end"));
        }
        let (type_name, tier) = match kind {
            0x83 => ("Linux".to_string(), 1),
            // Logical partitions inside an extended one are not followed: Linux AMIs do not put their
            // root there, and the chain of EBRs is one more untrusted structure to walk.
            0x05 | 0x0F | 0x85 => ("extended, not followed".to_string(), 0),
            other => (format!("type 0x{other:02x}"), 0),
        };
        partitions.push(Partition {
            number,
            type_name,
            tier,
            offset,
            size,
            name: String::new(),
        });
    }
    if partitions.is_empty() {
        // A signature with four empty entries: no table worth the name (mkfs leaves the sector alone;
        // this can be an old one). The whole disk is tried instead.
        return Ok(Table::None);
    }
    Ok(Table::Mbr(partitions))
}

/// GPT partition types, by their GUID as written (`xxxxxxxx-xxxx-…`, upper case): the name reported and
/// the tier as a root candidate.
const GPT_TYPES: [(&str, &str, u8); 8] = [
    (
        "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709",
        "Linux root (x86-64)",
        2,
    ),
    (
        "B921B045-1DF0-41C3-AF44-4C6F280D3FAE",
        "Linux root (ARM64)",
        2,
    ),
    (
        "0FC63DAF-8483-4772-8E79-3D69D8477DE4",
        "Linux filesystem",
        1,
    ),
    ("21686148-6449-6E6F-744E-656564454649", "BIOS boot", 0),
    ("C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "EFI System", 0),
    ("E6D6D379-F507-44C2-A23C-238F2A3DF928", "Linux LVM", 0),
    ("0657FD6D-A4AB-43C4-84E5-0933C84B4F4F", "Linux swap", 0),
    ("8DA63339-0007-60C0-C436-083AC8230908", "Linux reserved", 0),
];

/// The primary GPT: header at LBA 1, its entries where it says.
fn read_gpt(disk: &dyn Disk) -> Result<Vec<Partition>, String> {
    let mut header = [0u8; SECTOR as usize];
    disk.read_at(SECTOR, &mut header)
        .map_err(|e| format!("protective MBR but the GPT header could not be read: {e}"))?;
    if &header[..8] != b"EFI PART" {
        return Err(
            "protective MBR but no GPT header (signature \"EFI PART\" missing at LBA 1)".into(),
        );
    }
    let header_size = le32(&header, 12);
    if !(92..=SECTOR as u32).contains(&header_size) {
        return Err(format!(
            "GPT header size {header_size} is not between 92 and 512"
        ));
    }
    let mut checked = header;
    checked[16..20].fill(0);
    if crc32(&checked[..header_size as usize]) != le32(&header, 16) {
        return Err("GPT header CRC mismatch".into());
    }
    let entries_lba = le64(&header, 72);
    let count = le32(&header, 80);
    let entry_size = le32(&header, 84);
    if count > MAX_GPT_ENTRIES {
        return Err(format!(
            "GPT header claims {count} partition entries (at most {MAX_GPT_ENTRIES} read)"
        ));
    }
    if !(128..=MAX_GPT_ENTRY_SIZE).contains(&entry_size) || !entry_size.is_multiple_of(128) {
        return Err(format!(
            "GPT partition entry size {entry_size} is not a multiple of 128 up to {MAX_GPT_ENTRY_SIZE}"
        ));
    }
    // Both bounded above: at most 4096 × 4096 bytes, then capped.
    let array_len = u64::from(count) * u64::from(entry_size);
    if array_len > MAX_GPT_ARRAY {
        return Err(format!(
            "GPT partition entries take {array_len} bytes (at most {MAX_GPT_ARRAY} read)"
        ));
    }
    let array_offset = entries_lba
        .checked_mul(SECTOR)
        .filter(|o| {
            o.checked_add(array_len)
                .is_some_and(|end| end <= disk.size())
        })
        .ok_or("GPT partition entries lie past the disk's end")?;
    let mut array = vec![0u8; array_len as usize];
    disk.read_at(array_offset, &mut array)
        .map_err(|e| format!("GPT partition entries could not be read: {e}"))?;
    if crc32(&array) != le32(&header, 88) {
        return Err("GPT partition entries CRC mismatch".into());
    }
    let mut partitions = Vec::new();
    for (i, entry) in array.chunks_exact(entry_size as usize).enumerate() {
        let type_guid = &entry[..16];
        if type_guid.iter().all(|b| *b == 0) {
            continue;
        }
        let number = i as u32 + 1;
        let (first, last) = (le64(entry, 32), le64(entry, 40));
        let range = (first <= last)
            .then(|| {
                let offset = first.checked_mul(SECTOR)?;
                let end = last.checked_add(1)?.checked_mul(SECTOR)?;
                (end <= disk.size()).then_some((offset, end - offset))
            })
            .flatten();
        let Some((offset, size)) = range else {
            return Err(format!(
                "GPT partition {number} (LBA {first} to {last}) lies past the disk's end or ends before it starts"
            ));
        };
        let guid = guid_string(type_guid);
        let (type_name, tier) = GPT_TYPES
            .iter()
            .find(|(g, _, _)| *g == guid)
            .map(|(_, name, tier)| (name.to_string(), *tier))
            .unwrap_or_else(|| (format!("type {guid}"), 0));
        partitions.push(Partition {
            number,
            type_name,
            tier,
            offset,
            size,
            name: gpt_name(&entry[56..128]),
        });
    }
    Ok(partitions)
}

/// A GUID as written: the first three fields are stored little-endian.
fn guid_string(b: &[u8]) -> String {
    format!(
        "{:02X}{:02X}{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}-{:02X}{:02X}{:02X}{:02X}{:02X}{:02X}",
        b[3],
        b[2],
        b[1],
        b[0],
        b[5],
        b[4],
        b[7],
        b[6],
        b[8],
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    )
}

/// A GPT partition name (UTF-16LE, NUL-padded), escaped for display.
fn gpt_name(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|u| *u != 0)
        .collect();
    super::image_fs::escape(String::from_utf16_lossy(&units).as_bytes())
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from(le32(b, at)) | (u64::from(le32(b, at + 4)) << 32)
}

/// CRC-32 (IEEE 802.3, reflected, as GPT uses), by table: a few lines instead of a crate.
pub fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
                k += 1;
            }
            table[i] = c;
            i += 1;
        }
        table
    };
    !bytes.iter().fold(!0u32, |c, b| {
        TABLE[((c ^ u32::from(*b)) & 0xFF) as usize] ^ (c >> 8)
    })
}

/// `7.9 GiB`, `1 MiB`, `512 bytes`: sizes and offsets in the report.
fn human(n: u64) -> String {
    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;
    if n >= GIB {
        format!("{:.1} GiB", n as f64 / GIB as f64)
    } else if n >= MIB && n.is_multiple_of(MIB) {
        format!("{} MiB", n / MIB)
    } else if n >= MIB {
        format!("{:.1} MiB", n as f64 / MIB as f64)
    } else if n.is_multiple_of(1024) && n > 0 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{n} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::super::disk::MemDisk;
    use super::*;

    const MIB: usize = 1 << 20;

    /// GUID bytes (mixed-endian) from its written form.
    fn guid(text: &str) -> [u8; 16] {
        let hex: Vec<u8> = text
            .split('-')
            .collect::<String>()
            .as_bytes()
            .chunks(2)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).expect("ascii"), 16).expect("hex"))
            .collect();
        let mut b = [0u8; 16];
        b.copy_from_slice(&hex);
        b[..4].reverse();
        b[4..6].reverse();
        b[6..8].reverse();
        b
    }

    const LINUX_DATA: &str = "0FC63DAF-8483-4772-8E79-3D69D8477DE4";
    const BIOS: &str = "21686148-6449-6E6F-744E-656564454649";
    const EFI: &str = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B";
    const ROOT_X86: &str = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709";

    fn put_ext_magic(disk: &mut [u8], offset: usize) {
        disk[offset + 1080] = 0x53;
        disk[offset + 1081] = 0xEF;
    }

    fn protective_mbr(disk: &mut [u8]) {
        disk[446 + 4] = 0xEE;
        disk[446 + 8..446 + 12].copy_from_slice(&1u32.to_le_bytes());
        disk[446 + 12..446 + 16].copy_from_slice(&u32::MAX.to_le_bytes());
        disk[510] = 0x55;
        disk[511] = 0xAA;
    }

    /// Write a GPT with `parts` (number, type, first LBA, last LBA, name) and `count` entries of 128
    /// bytes at LBA 2; CRCs right.
    fn write_gpt(disk: &mut [u8], parts: &[(u32, &str, u64, u64, &str)], count: u32) {
        protective_mbr(disk);
        let array_at = 2 * 512;
        for (number, kind, first, last, name) in parts {
            let e = array_at + (*number as usize - 1) * 128;
            disk[e..e + 16].copy_from_slice(&guid(kind));
            disk[e + 16] = *number as u8; // a unique GUID of sorts
            disk[e + 32..e + 40].copy_from_slice(&first.to_le_bytes());
            disk[e + 40..e + 48].copy_from_slice(&last.to_le_bytes());
            for (i, u) in name.encode_utf16().enumerate() {
                disk[e + 56 + 2 * i..e + 58 + 2 * i].copy_from_slice(&u.to_le_bytes());
            }
        }
        let array_crc = crc32(&disk[array_at..array_at + count as usize * 128]);
        let h = 512;
        disk[h..h + 8].copy_from_slice(b"EFI PART");
        disk[h + 8..h + 12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
        disk[h + 12..h + 16].copy_from_slice(&92u32.to_le_bytes());
        disk[h + 24..h + 32].copy_from_slice(&1u64.to_le_bytes());
        let last_lba = (disk.len() / 512 - 1) as u64;
        disk[h + 32..h + 40].copy_from_slice(&last_lba.to_le_bytes());
        disk[h + 40..h + 48].copy_from_slice(&34u64.to_le_bytes());
        disk[h + 48..h + 56].copy_from_slice(&(last_lba - 33).to_le_bytes());
        disk[h + 72..h + 80].copy_from_slice(&2u64.to_le_bytes());
        disk[h + 80..h + 84].copy_from_slice(&count.to_le_bytes());
        disk[h + 84..h + 88].copy_from_slice(&128u32.to_le_bytes());
        disk[h + 88..h + 92].copy_from_slice(&array_crc.to_le_bytes());
        fix_header_crc(disk);
    }

    fn fix_header_crc(disk: &mut [u8]) {
        let h = 512;
        disk[h + 16..h + 20].fill(0);
        let crc = crc32(&disk[h..h + 92]);
        disk[h + 16..h + 20].copy_from_slice(&crc.to_le_bytes());
    }

    /// An AL2023-like layout in 8 MiB: BIOS boot p127 and EFI p128 small at the start, root p1 after,
    /// with an ext magic in p1 (and in the EFI partition, which must still not be chosen).
    fn al2023_like() -> Vec<u8> {
        let mut disk = vec![0u8; 8 * MIB];
        write_gpt(
            &mut disk,
            &[
                (1, LINUX_DATA, 4096, 16383 - 34, "Linux"),
                (127, BIOS, 2048, 2559, "BIOS Boot Partition"),
                (128, EFI, 2560, 4095, "EFI System Partition"),
            ],
            128,
        );
        put_ext_magic(&mut disk, 4096 * 512);
        put_ext_magic(&mut disk, 2560 * 512);
        disk
    }

    fn locate(disk: Vec<u8>) -> Result<(Arc<dyn Disk>, Located), String> {
        root_filesystem(Arc::new(MemDisk(disk)))
    }

    #[test]
    fn crc32_of_a_known_string() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn guids_are_written_mixed_endian() {
        assert_eq!(guid_string(&guid(LINUX_DATA)), LINUX_DATA);
    }

    #[test]
    fn gpt_root_is_the_linux_partition_with_a_filesystem() {
        let (fs, located) = locate(al2023_like()).expect("found");
        assert_eq!(located.offset, 4096 * 512);
        assert_eq!(located.kind, FsKind::Ext);
        assert_eq!(fs.size(), located.size);
        assert_eq!(located.size, (16384 - 34 - 4096) as u64 * 512);
        assert!(
            located
                .description
                .starts_with("GPT partition 1 (Linux filesystem, named \"Linux\"), ext2/3/4, "),
            "{located}"
        );
        assert!(located.description.ends_with(" at 2 MiB"), "{located}");
    }

    #[test]
    fn gpt_prefers_a_root_partition_then_the_largest() {
        let mut disk = vec![0u8; 8 * MIB];
        write_gpt(
            &mut disk,
            &[
                (1, LINUX_DATA, 2048, 10239, ""),
                (2, LINUX_DATA, 10240, 12287, ""),
                (3, ROOT_X86, 12288, 14335, ""),
            ],
            128,
        );
        for at in [2048, 10240, 12288] {
            put_ext_magic(&mut disk, at * 512);
        }
        assert_eq!(locate(disk.clone()).expect("found").1.offset, 12288 * 512);
        // Without a readable root partition, the largest Linux filesystem.
        disk[12288 * 512 + 1080] = 0;
        assert_eq!(locate(disk.clone()).expect("found").1.offset, 2048 * 512);
        // An XFS counts as readable too.
        disk[2048 * 512 + 1080] = 0;
        disk[10240 * 512..10240 * 512 + 4].copy_from_slice(b"XFSB");
        let (_, located) = locate(disk).expect("found");
        assert_eq!((located.offset, located.kind), (10240 * 512, FsKind::Xfs));
    }

    #[test]
    fn gpt_without_a_readable_linux_partition_says_what_each_is() {
        let mut disk = al2023_like();
        disk[4096 * 512 + 1080] = 0;
        assert_eq!(
            locate(disk).err().expect("error"),
            "no Linux partition holds a readable filesystem: partitions 1 (Linux filesystem, no known \
             filesystem), 127 (BIOS boot), 128 (EFI System)"
        );
    }

    #[test]
    fn gpt_header_crc_is_checked() {
        let mut disk = al2023_like();
        disk[512 + 40] ^= 1; // first usable LBA, covered by the header CRC
        assert_eq!(
            locate(disk).err().expect("error"),
            "GPT header CRC mismatch"
        );
    }

    #[test]
    fn gpt_entries_crc_is_checked() {
        let mut disk = al2023_like();
        disk[1024 + 32] ^= 1; // partition 1's first LBA
        assert_eq!(
            locate(disk).err().expect("error"),
            "GPT partition entries CRC mismatch"
        );
    }

    #[test]
    fn gpt_entry_past_the_end_is_an_error() {
        let mut disk = vec![0u8; 8 * MIB];
        write_gpt(&mut disk, &[(1, LINUX_DATA, 2048, 16384, "")], 128);
        let error = locate(disk).err().expect("error");
        assert!(
            error.starts_with("GPT partition 1 (LBA 2048 to 16384) lies past"),
            "{error}"
        );
        let mut disk = vec![0u8; 8 * MIB];
        write_gpt(&mut disk, &[(1, LINUX_DATA, 4000, 3000, "")], 128);
        assert!(locate(disk).is_err());
    }

    #[test]
    fn gpt_absurd_entry_counts_and_sizes_are_refused() {
        let mut disk = al2023_like();
        disk[512 + 80..512 + 84].copy_from_slice(&1_000_000u32.to_le_bytes());
        fix_header_crc(&mut disk);
        assert!(
            locate(disk)
                .err()
                .expect("error")
                .contains("1000000 partition entries")
        );
        let mut disk = al2023_like();
        disk[512 + 84..512 + 88].copy_from_slice(&100u32.to_le_bytes());
        fix_header_crc(&mut disk);
        assert!(
            locate(disk)
                .err()
                .expect("error")
                .contains("entry size 100")
        );
        let mut disk = al2023_like();
        disk[512 + 72..512 + 80].copy_from_slice(&u64::MAX.to_le_bytes());
        fix_header_crc(&mut disk);
        assert_eq!(
            locate(disk).err().expect("error"),
            "GPT partition entries lie past the disk's end"
        );
        let mut disk = al2023_like();
        disk[512 + 12..512 + 16].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(locate(disk).err().expect("error").contains("header size"));
    }

    #[test]
    fn protective_mbr_without_gpt_is_an_error() {
        let mut disk = vec![0u8; MIB];
        protective_mbr(&mut disk);
        put_ext_magic(&mut disk, 0);
        let error = locate(disk).err().expect("error");
        assert!(
            error.starts_with("protective MBR but no GPT header"),
            "{error}"
        );
    }

    fn mbr_entry(disk: &mut [u8], slot: usize, kind: u8, start: u32, sectors: u32) {
        let e = 446 + 16 * slot;
        disk[e + 4] = kind;
        disk[e + 8..e + 12].copy_from_slice(&start.to_le_bytes());
        disk[e + 12..e + 16].copy_from_slice(&sectors.to_le_bytes());
        disk[510] = 0x55;
        disk[511] = 0xAA;
    }

    #[test]
    fn mbr_linux_partition_by_content_extended_ignored() {
        let mut disk = vec![0u8; 4 * MIB];
        mbr_entry(&mut disk, 0, 0x83, 2048, 2048);
        mbr_entry(&mut disk, 1, 0x05, 4096, 2048);
        mbr_entry(&mut disk, 2, 0x83, 6144, 2048);
        put_ext_magic(&mut disk, 6144 * 512);
        // An EBR-looking sector inside the extended partition: not followed.
        mbr_entry(&mut disk[4096 * 512..], 0, 0x83, 1, 100);
        let (_, located) = locate(disk.clone()).expect("found");
        assert_eq!(located.offset, 6144 * 512);
        assert_eq!(
            located.description,
            "MBR partition 3 (Linux), ext2/3/4, 1 MiB at 3 MiB"
        );
        disk[6144 * 512 + 1080] = 0;
        assert_eq!(
            locate(disk).err().expect("error"),
            "no Linux partition holds a readable filesystem: partitions 1 (Linux, no known filesystem), \
             2 (extended, not followed), 3 (Linux, no known filesystem)"
        );
    }

    #[test]
    fn mbr_partition_past_the_end_is_an_error() {
        let mut disk = vec![0u8; MIB];
        mbr_entry(&mut disk, 0, 0x83, 2048, u32::MAX);
        assert_eq!(
            locate(disk).err().expect("error"),
            "MBR partition 1 lies past the disk's end"
        );
    }

    #[test]
    fn no_table_is_the_whole_disk() {
        let mut disk = vec![0u8; MIB];
        put_ext_magic(&mut disk, 0);
        let (fs, located) = locate(disk).expect("found");
        assert_eq!((located.offset, fs.size()), (0, MIB as u64));
        assert_eq!(
            located.description,
            "whole disk (no partition table), ext2/3/4, 1 MiB"
        );
        let mut disk = vec![0u8; MIB];
        disk[..4].copy_from_slice(b"XFSB");
        disk[510] = 0x55;
        disk[511] = 0xAA;
        assert_eq!(locate(disk).expect("found").1.kind, FsKind::Xfs);
        assert!(locate(vec![0u8; MIB]).is_err());
        assert!(locate(vec![0u8; 100]).is_err());
        assert!(locate(Vec::new()).is_err());
    }
}
