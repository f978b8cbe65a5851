//! End-to-end: `cluster` through the real SDK against the shipped emr-clusters recording.

mod common;

use common::*;
use serde_json::{Value, json};

const CLUSTERS: &str = "mocks/emr-clusters";

fn clusters_json(args: &[&str]) -> (i32, Value) {
    let run = run(command()
        .args(["--replay", CLUSTERS, "--now", NOW, "--format", "json"])
        .args(args));
    let report = parse_report(&run);
    (run.code, report)
}

fn c_ami(n: u32) -> String {
    format!("ami-0c1000000000000{n:02}")
}

/// Per AMI of a cluster, the image rules that fired, as `rule:severity`.
type ImageFindings = Vec<(String, Vec<String>)>;

/// Cluster-level rules, then per AMI the image rules, as `rule:severity`.
fn cluster_findings(target: &Value) -> (Vec<String>, ImageFindings) {
    let images = target["images"]
        .as_array()
        .expect("images")
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap_or_default().to_string(),
                rule_severities(i),
            )
        })
        .collect();
    (rule_severities(target), images)
}

#[test]
fn every_active_cluster_gets_exactly_the_findings_it_deserves() {
    let (code, report) = clusters_json(&["cluster"]);
    assert_eq!(code, 1);
    let info = || "EA033:info".to_string();
    let mut expected: Vec<(&str, Vec<&str>, ImageFindings)> = vec![
        ("j-1CLEANETL0001", vec![], vec![(c_ami(1), vec![info()])]),
        ("j-2DEFAULTAMI02", vec![], vec![]),
        (
            "j-3GRAVFLEET003",
            vec![],
            vec![(c_ami(1), vec![info()]), (c_ami(2), vec![info()])],
        ),
        (
            "j-4BOTHLEVELS04",
            vec!["EA050:error"],
            vec![(c_ami(1), vec![info()]), (c_ami(5), vec![info()])],
        ),
        (
            "j-5MIXEDARCH005",
            vec!["EA051:error"],
            vec![(c_ami(1), vec!["EA020:error".into(), info()])],
        ),
        (
            "j-6PARTIALAMI06",
            vec!["EA052:error"],
            vec![(c_ami(1), vec![info()])],
        ),
        (
            "j-7SMALLROOT007",
            vec!["EA053:error"],
            vec![(c_ami(3), vec![info()])],
        ),
        (
            "j-8CORPDNS0008",
            vec!["EA054:warning"],
            vec![(c_ami(1), vec![info()])],
        ),
        (
            "j-9NOREPOUPG09",
            vec!["EA055:info"],
            vec![(c_ami(4), vec![info()])],
        ),
        (
            "j-AOLDAL2ON7X10",
            vec![],
            vec![(c_ami(4), vec!["EA015:error".into(), info()])],
        ),
    ];
    // Every AMI's base (named by its description) is from 2024 and has newer releases: EA042.
    for (_, _, images) in &mut expected {
        for (_, rules) in images {
            rules.push("EA042:warning".to_string());
            rules.sort();
        }
    }
    let targets = report["targets"].as_array().expect("targets");
    assert_eq!(
        targets.len(),
        expected.len(),
        "the terminated cluster is not listed"
    );
    for (id, cluster_rules, images) in &expected {
        let t = target(&report, id);
        assert_eq!(t["kind"], "cluster");
        assert_eq!(t["status"], "audited", "{id}");
        let (got_rules, got_images) = cluster_findings(t);
        assert_eq!(got_rules, *cluster_rules, "{id}");
        assert_eq!(got_images, *images, "{id}");
        assert_eq!(t["context"]["account"], "444455556666");
    }
}

