//! A recorded scenario on disk: `exchanges.json` and the raw bodies it points to.
//!
//! A scenario may come from anyone (a colleague's recording, a bug report), and what it holds ends up in
//! reports and is served to any local client of `mock serve`. So every file is read confined to the
//! scenario directory: no symbolic link leading out of it, only regular files (never a FIFO that would
//! block or a device that never ends), each under a size cap, and each distinct file read once however
//! many exchanges share it.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::params::canonical;

/// `exchanges.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    #[serde(default)]
    pub description: String,
    /// The region the answers were recorded in; the default region of a replay.
    #[serde(default)]
    pub region: Option<String>,
    /// Commands (arguments after the global options) this scenario answers; the coverage test runs them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<Vec<String>>,
    pub exchanges: Vec<ExchangeFile>,
}

/// One recorded request and its answer, as written in `exchanges.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExchangeFile {
    pub service: String,
    pub action: String,
    #[serde(default = "empty_object")]
    pub params: Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Only requests signed for this region get this answer (default: any region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Only requests made with credentials an AssumeRole answer handed out for this account (default:
    /// any credentials).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Body file, relative to the scenario directory.
    pub response: PathBuf,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

/// Largest response body a scenario may hold (AWS's own pages are far smaller).
pub const MAX_RESPONSE_BYTES: u64 = 64 * MIB;
/// Largest `exchanges.json`.
pub const MAX_INDEX_BYTES: u64 = 32 * MIB;
/// Largest total of a scenario's distinct response bodies, all held in memory while it is served: with
/// the rest of a run, under 200 MiB. The shipped scenarios hold under 1 MiB.
pub const MAX_TOTAL_BYTES: u64 = 160 * MIB;
const MIB: u64 = 1024 * 1024;

/// A loaded exchange: canonical parameters and the body in memory.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub service: String,
    pub action: String,
    pub params: Value,
    /// Answers only requests signed for this region.
    pub region: Option<String>,
    /// Answers only requests with credentials assumed for this account.
    pub account: Option<String>,
    pub status: u16,
    /// Shared by every exchange answered with the same file: each file is read once.
    pub body: Arc<[u8]>,
    pub response_file: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub dir: PathBuf,
    pub description: String,
    pub region: Option<String>,
    pub commands: Vec<Vec<String>>,
    pub exchanges: Vec<Exchange>,
    /// EBS snapshots (`ebs/<snapshot-id>/`), by ID.
    pub snapshots: std::collections::BTreeMap<String, super::snapshots::RecordedSnapshot>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("replay directory '{0}' does not exist")]
    MissingDir(PathBuf),
    #[error("replay directory '{dir}' has no exchanges.json (see mocks/README.md)")]
    MissingIndex { dir: PathBuf },
    #[error("cannot read '{path}': {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file the scenario may not use (outside it, not a regular file, too large).
    #[error("refusing '{path}': {reason}")]
    Refused { path: PathBuf, reason: String },
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{path}: exchange {index} ({service} {action}): {problem}")]
    Exchange {
        path: PathBuf,
        index: usize,
        service: String,
        action: String,
        problem: String,
    },
}

