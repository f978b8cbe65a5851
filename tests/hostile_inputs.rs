//! Hostile and mistaken inputs: misspelled plan keys are refused (never read as absent), files that are
//! not regular or too large are refused without hanging or filling the memory, and the configuration
//! parses in linear time, with rule keys compared without case and TOML dates accepted. Every run of the
//! binary here is bounded: a hang fails the test instead of stalling the suite.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use emr_ami_audit::config;
use emr_ami_audit::plan;
use proptest::prelude::*;

const CLUSTERS: &str = "mocks/emr-clusters";
const ROLE: &str = "arn:aws:iam::{account}:role/emr-ami-audit";
fn plan_run(file: &Path) -> Run {
    run_bounded(
        command()
            .args([
                "--replay", CLUSTERS, "--now", NOW, "--format", "json", "plan",
            ])
            .arg(file),
    )
}

/// Exit 2 with one line on stderr that holds every one of `expected`.
fn assert_refused(run: &Run, expected: &[&str], what: &str) {
    assert_eq!(run.code, 2, "{what}: {}{}", run.stderr, run.stdout);
    assert_eq!(
        run.stderr.trim_end().lines().count(),
        1,
        "{what}: one line: {}",
        run.stderr
    );
    for part in expected {
        assert!(
            run.stderr.contains(part),
            "{what}: {part:?} not in {}",
            run.stderr
        );
    }
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

const RUN_JOB_FLOW: &str = r#"{
  "Name": "etl",
  "ReleaseLabel": "emr-7.1.0",
  "CUSTOM": 1,
  "Applications": [{"Name": "Spark"}],
  "Instances": {
    "Ec2SubnetIds": ["subnet-0a1a1a1a1a1a1a1a1"],
    "INSTANCES": 1,
    "InstanceGroups": [
      {"Name": "Primary", "InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1, "GROUP": 1}
    ],
    "InstanceFleets": [
      {"Name": "Core", "InstanceFleetType": "CORE", "FLEET": 1,
       "InstanceTypeConfigs": [{"InstanceType": "m6g.xlarge", "TYPECONFIG": 1}]}
    ]
  }
}"#;

const TEMPLATE: &str = "\
AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Ami:
    Type: AWS::EC2::Image::Id
    Default: ami-0c100000000000001
Resources:
  Etl:
    Type: AWS::EMR::Cluster
    Properties:
      Name: etl
      ReleaseLabel: emr-7.1.0
      JobFlowRole: EMR_EC2_DefaultRole
      ServiceRole: EMR_DefaultRole
      CUSTOM: 1
      Instances:
        MasterInstanceGroup: {InstanceType: m5.xlarge, InstanceCount: 1, GROUP: 1}
        TaskInstanceFleets:
          - Name: Task
            InstanceTypeConfigs:
              - {InstanceType: m5.xlarge, TYPECONFIG: 1}
  Task:
    Type: AWS::EMR::InstanceGroupConfig
    Properties: {JobFlowId: !Ref Etl, InstanceRole: TASK, InstanceType: m5.xlarge, InstanceCount: 1, RESOURCEGROUP: 1}
  Spot:
    Type: AWS::EMR::InstanceFleetConfig
    Properties:
      ClusterId: !Ref Etl
      InstanceFleetType: TASK
      InstanceTypeConfigs: [{InstanceType: m5.xlarge}]
      RESOURCEFLEET: 1
";

/// Each placeholder of `text` becomes nothing (a valid key's place) except `at`, which becomes `key`.
fn with_key(text: &str, placeholders: &[&str], at: &str, key: &str) -> String {
    let mut text = text.to_string();
    // Longest first: `RESOURCEGROUP` holds `GROUP`.
    let mut placeholders = placeholders.to_vec();
    placeholders.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for placeholder in &placeholders {
        let replacement = if *placeholder == at { key } else { "Comment" };
        text = text.replace(placeholder, replacement);
    }
    // "Comment" is not a key either: drop the placeholder entries that are not under test.
    text.replace("\"Comment\": 1, ", "")
        .replace(", \"Comment\": 1", "")
        .replace("\"Comment\": 1,\n", "")
        .replace("      Comment: 1\n", "")
        .replace(", Comment: 1", "")
}

#[test]
fn misspelled_plan_keys_exit_2_naming_key_path_and_suggestion() {
    let dir = tempfile::tempdir().expect("temp dir");
    let json_places = ["CUSTOM", "INSTANCES", "GROUP", "FLEET", "TYPECONFIG"];
    let json_cases = [
        (
            "CUSTOM",
            "CustomAmiID",
            "(document): unknown key 'CustomAmiID' (did you mean 'CustomAmiId'?)",
        ),
        (
            "INSTANCES",
            "Ec2SubnetID",
            "Instances: unknown key 'Ec2SubnetID' (did you mean 'Ec2SubnetId'?)",
        ),
        (
            "GROUP",
            "CustomAmiID",
            "Instances.InstanceGroups[0]: unknown key 'CustomAmiID' (did you mean 'CustomAmiId'?)",
        ),
        (
            "FLEET",
            "InstanceTypeConfig",
            "Instances.InstanceFleets[0]: unknown key 'InstanceTypeConfig' (did you mean 'InstanceTypeConfigs'?)",
        ),
        (
            "TYPECONFIG",
            "CustomAmi",
            "Instances.InstanceFleets[0].InstanceTypeConfigs[0]: unknown key 'CustomAmi' (did you mean 'CustomAmiId'?)",
        ),
    ];
    // The plan without any misspelling is valid: the placeholders are the only faults.
    let clean = write(
        dir.path(),
        "clean.json",
        &with_key(RUN_JOB_FLOW, &json_places, "", ""),
    );
    let run = plan_run(&clean);
    assert_eq!(run.code, 0, "{}", run.stderr);

    for (place, key, expected) in json_cases {
        let name = format!("{place}.json");
        let path = write(
            dir.path(),
            &name,
            &with_key(RUN_JOB_FLOW, &json_places, place, key),
        );
        assert_refused(&plan_run(&path), &[&name, expected], &name);
    }

    let yaml_places = [
        "CUSTOM",
        "GROUP",
        "TYPECONFIG",
        "RESOURCEGROUP",
        "RESOURCEFLEET",
    ];
    let yaml_cases = [
        (
            "CUSTOM",
            "customamiid",
            "Resources.Etl.Properties: unknown key 'customamiid' (did you mean 'CustomAmiId'?)",
        ),
        (
            "GROUP",
            "InstanceTyp",
            "Resources.Etl.Properties.Instances.MasterInstanceGroup: unknown key 'InstanceTyp' (did you mean 'InstanceType'?)",
        ),
        (
            "TYPECONFIG",
            "CustomAmiID",
            "Resources.Etl.Properties.Instances.TaskInstanceFleets[0].InstanceTypeConfigs[0]: unknown key 'CustomAmiID' (did you mean 'CustomAmiId'?)",
        ),
        (
            "RESOURCEGROUP",
            "CustomAmiID",
            "Resources.Task.Properties: unknown key 'CustomAmiID' (did you mean 'CustomAmiId'?)",
        ),
        (
            "RESOURCEFLEET",
            "ClusterID",
            "Resources.Spot.Properties: unknown key 'ClusterID' (did you mean 'ClusterId'?)",
        ),
        // A key far from every known one: named, with no suggestion.
        (
            "GROUP",
            "Colour",
            "Resources.Etl.Properties.Instances.MasterInstanceGroup: unknown key 'Colour'",
        ),
    ];
    let clean = write(
        dir.path(),
        "clean.yaml",
        &with_key(TEMPLATE, &yaml_places, "", ""),
    );
    let run = plan_run(&clean);
    assert_ne!(run.code, 2, "{}", run.stderr);

    for (place, key, expected) in yaml_cases {
        let name = format!("{place}-{key}.yaml");
        let path = write(
            dir.path(),
            &name,
            &with_key(TEMPLATE, &yaml_places, place, key),
        );
        let run = plan_run(&path);
        assert_refused(&run, &[&name, expected], &name);
        if key == "Colour" {
            assert!(!run.stderr.contains("did you mean"), "{}", run.stderr);
        }
    }

    // Template sections, parameters, resource attributes and types.
    let clean = with_key(TEMPLATE, &yaml_places, "", "");
    let template_cases = [
        (
            clean.replace("Parameters:", "Parameter:"),
            "(document): unknown key 'Parameter' (did you mean 'Parameters'?)",
        ),
        (
            clean.replace("    Default: ami", "    Defualt: ami"),
            "Parameters.Ami: unknown key 'Defualt' (did you mean 'Default'?)",
        ),
        (
            clean.replace(
                "    Type: AWS::EMR::InstanceGroupConfig",
                "    Tpye: AWS::EMR::InstanceGroupConfig",
            ),
            "Resources.Task: unknown key 'Tpye' (did you mean 'Type'?)",
        ),
        (
            clean.replace(
                "    Type: AWS::EMR::InstanceFleetConfig",
                "    Type: AWS::EMR::InstanceFleetConfigs",
            ),
            "Resources.Spot.Type: unknown resource type 'AWS::EMR::InstanceFleetConfigs' (did you mean 'AWS::EMR::InstanceFleetConfig'?)",
        ),
    ];
    for (i, (text, expected)) in template_cases.iter().enumerate() {
        let name = format!("template-{i}.yaml");
        let path = write(dir.path(), &name, text);
        assert_refused(&plan_run(&path), &[&name, expected], &name);
    }
}

/// A RunJobFlow request with the keys teams commonly set, at every level, and objects the reader does not
/// interpret holding keys of their own.
const FULL_RUN_JOB_FLOW: &str = r#"{
  "Name": "graviton-etl",
  "LogUri": "s3://logs/emr/",
  "LogEncryptionKmsKeyId": "arn:aws:kms:us-east-1:444455556666:key/1234",
  "AdditionalInfo": "{}",
  "ReleaseLabel": "emr-7.1.0",
  "Applications": [{"Name": "Hadoop"}, {"Name": "Spark", "Args": ["--x"], "AdditionalInfo": {"k": "v"}}],
  "Configurations": [{"Classification": "spark-defaults", "Properties": {"spark.anything.at.all": "1"},
                      "Configurations": []}],
  "BootstrapActions": [{"Name": "setup", "ScriptBootstrapAction": {"Path": "s3://b/x.sh", "Args": ["--CustomAmiID"]}}],
  "Steps": [{"Name": "step", "ActionOnFailure": "CONTINUE",
             "HadoopJarStep": {"Jar": "command-runner.jar", "Args": ["spark-submit"], "Properties": []}}],
  "Tags": [{"Key": "team", "Value": "data"}],
  "VisibleToAllUsers": true,
  "JobFlowRole": "EMR_EC2_DefaultRole",
  "ServiceRole": "EMR_DefaultRole",
  "SecurityConfiguration": "sec",
  "AutoScalingRole": "EMR_AutoScaling_DefaultRole",
  "ScaleDownBehavior": "TERMINATE_AT_TASK_COMPLETION",
  "EbsRootVolumeSize": 20,
  "EbsRootVolumeIops": 3000,
  "EbsRootVolumeThroughput": 125,
  "StepConcurrencyLevel": 2,
  "ManagedScalingPolicy": {"ComputeLimits": {"UnitType": "InstanceFleetUnits", "MinimumCapacityUnits": 2,
                                             "MaximumCapacityUnits": 8}},
  "AutoTerminationPolicy": {"IdleTimeout": 3600},
  "PlacementGroupConfigs": [{"InstanceRole": "MASTER", "PlacementStrategy": "SPREAD"}],
  "Instances": {
    "Ec2SubnetIds": ["subnet-0a1a1a1a1a1a1a1a1"],
    "Ec2KeyName": "ops",
    "KeepJobFlowAliveWhenNoSteps": true,
    "TerminationProtected": false,
    "UnhealthyNodeReplacement": true,
    "EmrManagedMasterSecurityGroup": "sg-0a",
    "EmrManagedSlaveSecurityGroup": "sg-0b",
    "ServiceAccessSecurityGroup": "sg-0c",
    "AdditionalMasterSecurityGroups": ["sg-0d"],
    "AdditionalSlaveSecurityGroups": ["sg-0e"],
    "InstanceFleets": [
      {"Name": "Primary", "InstanceFleetType": "MASTER", "TargetOnDemandCapacity": 1,
       "InstanceTypeConfigs": [{"InstanceType": "m5.xlarge", "CustomAmiId": "ami-0c100000000000001"}]},
      {"Name": "Core", "InstanceFleetType": "CORE", "TargetOnDemandCapacity": 2, "TargetSpotCapacity": 2,
       "LaunchSpecifications": {"SpotSpecification": {"TimeoutDurationMinutes": 10, "TimeoutAction": "SWITCH_TO_ON_DEMAND"},
                                "OnDemandSpecification": {"AllocationStrategy": "lowest-price"}},
       "ResizeSpecifications": {"SpotResizeSpecification": {"TimeoutDurationMinutes": 20}},
       "InstanceTypeConfigs": [
         {"InstanceType": "m5.xlarge", "WeightedCapacity": 1, "BidPriceAsPercentageOfOnDemandPrice": 100,
          "CustomAmiId": "ami-0c100000000000001", "Priority": 1,
          "EbsConfiguration": {"EbsOptimized": true, "EbsBlockDeviceConfigs": [
            {"VolumeSpecification": {"VolumeType": "gp3", "SizeInGB": 64}, "VolumesPerInstance": 1}]},
          "Configurations": [{"Classification": "yarn-site", "Properties": {"yarn.x": "y"}}]},
         {"InstanceType": "m6g.xlarge", "WeightedCapacity": 1, "BidPrice": "0.1",
          "CustomAmiId": "ami-0c100000000000002"}]}
    ]
  }
}"#;

