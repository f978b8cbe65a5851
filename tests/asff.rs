//! End-to-end: `--format asff` on the shipped recordings, every finding checked against the fields
//! Security Hub requires.

mod common;

use std::collections::BTreeSet;

use common::*;
use serde_json::Value;

/// The required top-level attributes of the AWS Security Finding Format, from "Required top-level
/// ASFF attributes" in the AWS Security Hub User Guide
/// (https://docs.aws.amazon.com/securityhub/latest/userguide/asff-required-attributes.html).
const REQUIRED: [&str; 12] = [
    "AwsAccountId",
    "CreatedAt",
    "Description",
    "GeneratorId",
    "Id",
    "ProductArn",
    "Resources",
    "SchemaVersion",
    "Severity",
    "Title",
    "Types",
    "UpdatedAt",
];
/// Severity.Label's values, from the same guide's Severity object.
const LABELS: [&str; 5] = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"];
/// The namespaces a `Types` entry may start with (ASFF types taxonomy).
const NAMESPACES: [&str; 5] = [
    "Software and Configuration Checks",
    "TTPs",
    "Effects",
    "Unusual Behaviors",
    "Sensitive Data Identifications",
];

fn parse(run: &Run) -> Vec<Value> {
    serde_json::from_str::<Value>(&run.stdout)
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_else(|| {
            panic!(
                "stdout is not a JSON array:\n{}\n{}",
                run.stdout, run.stderr
            )
        })
}

/// Every finding has the required fields, in the shapes and within the limits Security Hub checks.
fn assert_valid(findings: &[Value]) {
    for finding in findings {
        for field in REQUIRED {
            assert!(finding.get(field).is_some(), "{field} missing: {finding}");
        }
        let text = |field: &str| finding[field].as_str().unwrap_or_default().to_string();
        assert_eq!(text("SchemaVersion"), "2018-10-08");
        let account = text("AwsAccountId");
        assert!(account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()));
        let region = text("Region");
        assert_eq!(
            text("ProductArn"),
            format!("arn:aws:securityhub:{region}:{account}:product/{account}/default")
        );
        let id = text("Id");
        assert!(!id.is_empty() && id.len() <= 512, "{id}");
        assert!(!text("GeneratorId").is_empty());
        assert!(!text("Title").is_empty() && text("Title").chars().count() <= 256);
        let description = text("Description");
        assert!(!description.is_empty() && description.chars().count() <= 1024);
        for time in ["CreatedAt", "UpdatedAt"] {
            assert!(
                chrono::DateTime::parse_from_rfc3339(&text(time)).is_ok(),
                "{time}: {finding}"
            );
        }
        assert!(LABELS.contains(&finding["Severity"]["Label"].as_str().unwrap_or_default()));
        let types = finding["Types"].as_array().expect("Types array");
        assert!(!types.is_empty());
        for kind in types {
            let kind = kind.as_str().unwrap_or_default();
            assert!(
                NAMESPACES
                    .iter()
                    .any(|n| kind.starts_with(&format!("{n}/")))
            );
            assert!(kind.split('/').count() <= 3, "{kind}");
        }
        let resources = finding["Resources"].as_array().expect("Resources array");
        assert!(!resources.is_empty() && resources.len() <= 32);
        for resource in resources {
            assert!(resource["Type"].as_str().is_some_and(|t| !t.is_empty()));
            assert!(resource["Id"].as_str().is_some_and(|t| !t.is_empty()));
            let other = resource["Details"]["Other"].as_object().expect("Other");
            assert!(other.len() <= 50);
            assert!(
                other
                    .iter()
                    .all(|(k, v)| k.len() < 128 && v.as_str().is_some_and(|v| v.len() < 1024))
            );
        }
        let recommendation = &finding["Remediation"]["Recommendation"]["Text"];
        assert!(
            recommendation
                .as_str()
                .is_some_and(|t| t.chars().count() <= 512)
        );
    }
    let ids: BTreeSet<&str> = findings.iter().filter_map(|f| f["Id"].as_str()).collect();
    assert_eq!(ids.len(), findings.len(), "Ids are not unique");
}

fn clusters(format: &str) -> Run {
    run(command().args([
        "--replay",
        "mocks/emr-clusters",
        "--now",
        NOW,
        "--format",
        format,
        "cluster",
    ]))
}

fn count_findings(report: &Value) -> usize {
    fn walk(target: &Value) -> usize {
        target["findings"].as_array().map_or(0, Vec::len)
            + target["images"]
                .as_array()
                .map_or(0, |images| images.iter().map(walk).sum())
    }
    report["targets"]
        .as_array()
        .map_or(0, |targets| targets.iter().map(walk).sum())
}