impl Scenario {
    pub fn load(dir: &Path) -> Result<Scenario, ScenarioError> {
        if !dir.is_dir() {
            return Err(ScenarioError::MissingDir(dir.to_path_buf()));
        }
        let index = dir.join("exchanges.json");
        if std::fs::symlink_metadata(&index)
            .is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound)
        {
            return Err(ScenarioError::MissingIndex {
                dir: dir.to_path_buf(),
            });
        }
        let mut files = ConfinedFiles::new(dir).map_err(|source| ScenarioError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let bytes = files
            .read(
                Path::new("exchanges.json"),
                MAX_INDEX_BYTES,
                "exchanges.json",
            )
            .map_err(|reason| ScenarioError::Refused {
                path: index.clone(),
                reason,
            })?;
        // The index is not a response: it neither counts towards the total nor stays cached.
        files.forget(Path::new("exchanges.json"));
        let file: ScenarioFile =
            serde_json::from_slice(&bytes).map_err(|e| ScenarioError::Parse {
                path: index.clone(),
                line: e.line(),
                column: e.column(),
                message: e.to_string(),
            })?;
        drop(bytes);
        let mut exchanges = Vec::with_capacity(file.exchanges.len());
        for (i, exchange) in file.exchanges.into_iter().enumerate() {
            let problem = |problem: String| ScenarioError::Exchange {
                path: index.clone(),
                index: i + 1,
                service: exchange.service.clone(),
                action: exchange.action.clone(),
                problem,
            };
            if !matches!(
                exchange.service.as_str(),
                "ec2" | "emr" | "kms" | "sts" | "organizations"
            ) {
                return Err(problem(format!(
                    "unknown service '{}' (ec2, emr, kms, sts or organizations)",
                    exchange.service
                )));
            }
            if !exchange.params.is_object() {
                return Err(problem("params must be a JSON object".into()));
            }
            if exchange.response.is_absolute()
                || exchange
                    .response
                    .components()
                    .any(|c| c == std::path::Component::ParentDir)
            {
                return Err(problem(format!(
                    "response '{}' must stay inside the scenario",
                    exchange.response.display()
                )));
            }
            let body = files
                .read(&exchange.response, MAX_RESPONSE_BYTES, "a response")
                .map_err(|reason| {
                    problem(format!(
                        "refusing response '{}': {reason}",
                        exchange.response.display()
                    ))
                })?;
            let status = exchange.status.unwrap_or(200);
            if !(200..600).contains(&status) {
                return Err(problem(format!("status {status} is not an HTTP status")));
            }
            exchanges.push(Exchange {
                service: exchange.service,
                action: exchange.action,
                params: canonical(&exchange.params),
                region: exchange.region,
                account: exchange.account,
                status,
                body,
                response_file: exchange.response,
            });
        }
        let snapshots =
            super::snapshots::load(dir, &mut |path, cap, what| files.read(path, cap, what))
                .map_err(|reason| ScenarioError::Refused {
                    path: dir.join("ebs"),
                    reason,
                })?;
        Ok(Scenario {
            snapshots,
            dir: dir.to_path_buf(),
            description: file.description,
            region: file.region,
            commands: file.commands,
            exchanges,
        })
    }
}

/// Reads files of one scenario directory, confined to it.
///
/// Confinement canonicalizes: the kernel resolves the whole path (symbolic links absolute or relative,
/// chains of them, `..` after a link, loops) exactly as it will when the file is opened, and the result
/// must lie inside the canonicalized root. Walking the path component by component instead would
/// re-implement those resolution rules by hand, and any place where the walk and the kernel disagree
/// would be a way out. Symbolic links that stay inside the scenario keep working.
///
/// What canonicalizing alone can't see is a path changed between the check and the open. So the file is
/// checked (type and size) before it is opened, which keeps a FIFO from blocking the open, and after it
/// is opened the path is resolved again: it must still lie inside the root and name the very file that
/// was opened (same device and inode), else it is refused. Left out: a hard link to an outside file,
/// which only someone who can already read that file and write the scenario directory can make.
struct ConfinedFiles {
    root: PathBuf,
    /// Bodies by resolved path: each distinct file is read once, however many exchanges use it.
    cache: HashMap<PathBuf, Arc<[u8]>>,
    total: u64,
}

impl ConfinedFiles {
    fn new(dir: &Path) -> std::io::Result<Self> {
        Ok(ConfinedFiles {
            root: dir.canonicalize()?,
            cache: HashMap::new(),
            total: 0,
        })
    }