/// A template with the sections, attributes and properties teams commonly use, an instance group and an
/// instance fleet resource, and resources of other types the reader leaves alone.
const FULL_TEMPLATE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Description: Every commonly used key.
Metadata:
  Owner: data
Parameters:
  AmiId:
    Type: AWS::EC2::Image::Id
    Default: ami-0c100000000000001
    Description: The custom AMI
  Environment:
    Type: String
    AllowedValues: [dev, prod]
    Default: dev
    ConstraintDescription: dev or prod
  Size:
    Type: Number
    Default: 20
    MinValue: 10
    MaxValue: 100
Mappings:
  Sizes:
    dev: {Core: 2}
Conditions:
  IsProd: !Equals [!Ref Environment, prod]
Rules:
  ProdOnly:
    Assertions:
      - Assert: !Contains [[dev, prod], !Ref Environment]
Resources:
  Logs:
    Type: AWS::S3::Bucket
    DeletionPolicy: Retain
    Properties:
      BucketName: anything-goes-here
      CustomAmiID: not an EMR resource
  EtlCluster:
    Type: AWS::EMR::Cluster
    DependsOn: Logs
    DeletionPolicy: Delete
    UpdateReplacePolicy: Delete
    Metadata: {Note: x}
    Properties:
      Name: !Sub "etl-${AWS::Region}"
      ReleaseLabel: emr-7.1.0
      CustomAmiId: !Ref AmiId
      EbsRootVolumeSize: !Ref Size
      LogUri: !Sub "s3://${Logs}/emr/"
      VisibleToAllUsers: true
      JobFlowRole: EMR_EC2_DefaultRole
      ServiceRole: EMR_DefaultRole
      AutoScalingRole: EMR_AutoScaling_DefaultRole
      ScaleDownBehavior: TERMINATE_AT_TASK_COMPLETION
      StepConcurrencyLevel: 1
      Applications:
        - Name: Hadoop
        - Name: Spark
      Configurations:
        - Classification: spark-defaults
          ConfigurationProperties: {spark.whatever: "1"}
      BootstrapActions:
        - Name: setup
          ScriptBootstrapAction: {Path: s3://b/x.sh, Args: [a, b]}
      Tags:
        - {Key: team, Value: data}
      AutoTerminationPolicy: {IdleTimeout: 3600}
      Instances:
        Ec2SubnetId: subnet-0a1a1a1a1a1a1a1a1
        Ec2KeyName: ops
        KeepJobFlowAliveWhenNoSteps: true
        TerminationProtected: !If [IsProd, true, false]
        AdditionalMasterSecurityGroups: [sg-0a]
        MasterInstanceGroup:
          Name: Primary
          InstanceType: m5.xlarge
          InstanceCount: 1
          Market: ON_DEMAND
          EbsConfiguration:
            EbsBlockDeviceConfigs:
              - VolumeSpecification: {VolumeType: gp3, SizeInGB: 64}
                VolumesPerInstance: 1
        CoreInstanceGroup:
          Name: Core
          InstanceType: m5.2xlarge
          InstanceCount: !FindInMap [Sizes, dev, Core]
          Configurations:
            - Classification: yarn-site
              ConfigurationProperties: {yarn.x: y}
          AutoScalingPolicy:
            Constraints: {MinCapacity: 2, MaxCapacity: 4}
            Rules: []
  TaskGroup:
    Type: AWS::EMR::InstanceGroupConfig
    Condition: IsProd
    Properties:
      JobFlowId: !Ref EtlCluster
      Name: Task
      InstanceRole: TASK
      InstanceType: m5.xlarge
      InstanceCount: 2
      Market: SPOT
      BidPrice: "0.1"
      CustomAmiId: !Ref AmiId
  TaskFleet:
    Type: AWS::EMR::InstanceFleetConfig
    Properties:
      ClusterId: !Ref EtlCluster
      Name: Spot
      InstanceFleetType: TASK
      TargetSpotCapacity: 2
      LaunchSpecifications:
        SpotSpecification: {TimeoutDurationMinutes: 10, TimeoutAction: TERMINATE_CLUSTER}
      InstanceTypeConfigs:
        - InstanceType: m5.2xlarge
          WeightedCapacity: 1
          CustomAmiId: !Ref AmiId
  Step:
    Type: AWS::EMR::Step
    Properties:
      JobFlowId: !Ref EtlCluster
      Name: step
      ActionOnFailure: CONTINUE
      HadoopJarStep: {Jar: command-runner.jar, Args: [x]}
Outputs:
  ClusterId:
    Value: !Ref EtlCluster
"#;

#[test]
fn valid_plans_with_every_commonly_used_key_still_audit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let request = write(dir.path(), "full.json", FULL_RUN_JOB_FLOW);
    let run = plan_run(&request);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = parse_report(&run);
    let t = target(&report, &request.to_string_lossy());
    assert_eq!(t["images"].as_array().map(Vec::len), Some(2), "{t}");

    let template = write(dir.path(), "full.yaml", FULL_TEMPLATE);
    let run = plan_run(&template);
    assert_ne!(run.code, 2, "{}", run.stderr);
    let report = parse_report(&run);
    let t = target(&report, &format!("{}:EtlCluster", template.display()));
    assert_eq!(t["images"][0]["id"], "ami-0c100000000000001", "{t}");

    // And the shipped examples, good and bad, all read.
    for example in [
        "examples/runjobflow-good.json",
        "examples/runjobflow-bad.json",
        "examples/cloudformation-good.yaml",
        "examples/cloudformation-bad.json",
    ] {
        let run = plan_run(Path::new(example));
        assert_ne!(run.code, 2, "{example}: {}", run.stderr);
    }
}

