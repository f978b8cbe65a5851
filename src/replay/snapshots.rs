//! EBS snapshots in a scenario: `ebs/<snapshot-id>/blocks.json` lists the snapshot's written blocks (what
//! ListSnapshotBlocks answers) and `ebs/<snapshot-id>/<BlockIndex>.bin` holds the bytes of each block that
//! was read, without its trailing zeros (the server pads it back to the block size). Recorded by
//! `--record`, or written from a disk image by `mocks/contents/sparsify.py`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::validate::is_snapshot_id;

/// The block size of the EBS direct APIs.
pub const BLOCK_SIZE: usize = 512 * 1024;

/// Most blocks a recorded snapshot may list: a 64 TiB volume's, the largest EBS has.
const MAX_LISTED: usize = 128 << 20;

/// `blocks.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct SnapshotIndex {
    pub snapshot_id: String,
    /// GiB.
    pub volume_size: u64,
    pub block_size: u64,
    pub blocks: Vec<ListedBlock>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ListedBlock {
    pub block_index: u64,
    /// Base64 SHA-256 of the whole block, when it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

/// `error.json`: how the EBS direct APIs refused a call about the snapshot (a denied listing, say), so
/// a replay refuses it the same way.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RecordedError {
    /// `ListSnapshotBlocks` or `GetSnapshotBlock`.
    pub action: String,
    pub status: u16,
    pub code: String,
    pub message: String,
}

/// A snapshot of a scenario, as the server answers for it.
#[derive(Debug, Clone)]
pub struct RecordedSnapshot {
    pub index: SnapshotIndex,
    /// Refusals, by action.
    pub errors: BTreeMap<String, RecordedError>,
    /// The blocks recorded, without their trailing zeros.
    blocks: BTreeMap<u64, Arc<[u8]>>,
}

impl RecordedSnapshot {
    /// Block `index`'s bytes, padded to the block size, and its checksum (the one recorded, else the
    /// bytes' own); `None` when it was not recorded.
    pub fn block(&self, index: u64) -> Option<(Vec<u8>, String)> {
        let stored = self.blocks.get(&index)?;
        let mut bytes = stored.to_vec();
        bytes.resize(BLOCK_SIZE, 0);
        let recorded = self
            .index
            .blocks
            .iter()
            .find(|b| b.block_index == index)
            .and_then(|b| b.checksum.clone());
        let sum = recorded.unwrap_or_else(|| checksum(&bytes));
        Some((bytes, sum))
    }
}

/// Reads a file of the scenario (relative path, cap, what it is), confined to it.
pub type ReadFile<'a> = &'a mut dyn FnMut(&Path, u64, &str) -> Result<Arc<[u8]>, String>;

/// The snapshots under `scenario/ebs/`, by ID; `read` reads a file of the scenario (relative path, cap,
/// what it is), confined to it.
pub fn load(
    scenario: &Path,
    read: ReadFile<'_>,
) -> Result<BTreeMap<String, RecordedSnapshot>, String> {
    let root = scenario.join("ebs");
    let mut snapshots = BTreeMap::new();
    let entries = match std::fs::read_dir(&root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(snapshots),
        Err(e) => return Err(format!("{}: {e}", root.display())),
    };
    let mut names = Vec::new();
    for entry in entries {
        let name = entry
            .map_err(|e| format!("{}: {e}", root.display()))?
            .file_name();
        match name.to_str() {
            Some(name) if is_snapshot_id(name) => names.push(name.to_string()),
            _ => {
                return Err(format!(
                    "{}: '{}' is not a snapshot ID (snap- and 8 or 17 hex digits)",
                    root.display(),
                    name.to_string_lossy()
                ));
            }
        }
    }
    for name in names {
        let folder = PathBuf::from("ebs").join(&name);
        let mut errors = BTreeMap::new();
        if scenario.join(&folder).join("error.json").exists() {
            let file = folder.join("error.json");
            let text = read(&file, 1 << 20, "a recorded error")?;
            let error: RecordedError = serde_json::from_slice(&text)
                .map_err(|e| format!("{}: {e}", scenario.join(&file).display()))?;
            if !(400..600).contains(&error.status) {
                return Err(format!(
                    "{}: Status {} is not an HTTP error",
                    scenario.join(&file).display(),
                    error.status
                ));
            }
            errors.insert(error.action.clone(), error);
        }
        let file = folder.join("blocks.json");
        // A snapshot whose listing was refused has no block list.
        let index: SnapshotIndex =
            if errors.contains_key("ListSnapshotBlocks") && !scenario.join(&file).exists() {
                SnapshotIndex {
                    snapshot_id: name.clone(),
                    volume_size: 0,
                    block_size: BLOCK_SIZE as u64,
                    blocks: Vec::new(),
                }
            } else {
                let text = read(&file, 16 << 20, "a block list")?;
                serde_json::from_slice(&text)
                    .map_err(|e| format!("{}: {e}", scenario.join(&file).display()))?
            };
        let sorted = index
            .blocks
            .windows(2)
            .all(|w| w[0].block_index < w[1].block_index);
        if index.snapshot_id != name
            || index.block_size != BLOCK_SIZE as u64
            || index.blocks.len() > MAX_LISTED
            || !sorted
        {
            return Err(format!(
                "{}: SnapshotId must be the folder's name, BlockSize {BLOCK_SIZE}, at most {MAX_LISTED} blocks, in increasing BlockIndex order",
                scenario.join(&file).display()
            ));
        }
        let mut blocks = BTreeMap::new();
        for listed in &index.blocks {
            let path = folder.join(format!("{}.bin", listed.block_index));
            if !scenario.join(&path).exists() {
                continue;
            }
            blocks.insert(
                listed.block_index,
                read(&path, BLOCK_SIZE as u64, "a block")?,
            );
        }
        snapshots.insert(
            name,
            RecordedSnapshot {
                index,
                errors,
                blocks,
            },
        );
    }
    Ok(snapshots)
}

