//! Bad input: one line on stderr naming the bad value, exit code 2, never a panic or a hang.

mod common;

use common::*;

fn assert_usage_error(run: &Run, names: &str) {
    assert_eq!(
        run.code, 2,
        "stdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    assert!(
        run.stdout.is_empty(),
        "no report on bad input: {}",
        run.stdout
    );
    assert_eq!(
        run.stderr.trim_end().lines().count(),
        1,
        "one line: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains(names),
        "stderr should name '{names}': {}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn malformed_ami_id() {
    let run = replay(&["image", "ami-xyz", "--release", "emr-7.1.0"]);
    assert_usage_error(&run, "'ami-xyz'");
    let run = replay(&[
        "image",
        &ami(1),
        "ami-0ABCDEF1234567890",
        "--release",
        "emr-7.1.0",
    ]);
    assert_usage_error(&run, "'ami-0ABCDEF1234567890'");
}

#[test]
fn bad_release_label() {
    assert_usage_error(
        &replay(&["image", &ami(1), "--release", "6.15.0"]),
        "'6.15.0'",
    );
    assert_usage_error(
        &replay(&["image", &ami(1), "--release", "emr-7.x.0"]),
        "'emr-7.x.0'",
    );
}

#[test]
fn bad_account_instance_type_application_and_region() {
    assert_usage_error(
        &replay(&[
            "image",
            &ami(1),
            "--release",
            "emr-7.1.0",
            "--account",
            "12345",
        ]),
        "'12345'",
    );
    assert_usage_error(
        &replay(&[
            "image",
            &ami(1),
            "--release",
            "emr-7.1.0",
            "--instance-type",
            "M5",
        ]),
        "'M5'",
    );
    assert_usage_error(
        &replay(&[
            "image",
            &ami(1),
            "--release",
            "emr-7.1.0",
            "--application",
            "Spark;rm",
        ]),
        "'Spark;rm'",
    );
    assert_usage_error(
        &replay(&[
            "--region",
            "us east",
            "image",
            &ami(1),
            "--release",
            "emr-7.1.0",
        ]),
        "'us east'",
    );
}

#[test]
fn instance_type_that_ec2_does_not_know() {
    let run = replay(&[
        "image",
        &ami(1),
        "--release",
        "emr-7.1.0",
        "--instance-type",
        "m5.huge",
        "--account",
        LAUNCHER,
    ]);
    assert_usage_error(&run, "'m5.huge'");
    assert!(run.stderr.contains("InvalidInstanceType"), "{}", run.stderr);
}

#[test]
fn missing_replay_directory() {
    let result = run(command().args([
        "--replay",
        "mocks/no-such-scenario",
        "image",
        &ami(1),
        "--release",
        "emr-7.1.0",
    ]));
    assert_usage_error(&result, "'mocks/no-such-scenario'");
}

#[test]
fn malformed_recording_names_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("exchanges.json"),
        "{\n  \"exchanges\": [\n    {\"service\": \"ec2\",}\n  ]\n}\n",
    )
    .expect("write");
    let path = dir.path().to_string_lossy().to_string();
    let first = run(command().args([
        "--replay",
        &path,
        "image",
        &ami(1),
        "--release",
        "emr-7.1.0",
    ]));
    assert_usage_error(&first, "exchanges.json:3:");

    std::fs::write(
        dir.path().join("exchanges.json"),
        r#"{"exchanges": [{"service": "ec2", "action": "DescribeImages", "response": "ec2/missing.xml"}]}"#,
    )
    .expect("write");
    let second = run(command().args([
        "--replay",
        &path,
        "image",
        &ami(1),
        "--release",
        "emr-7.1.0",
    ]));
    assert_usage_error(&second, "ec2/missing.xml");
}

#[test]
fn missing_release_is_a_usage_error() {
    let run = replay(&["image", &ami(1)]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--release"), "{}", run.stderr);
}

#[test]
fn unknown_rule() {
    assert_usage_error(&run(command().args(["rules", "EA999"])), "'EA999'");
}
