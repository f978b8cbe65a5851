//! EA053 when a cluster sets no EbsRootVolumeSize: EMR attaches the release's default root volume
//! (15 GiB on 7.x), which EC2 refuses for a larger root snapshot. Against the emr-clusters recording,
//! with j-7SMALLROOT007 (emr-7.1.0, ami-…03 with a 30 GiB root snapshot) answered without its size.

mod common;

use common::*;
use emr_ami_audit::replay::{ReplayServer, Scenario};
use serde_json::Value;
use wiremock::matchers::{body_string_contains, header};
use wiremock::{Mock, ResponseTemplate};

const CLUSTERS: &str = "mocks/emr-clusters";
const SMALL_ROOT: &str = "j-7SMALLROOT007";

fn ea053(report: &Value, cluster: &str) -> Vec<Value> {
    target(report, cluster)["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["rule"] == "EA053")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_root_size_and_a_large_snapshot_is_an_error() {
    let scenario = Scenario::load(&repo().join(CLUSTERS)).expect("shipped scenario loads");
    let server = ReplayServer::start(scenario).await;
    let recorded = std::fs::read_to_string(
        repo()
            .join(CLUSTERS)
            .join(format!("emr/DescribeCluster.{SMALL_ROOT}.json")),
    )
    .expect("shipped answer");
    let unset = recorded.replace("\"EbsRootVolumeSize\":20,", "");
    assert_ne!(unset, recorded, "the recording sets EbsRootVolumeSize 20");
    Mock::given(header("x-amz-target", "ElasticMapReduce.DescribeCluster"))
        .and(body_string_contains(SMALL_ROOT))
        .respond_with(ResponseTemplate::new(200).set_body_raw(unset, "application/x-amz-json-1.1"))
        .with_priority(1)
        .mount(server.mock_server())
        .await;
    let run = run_live(
        server.url(),
        // The whole scan: the EC2 answers are recorded for the batch all ten clusters need.
        ["--format", "json", "cluster"].map(String::from).to_vec(),
    )
    .await;
    let report = parse_report(&run);
    let found = ea053(&report, SMALL_ROOT);
    assert_eq!(found.len(), 1, "{report}");
    assert_eq!(found[0]["severity"], "error");
    let message = found[0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("not set")
            && message.contains("default 15 GiB")
            && message.contains("30 GiB"),
        "{message}"
    );
    assert_eq!(found[0]["evidence"]["DefaultRootVolumeGiB"], "15");
    assert_eq!(run.code, 1, "error findings: exit 1\n{}", run.stderr);
    // The other clusters set a root size at least their AMI's snapshot (or use EMR's default AMI).
    for other in ["j-1CLEANETL0001", "j-2DEFAULTAMI02", "j-9NOREPOUPG09"] {
        assert!(ea053(&report, other).is_empty(), "{other}: {report}");
    }
}

/// The recording as shipped (EbsRootVolumeSize 20 < 30) keeps its one EA053, now from the same rule.
#[test]
fn the_recorded_small_root_still_fires_once() {
    let run = run(command().args(["--replay", CLUSTERS, "--format", "json", "cluster"]));
    let report = parse_report(&run);
    let found = ea053(&report, SMALL_ROOT);
    assert_eq!(found.len(), 1, "{report}");
    assert!(
        found[0]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("EbsRootVolumeSize is 20 GiB"))
    );
}

/// The same cases as shipped in the recording, asked by ID (not listed, so the main scan is unchanged):
/// j-BNOROOTSIZE11 sets no root size under a 30 GiB snapshot, j-CDEFAULTDHCP12 runs in a VPC with no DHCP
/// options (`default`) beside j-8CORPDNS0008's corporate domain.
#[test]
fn shipped_clusters_with_no_root_size_and_default_dhcp_options() {
    let run = run(command().args([
        "--replay",
        CLUSTERS,
        "--now",
        NOW,
        "--format",
        "json",
        "cluster",
        "j-BNOROOTSIZE11",
        "j-CDEFAULTDHCP12",
        "j-8CORPDNS0008",
    ]));
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report = parse_report(&run);
    assert_eq!(report["errors"], serde_json::json!([]));
    let no_size = ea053(&report, "j-BNOROOTSIZE11");
    assert_eq!(no_size.len(), 1, "{report}");
    assert_eq!(no_size[0]["severity"], "error");
    assert!(ea053(&report, "j-CDEFAULTDHCP12").is_empty());
    let ea054 = |cluster: &str| -> Vec<Value> {
        target(&report, cluster)["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["rule"] == "EA054")
            .cloned()
            .collect()
    };
    // `default` means no custom domain: nothing to warn about, and nothing "not audited".
    assert!(ea054("j-CDEFAULTDHCP12").is_empty(), "{report}");
    let corp = ea054("j-8CORPDNS0008");
    assert_eq!(corp.len(), 1);
    assert!(
        corp[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("corp.example.com")),
        "{}",
        corp[0]
    );
    // One DescribeDhcpOptions, for the two real option sets only (the recording has no answer that
    // includes `default`).
    assert_eq!(report["stats"]["api_calls"]["ec2:DescribeDhcpOptions"], 1);
}
