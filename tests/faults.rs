//! Throttling and faults: the report is the same as without them, and what fails for good is "not
//! audited" with the IAM action to grant while everything else is audited.

mod common;

use common::*;
use emr_ami_audit::replay::{Faults, ReplayServer, Scenario};
use serde_json::Value;
use wiremock::matchers::{body_string_contains, header};
use wiremock::{Mock, ResponseTemplate};

const CLUSTERS: &str = "mocks/emr-clusters";

fn without_timing(mut report: Value) -> Value {
    if let Some(stats) = report.get_mut("stats").and_then(Value::as_object_mut) {
        stats.remove("elapsed_ms");
    }
    report
}

fn cluster_scan(extra: &[&str]) -> (i32, Value) {
    let run = run(command()
        .args(["--replay", CLUSTERS, "--now", NOW, "--format", "json"])
        .args(extra)
        .arg("cluster"));
    assert!(run.code == 1, "exit {}: {}", run.code, run.stderr);
    let report = parse_report(&run);
    (run.code, report)
}

#[test]
fn thirty_percent_faults_change_nothing_in_the_report() {
    let (_, clean) = cluster_scan(&[]);
    for seed in ["1", "7", "42"] {
        let (_, faulty) = cluster_scan(&[
            "--replay-fault-rate",
            "0.3",
            "--replay-seed",
            seed,
            "--max-attempts",
            "10",
        ]);
        assert_eq!(
            without_timing(faulty),
            without_timing(clean.clone()),
            "seed {seed}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_injects_errors_and_dropped_connections_reproducibly() {
    let scenario = || Scenario::load(&repo().join(CLUSTERS)).expect("scenario");
    let faults = Faults {
        latency: std::time::Duration::from_millis(5),
        rate: 0.5,
        seed: 3,
    };
    let mut counts = Vec::new();
    for _ in 0..2 {
        let server = ReplayServer::start_with_faults(scenario(), faults).await;
        let run = run_live(
            server.url(),
            [
                "--format",
                "json",
                "--max-attempts",
                "10",
                "cluster",
                "j-2DEFAULTAMI02",
            ]
            .map(String::from)
            .to_vec(),
        )
        .await;
        assert_eq!(run.code, 0, "retried through the faults: {}", run.stderr);
        let log = server.log();
        counts.push((log.faults, log.dropped));
    }
    assert!(counts[0].0 > 0, "errors were injected: {counts:?}");
    assert!(counts[0].1 > 0, "connections were dropped: {counts:?}");
    assert_eq!(
        counts[0], counts[1],
        "the same seed injects the same faults"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_that_is_always_denied_is_not_audited_and_the_others_are() {
    let server =
        ReplayServer::start(Scenario::load(&repo().join(CLUSTERS)).expect("scenario")).await;
    let denied = r#"{"__type":"AccessDeniedException","message":"User: arn:aws:sts::444455556666:assumed-role/emr-auditor/ci is not authorized to perform: elasticmapreduce:DescribeCluster"}"#;
    Mock::given(header("x-amz-target", "ElasticMapReduce.DescribeCluster"))
        .and(body_string_contains("j-7SMALLROOT007"))
        .respond_with(ResponseTemplate::new(400).set_body_raw(denied, "application/x-amz-json-1.1"))
        .with_priority(1)
        .mount(server.mock_server())
        .await;
    let run = run_live(
        server.url(),
        [
            "--format",
            "json",
            "cluster",
            "j-2DEFAULTAMI02",
            "j-7SMALLROOT007",
        ]
        .map(String::from)
        .to_vec(),
    )
    .await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    let report = parse_report(&run);
    assert_eq!(target(&report, "j-2DEFAULTAMI02")["status"], "audited");
    let denied = target(&report, "j-7SMALLROOT007");
    assert_eq!(denied["status"], "not_audited");
    let error = denied["error"].as_str().expect("error");
    assert!(error.contains("AccessDeniedException"), "{error}");
    assert!(
        error.contains("grant elasticmapreduce:DescribeCluster"),
        "{error}"
    );
}

/// The rules a report entry's own findings come from.
fn rules_of(entry: &Value) -> std::collections::BTreeSet<String> {
    entry["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["rule"].as_str().map(str::to_string))
        .collect()
}

/// The rules that spoke in `clean` and are silent in `faulty` (both audited).
fn vanished(clean: &Value, faulty: &Value) -> Vec<String> {
    rules_of(clean)
        .difference(&rules_of(faulty))
        .cloned()
        .collect()
}

/// Never a silent pass under faults: with one attempt per call and 30% of them faulted, whatever could
/// not be read leaves its trace. Over many seeds, every rule that speaks about a cluster in the clean
/// run still speaks about it (with a finding or a "not audited" one), unless the whole cluster is not
/// audited. (A network lookup failing under throttling once made EA054 vanish from two clusters.)
#[test]
fn no_finding_vanishes_when_calls_fail() {
    let (_, clean) = cluster_scan(&[]);
    let clean_targets = clean["targets"].as_array().expect("targets");
    let mut faulted_runs = 0;
    for seed in 1..=16 {
        let seed = seed.to_string();
        let run = run(command()
            .args(["--replay", CLUSTERS, "--now", NOW, "--format", "json"])
            .args(["--replay-fault-rate", "0.3", "--replay-seed", &seed])
            .args(["--max-attempts", "1", "cluster"]));
        assert!(
            matches!(run.code, 1 | 3),
            "seed {seed}: exit {}: {}",
            run.code,
            run.stderr
        );
        let faulty = parse_report(&run);
        let mut lost_any = false;
        for clean_target in clean_targets {
            let id = clean_target["id"].as_str().expect("id");
            let Some(faulty_target) = faulty["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|t| t["id"] == id)
            else {
                // The listing itself failed: the run says so.
                assert!(
                    !faulty["errors"].as_array().expect("errors").is_empty(),
                    "seed {seed}: {id} missing from the report without an error"
                );
                lost_any = true;
                continue;
            };
            if faulty_target["status"] != "audited" {
                lost_any = true;
                continue;
            }
            let mut lost = vanished(clean_target, faulty_target);
            lost_any |= !lost.is_empty() || faulty_target != clean_target;
            // An image not audited says so itself; one audited keeps what it said.
            for clean_image in clean_target["images"].as_array().into_iter().flatten() {
                let faulty_image = faulty_target["images"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|i| i["id"] == clean_image["id"])
                    .expect("the same images are used");
                if faulty_image["status"] == "audited" {
                    lost.extend(vanished(clean_image, faulty_image));
                } else {
                    assert!(faulty_image["error"].is_string(), "{faulty_image}");
                }
            }
            assert!(
                lost.is_empty(),
                "seed {seed}: {id} lost {lost:?}: {}",
                serde_json::to_string_pretty(faulty_target).unwrap_or_default()
            );
        }
        faulted_runs += usize::from(lost_any);
    }
    assert!(faulted_runs > 0, "the faults reached the audit");
}
