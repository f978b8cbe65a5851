//! `image AMI… --release all` and `--release 'emr-6.*'`: which EMR releases each AMI can serve, from
//! ListReleaseLabels (two recorded pages in mocks/image-factory), the AMI described and traced once.

mod common;

use common::*;
use serde_json::Value;

const FACTORY: &str = "mocks/image-factory";

fn matrix(args: &[&str]) -> Run {
    run(command()
        .args(["--replay", FACTORY, "--now", "2026-12-01T00:00:00Z"])
        .args(args))
}

fn matrix_json(args: &[&str]) -> Value {
    let run = matrix(&[&["--format", "json"], args].concat());
    assert_eq!(run.code, 0, "{}", run.stderr);
    serde_json::from_str(&run.stdout).expect("JSON")
}

fn verdict<'a>(row: &'a Value, release: &str) -> &'a Value {
    row["releases"]
        .as_array()
        .and_then(|r| r.iter().find(|v| v["release"] == release))
        .unwrap_or_else(|| panic!("no {release} in {row}"))
}

#[test]
fn all_releases_grouped_by_line_for_people() {
    let run = matrix(&["image", "ami-0ea00000000000001", "--release", "all"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = &run.stdout;
    assert!(
        out.contains("ami-0ea00000000000001 (emr-base-al2023-k61-x86_64-20241120)"),
        "{out}"
    );
    assert!(out.contains("serves 13 of 105 releases"), "{out}");
    assert!(
        out.contains("emr-7.x  serves: emr-7.0.0 … emr-7.12.0 (13 releases)"),
        "{out}"
    );
    assert!(
        out.contains("emr-6.x  blocked by EA015: emr-6.2.0 … emr-6.15.0 (20 releases)"),
        "{out}"
    );
    // It fits a screen: one line per run of releases with the same verdict.
    assert!(out.lines().count() < 25, "{out}");
}

#[test]
fn json_gives_every_release_and_asks_each_thing_once() {
    let report = matrix_json(&["image", "ami-0ea00000000000010", "--release", "all"]);
    let row = &report["images"][0];
    assert_eq!(row["image"], "ami-0ea00000000000010");
    assert_eq!(row["releases"].as_array().map(Vec::len), Some(105));
    // An IMDSv2-only AL1 image: only the two releases of 5.x before 5.30 that support IMDSv2 serve.
    assert_eq!(verdict(row, "emr-5.23.1")["serves"], true);
    assert_eq!(verdict(row, "emr-5.27.1")["serves"], true);
    assert_eq!(
        verdict(row, "emr-5.23.0")["blocking"],
        serde_json::json!(["EA017"])
    );
    assert_eq!(
        verdict(row, "emr-7.1.0")["blocking"],
        serde_json::json!(["EA015"])
    );
    // Before custom AMIs: EA001 blocks too.
    assert!(
        verdict(row, "emr-5.6.0")["blocking"]
            .as_array()
            .is_some_and(|b| b.iter().any(|r| r == "EA001"))
    );
    // The labels in two pages, listed once; the AMI described once (with its ancestry and family).
    let calls = &report["stats"]["api_calls"];
    assert_eq!(calls["emr:ListReleaseLabels"], 2);
    assert_eq!(calls["ec2:GetImageAncestry"], 1);
    assert!(calls["emr:ListSupportedInstanceTypes"].is_null());
}

#[test]
fn a_glob_picks_the_releases() {
    let report = matrix_json(&["image", "ami-0ea00000000000016", "--release", "emr-6.*"]);
    let releases = report["images"][0]["releases"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(releases.len(), 24);
    assert!(releases.iter().all(|v| {
        v["release"]
            .as_str()
            .is_some_and(|r| r.starts_with("emr-6."))
    }));
    // An arm64 AMI on 6.0.x, before Graviton: EA020 blocks as well as the generation.
    let six_zero = &releases
        .iter()
        .find(|v| v["release"] == "emr-6.0.0")
        .cloned()
        .unwrap_or_default();
    assert!(
        six_zero["blocking"]
            .as_array()
            .is_some_and(|b| b.iter().any(|r| r == "EA020")),
        "{six_zero}"
    );
}

#[test]
fn bad_matrix_usage_exits_2_with_one_line() {
    for (args, says) in [
        (
            vec!["image", "ami-0ea00000000000001", "--release", "emr-x*"],
            "invalid release pattern 'emr-x*'",
        ),
        (
            vec![
                "image",
                "ami-0ea00000000000001",
                "--release",
                "all",
                "--instance-type",
                "m5.xlarge",
            ],
            "--instance-type is not supported with it",
        ),
        (
            vec![
                "--accounts",
                "111122223333,444455556666",
                "--role-arn",
                "arn:aws:iam::{account}:role/auditor",
                "image",
                "ami-0ea00000000000001",
                "--release",
                "emr-7.*",
            ],
            "more than one account or region",
        ),
        (
            vec![
                "--format",
                "sarif",
                "image",
                "ami-0ea00000000000001",
                "--release",
                "all",
            ],
            "--format other than table or json is not supported with it",
        ),
    ] {
        let run = matrix(&args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
        assert!(run.stdout.is_empty());
    }
}

/// The same through a live endpoint (the scenario served on loopback, as `mock serve` does): the real
/// SDK pages ListReleaseLabels by its NextToken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_matrix_against_a_live_endpoint() {
    use emr_ami_audit::replay::{ReplayServer, Scenario};
    let scenario = Scenario::load(&repo().join(FACTORY)).expect("shipped scenario loads");
    let server = ReplayServer::start(scenario).await;
    let run = run_live(
        server.url(),
        [
            "--format",
            "json",
            "image",
            "ami-0ea00000000000001",
            "--release",
            "emr-7.*",
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let releases = report["images"][0]["releases"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(releases.len(), 13);
    assert!(releases.iter().all(|v| v["serves"] == true), "{report}");
    assert_eq!(report["stats"]["api_calls"]["emr:ListReleaseLabels"], 2);
}
