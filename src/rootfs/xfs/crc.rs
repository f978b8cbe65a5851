//! CRC32c (Castagnoli), as XFS v5 stamps its metadata: over the whole structure with the 4-byte checksum
//! field taken as zeros, stored little-endian.

const POLY: u32 = 0x82f6_3b78;

const TABLE: [u32; 256] = table();

const fn table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ POLY
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

fn update(mut crc: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        crc = TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

/// The CRC32c of `bytes`.
#[cfg(test)]
pub fn crc32c(bytes: &[u8]) -> u32 {
    !update(!0, bytes)
}

/// Whether `buf`'s checksum, stored little-endian at `at`, matches the rest of it. A buffer too short to
/// hold the field does not match.
pub fn verify(buf: &[u8], at: usize) -> bool {
    let (Some(before), Some(field), Some(after)) = (
        buf.get(..at),
        buf.get(at..at.saturating_add(4)),
        buf.get(at.saturating_add(4)..),
    ) else {
        return false;
    };
    let crc = !update(update(update(!0, before), &[0; 4]), after);
    field == crc.to_le_bytes()
}

/// Stamp `buf`'s checksum at `at` (tests build structures with it).
#[cfg(test)]
pub fn stamp(buf: &mut [u8], at: usize) {
    buf[at..at + 4].fill(0);
    let crc = crc32c(buf);
    buf[at..at + 4].copy_from_slice(&crc.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer() {
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
        let mut buf = b"abcd\0\0\0\0efgh".to_vec();
        let crc = !update(!0, &buf);
        buf[4..8].copy_from_slice(&crc.to_le_bytes());
        assert!(verify(&buf, 4));
        buf[0] ^= 1;
        assert!(!verify(&buf, 4));
        assert!(!verify(&buf, 12));
    }
}