#[test]
fn fifos_as_plan_config_or_accounts_file_exit_2_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("pipe.json");
    mkfifo(&fifo);
    let shown = fifo.to_string_lossy().to_string();

    let started = Instant::now();
    let run = plan_run(&fifo);
    assert_refused(
        &run,
        &[&shown, "is a FIFO (named pipe), not a regular file"],
        "plan",
    );

    let run = run_bounded(
        command()
            .args(["--replay", CLUSTERS, "--now", NOW, "--config"])
            .arg(&fifo)
            .args(["image", &ami(1), "--release", "emr-7.1.0"]),
    );
    assert_refused(&run, &[&format!("config '{shown}' is a FIFO")], "config");

    let run = run_bounded(command().args([
        "--accounts",
        &format!("@{shown}"),
        "--role-arn",
        ROLE,
        "--replay",
        CLUSTERS,
        "cluster",
    ]));
    assert_refused(
        &run,
        &[&format!("accounts file '{shown}' is a FIFO")],
        "accounts",
    );
    assert!(
        started.elapsed() < KILL_AFTER,
        "three refusals took {:?}",
        started.elapsed()
    );
}

#[cfg(unix)]
#[test]
fn devices_and_oversized_files_exit_2_naming_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let zero = dir.path().join("zero.json");
    std::os::unix::fs::symlink("/dev/zero", &zero).expect("symlink");
    assert_refused(
        &plan_run(&zero),
        &[
            &zero.to_string_lossy(),
            "is a character device, not a regular file",
        ],
        "/dev/zero plan",
    );

    // Sparse: the size costs no disk.
    let big = dir.path().join("big.json");
    let file = std::fs::File::create(&big).expect("create");
    file.set_len(16 * 1024 * 1024 + 1).expect("set_len");
    assert_refused(
        &plan_run(&big),
        &[&big.to_string_lossy(), "larger than the 16 MiB limit"],
        "large plan",
    );

    let big_config = dir.path().join("big.toml");
    let file = std::fs::File::create(&big_config).expect("create");
    file.set_len(1024 * 1024 + 1).expect("set_len");
    let run = run_bounded(
        command()
            .args(["--replay", CLUSTERS, "--now", NOW, "--config"])
            .arg(&big_config)
            .args(["image", &ami(1), "--release", "emr-7.1.0"]),
    );
    assert_refused(
        &run,
        &[&big_config.to_string_lossy(), "larger than the 1 MiB limit"],
        "large config",
    );

    let dir_accounts = format!("@{}", dir.path().display());
    let run = run_bounded(command().args([
        "--accounts",
        &dir_accounts,
        "--role-arn",
        ROLE,
        "--replay",
        CLUSTERS,
        "cluster",
    ]));
    assert_refused(
        &run,
        &["is a directory, not a regular file"],
        "dir accounts",
    );
}

