//! EA054's network lookups: a VPC with no DHCP options set (EC2 says `default`) is not asked about, and a
//! DHCP options set that doesn't exist settles itself without failing its neighbours in the batch.

mod common;

use common::*;
use emr_ami_audit::replay::{ReplayServer, Scenario};
use serde_json::Value;
use wiremock::matchers::body_string_contains;
use wiremock::{Mock, ResponseTemplate};

const CLUSTERS: &str = "mocks/emr-clusters";
/// The cluster in vpc-0c3c… (subnet-0c3c…), whose DHCP options the tests change.
const IN_VPC_C: &str = "j-9NOREPOUPG09";
/// A cluster in vpc-0b2b…, whose corporate domain EA054 warns of.
const CORPORATE: &str = "j-8CORPDNS0008";

fn answer(file: &str) -> String {
    std::fs::read_to_string(repo().join(CLUSTERS).join(file)).expect("shipped answer")
}

/// The cluster scan against the shipped scenario, with vpc-0c3c… using `dhcp` and DescribeDhcpOptions
/// answered by `dhcp_answer` (body match, answer) before the recording.
async fn scan_with(dhcp: &str, refusal: Option<(&str, ResponseTemplate)>) -> (Value, Vec<String>) {
    let scenario = Scenario::load(&repo().join(CLUSTERS)).expect("shipped scenario loads");
    let server = ReplayServer::start(scenario).await;
    let vpcs = answer("ec2/DescribeVpcs.all.xml").replace(
        "<dhcpOptionsId>dopt-0c3c3c3c3c3c3c3c3</dhcpOptionsId>",
        &format!("<dhcpOptionsId>{dhcp}</dhcpOptionsId>"),
    );
    Mock::given(body_string_contains("Action=DescribeVpcs&"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(vpcs, "text/xml"))
        .with_priority(1)
        .mount(server.mock_server())
        .await;
    if let Some((needle, refusal)) = refusal {
        Mock::given(body_string_contains("Action=DescribeDhcpOptions&"))
            .and(body_string_contains(needle))
            .respond_with(refusal)
            .with_priority(1)
            .mount(server.mock_server())
            .await;
    }
    Mock::given(body_string_contains("Action=DescribeDhcpOptions&"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(answer("ec2/DescribeDhcpOptions.all.xml"), "text/xml"),
        )
        .with_priority(2)
        .mount(server.mock_server())
        .await;
    let run = run_live(
        server.url(),
        ["--format", "json", "cluster"].map(String::from).to_vec(),
    )
    .await;
    let report = parse_report(&run);
    let asked = server
        .mock_server()
        .received_requests()
        .await
        .expect("recording on")
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .filter(|b| b.starts_with("Action=DescribeDhcpOptions&"))
        .collect();
    (report, asked)
}

fn ea054(report: &Value, cluster: &str) -> Vec<Value> {
    target(report, cluster)["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["rule"] == "EA054")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vpc_without_dhcp_options_is_not_asked_about() {
    let (report, asked) = scan_with("default", None).await;
    assert!(
        asked.iter().all(|b| !b.contains("default")),
        "DescribeDhcpOptions was asked for 'default': {asked:?}"
    );
    // No custom domain: nothing to say of the cluster in it, and its neighbour is judged as before.
    assert!(ea054(&report, IN_VPC_C).is_empty(), "{report}");
    assert_eq!(target(&report, IN_VPC_C)["status"], "audited");
    let corporate = ea054(&report, CORPORATE);
    assert_eq!(corporate.len(), 1);
    assert!(
        corporate[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("corp.example.com"))
    );
    assert!(report["errors"].as_array().is_none_or(Vec::is_empty));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_dhcp_options_set_settles_alone() {
    let dead = "dopt-0deaddeaddeaddead";
    let refusal = ResponseTemplate::new(400).set_body_raw(
        format!(
            "<Response><Errors><Error><Code>InvalidDhcpOptionID.NotFound</Code><Message>The dhcpOption ID '{dead}' does not exist</Message></Error></Errors><RequestID>x</RequestID></Response>"
        ),
        "text/xml",
    );
    let (report, asked) = scan_with(dead, Some((dead, refusal))).await;
    assert_eq!(
        asked.len(),
        2,
        "the batch, then the rest without the unknown set: {asked:?}"
    );
    // The neighbour in the same batch is judged as before ...
    let corporate = ea054(&report, CORPORATE);
    assert_eq!(corporate.len(), 1, "{report}");
    assert!(
        corporate[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("corp.example.com")),
        "judged, not 'not audited': {}",
        corporate[0]
    );
    // ... and the cluster whose set is unknown says so, naming it.
    let unknown = ea054(&report, IN_VPC_C);
    assert_eq!(unknown.len(), 1, "{report}");
    assert!(
        unknown[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains(dead)),
        "{}",
        unknown[0]
    );
}
