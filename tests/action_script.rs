//! The GitHub Action's entry script (`action/run.sh`), run as the Action runs it: inputs in the
//! environment, against the binary under test and `mocks/emr-clusters`. The download is either
//! skipped (`INPUT_BINARY`) or served from a release laid out in a temporary directory (`file://`).
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

const ARGS: &str = "--replay\nmocks/emr-clusters\n--now\n2026-11-25T12:00:00Z\ncluster\n";

struct Action {
    code: i32,
    stderr: String,
    sarif: PathBuf,
    summary: String,
    outputs: String,
    _dir: tempfile::TempDir,
}

/// Runs the script with the given inputs (name, value) plus the runner's variables.
fn action(inputs: &[(&str, &str)]) -> Action {
    let dir = tempfile::tempdir().expect("temp dir");
    let sarif = dir.path().join("out.sarif");
    let summary = dir.path().join("summary.md");
    let outputs = dir.path().join("outputs");
    let mut command = Command::new("bash");
    command
        .arg(repo().join("action/run.sh"))
        .current_dir(repo())
        .env("RUNNER_TEMP", dir.path())
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .env("INPUT_SARIF", &sarif)
        .env("INPUT_ARGS", ARGS);
    // No AWS configuration of the machine running the tests leaks in.
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") || key.to_string_lossy().starts_with("INPUT_")
        {
            command.env_remove(&key);
        }
    }
    for (name, value) in inputs {
        command.env(name, value);
    }
    let output = command.output().expect("bash runs");
    Action {
        code: output.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        sarif,
        summary: std::fs::read_to_string(&summary).unwrap_or_default(),
        outputs: std::fs::read_to_string(&outputs).unwrap_or_default(),
        _dir: dir,
    }
}

fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_emr-ami-audit")
}

fn sarif_results(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).expect("SARIF written");
    let sarif: Value = serde_json::from_str(&text).expect("SARIF is JSON");
    assert_eq!(sarif["version"], "2.1.0");
    sarif["runs"][0]["results"].as_array().map_or(0, Vec::len)
}

#[test]
fn writes_sarif_and_summary_and_fails_on_errors() {
    let run = action(&[("INPUT_BINARY", binary())]);
    // mocks/emr-clusters has error findings: the step fails, after writing everything.
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(sarif_results(&run.sarif) > 0);
    assert!(
        run.summary.starts_with("### emr-ami-audit"),
        "{}",
        run.summary
    );
    assert!(run.summary.contains("j-4BOTHLEVELS04"), "{}", run.summary);
    assert!(run.outputs.contains("exit-code=1"), "{}", run.outputs);
    assert!(
        run.outputs
            .contains(&format!("sarif={}", run.sarif.display())),
        "{}",
        run.outputs
    );
    assert!(run.stderr.contains("::error"), "{}", run.stderr);
}

#[test]
fn fail_on_never_passes() {
    let run = action(&[("INPUT_BINARY", binary()), ("INPUT_FAIL_ON", "never")]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.outputs.contains("exit-code=0"), "{}", run.outputs);
    assert!(sarif_results(&run.sarif) > 0);
}

/// A release as the release workflow lays it out: `vX/emr-ami-audit-TARGET.tar.gz` and `SHA256SUMS`.
fn release(dir: &Path, corrupt: bool) -> String {
    let version = dir.join("v9.9.9");
    std::fs::create_dir_all(&version).expect("release dir");
    let staging = dir.join("staging");
    std::fs::create_dir_all(&staging).expect("staging dir");
    std::fs::copy(binary(), staging.join("emr-ami-audit")).expect("copy binary");
    let asset = "emr-ami-audit-x86_64-unknown-linux-musl.tar.gz";
    let status = Command::new("tar")
        .arg("-czf")
        .arg(version.join(asset))
        .arg("-C")
        .arg(&staging)
        .arg("emr-ami-audit")
        .status()
        .expect("tar runs");
    assert!(status.success());
    let sum = Command::new("sha256sum")
        .arg(asset)
        .current_dir(&version)
        .output()
        .expect("sha256sum runs");
    let mut sums = String::from_utf8_lossy(&sum.stdout).into_owned();
    if corrupt {
        sums = format!("{}{}", "0".repeat(64), &sums[64..]);
    }
    std::fs::write(version.join("SHA256SUMS"), sums).expect("write sums");
    format!("file://{}", dir.display())
}

#[test]
fn downloads_and_verifies_the_release() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = release(dir.path(), false);
    let run = action(&[
        ("EMR_AMI_AUDIT_RELEASES", &base),
        ("INPUT_VERSION", "v9.9.9"),
        ("RUNNER_OS", "Linux"),
        ("RUNNER_ARCH", "X64"),
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(sarif_results(&run.sarif) > 0);
}

#[test]
fn refuses_a_checksum_mismatch_and_bad_versions() {
    let dir = tempfile::tempdir().expect("temp dir");
    let base = release(dir.path(), true);
    let env = |version: &'static str| {
        vec![
            ("EMR_AMI_AUDIT_RELEASES", base.clone()),
            ("INPUT_VERSION", version.to_string()),
            ("RUNNER_OS", "Linux".to_string()),
            ("RUNNER_ARCH", "X64".to_string()),
        ]
    };
    let run_with = |pairs: Vec<(&str, String)>| {
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        action(&pairs)
    };
    let run = run_with(env("9.9.9"));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("checksum mismatch"), "{}", run.stderr);
    assert!(!run.sarif.exists());
    let run = run_with(env("9.9.9; rm -rf /"));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("not a release number"),
        "{}",
        run.stderr
    );
}
