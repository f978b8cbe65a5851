//! `--record`, `--replay-strict`, `mock serve`, and the coverage of the shipped scenarios.

mod common;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use emr_ami_audit::replay::{ReplayServer, Scenario};
use serde_json::Value;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn image_factory() -> ReplayServer {
    ReplayServer::start(Scenario::load(&repo().join(SCENARIO)).expect("scenario")).await
}

fn without_timing(mut report: Value) -> Value {
    if let Some(stats) = report.get_mut("stats").and_then(Value::as_object_mut) {
        stats.remove("elapsed_ms");
    }
    report
}

fn all_files(dir: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(all_files(&path));
        } else {
            files.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).expect("text file"),
            ));
        }
    }
    files
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_run_replays_to_the_same_report_and_holds_no_secrets() {
    let server = image_factory().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let recording = dir.path().join("recorded");
    let mut args = vec![
        "--format".to_string(),
        "json".into(),
        "--record".into(),
        recording.display().to_string(),
    ];
    args.extend(image_factory_args(LAUNCHER));
    let recorded = run_live(server.url(), args).await;
    assert_eq!(recorded.code, 1, "{}", recorded.stderr);
    assert!(
        // 23 for the audit itself, 30 for the lineage (19 ancestry answers, the ancestors, the root
        // snapshot and source instance of 19, and 8 family lookups), 5 for EA033 (the encrypted roots'
        // DescribeSnapshots, DescribeKey of two keys, the customer managed key's policy and grants).
        recorded.stderr.contains("recorded 58 exchanges"),
        "{}",
        recorded.stderr
    );

    let mut replay_args: Vec<String> = [
        "--replay",
        &recording.display().to_string(),
        "--replay-strict",
        "--now",
        NOW,
        "--format",
        "json",
    ]
    .map(String::from)
    .to_vec();
    replay_args.extend(image_factory_args(LAUNCHER));
    let replayed = run(command().args(&replay_args));
    assert_eq!(replayed.code, 1, "{}", replayed.stderr);
    assert_eq!(
        without_timing(parse_report(&replayed)),
        without_timing(parse_report(&recorded)),
        "the replay reproduces the live report, API calls included"
    );

    for (path, text) in all_files(&recording) {
        for secret in [
            LIVE_ACCESS_KEY,
            LIVE_SECRET_KEY,
            LIVE_SESSION_TOKEN,
            "AWS4-HMAC-SHA256",
            "Signature=",
        ] {
            assert!(!text.contains(secret), "{path} contains {secret}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redacted_recording_has_no_real_account_and_still_replays() {
    let server = image_factory().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let recording = dir.path().join("redacted");
    let args: Vec<String> = [
        "--format",
        "json",
        "--record",
        &recording.display().to_string(),
        "--redact-account",
    ]
    .map(String::from)
    .into_iter()
    .chain(image_factory_args(LAUNCHER))
    .collect();
    let recorded = run_live(server.url(), args).await;
    assert_eq!(recorded.code, 1, "{}", recorded.stderr);
    let files = all_files(&recording);
    assert!(files.len() >= 5);
    for (path, text) in &files {
        for account in ["111122223333", "444455556666", "555566667777"] {
            assert!(!text.contains(account), "{path} still names {account}");
        }
    }
    // The same fake stands for the same account everywhere, so the audit replays with the fake launcher.
    let index = std::fs::read_to_string(recording.join("exchanges.json")).expect("index");
    let fake_launcher = index
        .split("--account ")
        .nth(1)
        .map(|rest| rest.chars().take(12).collect::<String>())
        .expect("the command line is in the description");
    let replayed = run(command()
        .args([
            "--replay",
            &recording.display().to_string(),
            "--now",
            NOW,
            "--format",
            "json",
        ])
        .args(image_factory_args(&fake_launcher)));
    let report = parse_report(&replayed);
    assert_eq!(replayed.code, 1, "{}", replayed.stderr);
    assert_eq!(
        fired(target(&report, &ami(11))),
        pairs(&[("EA030", "error"), ("EA042", "warning")])
    );
    assert_eq!(
        fired(target(&report, &ami(15))),
        pairs(&[("EA030", "warning"), ("EA042", "warning")])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_recording_is_kept_unless_forced() {
    let server = image_factory().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let recording = dir.path().join("existing");
    // An earlier recording (--force replaces nothing else: tests/hostile_replay.rs).
    std::fs::create_dir(&recording).expect("mkdir");
    std::fs::write(recording.join("exchanges.json"), r#"{"exchanges": []}"#).expect("write");
    std::fs::write(recording.join("keep.txt"), "mine").expect("write");
    let args = |force: bool| -> Vec<String> {
        let mut a: Vec<String> = vec!["--record".into(), recording.display().to_string()];
        if force {
            a.push("--force".into());
        }
        a.extend(
            [
                "image",
                &ami(2),
                "--release",
                "emr-6.15.0",
                "--account",
                LAUNCHER,
            ]
            .map(String::from),
        );
        a
    };
    let refused = run_live(server.url(), args(false)).await;
    assert_eq!(refused.code, 2);
    assert!(
        refused.stderr.contains("already exists: give --force"),
        "{}",
        refused.stderr
    );
    assert!(
        server
            .mock_server()
            .received_requests()
            .await
            .expect("recording")
            .is_empty(),
        "refused before any call"
    );
    assert!(recording.join("keep.txt").exists());

    let forced = run_live(server.url(), args(true)).await;
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert!(!recording.join("keep.txt").exists());
    assert!(recording.join("exchanges.json").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_recording_leaves_no_partial_scenario() {
    let slow = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&slow)
        .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let recording = dir.path().join("interrupted");
    let mut child = command()
        .env("AWS_ACCESS_KEY_ID", "TESTACCESSKEY")
        .env("AWS_SECRET_ACCESS_KEY", "test-secret")
        .env("AWS_REGION", "us-east-1")
        .args([
            "--endpoint-url",
            &slow.uri(),
            "--record",
            &recording.display().to_string(),
        ])
        .args(["image", &ami(2), "--release", "emr-6.15.0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    // Wait until the run is mid-call, then kill it.
    for _ in 0..100 {
        if !slow
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().expect("kill");
    child.wait().expect("reaped");
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    assert!(left.is_empty(), "nothing may be left behind: {left:?}");
}

#[test]
fn replay_strict_reports_recordings_the_run_never_used() {
    let run = replay(&[
        "--replay-strict",
        "--format",
        "json",
        "image",
        &ami(2),
        "--release",
        "emr-6.15.0",
        "--account",
        LAUNCHER,
    ]);
    assert_eq!(run.code, 3);
    let report = parse_report(&run);
    let errors: Vec<&str> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("recording not used: ec2 DescribeImages")
                && e.contains("ami-0ea0000000000dead")),
        "{errors:?}"
    );
    assert!(
        !errors
            .iter()
            .any(|e| e.contains("DescribeImages.ami-0ea00000000000002.xml")),
        "used ones are not listed"
    );
}

#[test]
fn mock_serve_answers_a_plain_http_client_and_stops_on_ctrl_c() {
    let (mut child, url, mut stderr) = mock_serve(SCENARIO);
    let address = url.trim_start_matches("http://").to_string();

    let body = "Action=GetCallerIdentity&Version=2011-06-15";
    let mut stream = std::net::TcpStream::connect(&address).expect("connect");
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains("<Account>111122223333</Account>"),
        "{answer}"
    );

    let exit = stop(&mut child);
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).expect("rest of stderr");
    assert_eq!(exit, Some(0), "{rest}");
    assert!(
        rest.contains("sts GetCallerIdentity {} → sts/GetCallerIdentity.xml (200)"),
        "{rest}"
    );
    assert!(
        rest.contains("stopped after 1 requests (1 matched)"),
        "{rest}"
    );
}

/// Every rule of the registry fires on at least one command of the shipped scenarios, so a new rule
/// without a scenario fails the build.
#[test]
fn shipped_scenarios_make_every_rule_fire() {
    let mut fired_rules = BTreeSet::new();
    let mut scenarios: Vec<String> = std::fs::read_dir(repo().join("mocks"))
        .expect("mocks/")
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().join("exchanges.json").is_file())
        .map(|entry| format!("mocks/{}", entry.file_name().to_string_lossy()))
        .collect();
    scenarios.sort();
    assert!(scenarios.len() >= 3, "{scenarios:?}");
    for scenario in &scenarios {
        let scenario = scenario.as_str();
        let loaded = Scenario::load(&repo().join(scenario)).expect("scenario loads");
        assert!(!loaded.commands.is_empty(), "{scenario} lists its commands");
        for args in &loaded.commands {
            let run = run(command()
                .args(["--replay", scenario, "--now", NOW, "--format", "json"])
                .args(args));
            // A multi-account scenario shows accounts and regions that can't be audited, and the contents
            // scenario plants a FIFO where a file is read: exit 3 there.
            let partial = (args.iter().any(|a| a == "--accounts") || scenario == "mocks/contents")
                && run.code == 3;
            assert!(
                run.code == 0 || run.code == 1 || partial,
                "{scenario} {args:?}: exit {}\n{}",
                run.code,
                run.stderr
            );
            let report = parse_report(&run);
            collect_rules(&report["targets"], &mut fired_rules);
        }
    }
    // The image-content rules (EA06x) too: mocks/contents reads them from snapshots.
    let missing: Vec<&str> = emr_ami_audit::rules::registry()
        .iter()
        .map(|r| r.id)
        .filter(|id| !fired_rules.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "no shipped scenario makes these rules fire: {missing:?}"
    );
}

fn collect_rules(targets: &Value, into: &mut BTreeSet<String>) {
    for target in targets.as_array().into_iter().flatten() {
        for finding in target["findings"].as_array().into_iter().flatten() {
            if let Some(rule) = finding["rule"].as_str() {
                into.insert(rule.to_string());
            }
        }
        collect_rules(&target["images"], into);
    }
}