fn waivers(count: usize) -> String {
    let mut text = String::from("[severity]\nEA033 = \"off\"\n");
    for i in 0..count {
        text.push_str(&format!(
            "\n[[waiver]]\nrule = \"EA031\"\ntarget = \"ami-{i:017x}\"\nreason = \"accepted {i}\"\nexpires = \"2027-06-30\"\n"
        ));
    }
    text
}

/// The fastest of a few parses, to keep a busy machine's noise out of the ratio.
fn parse_time(text: &str, expected: usize) -> Duration {
    (0..5)
        .map(|_| {
            let started = Instant::now();
            let config = config::parse(Path::new("emr-ami-audit.toml"), text).expect("parses");
            let elapsed = started.elapsed();
            assert_eq!(config.waivers.len(), expected);
            elapsed
        })
        .min()
        .expect("five runs")
}

#[test]
fn many_waivers_parse_in_linear_time() {
    let small = waivers(1_000);
    let large = waivers(20_000);
    let small_time = parse_time(&small, 1_000);
    let large_time = parse_time(&large, 20_000);
    // 20 times the waivers: linear is ~20 times the time; quadratic would be ~400. The bound leaves
    // room for a busy machine, where the short parses can run in one slice of a core and the long
    // ones share it with the tests running beside them.
    assert!(
        large_time < small_time * 150,
        "1,000 waivers: {small_time:?}; 20,000: {large_time:?}"
    );
    // And lines are still right at the end of a large file.
    let config = config::parse(Path::new("emr-ami-audit.toml"), &large).expect("parses");
    assert_eq!(config.waivers[19_999].line, 5 + 19_999 * 6);
}

