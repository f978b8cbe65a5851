//! The EBS direct APIs: a snapshot's block list (ListSnapshotBlocks) and one block's bytes
//! (GetSnapshotBlock), each block checked against the SHA-256 the API sends with it.

use std::collections::BTreeMap;

use aws_smithy_runtime_api::client::result::{ConnectorError, SdkError};

use super::Aws;
use super::paging::{Page, every_page};
use crate::facts::CollectError;
use crate::replay::RecordedError;

/// Entries per ListSnapshotBlocks page: the API's most, so an 8 GiB root lists in one or two calls.
const LIST_PAGE: i32 = 10_000;

/// The snapshot block size the EBS direct APIs use (and the only one they have used).
pub const BLOCK_SIZE: u64 = crate::replay::BLOCK_SIZE as u64;

/// A snapshot's written blocks: their tokens by index. Blocks not listed were never written and read
/// as zeros.
#[derive(Debug, Clone)]
pub struct BlockList {
    /// The volume size, in bytes.
    pub volume_bytes: u64,
    pub block_size: u64,
    pub tokens: BTreeMap<u64, String>,
    /// ListSnapshotBlocks calls it took.
    pub pages: u64,
}

impl Aws {
    /// ListSnapshotBlocks, every page.
    pub async fn snapshot_blocks(&self, snapshot_id: &str) -> Result<BlockList, CollectError> {
        // What every page repeats: the volume and block sizes. Shared with each page's future.
        let shape: std::sync::Mutex<Option<(i64, i32)>> = Default::default();
        let pages = std::sync::atomic::AtomicU64::new(0);
        let entries = every_page(&self.calls, "ebs", "ListSnapshotBlocks", |token| {
            pages.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let request = self
                .ebs()
                .list_snapshot_blocks()
                .snapshot_id(snapshot_id)
                .max_results(LIST_PAGE)
                .set_next_token(token);
            let shape = &shape;
            async move {
                let page = self
                    .gate
                    .ask("ebs", "ListSnapshotBlocks", || request.clone().send())
                    .await?;
                if let (Some(volume), Some(block)) = (page.volume_size(), page.block_size()) {
                    let mut shape = shape.lock().unwrap_or_else(|e| e.into_inner());
                    // Every page describes the same snapshot: one that says otherwise is not believed.
                    if *shape.get_or_insert((volume, block)) != (volume, block) {
                        return Err(CollectError {
                            service: "ebs".into(),
                            action: "ListSnapshotBlocks".into(),
                            code: "MalformedResponse".into(),
                            message: format!(
                                "the pages of {snapshot_id} disagree on its volume or block size"
                            ),
                            status: None,
                        });
                    }
                }
                let blocks = page
                    .blocks()
                    .iter()
                    .map(|b| (b.block_index(), b.block_token().map(str::to_string)))
                    .collect::<Vec<_>>();
                Ok(Page::new(blocks, page.next_token()))
            }
        })
        .await
        .inspect_err(|error| self.record_refusal(snapshot_id, error))?;
        let shape = *shape.lock().unwrap_or_else(|e| e.into_inner());
        let pages = pages.into_inner();
        let broken = |message: String| CollectError {
            service: "ebs".into(),
            action: "ListSnapshotBlocks".into(),
            code: "MalformedResponse".into(),
            message,
            status: None,
        };
        let (volume_gib, block_size) =
            shape.ok_or_else(|| broken(format!("no VolumeSize or BlockSize for {snapshot_id}")))?;
        let volume_bytes = u64::try_from(volume_gib)
            .ok()
            .and_then(|g| g.checked_mul(1 << 30))
            .ok_or_else(|| broken(format!("volume size {volume_gib} GiB")))?;
        if u64::try_from(block_size).ok() != Some(BLOCK_SIZE) {
            return Err(broken(format!(
                "block size {block_size}, not the {BLOCK_SIZE} bytes of the EBS direct APIs"
            )));
        }
        let mut tokens = BTreeMap::new();
        for (index, token) in entries {
            let (Some(index), Some(token)) = (index, token) else {
                return Err(broken("a block without its index or token".into()));
            };
            let index = u64::try_from(index)
                .ok()
                .filter(|i| (i + 1) * BLOCK_SIZE <= volume_bytes)
                .ok_or_else(|| broken(format!("block {index} is outside the volume")))?;
            tokens.insert(index, token);
        }
        if let Some(recorder) = &self.recorder {
            recorder.record_block_list(snapshot_id, volume_gib, tokens.keys().copied());
        }
        Ok(BlockList {
            volume_bytes,
            block_size: BLOCK_SIZE,
            tokens,
            pages,
        })
    }

