//! End-to-end: `plan` on the files in examples/, looked up in the emr-clusters recording.

mod common;

use common::*;
use serde_json::{Value, json};

const CLUSTERS: &str = "mocks/emr-clusters";

fn plan(args: &[&str]) -> Run {
    run(command()
        .args(["--replay", CLUSTERS, "--now", NOW, "plan"])
        .args(args))
}

fn plan_json(args: &[&str]) -> (i32, Value) {
    let run = run(command()
        .args([
            "--replay", CLUSTERS, "--now", NOW, "--format", "json", "plan",
        ])
        .args(args));
    let report = parse_report(&run);
    (run.code, report)
}

#[test]
fn good_run_job_flow_request_passes() {
    let (code, report) = plan_json(&["examples/runjobflow-good.json"]);
    assert_eq!(code, 0);
    let t = target(&report, "examples/runjobflow-good.json");
    assert_eq!(t["kind"], "plan");
    assert_eq!(t["name"], "graviton-etl");
    assert_eq!(rule_severities(t), Vec::<String>::new());
    let images = t["images"].as_array().expect("images");
    assert_eq!(images.len(), 2);
    assert_eq!(
        images[1]["used_by"],
        json!(["CORE fleet (Core) m6g.xlarge"])
    );
    // The example AMIs stand on 2024 bases: stale on the reference date, a warning only.
    assert_eq!(rule_severities(&images[1]), ["EA033:info", "EA042:warning"]);
}

#[test]
fn bad_run_job_flow_request_is_caught_before_launch() {
    let (code, report) = plan_json(&["examples/runjobflow-bad.json"]);
    assert_eq!(code, 1);
    let t = target(&report, "examples/runjobflow-bad.json");
    assert_eq!(
        rule_severities(t),
        ["EA051:error", "EA053:error", "EA054:warning", "EA055:info"]
    );
    let image = &t["images"][0];
    assert_eq!(image["id"], "ami-0c100000000000004");
    // AL2 on 7.x; x86_64 and legacy-bios on a Graviton (uefi-only) core group.
    assert_eq!(
        rule_severities(image),
        [
            "EA015:error",
            "EA020:error",
            "EA023:error",
            "EA033:info",
            "EA042:warning"
        ]
    );
}

#[test]
fn cloudformation_yaml_resolves_parameters_and_defaults() {
    let (code, report) = plan_json(&["examples/cloudformation-good.yaml"]);
    assert_eq!(code, 0);
    let t = target(&report, "examples/cloudformation-good.yaml:EtlCluster");
    assert_eq!(t["name"], "etl-us-east-1", "Fn::Sub with AWS::Region");
    assert_eq!(
        t["context"]["release"], "emr-7.1.0",
        "from the parameter default"
    );
    assert_eq!(t["images"][0]["id"], "ami-0c100000000000001");

    // --parameter overrides the default: the AL2023 AMI does not fit a 6.x release.
    let (code, report) = plan_json(&[
        "examples/cloudformation-good.yaml",
        "--parameter",
        "ReleaseLabel=emr-6.15.0",
    ]);
    assert_eq!(code, 1);
    let t = target(&report, "examples/cloudformation-good.yaml:EtlCluster");
    assert_eq!(
        rule_severities(&t["images"][0]),
        ["EA015:error", "EA033:info", "EA042:warning"]
    );
}

#[test]
fn cloudformation_json_partial_amis_and_unresolved_values() {
    let (code, report) = plan_json(&["examples/cloudformation-bad.json"]);
    assert_eq!(code, 1);
    let partial = target(&report, "examples/cloudformation-bad.json:PartialCluster");
    assert_eq!(rule_severities(partial), ["EA052:error"]);
    let deploy_time = target(
        &report,
        "examples/cloudformation-bad.json:DeployTimeAmiCluster",
    );
    assert_eq!(
        rule_severities(deploy_time),
        ["EA056:warning", "EA056:warning"]
    );
    assert!(
        deploy_time.get("default_ami").is_none(),
        "unknown, not the default AMI"
    );
    let messages: Vec<&str> = deploy_time["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["message"].as_str())
        .collect();
    assert!(
        messages.iter().any(|m| m.contains(
            "Resources.DeployTimeAmiCluster.Properties.CustomAmiId: Ref AmiId has no value"
        )),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m
                .contains("Instances.CoreInstanceGroup.InstanceType: Fn::If can't be resolved")),
        "{messages:?}"
    );
}

