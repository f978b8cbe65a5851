//! The invocation is resolved before anything else: bad input exits 2 with zero requests (also with
//! several accounts and regions), and one `now` serves the rules and the waivers alike.

mod common;

use common::*;
use emr_ami_audit::replay::{ReplayServer, Scenario};

const ROLE: &str = "arn:aws:iam::{account}:role/emr-ami-audit";

async fn multi_account_server() -> ReplayServer {
    let scenario =
        Scenario::load(&repo().join("mocks/multi-account")).expect("shipped scenario loads");
    ReplayServer::start(scenario).await
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// Accounts and regions that would make AssumeRole and DescribeRegions calls before any audit.
fn fanned_out(args: &[&str]) -> Vec<String> {
    let mut all = strings(&[
        "--accounts",
        "111111111111,222222222222",
        "--role-arn",
        ROLE,
        "--external-id",
        "audit-2026",
    ]);
    all.extend(strings(args));
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_makes_no_request() {
    let server = multi_account_server().await;
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            fanned_out(&["image", "ami-xyz", "--release", "emr-7.1.0"]),
            "'ami-xyz'",
        ),
        (
            fanned_out(&["image", &ami(1), "--release", "emr-7.x.0"]),
            "'emr-7.x.0'",
        ),
        (
            fanned_out(&["--region", "us-east-1,eu-west-1", "cluster", "j-lowercase1"]),
            "'j-lowercase1'",
        ),
        (
            fanned_out(&["--region", "us-east-1,mars", "cluster"]),
            "'mars'",
        ),
        (
            fanned_out(&["--all-regions", "cluster", "--state", "ACTIVE"]),
            "'ACTIVE'",
        ),
        (
            fanned_out(&["cluster", "--created-after", "yesterday"]),
            "'yesterday'",
        ),
        (
            fanned_out(&["plan", "/nonexistent/emr-ami-audit/plan.json"]),
            "/nonexistent/emr-ami-audit/plan.json",
        ),
        (fanned_out(&["plan", "examples"]), "'examples'"),
        (
            fanned_out(&[
                "image",
                &ami(1),
                "--release",
                "emr-7.1.0",
                "--account",
                "12345",
            ]),
            "'12345'",
        ),
        (
            strings(&[
                "--accounts",
                "111111111111,1234",
                "--role-arn",
                ROLE,
                "cluster",
            ]),
            "'1234'",
        ),
    ];
    for (args, names) in cases {
        let run = run_live(server.url(), args.clone()).await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(names), "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
    }
    assert_eq!(
        server.log().requests.len(),
        0,
        "no request before the input is checked: {:?}",
        server.log().requests
    );

    // The same server does count requests: a good fanned-out scan asks it.
    let run = run_live(
        server.url(),
        fanned_out(&["--region", "us-east-1", "--format", "json", "cluster"]),
    )
    .await;
    assert_ne!(run.code, 2, "{}", run.stderr);
    assert!(
        server.log().requests.len() >= 2,
        "AssumeRole for each account at least"
    );
}

/// A waiver that expires on the day of `--now` still applies that day and not the next, and the rule in
/// the same run counts its days from the same instant.
#[test]
fn one_now_for_rules_and_waivers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("emr-ami-audit.toml");
    std::fs::write(
        &path,
        "[[waiver]]\nrule = \"EA042\"\ntarget = \"ami-0ea00000000000001\"\nreason = \"rebuilt monthly\"\nexpires = \"2026-11-25\"\n",
    )
    .expect("write config");
    let audit = |now: &str| {
        let run = run(command().args([
            "--replay",
            SCENARIO,
            "--now",
            now,
            "--format",
            "json",
            "--config",
            &path.display().to_string(),
            "image",
            &ami(1),
            "--release",
            "emr-7.1.0",
        ]));
        let report = parse_report(&run);
        let stale = target(&report, &ami(1))["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["rule"] == "EA042")
            .cloned()
            .expect("EA042 fires on ami-01");
        (report["waivers"][0]["status"].clone(), stale)
    };
    // The base was created 2024-11-11.
    let (status, stale) = audit("2026-11-25T23:59:59Z");
    assert_eq!(status, "applied");
    assert!(stale["suppressed"].is_object(), "{stale}");
    assert!(
        stale["message"]
            .as_str()
            .is_some_and(|m| m.contains("744 days ago")),
        "{stale}"
    );
    let (status, stale) = audit("2026-11-26T00:00:01Z");
    assert_eq!(status, "expired");
    assert!(stale["suppressed"].is_null(), "{stale}");
    let message = stale["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("745 days ago") && message.contains("expired on 2026-11-25"),
        "{message}"
    );
}
