//! `--record DIR`: every AWS exchange of a live run, written in the replay format so that `--replay DIR`
//! reproduces the run. Only request parameters and response bodies are kept: never headers, so never
//! credentials, session tokens or signatures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::params::RequestKey;
use super::scenario::{ExchangeFile, ScenarioFile};
use super::snapshots::{RecordedError, SnapshotRecording};
use crate::validate::is_snapshot_id;

/// One request and the answer it got.
#[derive(Debug, Clone, PartialEq)]
struct Recorded {
    key: RequestKey,
    status: u16,
    body: Vec<u8>,
}

/// Collects exchanges from the clients' interceptors; cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct Recorder {
    exchanges: Arc<Mutex<Vec<Recorded>>>,
    /// EBS snapshots read (`image --contents`): their block lists and the blocks read, by snapshot ID.
    snapshots: Arc<Mutex<BTreeMap<String, SnapshotRecording>>>,
}

impl Recorder {
    /// Keep one exchange (called by the SDK interceptor in `aws::recording`).
    pub fn record(&self, key: RequestKey, status: u16, body: Vec<u8>) {
        let recorded = Recorded { key, status, body };
        let mut exchanges = self.exchanges.lock().unwrap_or_else(|e| e.into_inner());
        // The same request answered the same way adds nothing to a replay.
        if !exchanges.contains(&recorded) {
            exchanges.push(recorded);
        }
    }

    /// Keep a snapshot's block list (ListSnapshotBlocks, every page).
    pub fn record_block_list(
        &self,
        snapshot_id: &str,
        volume_gib: i64,
        listed: impl Iterator<Item = u64>,
    ) {
        if !is_snapshot_id(snapshot_id) {
            return;
        }
        let mut snapshots = self.snapshots.lock().unwrap_or_else(|e| e.into_inner());
        let snapshot = snapshots.entry(snapshot_id.to_string()).or_default();
        snapshot.volume_gib = u64::try_from(volume_gib).unwrap_or(0);
        snapshot.listed = listed.collect();
    }

    /// Keep how a call about a snapshot was refused (a denied listing, a key the caller can't use), so a
    /// replay refuses it the same way.
    pub fn record_snapshot_error(&self, snapshot_id: &str, error: RecordedError) {
        if !is_snapshot_id(snapshot_id) {
            return;
        }
        let mut snapshots = self.snapshots.lock().unwrap_or_else(|e| e.into_inner());
        snapshots.entry(snapshot_id.to_string()).or_default().error = Some(error);
    }

    /// Keep a block read (GetSnapshotBlock), its checksum verified.
    pub fn record_block(&self, snapshot_id: &str, index: u64, bytes: &[u8]) {
        if !is_snapshot_id(snapshot_id) {
            return;
        }
        let mut snapshots = self.snapshots.lock().unwrap_or_else(|e| e.into_inner());
        let snapshot = snapshots.entry(snapshot_id.to_string()).or_default();
        snapshot.read.insert(index, bytes.to_vec());
    }

    pub fn len(&self) -> usize {
        self.exchanges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Write the recording to `dir` atomically: into a staging folder beside it, then renamed into
    /// place, so an interrupted run never leaves a half-written scenario. An existing `dir` is only
    /// replaced with `force`, and only when it is an earlier recording or an empty directory.
    pub fn write(&self, dir: &Path, options: &RecordOptions) -> Result<(), RecordError> {
        let exchanges = self
            .exchanges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut redactor = Redactor::new(options.redact_account);
        // Free text from the command line: user info (`https://user:secret@host`) never reaches a file.
        let mut text = |text: &str| redactor.text(&without_user_info(text));
        let description = text(&options.description);
        let commands = options
            .commands
            .iter()
            .map(|command| command.iter().map(|arg| text(arg)).collect())
            .collect();
        let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        let mut index = ScenarioFile {
            description,
            region: Some(options.region.clone()),
            commands,
            exchanges: Vec::new(),
        };
        let mut per_action: BTreeMap<String, usize> = BTreeMap::new();
        for exchange in exchanges {
            let n = per_action
                .entry(format!("{}/{}", exchange.key.service, exchange.key.action))
                .or_default();
            *n += 1;
            let extension = if super::server::is_json_service(&exchange.key.service) {
                "json"
            } else {
                "xml"
            };
            let response = PathBuf::from(&exchange.key.service)
                .join(format!("{}.{:03}.{extension}", exchange.key.action, n));
            files.push((response.clone(), redactor.bytes(&exchange.body)));
            index.exchanges.push(ExchangeFile {
                service: exchange.key.service,
                action: exchange.key.action,
                params: redactor.value(&exchange.key.params),
                status: (exchange.status != 200).then_some(exchange.status),
                // Requests to another region than the run's (a parent image copied from there).
                region: exchange.key.region.clone().filter(|r| *r != options.region),
                // One account per recording: `--record` refuses `--accounts`.
                account: None,
                response,
                note: None,
            });
        }
        let snapshots = self
            .snapshots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for (snapshot_id, snapshot) in &snapshots {
            files.extend(snapshot.files(snapshot_id));
        }
        let json = serde_json::to_string_pretty(&index)
            .map_err(|e| RecordError::Io(dir.to_path_buf(), std::io::Error::other(e)))?;
        files.push((
            PathBuf::from("exchanges.json"),
            format!("{json}\n").into_bytes(),
        ));
        write_atomically(dir, &files, options.force)
    }
}

/// How to write a recording.
#[derive(Debug, Clone)]
pub struct RecordOptions {
    /// Free text; URLs in it lose their user info.
    pub description: String,
    /// The commands (arguments after the global options) the recording answers; URLs in them lose
    /// their user info.
    pub commands: Vec<Vec<String>>,
    pub region: String,
    pub force: bool,
    pub redact_account: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("recording directory '{0}' already exists: give --force to replace it")]
    Exists(PathBuf),
    #[error("cannot record to '{0}': {1}")]
    Target(PathBuf, String),
    #[error("cannot write the recording to '{0}': {1}")]
    Io(PathBuf, std::io::Error),
    #[error(
        "the recording is in '{0}', but the one it replaced could not be removed from '{1}': {2}"
    )]
    Leftover(PathBuf, PathBuf, std::io::Error),
}