#[test]
fn default_ami_cluster_is_listed_as_such() {
    let (code, report) = clusters_json(&["cluster", "j-2DEFAULTAMI02"]);
    assert_eq!(code, 0);
    let t = target(&report, "j-2DEFAULTAMI02");
    assert_eq!(t["default_ami"], true);
    assert_eq!(t["images"], json!([]));
    assert_eq!(t["findings"], json!([]));
    // No custom AMI: nothing to look up beyond the cluster itself.
    assert_eq!(
        report["stats"]["api_calls"],
        json!({"sts:GetCallerIdentity": 1, "emr:DescribeCluster": 1, "emr:ListInstanceGroups": 1})
    );
    let table = run(command().args(["--replay", CLUSTERS, "cluster", "j-2DEFAULTAMI02"]));
    assert!(
        table
            .stdout
            .contains("EMR default AMI: no custom AMI to check"),
        "{}",
        table.stdout
    );
}

#[test]
fn images_are_judged_in_each_clusters_context_and_say_where_they_are_used() {
    let (_, report) = clusters_json(&["cluster"]);
    let fleet = target(&report, "j-3GRAVFLEET003");
    let arm = &fleet["images"][1];
    assert_eq!(arm["id"], c_ami(2));
    assert_eq!(
        arm["used_by"],
        json!(["CORE fleet if-3CORE00000001 (Core) m6g.xlarge"])
    );
    assert_eq!(
        arm["context"]["instance_types"],
        json!(["m6g.xlarge"]),
        "only the types that boot this AMI"
    );
    let x86 = &fleet["images"][0];
    assert_eq!(x86["context"]["instance_types"], json!(["m5.xlarge"]));
    let mixed = target(&report, "j-5MIXEDARCH005");
    assert_eq!(mixed["images"][0]["used_by"], json!(["cluster-level"]));
    assert_eq!(
        mixed["images"][0]["context"]["instance_types"],
        json!(["m5.xlarge", "m6g.xlarge"])
    );
    let on_6x = target(&report, "j-9NOREPOUPG09");
    assert_eq!(on_6x["images"][0]["context"]["release"], "emr-6.15.0");
}

#[test]
fn each_resource_is_fetched_once_and_every_page_is_followed() {
    let (_, report) = clusters_json(&["cluster"]);
    // ami-…01 is used by six clusters, yet images are one DescribeImages batch (plus one ExecutableBy=self
    // batch, since the images belong to another account); ListClusters and one cluster's fleets come in
    // two pages each. Lineage: GetImageAncestry is denied to this role, so it is asked once; the bases
    // come from the AMIs' descriptions, and each of their three families is looked up once.
    assert_eq!(
        report["stats"]["api_calls"],
        json!({
            "sts:GetCallerIdentity": 1,
            "emr:ListClusters": 2,
            "emr:DescribeCluster": 10,
            "emr:ListInstanceGroups": 8,
            "emr:ListInstanceFleets": 3,
            "ec2:DescribeImages": 2 + 3,
            "ec2:GetImageAncestry": 1,
            "ec2:DescribeInstanceTypes": 1,
            "emr:ListSupportedInstanceTypes": 2,
            "ec2:DescribeSubnets": 1,
            "ec2:DescribeVpcs": 1,
            "ec2:DescribeDhcpOptions": 1,
        })
    );
    let fleet = target(&report, "j-3GRAVFLEET003");
    assert_eq!(
        fleet["images"][0]["used_by"].as_array().map(Vec::len),
        Some(2),
        "both fleet pages were read"
    );
}

#[test]
fn table_lists_each_cluster_its_amis_and_where_used() {
    let run = run(command().args(["--replay", CLUSTERS, "cluster"]));
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("j-5MIXEDARCH005  mixed-arch  (us-east-1 · emr-7.1.0 · m5.xlarge, m6g.xlarge · account 444455556666)"));
    assert!(
        run.stdout.contains(
            "  ami-0c100000000000001  emr-base-al2023-k61-x86_64-20241120  ← cluster-level"
        )
    );
    assert!(
        run.stdout.contains("│ error    ┆ EA051 ┆ cluster "),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("10 targets: 10 audited, 0 not audited · 6 errors, 12 warnings, 12 info"),
        "{}",
        run.stdout
    );
}

