//! What an image holds, as read from its root filesystem by `rootfs`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

/// The facts the image-content rules (EA060–EA065) judge.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ContentsFacts {
    pub root: PathBuf,
    /// Account names in /etc/passwd; `None` when it could not be read.
    pub users: Option<Vec<String>>,
    /// Group names in /etc/group; `None` when it could not be read.
    pub groups: Option<Vec<String>>,
    /// Where the SSM agent is installed, and where it is enabled at boot.
    pub ssm_installed: Vec<String>,
    pub ssm_enabled: Vec<String>,
    /// `file: line` for each line that sets `rotate`.
    pub dns_rotate: Vec<String>,
    /// Apparent bytes (`st_size`) of regular files under /tmp, /var and /emr (not following symlinks, not
    /// crossing mounts, at most `rootfs::MAX_DEPTH` directories deep).
    pub relocated_bytes: BTreeMap<String, u64>,
    /// `/etc/os-release` (or `/usr/lib/os-release`) as key → value; `None` when absent or unreadable.
    pub os_release: Option<BTreeMap<String, String>>,
    /// Installed kernel versions (`/lib/modules/*`, `/boot/vmlinuz-*`).
    pub kernels: Vec<String>,
    /// EMR provisioning leftovers that exist.
    pub emr_artifacts: Vec<String>,
    /// Paths that could not be read or were refused, with why: permission denied, a FIFO, socket or device
    /// where a file should be, a file over its read cap, a link loop, a tree too deep. Each is a run error.
    pub unreadable: Vec<String>,
}

/// What reading an AMI's root snapshot through the EBS direct APIs took (`image --contents`).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct SnapshotRead {
    pub snapshot_id: String,
    /// Where the root filesystem was found, and what it is (`GPT partition 1 …: XFS`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<String>,
    pub volume_gib: u64,
    /// Blocks the snapshot has written (ListSnapshotBlocks).
    pub blocks_listed: u64,
    /// Blocks fetched (GetSnapshotBlock), each 512 KiB.
    pub blocks_fetched: u64,
    pub bytes_fetched: u64,
    /// ListSnapshotBlocks pages.
    pub list_calls: u64,
    /// At us-east-1 prices for the EBS direct APIs (ListSnapshotBlocks $0.0006, GetSnapshotBlock $0.003
    /// per 1,000 requests).
    pub estimated_cost_usd: f64,
    pub elapsed_ms: u64,
    /// Why the files could not be read, when they could not (also a run error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
