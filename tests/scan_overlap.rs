//! A cluster scan's phases overlap: clusters are described as their list's pages come, and their AMIs
//! are described and traced while other clusters still are; a cluster sleeping through retries holds
//! neither back. At the same number of calls: ⌈AMIs / 100⌉ DescribeImages batches and one
//! GetImageAncestry per AMI. On the synthetic account of the benchmark (`tests/synthetic`).

mod common;
mod synthetic;

use std::collections::BTreeSet;

use common::*;
use emr_ami_audit::replay::{ReplayServer, Scenario, canonical};
use serde_json::Value;

/// 120 clusters: three ListClusters pages; clusters 1–119 use AMIs 1–121.
const CLUSTERS: usize = 120;

fn ec2_action(r: &wiremock::Request) -> Option<String> {
    let body = String::from_utf8_lossy(&r.body);
    let action = body.strip_prefix("Action=")?.split('&').next()?;
    Some(action.to_string())
}

/// The synthetic AMIs a DescribeImages request names (not the Amazon base its lineage leads to).
fn synthetic_amis(r: &wiremock::Request) -> Vec<String> {
    let params = emr_ami_audit::replay::identify(r)
        .map(|k| canonical(&k.params))
        .unwrap_or(Value::Null);
    params["ImageId"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .filter(|id| (0..synthetic::AMIS).any(|n| synthetic::ami(n) == *id))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn images_are_described_and_traced_while_a_failing_cluster_is_retried() {
    let dir = tempfile::tempdir().expect("temp dir");
    synthetic::generate(dir.path(), CLUSTERS);
    let scenario = Scenario::load(dir.path()).expect("generated scenario loads");
    let second_page = scenario
        .exchanges
        .iter()
        .find(|e| e.action == "ListClusters" && e.params["Marker"] == "page-1")
        .map(|e| e.body.to_vec())
        .expect("the second page is recorded");
    let server = ReplayServer::start(scenario).await;
    // The second page comes half a second late, so that "described before the last page was asked"
    // depends on the scan, not on a race: on loopback the three pages can otherwise all be listed
    // before the first cluster's request, on its new connection, reaches the server (seen in CI).
    wiremock::Mock::given(wiremock::matchers::header(
        "x-amz-target",
        "ElasticMapReduce.ListClusters",
    ))
    .and(wiremock::matchers::body_string_contains("page-1"))
    .respond_with(
        wiremock::ResponseTemplate::new(200)
            .set_body_raw(second_page, "application/x-amz-json-1.1")
            .set_delay(std::time::Duration::from_millis(500)),
    )
    .with_priority(1)
    .mount(server.mock_server())
    .await;
    let failing = "j-BENCH00000000";
    let (run, report, requests) =
        scan_with_a_failing_cluster(server.mock_server(), server.url(), failing).await;
    let position = |what: &dyn Fn(&wiremock::Request) -> bool| requests.iter().position(what);
    let last_failing = requests
        .iter()
        .rposition(|r| is_emr_call_of(r, "ListInstanceGroups", failing))
        .expect("the failing listing was asked");
    let first_batch = position(&|r| !synthetic_amis(r).is_empty()).expect("images described");
    let first_ancestry = position(&|r| ec2_action(r).as_deref() == Some("GetImageAncestry"))
        .expect("lineage traced");
    assert!(
        first_batch < last_failing && first_ancestry < last_failing,
        "the images waited for the failing cluster: DescribeImages at {first_batch}, \
         GetImageAncestry at {first_ancestry}, the failing cluster's last attempt at {last_failing}"
    );
    // The first page's clusters are described before the last page is listed.
    let first_describe =
        position(&|r| emr_action(r) == Some("DescribeCluster")).expect("clusters described");
    let last_page = requests
        .iter()
        .rposition(|r| emr_action(r) == Some("ListClusters"))
        .expect("clusters listed");
    assert!(
        first_describe < last_page,
        "describing waited for the whole list: first DescribeCluster at {first_describe}, last ListClusters page at {last_page}"
    );
    // At the floor: 121 AMIs in two batches, each AMI once; one ancestry call per AMI.
    let batches: Vec<Vec<String>> = requests
        .iter()
        .map(synthetic_amis)
        .filter(|amis| !amis.is_empty())
        .collect();
    let asked: BTreeSet<&String> = batches.iter().flatten().collect();
    assert_eq!(batches.len(), 2, "DescribeImages batches: {batches:?}");
    assert_eq!(asked.len(), 121);
    assert_eq!(batches.iter().map(Vec::len).sum::<usize>(), 121);
    let ancestry = requests
        .iter()
        .filter(|r| ec2_action(r).as_deref() == Some("GetImageAncestry"))
        .count();
    assert_eq!(ancestry, 121);
    // The failing cluster is not audited, saying why; every other one is, in the listing's order.
    let targets = report["targets"].as_array().expect("targets");
    assert_eq!(targets.len(), CLUSTERS);
    assert_eq!(targets[0]["id"], failing);
    assert_eq!(targets[0]["status"], "not_audited");
    assert!(
        targets[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("emr:ListInstanceGroups")),
        "{}",
        targets[0]
    );
    for (n, target) in targets.iter().enumerate().skip(1) {
        assert_eq!(target["id"], format!("j-BENCH{n:08}"));
        assert_eq!(target["status"], "audited", "{target}");
    }
    // Lineage was traced through the prefetched answers: every AMI's base is the Amazon one.
    let lineage_named = run.stdout.matches("ami-0b100000000000001").count();
    assert!(
        lineage_named >= 119,
        "lineage in the report: {lineage_named}"
    );
}

/// A listing that fails after its first page: the clusters of that page are described and judged, and
/// a run error says the list is incomplete (exit 3), rather than the scan passing on a partial list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_cut_after_a_page_judges_that_page_and_says_the_rest_is_missing() {
    let dir = tempfile::tempdir().expect("temp dir");
    synthetic::generate(dir.path(), CLUSTERS);
    let scenario = Scenario::load(dir.path()).expect("generated scenario loads");
    let server = ReplayServer::start(scenario).await;
    wiremock::Mock::given(wiremock::matchers::header(
        "x-amz-target",
        "ElasticMapReduce.ListClusters",
    ))
    .and(wiremock::matchers::body_string_contains("page-1"))
    .respond_with(wiremock::ResponseTemplate::new(400).set_body_raw(
        r#"{"__type":"AccessDeniedException","Message":"not allowed"}"#,
        "application/x-amz-json-1.1",
    ))
    .with_priority(1)
    .mount(server.mock_server())
    .await;
    let args = ["--format", "json", "cluster"].map(String::from).to_vec();
    let run = run_live(server.url(), args).await;
    let report = parse_report(&run);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let targets = report["targets"].as_array().expect("targets");
    assert_eq!(targets.len(), synthetic::PAGE, "the first page's clusters");
    assert!(targets.iter().all(|t| t["status"] == "audited"));
    let errors = report["errors"].to_string();
    assert!(
        errors.contains("the clusters could not all be listed (stopped after 50)")
            && errors.contains("emr:ListClusters"),
        "{errors}"
    );
}