#[test]
fn cluster_that_cannot_be_described_is_not_audited_and_the_rest_go_on() {
    let (code, report) = clusters_json(&["cluster", "j-2DEFAULTAMI02", "j-NOSUCHCLUSTER1"]);
    assert_eq!(code, 3);
    assert_eq!(target(&report, "j-2DEFAULTAMI02")["status"], "audited");
    let missing = target(&report, "j-NOSUCHCLUSTER1");
    assert_eq!(missing["status"], "not_audited");
    assert!(
        missing["error"]
            .as_str()
            .is_some_and(|e| e.contains("emr:DescribeCluster")),
        "{missing}"
    );
    assert_eq!(missing["context"]["release"], Value::Null);
}

#[test]
fn bad_cluster_arguments_exit_2() {
    let bad_id = run(command().args(["--replay", CLUSTERS, "cluster", "j-lowercase1"]));
    assert_eq!(bad_id.code, 2);
    assert!(
        bad_id.stderr.contains("'j-lowercase1'"),
        "{}",
        bad_id.stderr
    );
    let bad_state = run(command().args(["--replay", CLUSTERS, "cluster", "--state", "ACTIVE"]));
    assert_eq!(bad_state.code, 2);
    assert!(
        bad_state.stderr.contains("'ACTIVE'"),
        "{}",
        bad_state.stderr
    );
    let bad_date = run(command().args([
        "--replay",
        CLUSTERS,
        "cluster",
        "--created-after",
        "last week",
    ]));
    assert_eq!(bad_date.code, 2);
    assert!(
        bad_date.stderr.contains("'last week'"),
        "{}",
        bad_date.stderr
    );
}

#[test]
fn an_image_rule_error_alone_sets_the_exit_code() {
    // j-AOLDAL2ON7X10 has no cluster-rule finding; its AMI's EA015 error must still fail the run.
    let (code, report) = clusters_json(&["cluster", "j-AOLDAL2ON7X10"]);
    let t = target(&report, "j-AOLDAL2ON7X10");
    assert_eq!(t["findings"], json!([]));
    assert_eq!(
        cluster_findings(t).1,
        [(
            c_ami(4),
            vec![
                "EA015:error".to_string(),
                "EA033:info".to_string(),
                "EA042:warning".to_string()
            ]
        )]
    );
    assert_eq!(code, 1);
}

#[test]
fn not_audited_takes_precedence_over_errors_in_the_exit_code() {
    // An EA015 error (exit 1 alone) and a cluster that can't be described (exit 3): 3 wins.
    let (code, report) = clusters_json(&["cluster", "j-AOLDAL2ON7X10", "j-NOSUCHCLUSTER1"]);
    assert_eq!(report["summary"]["error"], 1);
    assert_eq!(report["summary"]["targets_not_audited"], 1);
    assert_eq!(code, 3);
}

#[test]
fn verbose_logs_go_to_stderr_and_leave_the_report_alone() {
    let args = ["--replay", CLUSTERS, "--now", NOW, "--format", "json"];
    let quiet = run(command().args(args).args(["--no-progress", "cluster"]));
    assert!(quiet.stderr.is_empty(), "{}", quiet.stderr);
    let loud = run(command().args(args).args(["-vv", "cluster"]));
    assert_eq!(loud.code, quiet.code);
    assert!(
        loud.stderr
            .contains("describing the clusters of us-east-1 as they are listed, 64 at a time")
            && loud.stderr.contains("described 10 clusters in us-east-1"),
        "{}",
        loud.stderr
    );
    assert!(
        loud.stderr.contains("GetImageAncestry is not available"),
        "{}",
        loud.stderr
    );
    assert!(
        loud.stderr.contains("calling emr:DescribeCluster"),
        "{}",
        loud.stderr
    );
    assert_eq!(
        parse_report(&loud)["summary"],
        parse_report(&quiet)["summary"]
    );
}