    /// The file's bytes, or why it may not be used (one line).
    fn read(&mut self, relative: &Path, cap: u64, what: &str) -> Result<Arc<[u8]>, String> {
        let resolved = self.resolve(relative)?;
        if let Some(body) = self.cache.get(&resolved) {
            return Ok(Arc::clone(body));
        }
        let before = std::fs::metadata(&resolved).map_err(|e| format!("cannot read it: {e}"))?;
        check_kind(&before)?;
        check_size(before.len(), cap, what)?;
        let file = File::open(&resolved).map_err(|e| format!("cannot read it: {e}"))?;
        let opened = file
            .metadata()
            .map_err(|e| format!("cannot read it: {e}"))?;
        check_kind(&opened)?;
        // Resolved again now that it is open: still inside, and still the file that was opened.
        let again = self.resolve(relative)?;
        let now = std::fs::metadata(&again).map_err(|e| format!("cannot read it: {e}"))?;
        if again != resolved || !same_file(&opened, &now) || !same_file(&before, &opened) {
            return Err("changed while it was being read".into());
        }
        let mut bytes = Vec::new();
        // A file that grows after the check still stops at the cap.
        file.take(cap + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read it: {e}"))?;
        check_size(bytes.len() as u64, cap, what)?;
        self.total += bytes.len() as u64;
        if self.total > MAX_TOTAL_BYTES {
            return Err(format!(
                "the scenario's responses total more than {} MiB, the limit for a scenario",
                MAX_TOTAL_BYTES / MIB
            ));
        }
        let body: Arc<[u8]> = bytes.into();
        self.cache.insert(resolved, Arc::clone(&body));
        Ok(body)
    }

    fn forget(&mut self, relative: &Path) {
        if let Ok(resolved) = self.resolve(relative)
            && let Some(body) = self.cache.remove(&resolved)
        {
            self.total -= body.len() as u64;
        }
    }

    /// The canonical path of `relative` under the root, refused when it leads outside.
    fn resolve(&self, relative: &Path) -> Result<PathBuf, String> {
        let resolved = self
            .root
            .join(relative)
            .canonicalize()
            .map_err(|e| format!("cannot read it: {e}"))?;
        if !resolved.starts_with(&self.root) {
            return Err(format!(
                "it leads outside the scenario directory (to '{}'): a symbolic link must stay inside it",
                resolved.display()
            ));
        }
        Ok(resolved)
    }
}

/// Only regular files: a FIFO would block, a device never ends, a directory or socket is no body.
fn check_kind(metadata: &std::fs::Metadata) -> Result<(), String> {
    let kind = metadata.file_type();
    if kind.is_file() {
        return Ok(());
    }
    let name = if kind.is_dir() {
        "a directory"
    } else {
        special_kind(&kind)
    };
    Err(format!("it is {name}, not a regular file"))
}

#[cfg(unix)]
fn special_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "a special file"
}