#[test]
fn severity_keys_differing_in_case_exit_2_naming_both_lines() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(
        dir.path(),
        "emr-ami-audit.toml",
        "[severity]\nEA013 = \"off\"\nEA033 = \"warning\"\nea013 = \"error\"\n",
    );
    let run = run_bounded(
        command()
            .args(["--replay", CLUSTERS, "--now", NOW, "--config"])
            .arg(&path)
            .args(["image", &ami(1), "--release", "emr-7.1.0"]),
    );
    assert_refused(
        &run,
        &[
            &format!("{}:4:", path.display()),
            "[severity] sets EA013 twice: 'ea013' here and 'EA013' on line 2",
        ],
        "duplicate severity",
    );

    // A rule's name and its ID are the same rule too.
    let error = config::parse(
        Path::new("c.toml"),
        "[severity]\nstale-base-image = \"off\"\nEA042 = \"info\"\n",
    )
    .expect_err("the same rule twice");
    assert!(
        error
            .to_string()
            .starts_with("c.toml:3: [severity] sets EA042 twice"),
        "{error}"
    );
}

#[test]
fn expires_takes_a_toml_date_as_well_as_a_string() {
    let text = "[[waiver]]\nrule = \"EA031\"\ntarget = \"ami-*\"\nreason = \"r\"\nexpires = 2026-06-30\n\n\
                [[waiver]]\nrule = \"EA031\"\ntarget = \"ami-*\"\nreason = \"r\"\nexpires = \"2026-07-01\"\n";
    let config = config::parse(Path::new("c.toml"), text).expect("parses");
    let dates: Vec<String> = config
        .waivers
        .iter()
        .map(|w| w.expires.map(|d| d.to_string()).unwrap_or_default())
        .collect();
    assert_eq!(dates, ["2026-06-30", "2026-07-01"]);

    // A date and time, a time alone, or a number is not a date.
    for value in ["2026-06-30T10:00:00Z", "10:00:00", "20260630"] {
        let text = format!(
            "[[waiver]]\nrule = \"EA031\"\ntarget = \"x\"\nreason = \"r\"\nexpires = {value}\n"
        );
        let error = config::parse(Path::new("c.toml"), &text).expect_err(value);
        assert!(
            error.to_string().starts_with("c.toml:5: invalid expires"),
            "{value}: {error}"
        );
    }

    // End to end: the binary takes it.
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(dir.path(), "emr-ami-audit.toml", text);
    let run = run_bounded(
        command()
            .args(["--replay", CLUSTERS, "--now", NOW, "--config"])
            .arg(&path)
            .args(["plan", "examples/runjobflow-good.json"]),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// JSON values built from the keys the plan reader knows, near misses of them, and functions.
fn plan_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let key = prop::sample::select(vec![
        "Name",
        "ReleaseLabel",
        "CustomAmiId",
        "CustomAmiID",
        "Instances",
        "InstanceGroups",
        "InstanceFleets",
        "InstanceTypeConfigs",
        "InstanceType",
        "InstanceRole",
        "MasterInstanceGroup",
        "TaskInstanceFleets",
        "Applications",
        "EbsRootVolumeSize",
        "Ec2SubnetIds",
        "Resources",
        "Parameters",
        "Type",
        "Properties",
        "Default",
        "Ref",
        "Fn::If",
        "Fn::Sub",
        "Fn::Transform",
        "JobFlowId",
        "ClusterId",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        prop::sample::select(vec![
            "emr-7.1.0",
            "ami-0c100000000000001",
            "m5.xlarge",
            "AWS::EMR::Cluster",
            "AWS::EMR::InstanceGroupConfig",
            "AWS::EMR::InstanceFleetConfig",
            "AWS::Region",
            "${AWS::Region}-${X",
            "",
        ])
        .prop_map(Value::from),
        ".*".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6).prop_map(|map| {
                Value::Object(map.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn the_plan_reader_never_panics_on_text(text in ".*", json in any::<bool>()) {
        let path = if json { "p.json" } else { "p.yaml" };
        let _ = plan::from_text(Path::new(path), &text, &Default::default(), Some("us-east-1"));
    }

    #[test]
    fn the_plan_reader_never_panics_on_plan_shaped_documents(value in plan_value()) {
        let json = serde_json::to_string(&value).expect("serialises");
        let _ = plan::from_text(Path::new("p.json"), &json, &Default::default(), Some("us-east-1"));
        let _ = plan::from_text(Path::new("p.json"), &json, &Default::default(), None);
        let yaml = serde_yaml_ng::to_string(&value).expect("serialises");
        let _ = plan::from_text(Path::new("p.yaml"), &yaml, &Default::default(), None);
    }

    #[test]
    fn the_config_parser_never_panics_on_text(text in ".*") {
        let _ = config::parse(Path::new("c.toml"), &text);
    }

    #[test]
    fn the_config_parser_never_panics_on_config_shaped_text(
        lines in prop::collection::vec(
            prop_oneof![
                Just("[defaults]".to_string()),
                Just("[severity]".to_string()),
                Just("[[waiver]]".to_string()),
                (
                    prop::sample::select(vec![
                        "release", "region", "max_age_days", "fail_on", "EA013", "ea013",
                        "stale-base-image", "rule", "target", "reason", "expires",
                    ]),
                    prop::sample::select(vec![
                        "\"emr-7.1.0\"", "\"off\"", "\"EA031\"", "2026-06-30", "2026-06-30T10:00:00Z",
                        "10:00:00", "-1", "99999999999", "\"\"", "[]", "{}", "\"ami-*\"", "true",
                    ]),
                )
                    .prop_map(|(k, v)| format!("{k} = {v}")),
                ".*",
            ],
            0..12,
        )
    ) {
        let _ = config::parse(Path::new("c.toml"), &lines.join("\n"));
    }
}
