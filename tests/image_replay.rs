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
    let expected: Vec<(String, Vec<(&str, &str)>)> = vec![
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
        (ami(19), vec![("EA015", "warning"), encrypted]),
        ("ami-0ea0000000000dead".into(), vec![("EA002", "error")]),
    ];
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
    assert_eq!(report["summary"]["warning"], 4);

    // One STS call, the image batch plus its retry without the missing ID, one instance-type batch,
    // two pages of EMR's list, and one launch-permission call per private owned image.
    assert_eq!(
        report["stats"]["api_calls"],
        json!({
            "sts:GetCallerIdentity": 1,
            "ec2:DescribeImages": 2,
            "ec2:DescribeInstanceTypes": 1,
            "emr:ListSupportedInstanceTypes": 2,
            "ec2:DescribeImageAttribute": 17,
        })
    );
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
    let finding = &target(&report, &ami(2))["findings"][0];
    assert_eq!(finding["rule"], "EA032");
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
    assert_eq!(fired(target(&report, &ami(2))), pairs(&[("EA032", "info")]));
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
        pairs(&[("EA017", "error"), ("EA033", "info")])
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
        pairs(&[("EA033", "info")])
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
        pairs(&[("EA020", "error"), ("EA023", "error"), ("EA033", "info")])
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
    assert_eq!(fired(t), pairs(&[("EA021", "error"), ("EA033", "info")]));
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
    assert_eq!(
        replay(&[&base[..], &["--fail-on", "warning"]].concat()).code,
        0
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
            .contains("1 target: 1 audited, 0 not audited · 1 error, 0 warnings, 1 info"),
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
