//! The live code path (`--endpoint-url`, credentials from the environment) against a loopback server:
//! throttling is retried, and every request is read-only.

mod common;

use common::*;
use emr_ami_audit::replay::{ReplayServer, Scenario, identify};
use wiremock::matchers::body_string_contains;
use wiremock::{Mock, ResponseTemplate};

async fn server() -> ReplayServer {
    let scenario = Scenario::load(&repo().join(SCENARIO)).expect("shipped scenario loads");
    ReplayServer::start(scenario).await
}

/// Live mode with a JSON report.
async fn run_live_json(url: String, mut args: Vec<String>) -> Run {
    args.splice(0..0, ["--format".to_string(), "json".to_string()]);
    run_live(url, args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_request_is_retried_then_succeeds() {
    let server = server().await;
    let throttle = "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>\
                    </Error></Errors><RequestID>throttle-1</RequestID></Response>";
    Mock::given(body_string_contains("Action=DescribeImages&"))
        .respond_with(ResponseTemplate::new(503).set_body_raw(throttle, "text/xml"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server.mock_server())
        .await;
    let args = [
        "image",
        &ami(2),
        "--release",
        "emr-6.15.0",
        "--account",
        LAUNCHER,
    ]
    .map(String::from)
    .to_vec();
    let run = run_live_json(server.url(), args).await;
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let report = parse_report(&run);
    assert_eq!(target(&report, &ami(2))["status"], "audited");
    assert_eq!(
        fired(target(&report, &ami(2))),
        pairs(&[("EA032", "info"), ("EA042", "warning")])
    );
    let requests = server
        .mock_server()
        .received_requests()
        .await
        .expect("recording on");
    let describes = requests
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .filter(|b| b.starts_with("Action=DescribeImages&") && b.contains(&ami(2)))
        .count();
    // The lineage lookups (its base, the base's family) come after, unthrottled.
    assert_eq!(describes, 2, "one throttled attempt, one retry");
}

/// Every request of `image`, `cluster` and `plan` is a Describe*, List* or Get* action.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_and_plan_requests_are_read_only() {
    let scenario =
        Scenario::load(&repo().join("mocks/emr-clusters")).expect("shipped scenario loads");
    let server = ReplayServer::start(scenario).await;
    for args in [
        vec!["cluster"],
        vec!["plan", "examples/runjobflow-bad.json"],
    ] {
        let run = run_live_json(server.url(), args.iter().map(|a| a.to_string()).collect()).await;
        assert_eq!(run.code, 1, "{args:?}: {}", run.stderr);
    }
    let requests = server
        .mock_server()
        .received_requests()
        .await
        .expect("recording on");
    let actions: std::collections::BTreeSet<String> = requests
        .iter()
        .map(|r| identify(r).expect("an AWS request").action)
        .collect();
    assert!(
        actions.contains("DescribeCluster") && actions.contains("DescribeDhcpOptions"),
        "{actions:?}"
    );
    for action in &actions {
        assert!(
            ["Describe", "List", "Get"]
                .iter()
                .any(|p| action.starts_with(p)),
            "{action} is not read-only"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_read_only() {
    let server = server().await;
    let args = image_factory_args(LAUNCHER);
    let run = run_live_json(server.url(), args).await;
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    let requests = server
        .mock_server()
        .received_requests()
        .await
        .expect("recording on");
    assert!(
        requests.len() >= 20,
        "the whole audit went through the server: {}",
        requests.len()
    );
    for request in &requests {
        let key = identify(request).expect("an AWS request");
        assert!(
            ["Describe", "List", "Get"]
                .iter()
                .any(|p| key.action.starts_with(p)),
            "{} is not read-only",
            key.action
        );
    }
    // Every request was answered from the recording.
    assert!(server.log().requests.iter().all(|(_, matched)| *matched));
}
