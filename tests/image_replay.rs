//! End-to-end: `image` through the real SDK against the shipped image-factory recording.

mod common;

use common::*;
use serde_json::json;

#[test]
fn each_ami_reports_exactly_the_rules_it_breaks() {
    let args = image_factory_args(LAUNCHER);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, report) = replay_json(&args);
    assert_eq!(code, 1, "errors found: exit 1");

    // Encrypted roots under the factory's customer managed key, which lets the launching account use it:
    // EA033 is quiet for them (it used to note every encrypted AMI at info). 05's key is AWS managed.
    let unencrypted = ("EA032", "info");
    // Every base here is from 2024 or older, on a run dated 2026-11-25: EA042 everywhere.
    let stale = ("EA042", "warning");
    let mut expected: Vec<(String, Vec<(&str, &str)>)> = vec![
        (ami(1), vec![]),
        (ami(2), vec![("EA015", "error"), unencrypted]),
        (
            ami(3),
            vec![("EA010", "error"), ("EA015", "error"), ("EA022", "error")],
        ),
        (ami(4), vec![("EA011", "error"), ("EA015", "error")]),
        (ami(5), vec![("EA012", "error"), ("EA033", "error")]),
        (ami(6), vec![("EA013", "error")]),
        (
            ami(7),
            vec![("EA014", "error"), ("EA015", "error"), unencrypted],
        ),
        (
            ami(8),
            vec![
                ("EA014", "error"),
                ("EA015", "error"),
                ("EA020", "error"),
                ("EA022", "error"),
            ],
        ),
        (ami(9), vec![("EA016", "error")]),
        (ami(10), vec![("EA015", "error")]),
        (ami(11), vec![("EA030", "error")]),
        (ami(12), vec![("EA031", "warning"), unencrypted]),
        (ami(13), vec![unencrypted]),
        (ami(14), vec![("EA003", "warning")]),
        (ami(15), vec![("EA030", "warning")]),
        (ami(16), vec![("EA020", "error")]),
        (ami(17), vec![("EA003", "error")]),
        (ami(18), vec![("EA022", "error")]),
        (
            ami(19),
            // Untraced base, applications unknown: EA040 says what would settle it. The OS can't be
            // told, so EA016 says the kernel line went unchecked (info) instead of passing silently.
            vec![
                ("EA015", "warning"),
                ("EA016", "info"),
                ("EA040", "info"),
                ("EA041", "info"),
            ],
        ),
    ];
    for (_, rules) in &mut expected {
        rules.push(stale);
    }
    expected.push(("ami-0ea0000000000dead".into(), vec![("EA002", "error")]));
    assert_eq!(
        report["targets"].as_array().map(Vec::len),
        Some(expected.len())
    );
    for (id, rules) in &expected {
        let t = target(&report, id);
        assert_eq!(t["status"], "audited", "{id}");
        assert_eq!(fired(t), pairs(rules), "{id}");
        assert_eq!(t["kind"], "image");
        assert_eq!(t["region"], "us-east-1");
        assert_eq!(
            t["context"],
            json!({"release": "emr-7.1.0", "instance_types": ["m5.xlarge"], "applications": [], "account": LAUNCHER})
        );
    }
    assert_eq!(report["summary"]["targets_audited"], 20);
    assert_eq!(report["summary"]["targets_not_audited"], 0);
    // 05's EA033 error (the AWS managed key) is new; the 14 EA033 notes are gone.
    assert_eq!(report["summary"]["error"], 22);
    assert_eq!(report["summary"]["warning"], 23);

    // One STS call, the image batch plus its retry without the missing ID, one instance-type batch,
    // two pages of EMR's list, one launch-permission call per private owned image; for lineage one
    // GetImageAncestry per found image, one batch for the ancestors it names, one lookup per Amazon
    // Linux family (8), and for 19 (no ancestry) its root snapshot and source instance; for EA033 one
    // DescribeSnapshots of the 14 encrypted roots, DescribeKey of their two keys, and the customer
    // managed key's policy and grants.
    assert_eq!(
        report["stats"]["api_calls"],
        json!({
            "sts:GetCallerIdentity": 1,
            "ec2:DescribeImages": 2 + 1 + 8,
            "ec2:DescribeInstanceTypes": 1,
            "emr:ListSupportedInstanceTypes": 2,
            "ec2:DescribeImageAttribute": 17,
            "ec2:GetImageAncestry": 19,
            "ec2:DescribeSnapshots": 1 + 1,
            "ec2:DescribeInstances": 1,
            "kms:DescribeKey": 2,
            "kms:GetKeyPolicy": 1,
            "kms:ListGrants": 1,
        })
    );
}