    /// GetSnapshotBlock: the block's bytes, exactly [`BLOCK_SIZE`] of them, whose SHA-256 is the one
    /// the answer gives; anything else is an error (a corrupt or truncated block is never read).
    pub async fn snapshot_block(
        &self,
        snapshot_id: &str,
        index: u64,
        token: &str,
    ) -> Result<Vec<u8>, CollectError> {
        self.calls.record("ebs", "GetSnapshotBlock");
        let failed = |code: &str, message: String| CollectError {
            service: "ebs".into(),
            action: "GetSnapshotBlock".into(),
            code: code.into(),
            message,
            status: None,
        };
        let block_index = i32::try_from(index)
            .map_err(|_| failed("InvalidBlock", format!("block index {index}")))?;
        let request = self
            .ebs()
            .get_snapshot_block()
            .snapshot_id(snapshot_id)
            .block_index(block_index)
            .block_token(token);
        // The block's bytes are read inside the gate, so that the run's deadline and the budget of calls
        // in flight cover the download, and a connection cut mid-body is retried like any dropped
        // connection instead of failing the AMI.
        let (expected, algorithm, bytes) =
            self.gate
                .ask("ebs", "GetSnapshotBlock", || {
                    let request = request.clone();
                    async move {
                        let output = request.send().await?;
                        let expected = output.checksum().map(str::to_string);
                        let algorithm = output.checksum_algorithm().map(|a| a.as_str().to_string());
                        let bytes = output.block_data.collect().await.map_err(|e| {
                            SdkError::dispatch_failure(ConnectorError::io(Box::new(e)))
                        })?;
                        Ok((expected, algorithm, bytes.to_vec()))
                    }
                })
                .await
                .inspect_err(|error| self.record_refusal(snapshot_id, error))?;
        if algorithm.as_deref() != Some("SHA256") {
            return Err(failed(
                "NoChecksum",
                format!(
                    "block {index} of {snapshot_id} came without a SHA256 checksum ({}); not read",
                    algorithm.as_deref().unwrap_or("none")
                ),
            ));
        }
        let actual = crate::replay::checksum(&bytes);
        if expected.as_deref() != Some(actual.as_str()) {
            return Err(failed(
                "ChecksumMismatch",
                format!(
                    "block {index} of {snapshot_id}: {} bytes whose SHA-256 is not the one sent with them; not read",
                    bytes.len()
                ),
            ));
        }
        if bytes.len() as u64 != BLOCK_SIZE {
            return Err(failed(
                "TruncatedResponse",
                format!(
                    "block {index} of {snapshot_id} holds {} bytes, not {BLOCK_SIZE}",
                    bytes.len()
                ),
            ));
        }
        if let Some(recorder) = &self.recorder {
            recorder.record_block(snapshot_id, index, &bytes);
        }
        Ok(bytes)
    }

    /// Under `--record`, an EBS call the service refused (HTTP 4xx, not throttling): the recording
    /// refuses it the same way.
    fn record_refusal(&self, snapshot_id: &str, error: &CollectError) {
        let refused = error
            .status
            .is_some_and(|s| (400..500).contains(&s) && s != 429)
            && !super::pacing::THROTTLING.contains(&error.code.as_str());
        if let (Some(recorder), true) = (&self.recorder, refused) {
            recorder.record_snapshot_error(
                snapshot_id,
                RecordedError {
                    action: error.action.clone(),
                    status: error.status.unwrap_or(400),
                    code: error.code.clone(),
                    message: error.message.clone(),
                },
            );
        }
    }
}