const FORCE_REPLACES: &str = "--force replaces only an earlier recording (a directory holding exchanges.json) or an empty directory";

/// Refuse early, before any AWS call, a target the recording could not be written to or must not
/// replace: its parent must be a directory this process can write in (a probe file is created and
/// removed, since permission bits don't tell about read-only mounts, ACLs or root), and an existing
/// target must be an earlier recording or an empty directory, replaced only with `force`.
pub fn check_target(dir: &Path, force: bool) -> Result<(), RecordError> {
    let refuse = |why: String| RecordError::Target(dir.to_path_buf(), why);
    let Some(name) = dir.file_name() else {
        return Err(refuse("it names no directory to create or replace".into()));
    };
    let parent = parent_of(dir);
    match std::fs::metadata(&parent) {
        Ok(metadata) if metadata.is_dir() => {}
        Ok(_) => {
            return Err(refuse(format!("'{}' is not a directory", parent.display())));
        }
        Err(e) => {
            return Err(refuse(format!(
                "its parent directory '{}' is unusable: {e}",
                parent.display()
            )));
        }
    }
    existing(dir, force)?;
    let probe = parent.join(format!(
        ".{}.probe-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(|e| refuse(format!("cannot write in '{}': {e}", parent.display())))?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

/// Whether `dir` exists, refused when it may not be replaced: anything but an earlier recording or an
/// empty directory, and even those without `force`.
fn existing(dir: &Path, force: bool) -> Result<bool, RecordError> {
    let refuse = |why: String| RecordError::Target(dir.to_path_buf(), why);
    let metadata = match std::fs::symlink_metadata(dir) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(refuse(format!("cannot inspect it: {e}"))),
    };
    let kind = metadata.file_type();
    if kind.is_symlink() {
        return Err(refuse(format!(
            "it is a symbolic link, not a directory; {FORCE_REPLACES}"
        )));
    }
    if !kind.is_dir() {
        return Err(refuse(format!(
            "it exists and is not a directory; {FORCE_REPLACES}"
        )));
    }
    let recording =
        std::fs::symlink_metadata(dir.join("exchanges.json")).is_ok_and(|index| index.is_file());
    if !recording {
        let empty = std::fs::read_dir(dir)
            .map_err(|e| refuse(format!("cannot list it: {e}")))?
            .next()
            .is_none();
        if !empty {
            return Err(refuse(format!(
                "it is a directory that is neither empty nor a recording (no exchanges.json); {FORCE_REPLACES}"
            )));
        }
    }
    if !force {
        return Err(RecordError::Exists(dir.to_path_buf()));
    }
    Ok(true)
}

fn parent_of(dir: &Path) -> PathBuf {
    match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn write_atomically(
    dir: &Path,
    files: &[(PathBuf, Vec<u8>)],
    force: bool,
) -> Result<(), RecordError> {
    let io = |e: std::io::Error| RecordError::Io(dir.to_path_buf(), e);
    let parent = parent_of(dir);
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "recording".into());
    let staging = parent.join(format!(".{name}.recording-{}", std::process::id()));
    if std::fs::symlink_metadata(&staging).is_ok() {
        std::fs::remove_dir_all(&staging).map_err(io)?;
    }
    let staged = (|| {
        for (path, bytes) in files {
            let path = staging.join(path);
            if let Some(folder) = path.parent() {
                std::fs::create_dir_all(folder)?;
            }
            std::fs::write(&path, bytes)?;
        }
        Ok(())
    })();
    if let Err(error) = staged {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(io(error));
    }
    // Checked again: the target may have changed since `check_target`, before the run.
    let replaced = match existing(dir, force) {
        Ok(exists) => exists,
        Err(error) => {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(error);
        }
    };
    if !replaced {
        return std::fs::rename(&staging, dir).map_err(|e| {
            let _ = std::fs::remove_dir_all(&staging);
            io(e)
        });
    }
    let old = parent.join(format!(".{name}.replaced-{}", std::process::id()));
    if let Err(error) = std::fs::rename(dir, &old) {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(io(error));
    }
    if let Err(error) = std::fs::rename(&staging, dir) {
        // Put the earlier recording back.
        let _ = std::fs::rename(&old, dir);
        let _ = std::fs::remove_dir_all(&staging);
        return Err(io(error));
    }
    std::fs::remove_dir_all(&old).map_err(|e| RecordError::Leftover(dir.to_path_buf(), old, e))
}

/// `text` with the user info of every URL in it removed: `https://user:secret@host/x` becomes
/// `https://host/x`. Conservative: everything from `://` to the last `@` before the next whitespace
/// goes, so a password with an unescaped `/`, `?` or `#` (which ends the authority for a URL parser)
/// is removed too, at the cost of mangling a URL that has an `@` in its path.
pub fn without_user_info(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (before, after) = rest.split_at(at + 3);
        out.push_str(before);
        let end = after.find(char::is_whitespace).unwrap_or(after.len());
        let start = after[..end].rfind('@').map_or(0, |i| i + 1);
        out.push_str(&after[start..end]);
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Replaces AWS account IDs (any run of exactly 12 digits, which also covers ARNs) with fake ones,
/// the same fake for the same account in every file.
struct Redactor {
    enabled: bool,
    fakes: BTreeMap<String, String>,
}

impl Redactor {
    fn new(enabled: bool) -> Self {
        Redactor {
            enabled,
            fakes: BTreeMap::new(),
        }
    }

    fn text(&mut self, text: &str) -> String {
        if !self.enabled {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut digits = String::new();
        for c in text.chars().chain(std::iter::once('\0')) {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            if digits.len() == 12 {
                let next = self.fakes.len() + 1;
                let fake = self
                    .fakes
                    .entry(digits.clone())
                    .or_insert_with(|| format!("{:012}", 999_900_000_000u64 + next as u64));
                out.push_str(fake);
            } else {
                out.push_str(&digits);
            }
            digits.clear();
            if c != '\0' {
                out.push(c);
            }
        }
        out
    }

    fn bytes(&mut self, bytes: &[u8]) -> Vec<u8> {
        match std::str::from_utf8(bytes) {
            Ok(text) if self.enabled => self.text(text).into_bytes(),
            _ => bytes.to_vec(),
        }
    }

    fn value(&mut self, value: &Value) -> Value {
        match value {
            Value::String(s) => Value::String(self.text(s)),
            Value::Array(items) => Value::Array(items.iter().map(|v| self.value(v)).collect()),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), self.value(v)))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_is_consistent_and_only_touches_12_digit_runs() {
        let mut r = Redactor::new(true);
        let a = r.text("owner 111122223333, arn:aws:iam::111122223333:role/x, other 444455556666");
        assert_eq!(
            a,
            "owner 999900000001, arn:aws:iam::999900000001:role/x, other 999900000002"
        );
        assert_eq!(
            r.text("1111222233334 and 11112222333 stay"),
            "1111222233334 and 11112222333 stay"
        );
        assert_eq!(r.text("444455556666"), "999900000002");
        let mut off = Redactor::new(false);
        assert_eq!(off.text("111122223333"), "111122223333");
    }

    #[test]
    fn urls_lose_their_user_info() {
        assert_eq!(
            without_user_info("--endpoint-url https://user:s3cret@host:4566/x?y#z next"),
            "--endpoint-url https://host:4566/x?y#z next"
        );
        assert_eq!(
            without_user_info("--endpoint-url=http://a:b@h1 and ftp://c@h2"),
            "--endpoint-url=http://h1 and ftp://h2"
        );
        // A password with characters a URL parser would stop at is removed too.
        assert_eq!(
            without_user_info("https://user:pa/ss#w@host/path"),
            "https://host/path"
        );
        assert_eq!(
            without_user_info("no URL, user@example.com"),
            "no URL, user@example.com"
        );
        assert_eq!(without_user_info("http://host/"), "http://host/");
    }
}