#[test]
fn cluster_scan_as_asff() {
    let run = clusters("asff");
    // The same exit code as every format: findings at error.
    assert_eq!(run.code, 1, "{}", run.stderr);
    let findings = parse(&run);
    assert_valid(&findings);
    // One finding per target × rule finding, as in the JSON report.
    let report = parse_report(&clusters("json"));
    assert_eq!(findings.len(), count_findings(&report));

    let ea050 = findings
        .iter()
        .find(|f| f["GeneratorId"] == "EA050")
        .expect("EA050 on j-4BOTHLEVELS04");
    assert_eq!(ea050["Severity"]["Label"], "HIGH");
    assert_eq!(
        ea050["Resources"][0]["Id"],
        "arn:aws:elasticmapreduce:us-east-1:444455556666:cluster/j-4BOTHLEVELS04"
    );
    assert_eq!(ea050["CreatedAt"], "2026-11-25T12:00:00.000Z");
    // A cluster's AMI: the image's ARN first, then the cluster it is used in.
    let nested = findings
        .iter()
        .find(|f| {
            f["Id"]
                == "emr-ami-audit/us-east-1/444455556666/j-1CLEANETL0001/ami-0c100000000000001/EA042"
        })
        .expect("EA042 on j-1CLEANETL0001's AMI");
    assert_eq!(
        nested["Resources"][0]["Id"],
        "arn:aws:ec2:us-east-1::image/ami-0c100000000000001"
    );
    assert_eq!(nested["Resources"][0]["Type"], "Other");
    assert_eq!(
        nested["Resources"][1]["Id"],
        "arn:aws:elasticmapreduce:us-east-1:444455556666:cluster/j-1CLEANETL0001"
    );

    // The same run again gives the same Ids: a re-import updates, never duplicates.
    let again = parse(&clusters("asff"));
    let ids = |all: &[Value]| -> Vec<String> {
        all.iter()
            .filter_map(|f| f["Id"].as_str().map(str::to_string))
            .collect()
    };
    assert_eq!(ids(&findings), ids(&again));
}

#[test]
fn not_audited_targets_get_a_finding() {
    // An AMI the recording has no answer for: not audited.
    let run = replay(&[
        "--format",
        "asff",
        "image",
        "ami-0123456789abcdef0",
        "--release",
        "emr-7.1.0",
        "--account",
        LAUNCHER,
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let findings = parse(&run);
    assert_valid(&findings);
    let gaps: Vec<&Value> = findings
        .iter()
        .filter(|f| f["GeneratorId"] == "emr-ami-audit/not-audited")
        .collect();
    assert!(!gaps.is_empty(), "no not-audited finding");
    assert!(gaps.iter().all(|f| f["Severity"]["Label"] == "MEDIUM"));
}

#[test]
fn plan_findings_name_the_file() {
    let run = run(command().args([
        "--replay",
        "mocks/emr-clusters",
        "--now",
        NOW,
        "--format",
        "asff",
        "plan",
        "examples/runjobflow-bad.json",
    ]));
    assert_eq!(run.code, 1, "{}", run.stderr);
    let findings = parse(&run);
    assert_valid(&findings);
    assert!(!findings.is_empty());
    // The plan's own findings name the file; those of the AMIs it names, the AMI and then the file.
    assert!(findings.iter().all(|f| {
        f["Resources"]
            .as_array()
            .is_some_and(|r| r.iter().any(|r| r["Id"] == "examples/runjobflow-bad.json"))
    }));
}

#[test]
fn waived_findings_are_archived() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("emr-ami-audit.toml");
    std::fs::write(
        &config,
        "[[waiver]]\nrule = \"EA050\"\ntarget = \"j-4BOTHLEVELS04\"\nreason = \"Migrating next sprint\"\n",
    )
    .expect("write config");
    let run = run(command().args([
        "--replay",
        "mocks/emr-clusters",
        "--now",
        NOW,
        "--format",
        "asff",
        "--config",
        &config.display().to_string(),
        "cluster",
    ]));
    let findings = parse(&run);
    assert_valid(&findings);
    let ea050 = findings
        .iter()
        .find(|f| f["GeneratorId"] == "EA050")
        .expect("the waived EA050 stays, archived");
    assert_eq!(ea050["RecordState"], "ARCHIVED");
    assert_eq!(
        ea050["ProductFields"]["emr-ami-audit/Waiver"],
        "Migrating next sprint"
    );
    assert!(
        findings
            .iter()
            .filter(|f| f["GeneratorId"] != "EA050")
            .all(|f| f["RecordState"] == "ACTIVE")
    );
}

#[test]
fn root_filesystems_are_left_out_and_named() {
    // `inspect` knows no account or region: nothing Security Hub could take.
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().display().to_string();
    let run = run(command().args([
        "--format",
        "asff",
        "inspect",
        &root,
        "--release",
        "emr-7.1.0",
    ]));
    assert!(parse(&run).is_empty(), "{}", run.stdout);
    assert!(run.stderr.contains("left out"), "{}", run.stderr);
    assert!(run.stderr.contains(&root), "{}", run.stderr);
}

#[test]
fn run_errors_go_to_stderr() {
    // Account 333333333333 cannot be assumed, and 222222222222 may not list clusters in eu-west-1.
    let run = run(command().args([
        "--replay",
        "mocks/multi-account",
        "--now",
        NOW,
        "--accounts",
        "111111111111,222222222222,333333333333",
        "--role-arn",
        "arn:aws:iam::{account}:role/emr-ami-audit",
        "--external-id",
        "audit-2026",
        "--region",
        "us-east-1,eu-west-1",
        "--format",
        "asff",
        "cluster",
    ]));
    assert_eq!(run.code, 3, "{}", run.stderr);
    let findings = parse(&run);
    assert_valid(&findings);
    // Each finding is in the member account it concerns.
    assert!(findings.iter().all(|f| f["AwsAccountId"] == "111111111111"));
    assert!(
        run.stderr.contains("account 333333333333"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("not in the ASFF findings"),
        "{}",
        run.stderr
    );
}
