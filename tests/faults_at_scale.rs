//! Faults over a scan large enough to drain the SDK's default retry quota (generated here, not shipped):
//! 30% throttling still gives the clean report; an operation that fails every time stops being asked;
//! a cluster that keeps failing holds no other back.

mod common;

use std::path::Path;

use common::*;
use serde_json::{Value, json};

const CLUSTERS: &str = "mocks/emr-clusters";

/// `count` running clusters on EMR's default AMI, each answered by DescribeCluster and
/// ListInstanceGroups: two calls a cluster, no image calls.
fn many_clusters(dir: &Path, count: usize) -> Vec<String> {
    let shipped = repo().join(CLUSTERS);
    let describe =
        std::fs::read_to_string(shipped.join("emr/DescribeCluster.j-2DEFAULTAMI02.json"))
            .expect("shipped answer");
    let groups =
        std::fs::read_to_string(shipped.join("emr/ListInstanceGroups.j-2DEFAULTAMI02.json"))
            .expect("shipped answer");
    std::fs::create_dir_all(dir.join("emr")).expect("mkdir");
    std::fs::create_dir_all(dir.join("sts")).expect("mkdir");
    std::fs::copy(
        shipped.join("sts/GetCallerIdentity.xml"),
        dir.join("sts/GetCallerIdentity.xml"),
    )
    .expect("copy");
    let ids: Vec<String> = (0..count).map(|n| format!("j-SCALE{n:07}")).collect();
    let mut exchanges = vec![json!({
        "service": "sts", "action": "GetCallerIdentity", "params": {},
        "response": "sts/GetCallerIdentity.xml"
    })];
    let listed: Vec<Value> = ids
        .iter()
        .map(|id| json!({"Id": id, "Name": id, "Status": {"State": "WAITING"}}))
        .collect();
    std::fs::write(
        dir.join("emr/ListClusters.json"),
        json!({ "Clusters": listed }).to_string(),
    )
    .expect("write");
    exchanges.push(json!({
        "service": "emr", "action": "ListClusters",
        "params": {"ClusterStates": ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"]},
        "response": "emr/ListClusters.json"
    }));
    for id in &ids {
        let file = format!("emr/DescribeCluster.{id}.json");
        std::fs::write(dir.join(&file), describe.replace("j-2DEFAULTAMI02", id)).expect("write");
        exchanges.push(json!({
            "service": "emr", "action": "DescribeCluster",
            "params": {"ClusterId": id}, "response": file
        }));
        let file = format!("emr/ListInstanceGroups.{id}.json");
        std::fs::write(dir.join(&file), &groups).expect("write");
        exchanges.push(json!({
            "service": "emr", "action": "ListInstanceGroups",
            "params": {"ClusterId": id}, "response": file
        }));
    }
    std::fs::write(
        dir.join("exchanges.json"),
        json!({ "region": "us-east-1", "exchanges": exchanges }).to_string(),
    )
    .expect("write");
    ids
}

fn scan(dir: &Path, extra: &[&str]) -> (i32, Value) {
    let run = run(command()
        .args([
            "--replay",
            &dir.display().to_string(),
            "--now",
            NOW,
            "--format",
            "json",
        ])
        .args(extra)
        .arg("cluster"));
    let report = parse_report(&run);
    (run.code, report)
}

fn without_timing(mut report: Value) -> Value {
    if let Some(stats) = report.get_mut("stats").and_then(Value::as_object_mut) {
        stats.remove("elapsed_ms");
    }
    report
}

/// 801 calls, 30% of them faulted: the report is the clean one.
#[test]
fn thirty_percent_throttling_over_a_long_scan_gives_the_clean_report() {
    faulty_scan_is_clean("0.3", "12");
}

/// Half the calls faulted: the failed retries (5 tokens each, about one a call) drain the SDK's default
/// retry quota (500 tokens, one back per first-time success) within a few hundred calls, after which it
/// would fail calls without retrying them. The quota is lifted; attempts and the run stay bounded.
#[test]
fn half_the_calls_throttled_drain_no_retry_quota() {
    faulty_scan_is_clean("0.5", "20");
}

fn faulty_scan_is_clean(rate: &str, attempts: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let ids = many_clusters(dir.path(), 400);
    let (code, clean) = scan(dir.path(), &[]);
    assert_eq!(code, 0, "{clean}");
    assert_eq!(clean["summary"]["targets_audited"], ids.len());
    // Enough attempts that no call is faulted every time (0.3^12, 0.5^20 a call).
    let args = [
        "--replay-fault-rate",
        rate,
        "--replay-seed",
        "5",
        "--max-attempts",
        attempts,
    ];
    let (code, faulty) = scan(dir.path(), &args);
    assert_eq!(code, 0, "errors: {}", faulty["errors"]);
    let not_audited: Vec<&Value> = faulty["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["status"] != "audited")
        .collect();
    assert!(not_audited.is_empty(), "{not_audited:?}");
    // Retried attempts are not extra calls: the counts are the same too.
    assert_eq!(without_timing(faulty), without_timing(clean));
}

/// GetImageAncestry answering HTTP 500 every time: until it has answered once, only three calls try it
/// (side by side); when all three have failed every attempt it is not asked again in the scope, and the
/// other AMIs' calls fail at once. Every AMI is still audited, its lineage traced the other ways, and the
/// report says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operation_failing_every_time_stops_being_asked() {
    use emr_ami_audit::replay::{ReplayServer, Scenario};
    let scenario = Scenario::load(&repo().join(SCENARIO)).expect("shipped scenario loads");
    let server = ReplayServer::start(scenario).await;
    let failure = "<Response><Errors><Error><Code>InternalError</Code><Message>We encountered an internal error.</Message>\
                   </Error></Errors><RequestID>fail-1</RequestID></Response>";
    wiremock::Mock::given(wiremock::matchers::body_string_contains(
        "Action=GetImageAncestry&",
    ))
    .respond_with(wiremock::ResponseTemplate::new(500).set_body_raw(failure, "text/xml"))
    .with_priority(1)
    .mount(server.mock_server())
    .await;
    let mut args = vec!["--format".to_string(), "json".to_string()];
    args.extend(image_factory_args(LAUNCHER));
    let run = run_live(server.url(), args).await;
    let report = parse_report(&run);
    let requests = server
        .mock_server()
        .received_requests()
        .await
        .expect("recording on");
    let asked = requests
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).starts_with("Action=GetImageAncestry&"))
        .count();
    // 19 AMIs would be 95 attempts; three calls of five attempts each at most, however many AMIs, and
    // at least one of them retried to the end.
    assert!(asked <= 3 * 5, "GetImageAncestry asked {asked} times");
    assert!(asked >= 5, "retried: {asked}");
    let audited = report["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["status"] == "audited")
        .count();
    assert_eq!(audited, 20, "every AMI audited: {}", run.stderr);
    // "…, 13 attempts in a row": at least two calls' worth (the count depends on the interleaving).
    let why = "ec2:GetImageAncestry unavailable in us-east-1: HTTP 500 InternalError, ";
    let streak: Option<u32> = run.stdout.split(why).nth(1).and_then(|rest| {
        let (n, tail) = rest.split_once(' ')?;
        tail.starts_with("attempts in a row")
            .then(|| n.parse().ok())?
    });
    assert!(
        streak.is_some_and(|n| (10..=15).contains(&n)),
        "the report says why: {streak:?}"
    );
}