#[test]
fn table_names_plan_targets_and_where_amis_are_used() {
    let run = plan(&["examples/runjobflow-bad.json"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout
            .contains("examples/runjobflow-bad.json  nightly-etl  (us-east-1 · emr-7.1.0"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("ami-0c100000000000004  emr-base-amzn2-x86_64-20241118  ← cluster-level")
    );
}

#[test]
fn malformed_or_unsupported_plans_exit_2_naming_file_and_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = [
        (
            "broken.json",
            "{\n  \"Name\": \"x\",\n  \"Instances\": [\n}",
            "broken.json:4:",
        ),
        (
            "broken.yaml",
            "Resources:\n  Cluster:\n    Type: AWS::EMR::Cluster\n    Properties: [unclosed\n",
            "broken.yaml:",
        ),
        (
            "bucket.yaml",
            "Resources:\n  B:\n    Type: AWS::S3::Bucket\n",
            "no AWS::EMR::Cluster resource",
        ),
        ("other.json", "{\"Foo\": 1}", "not a launch plan"),
        (
            "badami.json",
            "{\"Name\": \"x\", \"ReleaseLabel\": \"emr-7.1.0\", \"Instances\": {\"InstanceGroups\": [{\"InstanceRole\": \"MASTER\", \"InstanceType\": \"m5.xlarge\", \"CustomAmiId\": \"ami-123\"}]}}",
            "Instances.InstanceGroups[0].CustomAmiId: invalid AMI ID 'ami-123'",
        ),
        (
            "badrelease.json",
            "{\"Name\": \"x\", \"ReleaseLabel\": \"7.1.0\"}",
            "ReleaseLabel: invalid EMR release label '7.1.0'",
        ),
    ];
    for (name, text, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        let run = plan(&[&path.to_string_lossy()]);
        assert_eq!(run.code, 2, "{name}: {}", run.stderr);
        assert_eq!(
            run.stderr.trim_end().lines().count(),
            1,
            "{name}: {}",
            run.stderr
        );
        assert!(run.stderr.contains(name), "{name}: {}", run.stderr);
        assert!(run.stderr.contains(expected), "{name}: {}", run.stderr);
    }
    let missing = plan(&["examples/no-such-plan.json"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("examples/no-such-plan.json"),
        "{}",
        missing.stderr
    );
    let bad_parameter = plan(&[
        "examples/cloudformation-good.yaml",
        "--parameter",
        "NoEquals",
    ]);
    assert_eq!(bad_parameter.code, 2);
    assert!(
        bad_parameter.stderr.contains("'NoEquals'"),
        "{}",
        bad_parameter.stderr
    );
}

#[test]
fn a_group_added_to_a_cluster_defined_elsewhere_is_named_not_dropped() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("extra.json");
    let template = r#"{"Resources": {
      "Etl": {"Type": "AWS::EMR::Cluster", "Properties": {"Name": "etl", "ReleaseLabel": "emr-6.15.0",
        "Instances": {"MasterInstanceGroup": {"InstanceType": "m5.xlarge", "InstanceCount": 1},
                      "Ec2SubnetId": "subnet-0a1a1a1a1a1a1a1a1"}}},
      "Extra": {"Type": "AWS::EMR::InstanceGroupConfig", "Properties": {"JobFlowId": "j-ABCDEFGH1234",
        "InstanceRole": "TASK", "InstanceType": "m5.xlarge", "InstanceCount": 1,
        "CustomAmiId": "ami-0c100000000000001"}}}}"#;
    std::fs::write(&file, template).expect("write");
    let path = file.display().to_string();
    let (code, report) = plan_json(&[&path]);
    assert_eq!(code, 0, "a warning only");
    // The template's cluster is still on the default AMI, unchanged by the foreign group.
    let etl = target(&report, &format!("{path}:Etl"));
    assert_eq!(etl["default_ami"], true);
    assert_eq!(rule_severities(etl), Vec::<String>::new());
    // The group is its own target: only EA056, naming the reference and why nothing else was judged.
    let extra = target(&report, &format!("{path}:Extra"));
    assert_eq!(rule_severities(extra), ["EA056:warning"]);
    let message = extra["findings"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(
            "JobFlowId: \"j-ABCDEFGH1234\" names a cluster this template does not define"
        ),
        "{message}"
    );
}
