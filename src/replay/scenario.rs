//! A recorded scenario on disk: `exchanges.json` and the raw bodies it points to.

use std::path::{Path, PathBuf};

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
    pub body: Vec<u8>,
    pub response_file: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Scenario {
    pub dir: PathBuf,
    pub description: String,
    pub region: Option<String>,
    pub commands: Vec<Vec<String>>,
    pub exchanges: Vec<Exchange>,
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
        if !index.is_file() {
            return Err(ScenarioError::MissingIndex {
                dir: dir.to_path_buf(),
            });
        }
        let text = std::fs::read_to_string(&index).map_err(|source| ScenarioError::Read {
            path: index.clone(),
            source,
        })?;
        let file: ScenarioFile = serde_json::from_str(&text).map_err(|e| ScenarioError::Parse {
            path: index.clone(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let mut exchanges = Vec::with_capacity(file.exchanges.len());
        for (i, exchange) in file.exchanges.into_iter().enumerate() {
            let problem = |problem: String| ScenarioError::Exchange {
                path: index.clone(),
                index: i + 1,
                service: exchange.service.clone(),
                action: exchange.action.clone(),
                problem,
            };
            if !matches!(exchange.service.as_str(), "ec2" | "emr" | "sts") {
                return Err(problem(format!(
                    "unknown service '{}' (ec2, emr or sts)",
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
            let body_path = dir.join(&exchange.response);
            let body = std::fs::read(&body_path).map_err(|e| {
                problem(format!(
                    "cannot read response '{}': {e}",
                    body_path.display()
                ))
            })?;
            let status = exchange.status.unwrap_or(200);
            if !(200..600).contains(&status) {
                return Err(problem(format!("status {status} is not an HTTP status")));
            }
            exchanges.push(Exchange {
                service: exchange.service.clone(),
                action: exchange.action.clone(),
                params: canonical(&exchange.params),
                region: exchange.region.clone(),
                account: exchange.account.clone(),
                status,
                body,
                response_file: exchange.response.clone(),
            });
        }
        Ok(Scenario {
            dir: dir.to_path_buf(),
            description: file.description,
            region: file.region,
            commands: file.commands,
            exchanges,
        })
    }
}
