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

    let encrypted = ("EA033", "info");
    let unencrypted = ("EA032", "info");
    // Every base here is from 2024 or older, on a run dated 2026-11-25: EA042 everywhere.
    let stale = ("EA042", "warning");
    let mut expected: Vec<(String, Vec<(&str, &str)>)> = vec![
        (ami(1), vec![encrypted]),
        (ami(2), vec![("EA015", "error"), unencrypted]),
        (
            ami(3),
            vec![
                ("EA010", "error"),
                ("EA015", "error"),
                ("EA022", "error"),
                encrypted,
            ],
        ),
        (ami(4), vec![("EA011", "error"), ("EA015", "error")]),
        (ami(5), vec![("EA012", "error"), encrypted]),
        (ami(6), vec![("EA013", "error"), encrypted]),
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
                encrypted,
            ],
        ),
        (ami(9), vec![("EA016", "error"), encrypted]),
        (ami(10), vec![("EA015", "error"), encrypted]),
        (ami(11), vec![("EA030", "error"), encrypted]),
        (ami(12), vec![("EA031", "warning"), unencrypted]),
        (ami(13), vec![unencrypted]),
        (ami(14), vec![("EA003", "warning"), encrypted]),
        (ami(15), vec![("EA030", "warning"), encrypted]),
        (ami(16), vec![("EA020", "error"), encrypted]),
        (ami(17), vec![("EA003", "error"), encrypted]),
        (ami(18), vec![("EA022", "error"), encrypted]),
        (
            ami(19),
            // Untraced base, applications unknown: EA040 says what would settle it.
            vec![
                ("EA015", "warning"),
                encrypted,
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
    assert_eq!(report["summary"]["error"], 21);
    assert_eq!(report["summary"]["warning"], 23);

    // One STS call, the image batch plus its retry without the missing ID, one instance-type batch,
    // two pages of EMR's list, one launch-permission call per private owned image; for lineage one
    // GetImageAncestry per found image, one batch for the ancestors it names, one lookup per Amazon
    // Linux family (8), and for 19 (no ancestry) its root snapshot and source instance.
    assert_eq!(
        report["stats"]["api_calls"],
        json!({
            "sts:GetCallerIdentity": 1,
            "ec2:DescribeImages": 2 + 1 + 8,
            "ec2:DescribeInstanceTypes": 1,
            "emr:ListSupportedInstanceTypes": 2,
            "ec2:DescribeImageAttribute": 17,
            "ec2:GetImageAncestry": 19,
            "ec2:DescribeSnapshots": 1,
            "ec2:DescribeInstances": 1,
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
        &ami(6),
        "--release",
        "emr-7.1.0",
        "--account",
        LAUNCHER,
    ]);
    // ami-…06 alone has no recording (only the full batch and a few singles do): not audited.
    assert_eq!(target(&report, &ami(6))["status"], "not_audited");

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
        pairs(&[("EA017", "error"), ("EA042", "warning"), ("EA033", "info")])
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
        pairs(&[("EA042", "warning"), ("EA033", "info")])
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
        pairs(&[
            ("EA020", "error"),
            ("EA023", "error"),
            ("EA042", "warning"),
            ("EA033", "info")
        ])
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
    assert_eq!(
        fired(t),
        pairs(&[("EA021", "error"), ("EA042", "warning"), ("EA033", "info")])
    );
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
            .contains("1 target: 1 audited, 0 not audited · 1 error, 1 warning, 1 info"),
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