#[test]
fn every_ami_names_its_base_and_how_it_is_known() {
    let args = image_factory_args(LAUNCHER);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, report) = replay_json(&args);
    // 01: a three-image chain from GetImageAncestry, through the factory's hardened layer.
    let one = target(&report, &ami(1));
    let chain = one["lineage"]["chain"].as_array().expect("chain");
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[0]["image_id"], "ami-0ea0000000000a001");
    assert_eq!(chain[1]["image_id"], "ami-0b100000000000001");
    assert_eq!(chain[1]["owner_alias"], "amazon");
    assert!(chain.iter().all(|l| l["source"] == "ancestry"));
    assert_eq!(one["lineage"]["family"], "al2023-ami-*-kernel-6.1-x86_64");
    // The minimal image the name filter also matches is not of the family.
    assert_eq!(
        one["lineage"]["newest_in_family"]["name"],
        "al2023-ami-2023.9.20261110.0-kernel-6.1-x86_64"
    );
    assert_eq!(
        one["base"],
        "ami-0b100000000000001 (al2023-ami-2023.6.20241111.0-kernel-6.1-x86_64) · Amazon Linux 2023 (kernel 6.1) · via GetImageAncestry"
    );
    let stale = one["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["rule"] == "EA042"))
        .expect("EA042");
    assert_eq!(stale["evidence"]["Created"], "2024-11-11");
    assert_eq!(
        stale["evidence"]["Newest"],
        "ami-0b1000000000000a1 (al2023-ami-2023.9.20261110.0-kernel-6.1-x86_64)"
    );
    // 09: EA016 judges the base's kernel line.
    let nine = target(&report, &ami(9));
    let kernel = &nine["findings"][0];
    assert_eq!(kernel["rule"], "EA016");
    assert_eq!(
        kernel["evidence"]["Base"],
        "ami-0b100000000000003 (al2023-ami-2023.6.20241111.0-kernel-6.12-x86_64)"
    );
    // 07 is Amazon's own image: its own base.
    assert_eq!(
        target(&report, &ami(7))["base"],
        "the AMI itself (one of Amazon's own images)"
    );
    // 19: ancestry knows nothing, the snapshot names a terminated instance, nothing else names a parent.
    let nineteen = target(&report, &ami(19));
    assert!(
        nineteen["lineage"]["chain"]
            .as_array()
            .is_some_and(Vec::is_empty)
    );
    assert_eq!(
        nineteen["lineage"]["source_instances"][0]["instance_id"],
        "i-0f19000000000a019"
    );
    let base = nineteen["base"].as_str().expect("base");
    assert!(base.starts_with("not traced: "), "{base}");
    assert!(base.contains("nothing names its parent"), "{base}");
}

#[test]
fn findings_carry_evidence_remediation_and_docs() {
    let (_, report) = replay_json(&[
        "image",
        &ami(99),
        "--release",
        "emr-7.1.0",
        "--account",
        LAUNCHER,
    ]);
    // ami-…99 is in no recorded answer: not audited. (ami-…06 alone would be answered from the
    // recorded full batch, as EC2 describes each image on its own.)
    assert_eq!(target(&report, &ami(99))["status"], "not_audited");

    let (_, report) = replay_json(&[
        "image",
        &ami(2),
        "--release",
        "emr-6.15.0",
        "--account",
        LAUNCHER,
    ]);
    let findings = target(&report, &ami(2))["findings"].clone();
    let finding = findings
        .as_array()
        .and_then(|f| f.iter().find(|f| f["rule"] == "EA032"))
        .expect("EA032");
    assert_eq!(finding["name"], "root-volume-unencrypted");
    assert_eq!(finding["evidence"]["Encrypted"], "false");
    assert!(
        finding["remediation"]
            .as_str()
            .is_some_and(|r| r.contains("security configuration"))
    );
    assert!(
        finding["doc_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://docs.aws.amazon.com/"))
    );
}