/// One cluster whose instance-group listing fails every time (retried with backoff) holds no other back:
/// clusters after the first window of `--concurrency` are described while it is still being retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_cluster_does_not_hold_the_others_back() {
    use emr_ami_audit::replay::{ReplayServer, Scenario};
    let dir = tempfile::tempdir().expect("temp dir");
    let ids = many_clusters(dir.path(), 40);
    let scenario = Scenario::load(dir.path()).expect("generated scenario loads");
    let server = ReplayServer::start(scenario).await;
    let slow = ids[0].clone();
    let (_, report, requests) =
        scan_with_a_failing_cluster(server.mock_server(), server.url(), &slow).await;
    let is_slow_listing = |r: &wiremock::Request| is_emr_call_of(r, "ListInstanceGroups", &slow);
    let last_slow = requests
        .iter()
        .rposition(is_slow_listing)
        .expect("the failing listing was asked");
    let later_clusters_before = requests[..last_slow]
        .iter()
        .filter(|r| {
            ids[4..]
                .iter()
                .any(|id| is_emr_call_of(r, "DescribeCluster", id))
        })
        .count();
    assert!(
        later_clusters_before >= 30,
        "only {later_clusters_before} clusters past the first window were described while the failing one was retried"
    );
    // The failing cluster is not audited, saying why; every other one is.
    let targets = report["targets"].as_array().expect("targets");
    assert_eq!(targets.len(), ids.len());
    assert_eq!(
        targets[0]["id"],
        slow.as_str(),
        "the listing's order is kept"
    );
    assert_eq!(targets[0]["status"], "not_audited");
    let error = targets[0]["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("emr:ListInstanceGroups") && error.contains("gave up after 5 attempts"),
        "the exhausted call says so by name: {error}"
    );
    assert!(targets[1..].iter().all(|t| t["status"] == "audited"));
}
