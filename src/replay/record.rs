//! `--record DIR`: every AWS exchange of a live run, written in the replay format so that `--replay DIR`
//! reproduces the run. Only request parameters and response bodies are kept: never headers, so never
//! credentials, session tokens or signatures.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::params::RequestKey;
use super::scenario::{ExchangeFile, ScenarioFile};

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
    /// replaced with `force`.
    pub fn write(&self, dir: &Path, options: &RecordOptions) -> Result<(), RecordError> {
        let exchanges = self
            .exchanges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut redactor = Redactor::new(options.redact_account);
        let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
        let mut index = ScenarioFile {
            description: redactor.text(&options.description),
            region: Some(options.region.clone()),
            commands: Vec::new(),
            exchanges: Vec::new(),
        };
        let mut per_action: BTreeMap<String, usize> = BTreeMap::new();
        for exchange in exchanges {
            let n = per_action
                .entry(format!("{}/{}", exchange.key.service, exchange.key.action))
                .or_default();
            *n += 1;
            let extension = if exchange.key.service == "emr" {
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
    pub description: String,
    pub region: String,
    pub force: bool,
    pub redact_account: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("recording directory '{0}' already exists: give --force to replace it")]
    Exists(PathBuf),
    #[error("cannot write the recording to '{0}': {1}")]
    Io(PathBuf, std::io::Error),
}

/// Refuse early, before any AWS call, to record over an existing scenario.
pub fn check_target(dir: &Path, force: bool) -> Result<(), RecordError> {
    if dir.exists() && !force {
        return Err(RecordError::Exists(dir.to_path_buf()));
    }
    Ok(())
}

fn write_atomically(
    dir: &Path,
    files: &[(PathBuf, Vec<u8>)],
    force: bool,
) -> Result<(), RecordError> {
    let io = |e: std::io::Error| RecordError::Io(dir.to_path_buf(), e);
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io)?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "recording".into());
    let staging = parent.join(format!(".{name}.recording-{}", std::process::id()));
    let result = (|| {
        if staging.exists() {
            std::fs::remove_dir_all(&staging)?;
        }
        for (path, bytes) in files {
            let path = staging.join(path);
            if let Some(folder) = path.parent() {
                std::fs::create_dir_all(folder)?;
            }
            std::fs::write(&path, bytes)?;
        }
        if dir.exists() {
            if !force {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "exists",
                ));
            }
            let old = parent.join(format!(".{name}.replaced-{}", std::process::id()));
            std::fs::rename(dir, &old)?;
            std::fs::rename(&staging, dir)?;
            std::fs::remove_dir_all(&old)
        } else {
            std::fs::rename(&staging, dir)
        }
    })();
    if let Err(error) = result {
        let _ = std::fs::remove_dir_all(&staging);
        if error.kind() == std::io::ErrorKind::AlreadyExists {
            return Err(RecordError::Exists(dir.to_path_buf()));
        }
        return Err(io(error));
    }
    Ok(())
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
}