#[test]
fn al2_image_is_clean_for_a_6x_release() {
    let (code, report) = replay_json(&[
        "image",
        &ami(2),
        "--release",
        "emr-6.15.0",
        "--instance-type",
        "m5.xlarge",
        "--account",
        LAUNCHER,
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        fired(target(&report, &ami(2))),
        pairs(&[("EA042", "warning"), ("EA032", "info")])
    );
}

#[test]
fn imdsv2_only_image_fails_on_a_release_without_imdsv2() {
    let (code, report) = replay_json(&[
        "image",
        &ami(10),
        "--release",
        "emr-5.29.0",
        "--account",
        LAUNCHER,
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        fired(target(&report, &ami(10))),
        pairs(&[("EA017", "error"), ("EA042", "warning")])
    );
}

#[test]
fn graviton_image_on_graviton_and_on_a_legacy_bios_type() {
    let (code, report) = replay_json(&[
        "image",
        &ami(16),
        "--release",
        "emr-7.1.0",
        "--instance-type",
        "m6g.xlarge",
        "--account",
        LAUNCHER,
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        fired(target(&report, &ami(16))),
        pairs(&[("EA042", "warning")])
    );

    let (code, report) = replay_json(&[
        "image",
        &ami(16),
        "--release",
        "emr-7.1.0",
        "--instance-type",
        "m4.xlarge",
        "--account",
        LAUNCHER,
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        fired(target(&report, &ami(16))),
        pairs(&[("EA020", "error"), ("EA023", "error"), ("EA042", "warning"),])
    );
}

#[test]
fn instance_type_emr_does_not_support() {
    let (code, report) = replay_json(&[
        "image",
        &ami(1),
        "--release",
        "emr-7.1.0",
        "--instance-type",
        "t2.micro",
        "--account",
        LAUNCHER,
    ]);
    assert_eq!(code, 1);
    let t = target(&report, &ami(1));
    assert_eq!(fired(t), pairs(&[("EA021", "error"), ("EA042", "warning")]));
}

#[test]
fn fail_on_threshold_sets_the_exit_code() {
    let base = [
        "image",
        &ami(2),
        "--release",
        "emr-6.15.0",
        "--account",
        LAUNCHER,
    ];
    assert_eq!(replay(&base).code, 0);
    assert_eq!(
        replay(&[&base[..], &["--fail-on", "info"]].concat()).code,
        1
    );
    // EA042 (warning): the 2024 base is stale on 2026-11-25.
    assert_eq!(
        replay(&[&base[..], &["--fail-on", "warning"]].concat()).code,
        1
    );
    let never = replay(&[
        "image",
        &ami(10),
        "--release",
        "emr-5.29.0",
        "--account",
        LAUNCHER,
        "--fail-on",
        "never",
    ]);
    assert_eq!(never.code, 0);
}

#[test]
fn table_shows_each_target_severity_rule_and_summary() {
    let run = replay(&[
        "image",
        &ami(10),
        "--release",
        "emr-5.29.0",
        "--account",
        LAUNCHER,
    ]);
    assert_eq!(run.code, 1);
    assert!(
        run.stdout.contains(
            "ami-0ea00000000000010  etl-amzn-ami-hvm-2018.03.0.20190611-x86_64-gp2-imdsv2"
        )
    );
    assert!(
        run.stdout
            .contains("│ error    ┆ EA017 ┆ imdsv2-only-release"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("1 target: 1 audited, 0 not audited · 1 error, 1 warning, 0 info"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "  base: ami-0b100000000000008 (amzn-ami-hvm-2018.03.0.20190611-x86_64-gp2) · Amazon Linux (AL1) · via GetImageAncestry"
        ),
        "{}",
        run.stdout
    );
    assert!(
        !run.stdout.contains('\u{1b}'),
        "no colour when not on a terminal"
    );
    assert!(run.stderr.is_empty(), "stderr: {}", run.stderr);
}

#[test]
fn an_ami_without_a_recording_is_not_audited_with_a_clear_error() {
    let run = replay(&[
        "--format",
        "json",
        "image",
        "ami-0123456789abcdef0",
        "--release",
        "emr-7.1.0",
    ]);
    assert_eq!(run.code, 3);
    let report = parse_report(&run);
    let t = target(&report, "ami-0123456789abcdef0");
    assert_eq!(t["status"], "not_audited");
    let error = t["error"].as_str().expect("error text");
    assert!(error.contains("NoRecordedAnswer"), "{error}");
    assert!(error.contains("ec2 DescribeImages"), "{error}");
    assert!(error.contains("ami-0123456789abcdef0"), "{error}");
    assert_eq!(report["summary"]["targets_not_audited"], 1);
}

/// One of Amazon's own images used directly as the custom AMI is its own base: besides its age, EA042
/// checks it against the newest image of its family.
#[test]
fn an_amazon_image_used_directly_is_checked_against_its_family() {
    let (_, report) = replay_json(&["image", "ami-0b100000000000004", "--release", "emr-6.15.0"]);
    let t = target(&report, "ami-0b100000000000004");
    assert_eq!(t["status"], "audited");
    let stale = t["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["rule"] == "EA042")
        .expect("EA042");
    assert_eq!(
        stale["evidence"]["Family"],
        "amzn2-ami-kernel-5.10-hvm-*-x86_64-gp2"
    );
    assert!(
        stale["message"].as_str().is_some_and(|m| m.contains(
            "is not the newest of its family: amzn2-ami-kernel-5.10-hvm-2.0.20261105.0-x86_64-gp2"
        )),
        "{stale}"
    );
}

/// EA033 end to end: the root snapshots' KMS keys come from one batched DescribeSnapshots, each distinct
/// key is described once, and only the customer managed key's policy and grants are read.
#[test]
fn root_volume_keys_are_read_once_and_an_aws_managed_key_blocks_another_account() {
    let args = image_factory_args(LAUNCHER);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, report) = replay_json(&args);
    let t = target(&report, &ami(5));
    let ea033: Vec<&serde_json::Value> = t["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["rule"] == "EA033")
        .collect();
    assert_eq!(ea033.len(), 1);
    assert_eq!(ea033[0]["severity"], "error");
    assert!(
        ea033[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("AWS managed key") && m.contains(LAUNCHER)),
        "{}",
        ea033[0]
    );
    assert_eq!(ea033[0]["evidence"]["KeyManager"], "AWS");
    assert_eq!(
        ea033[0]["evidence"]["KmsKeyId"],
        "arn:aws:kms:us-east-1:111122223333:key/9e3b7d21-4c6a-4f0e-b8d5-2a7c1e9f6b40"
    );
    let calls = &report["stats"]["api_calls"];
    // One DescribeSnapshots for the 14 encrypted roots, one for the lineage walk of 19.
    assert_eq!(calls["ec2:DescribeSnapshots"], 2);
    assert_eq!(calls["kms:DescribeKey"], 2, "two distinct keys");
    assert_eq!(
        calls["kms:GetKeyPolicy"], 1,
        "the customer managed key only"
    );
    assert_eq!(calls["kms:ListGrants"], 1);

    // One AMI under the customer managed key: quiet, and the same four KMS-side calls less one key.
    let (_, report) = replay_json(&[
        "image",
        &ami(1),
        "--release",
        "emr-7.1.0",
        "--account",
        LAUNCHER,
    ]);
    assert!(
        !fired(target(&report, &ami(1)))
            .iter()
            .any(|(rule, _)| rule == "EA033")
    );
    let calls = &report["stats"]["api_calls"];
    assert_eq!(calls["ec2:DescribeSnapshots"], 1);
    assert_eq!(calls["kms:DescribeKey"], 1);
    assert_eq!(calls["kms:GetKeyPolicy"], 1);
    assert_eq!(calls["kms:ListGrants"], 1);
}

/// EA033 with the EMR roles known: a launch plan on 01 names its service role and instance profile, so
/// the customer managed key's policy is matched against those roles in the launching account. It lets
/// the whole account use the key, so the roles' own IAM policies decide (not read): info for each.
#[test]
fn a_plan_s_roles_are_matched_against_the_key_policy() {
    let dir = tempfile::tempdir().expect("temp dir");
    let plan = dir.path().join("runjobflow.json");
    std::fs::write(
        &plan,
        r#"{"Name": "etl-on-factory-ami", "ReleaseLabel": "emr-7.1.0", "CustomAmiId": "ami-0ea00000000000001",
            "ServiceRole": "EMR_DefaultRole", "JobFlowRole": "EMR_EC2_DefaultRole", "EbsRootVolumeSize": 20,
            "Instances": {"InstanceGroups": [
              {"Name": "Primary", "InstanceRole": "MASTER", "InstanceType": "m5.xlarge", "InstanceCount": 1}]}}"#,
    )
    .expect("plan written");
    let plan = plan.display().to_string();
    let (_, report) = replay_json(&["plan", &plan, "--account", LAUNCHER]);
    let image = &report["targets"][0]["images"][0];
    let ea033: Vec<&serde_json::Value> = image["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["rule"] == "EA033")
        .collect();
    let principals: Vec<&str> = ea033
        .iter()
        .filter_map(|f| f["evidence"]["Principal"].as_str())
        .collect();
    assert_eq!(
        principals,
        [
            "arn:aws:iam::444455556666:role/EMR_DefaultRole",
            "arn:aws:iam::444455556666:role/EMR_EC2_DefaultRole"
        ],
        "{image}"
    );
    assert!(ea033.iter().all(|f| f["severity"] == "info"));
    assert!(
        ea033[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("account 444455556666's IAM policies")),
        "{}",
        ea033[0]
    );
    assert_eq!(report["stats"]["api_calls"]["kms:GetKeyPolicy"], 1);
}