/// What `--record` keeps of one snapshot: the blocks listed, and the bytes of those read.
#[derive(Debug, Clone, Default)]
pub struct SnapshotRecording {
    pub volume_gib: u64,
    pub listed: Vec<u64>,
    pub read: BTreeMap<u64, Vec<u8>>,
    /// How a call about the snapshot was refused, if one was.
    pub error: Option<RecordedError>,
}

impl SnapshotRecording {
    /// The files of the snapshot's folder, relative to the scenario.
    pub fn files(&self, snapshot_id: &str) -> Vec<(PathBuf, Vec<u8>)> {
        let dir = PathBuf::from("ebs").join(snapshot_id);
        let mut files = Vec::new();
        if let Some(error) = &self.error {
            let json = serde_json::to_string_pretty(error).unwrap_or_default();
            files.push((dir.join("error.json"), format!("{json}\n").into_bytes()));
            if self.listed.is_empty() && error.action == "ListSnapshotBlocks" {
                return files;
            }
        }
        let blocks = self
            .listed
            .iter()
            .map(|&block_index| ListedBlock {
                block_index,
                checksum: self.read.get(&block_index).map(|bytes| checksum(bytes)),
            })
            .collect();
        let index = SnapshotIndex {
            snapshot_id: snapshot_id.to_string(),
            volume_size: self.volume_gib,
            block_size: BLOCK_SIZE as u64,
            blocks,
        };
        let json = serde_json::to_string_pretty(&index).unwrap_or_default();
        files.push((dir.join("blocks.json"), format!("{json}\n").into_bytes()));
        for (block, bytes) in &self.read {
            let end = bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
            files.push((dir.join(format!("{block}.bin")), bytes[..end].to_vec()));
        }
        files
    }
}

/// The checksum the EBS direct APIs send with a block: base64 of its SHA-256.
pub fn checksum(bytes: &[u8]) -> String {
    aws_smithy_types::base64::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_blocks_lose_trailing_zeros_and_keep_their_checksum() {
        let mut block = vec![0u8; BLOCK_SIZE];
        block[10] = 7;
        let recording = SnapshotRecording {
            volume_gib: 1,
            listed: vec![0, 3],
            read: BTreeMap::from([(3, block.clone())]),
            ..Default::default()
        };
        let files = recording.files("snap-01234567");
        let bin = files
            .iter()
            .find(|(p, _)| p.ends_with("3.bin"))
            .expect("block file");
        assert_eq!(bin.1.len(), 11);
        let index: SnapshotIndex = serde_json::from_slice(&files[0].1).expect("index");
        assert_eq!(index.blocks.len(), 2);
        assert_eq!(index.blocks[0].checksum, None);
        assert_eq!(
            index.blocks[1].checksum.as_deref(),
            Some(checksum(&block).as_str())
        );
    }
}