fn check_size(size: u64, cap: u64, what: &str) -> Result<(), String> {
    if size > cap {
        return Err(format!(
            "it is {size} bytes, over the {} MiB limit for {what}",
            cap / MIB
        ));
    }
    Ok(())
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

#[cfg(not(unix))]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    a.len() == b.len() && a.modified().ok() == b.modified().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scenario of `count` GetCallerIdentity exchanges, all answered by `sts/shared.xml`, plus any
    /// `extra` exchange.
    fn scenario(dir: &Path, count: usize, extra: Option<&str>) {
        std::fs::create_dir_all(dir.join("sts")).expect("mkdir");
        std::fs::write(dir.join("sts/shared.xml"), "<GetCallerIdentityResponse/>").expect("body");
        let mut exchanges: Vec<String> = (0..count)
            .map(|i| {
                format!(
                    r#"{{"service": "sts", "action": "GetCallerIdentity", "params": {{"N": "{i}"}}, "response": "sts/shared.xml"}}"#
                )
            })
            .collect();
        if let Some(response) = extra {
            exchanges.push(format!(
                r#"{{"service": "sts", "action": "GetCallerIdentity", "response": "{response}"}}"#
            ));
        }
        std::fs::write(
            dir.join("exchanges.json"),
            format!(r#"{{"exchanges": [{}]}}"#, exchanges.join(",")),
        )
        .expect("index");
    }

    #[test]
    fn a_file_shared_by_many_exchanges_is_read_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        scenario(dir.path(), 200, Some("./sts/shared.xml"));
        let loaded = Scenario::load(dir.path()).expect("loads");
        assert_eq!(loaded.exchanges.len(), 201);
        let first = &loaded.exchanges[0].body;
        assert!(
            loaded.exchanges.iter().all(|e| Arc::ptr_eq(&e.body, first)),
            "one body in memory, shared"
        );
        // 201 handles on the one body: one per exchange.
        assert_eq!(Arc::strong_count(first), 201);
    }

    #[cfg(unix)]
    #[test]
    fn a_link_inside_the_scenario_is_followed_and_shares_its_target() {
        let dir = tempfile::tempdir().expect("temp dir");
        scenario(dir.path(), 1, Some("sts/alias.xml"));
        std::os::unix::fs::symlink("shared.xml", dir.path().join("sts/alias.xml")).expect("link");
        let loaded = Scenario::load(dir.path()).expect("loads");
        assert!(Arc::ptr_eq(
            &loaded.exchanges[0].body,
            &loaded.exchanges[1].body
        ));
    }

    #[cfg(unix)]
    #[test]
    fn links_leading_outside_are_refused_however_they_get_there() {
        let outside = tempfile::tempdir().expect("temp dir");
        let secret = outside.path().join("secret.txt");
        std::fs::write(&secret, "SECRET-MARKER").expect("secret");
        for (name, target) in [
            ("absolute", secret.display().to_string()),
            ("dotdot", "../../outside/secret.txt".to_string()),
        ] {
            let base = tempfile::tempdir().expect("temp dir");
            std::os::unix::fs::symlink(outside.path(), base.path().join("outside"))
                .expect("outside link");
            let dir = base.path().join("scenario");
            scenario(&dir, 1, Some("sts/leak.xml"));
            std::os::unix::fs::symlink(&target, dir.join("sts/leak.xml")).expect("link");
            let error = Scenario::load(&dir).expect_err(name).to_string();
            assert!(
                error.contains("refusing response 'sts/leak.xml'")
                    && error.contains("leads outside the scenario directory"),
                "{name}: {error}"
            );
            assert!(!error.contains("SECRET-MARKER"), "{error}");
        }
        // A linked directory leading out is refused the same way.
        let dir = tempfile::tempdir().expect("temp dir");
        scenario(dir.path(), 1, Some("out/secret.txt"));
        std::os::unix::fs::symlink(outside.path(), dir.path().join("out")).expect("link");
        let error = Scenario::load(dir.path())
            .expect_err("dir link")
            .to_string();
        assert!(error.contains("leads outside"), "{error}");
    }

    #[cfg(unix)]
    #[test]
    fn exchanges_json_itself_is_confined() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("exchanges.json")).expect("link");
        let error = Scenario::load(dir.path()).expect_err("refused").to_string();
        assert!(
            error.contains("exchanges.json") && error.contains("leads outside"),
            "{error}"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("exchanges.json")).expect("mkdir");
        let error = Scenario::load(dir.path()).expect_err("refused").to_string();
        assert!(
            error.contains("is a directory, not a regular file"),
            "{error}"
        );
    }

    #[test]
    fn a_response_over_the_cap_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        scenario(dir.path(), 1, Some("sts/huge.xml"));
        // Sparse: no disk space used, and never read.
        let huge = File::create(dir.path().join("sts/huge.xml")).expect("create");
        huge.set_len(MAX_RESPONSE_BYTES + 1).expect("set_len");
        let error = Scenario::load(dir.path()).expect_err("refused").to_string();
        assert!(
            error.contains("refusing response 'sts/huge.xml'")
                && error.contains("over the 64 MiB limit for a response"),
            "{error}"
        );
    }
}
