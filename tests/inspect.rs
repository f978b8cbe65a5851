//! `inspect` (and `image --rootfs`) on root filesystems built in temporary directories.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

/// A clean Amazon Linux 2023 (kernel 6.1) root filesystem.
fn al2023_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    write(
        root,
        "etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\nec2-user:x:1000:1000::/home/ec2-user:/bin/bash\n",
    );
    write(root, "etc/group", "root:x:0:\nec2-user:x:1000:\n");
    write(
        root,
        "etc/os-release",
        "NAME=\"Amazon Linux\"\nVERSION=\"2023\"\nID=\"amzn\"\nVERSION_ID=\"2023\"\nPRETTY_NAME=\"Amazon Linux 2023.6.20241111\"\n",
    );
    write(
        root,
        "etc/resolv.conf",
        "nameserver 169.254.169.253\nsearch ec2.internal\noptions timeout:2 attempts:5\n",
    );
    write(
        root,
        "usr/lib/systemd/system/amazon-ssm-agent.service",
        "[Unit]\nDescription=amazon-ssm-agent\n",
    );
    std::fs::create_dir_all(root.join("lib/modules/6.1.115-126.197.amzn2023.x86_64"))
        .expect("mkdir");
    write(root, "tmp/note.txt", "small");
    write(root, "var/log/cloud-init.log", "boot");
    dir
}

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn inspect(root: &Path, release: &str, extra: &[&str]) -> (i32, Value) {
    let run = run(command()
        .args([
            "--format",
            "json",
            "inspect",
            &root.display().to_string(),
            "--release",
            release,
        ])
        .args(extra));
    let report = parse_report(&run);
    (run.code, report)
}

fn rules_fired(report: &Value) -> Vec<String> {
    rule_severities(&report["targets"][0])
}

#[test]
fn a_clean_image_has_no_findings() {
    let root = al2023_root();
    let (code, report) = inspect(root.path(), "emr-7.1.0", &[]);
    assert_eq!(code, 0);
    assert_eq!(
        rules_fired(&report),
        Vec::<String>::new(),
        "installed but disabled SSM agent is fine"
    );
    assert_eq!(report["targets"][0]["kind"], "rootfs");
}

#[test]
fn every_content_rule_fires_on_a_bad_image() {
    let root = al2023_root();
    let r = root.path();
    write(
        r,
        "etc/passwd",
        "root:x:0:0::/root:/bin/bash\nhadoop:x:990:990::/home/hadoop:/bin/bash\nhive:x:991:991::/:/sbin/nologin\n",
    );
    write(
        r,
        "etc/resolv.conf",
        "nameserver 169.254.169.253\noptions rotate timeout:1\n",
    );
    std::fs::create_dir_all(r.join("etc/systemd/system/multi-user.target.wants")).expect("mkdir");
    std::os::unix::fs::symlink(
        "/usr/lib/systemd/system/amazon-ssm-agent.service",
        r.join("etc/systemd/system/multi-user.target.wants/amazon-ssm-agent.service"),
    )
    .expect("symlink");
    // A sparse 2 GiB file: its size counts, without using the disk.
    let big = std::fs::File::create(r.join("var/big.img")).expect("create");
    big.set_len(2 << 30).expect("sparse");
    std::fs::create_dir_all(r.join("lib/modules/6.12.8-1.amzn2023.x86_64")).expect("mkdir");
    std::fs::create_dir_all(r.join("usr/share/aws/emr/instance-controller")).expect("mkdir");

    let (code, report) = inspect(r, "emr-7.1.0", &[]);
    assert_eq!(code, 1);
    assert_eq!(
        rules_fired(&report),
        [
            "EA060:error",
            "EA060:warning",
            "EA061:info",
            "EA062:warning",
            "EA063:warning",
            "EA064:error",
            "EA065:error"
        ]
    );
    // A higher threshold quiets EA063.
    let (_, report) = inspect(r, "emr-7.1.0", &["--max-relocated", "3GiB"]);
    assert!(!rules_fired(&report).iter().any(|r| r.starts_with("EA063")));
}

#[test]
fn os_release_must_fit_the_release() {
    let root = al2023_root();
    let (code, report) = inspect(root.path(), "emr-6.15.0", &[]);
    assert_eq!(code, 1);
    assert_eq!(rules_fired(&report), ["EA064:error"]);
    write(
        root.path(),
        "etc/os-release",
        "ID=\"amzn\"\nVERSION_ID=\"2\"\nPRETTY_NAME=\"Amazon Linux 2\"\n",
    );
    let (code, report) = inspect(root.path(), "emr-6.15.0", &[]);
    assert_eq!(code, 0, "{report}");
}

#[test]
fn dns_rotate_written_by_the_dhcp_client_counts_too() {
    let root = al2023_root();
    write(
        root.path(),
        "etc/sysconfig/network",
        "NETWORKING=yes\nRES_OPTIONS=\"rotate timeout:1\"\n",
    );
    let (_, report) = inspect(root.path(), "emr-7.1.0", &[]);
    assert_eq!(rules_fired(&report), ["EA062:warning"]);
}

#[test]
fn symlink_loops_and_unreadable_files_are_survived_and_reported() {
    let root = al2023_root();
    let r = root.path();
    std::os::unix::fs::symlink("..", r.join("tmp/loop")).expect("symlink loop");
    std::os::unix::fs::symlink("/", r.join("var/host-root")).expect("symlink out of the image");
    // A directory where a file should be: unreadable even as root.
    std::fs::remove_file(r.join("etc/group")).expect("rm");
    std::fs::create_dir(r.join("etc/group")).expect("mkdir");
    let (code, report) = inspect(r, "emr-7.1.0", &[]);
    assert_eq!(code, 3, "an incomplete audit");
    assert_eq!(rules_fired(&report), ["EA060:warning"]);
    let errors = report["errors"].as_array().expect("errors");
    assert!(
        errors.iter().any(|e| e
            .as_str()
            .is_some_and(|e| e.starts_with("could not read /etc/group"))),
        "{errors:?}"
    );
}

#[test]
fn image_with_rootfs_merges_api_and_content_findings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let r = dir.path();
    write(
        r,
        "etc/passwd",
        "root:x:0:0::/root:/bin/bash\nspark:x:992:992::/:/sbin/nologin\n",
    );
    write(r, "etc/group", "root:x:0:\n");
    write(r, "etc/os-release", "ID=\"amzn\"\nVERSION_ID=\"2\"\n");
    let (code, report) = replay_json(&[
        "image",
        &ami(2),
        "--release",
        "emr-6.15.0",
        "--account",
        LAUNCHER,
        "--rootfs",
        &r.display().to_string(),
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        fired(target(&report, &ami(2))),
        pairs(&[("EA060", "error"), ("EA042", "warning"), ("EA032", "info")])
    );
    let two = replay(&[
        "image",
        &ami(1),
        &ami(2),
        "--release",
        "emr-7.1.0",
        "--rootfs",
        &r.display().to_string(),
    ]);
    assert_eq!(two.code, 2);
    assert!(two.stderr.contains("exactly one AMI"), "{}", two.stderr);
}

#[test]
fn bad_inspect_input_exits_2() {
    let missing = run(command().args([
        "inspect",
        "/nonexistent/emr-ami-audit-root",
        "--release",
        "emr-7.1.0",
    ]));
    assert_eq!(missing.code, 2);
    assert!(
        missing
            .stderr
            .contains("'/nonexistent/emr-ami-audit-root' is not a directory"),
        "{}",
        missing.stderr
    );
    let root = al2023_root();
    let bad_size = run(command().args([
        "inspect",
        &root.path().display().to_string(),
        "--release",
        "emr-7.1.0",
        "--max-relocated",
        "lots",
    ]));
    assert_eq!(bad_size.code, 2);
    assert!(bad_size.stderr.contains("'lots'"), "{}", bad_size.stderr);
}

#[test]
fn completions_and_man_page_come_from_the_cli_definition() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run(command().args(["completions", shell]));
        assert_eq!(out.code, 0);
        assert!(
            out.stdout.contains("emr-ami-audit") && out.stdout.contains("inspect"),
            "{shell}"
        );
    }
    let man = run(command().arg("man"));
    assert_eq!(man.code, 0);
    assert!(
        man.stdout.starts_with(".ie") || man.stdout.contains(".TH emr-ami-audit"),
        "{}",
        &man.stdout[..200.min(man.stdout.len())]
    );
}
