//! `inspect` on hostile root filesystems: links that point out of the image, special files, huge or
//! sparse files, link loops, names that are not UTF-8, trees deeper than anyone means. Each is read as the
//! image's own boot would read it, refused with a run error naming the path, or found: never read from
//! the auditing machine, never a hang or a memory blow-up, never a silent skip.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Stdio};

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
        "ID=\"amzn\"\nVERSION_ID=\"2023\"\nPRETTY_NAME=\"Amazon Linux 2023\"\n",
    );
    write(root, "etc/resolv.conf", "nameserver 169.254.169.253\n");
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

fn replace_with_link(root: &Path, relative: &str, target: &str) {
    let path = root.join(relative);
    let _ = std::fs::remove_file(&path);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    symlink(target, path).expect("symlink");
}

/// `inspect ROOT --release emr-7.1.0 --format json`, through `sh` so limits can be set first (and, with
/// `env`, only those variables passed), killed if it runs for 20 s: the exit code, the report, and stdout
/// and stderr as they came.
fn inspect_bounded(root: &Path, shell_prefix: &str, env: &[(&str, &str)]) -> (i32, Value, String) {
    let hermetic = command();
    // With `env`, the binary gets only those variables, in that order: what `/proc/self/environ` holds.
    let environment: String = env
        .iter()
        .map(|(key, value)| format!("'{key}={value}' "))
        .collect();
    let exec = if env.is_empty() {
        String::new()
    } else {
        format!("env -i {environment}")
    };
    let script = format!(
        "{shell_prefix} exec {exec}\"$0\" --format json inspect \"$1\" --release emr-7.1.0"
    );
    let mut sh = Command::new("sh");
    for (key, value) in hermetic.get_envs() {
        match value {
            Some(value) => sh.env(key, value),
            None => sh.env_remove(key),
        };
    }
    let (run, _) = run_within(
        sh.current_dir(repo())
            .arg("-c")
            .arg(script)
            .arg(hermetic.get_program())
            .arg(root),
    );
    let (code, stdout, stderr) = (run.code, run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{stdout}\nstderr:\n{stderr}"));
    (code, report, format!("{stdout}\n{stderr}"))
}

fn inspect(root: &Path) -> (i32, Value, String) {
    inspect_bounded(root, "", &[])
}

fn errors(report: &Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e.as_str().expect("string").to_string())
        .collect()
}

fn messages(report: &Value) -> Vec<String> {
    report["targets"][0]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["message"].as_str().expect("message").to_string())
        .collect()
}

fn rules_fired(report: &Value) -> Vec<String> {
    rule_severities(&report["targets"][0])
}

#[test]
fn an_absolute_os_release_link_is_read_inside_the_image() {
    let root = al2023_root();
    let r = root.path();
    write(
        r,
        "usr/lib/os-release",
        "ID=\"amzn\"\nVERSION_ID=\"2\"\nPRETTY_NAME=\"Fixture Linux 2 (inside the image)\"\n",
    );
    replace_with_link(r, "etc/os-release", "/usr/lib/os-release");
    let (code, report, _) = inspect(r);
    assert_eq!(code, 1, "{report}");
    assert_eq!(rules_fired(&report), ["EA064:error"]);
    let message = &messages(&report)[0];
    assert!(
        message.contains("/etc/os-release says Fixture Linux 2 (inside the image)"),
        "{message}"
    );
}

#[test]
fn relative_links_climbing_out_stay_in_the_image() {
    let root = al2023_root();
    let r = root.path();
    // Past the root, `..` stays there: the image's own file, not the host's.
    write(
        r,
        "usr/share/fixture/passwd",
        "root:x:0:0::/root:/bin/bash\nhadoop:x:990:990::/:/sbin/nologin\n",
    );
    replace_with_link(r, "etc/passwd", "../../../../usr/share/fixture/passwd");
    let (code, report, _) = inspect(r);
    assert_eq!(code, 1, "{report}");
    assert_eq!(rules_fired(&report), ["EA060:error"]);
    // `../../../../etc/passwd` from /etc is /etc/passwd again: a loop in the image, never the host's file.
    replace_with_link(r, "etc/passwd", "../../../../etc/passwd");
    let (code, report, _) = inspect(r);
    assert_eq!(code, 3, "{report}");
    assert_eq!(rules_fired(&report), ["EA060:warning"]);
    let errors = errors(&report);
    assert!(
        errors
            .iter()
            .any(|e| e.starts_with("could not read /etc/passwd") && e.contains("link loop")),
        "{errors:?}"
    );
}

#[test]
fn a_link_to_proc_self_environ_never_shows_the_environment() {
    let root = al2023_root();
    let r = root.path();
    replace_with_link(r, "etc/resolv.conf", "/proc/self/environ");
    let secret = "SECRET_MARKER=hunter2-4f1c9a";
    let (code, report, output) = inspect_bounded(
        r,
        "",
        // Before, this environment read as one line `RES_OPTIONS=rotate \0SECRET_MARKER=…`, quoted in
        // full in an EA062 finding.
        &[
            ("RES_OPTIONS", "rotate "),
            ("SECRET_MARKER", "hunter2-4f1c9a"),
        ],
    );
    assert!(!output.contains("hunter2"), "{secret} leaked:\n{output}");
    // /proc/self/environ in the image does not exist: resolv.conf is absent, as on a stopped image.
    assert_eq!(code, 0, "{report}");
    assert_eq!(rules_fired(&report), Vec::<String>::new());
    assert_eq!(errors(&report), Vec::<String>::new());
}

#[test]
fn a_fifo_is_refused_in_bounded_time() {
    let root = al2023_root();
    let r = root.path();
    std::fs::remove_file(r.join("etc/resolv.conf")).expect("rm");
    let status = Command::new("mkfifo")
        .arg(r.join("etc/resolv.conf"))
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let (code, report, _) = inspect(r);
    assert_eq!(code, 3, "{report}");
    assert_eq!(
        errors(&report),
        ["could not read /etc/resolv.conf: is a FIFO (named pipe), not a regular file; not opened"]
    );
}

#[test]
fn dev_zero_and_huge_files_cost_no_memory() {
    const LIMIT: &str = "ulimit -v 524288;"; // 512 MiB of address space: a 2 GiB read would fail.
    let root = al2023_root();
    let r = root.path();
    // A 2 GiB sparse passwd: refused by its size, nothing read.
    let big = std::fs::File::create(r.join("etc/passwd")).expect("create");
    big.set_len(2 << 30).expect("sparse");
    let (code, report, _) = inspect_bounded(r, LIMIT, &[]);
    assert_eq!(code, 3, "{report}");
    assert_eq!(
        errors(&report),
        ["could not read /etc/passwd: 2147483648 bytes, over the 4 MiB read cap; not read"]
    );
    // A link to /dev/zero is /dev/zero of the image, which this one does not have.
    replace_with_link(r, "etc/passwd", "/dev/zero");
    let (code, report, _) = inspect_bounded(r, LIMIT, &[]);
    assert_eq!(code, 3, "{report}");
    assert_eq!(
        errors(&report),
        ["could not read /etc/passwd (resolved in the image to /dev/zero): not found"]
    );
    // The image's own /dev/zero, a character device (only where this test may create one).
    std::fs::create_dir(r.join("dev")).expect("mkdir");
    let made = Command::new("mknod")
        .arg(r.join("dev/zero"))
        .args(["c", "1", "5"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if made {
        let (code, report, _) = inspect_bounded(r, LIMIT, &[]);
        assert_eq!(code, 3, "{report}");
        assert_eq!(
            errors(&report),
            [
                "could not read /etc/passwd (resolved in the image to /dev/zero): is a character device, not a regular file; not opened"
            ]
        );
    }
}

#[test]
fn a_link_loop_is_a_run_error() {
    let root = al2023_root();
    let r = root.path();
    symlink("b", r.join("etc/a")).expect("symlink");
    symlink("a", r.join("etc/b")).expect("symlink");
    replace_with_link(r, "etc/group", "a");
    let (code, report, _) = inspect(r);
    assert_eq!(code, 3, "{report}");
    assert_eq!(rules_fired(&report), ["EA060:warning"]);
    let errors = errors(&report);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("could not read /etc/group (resolved in the image to /etc/")
            && errors[0].contains("more than 40 symbolic links to follow (a link loop)"),
        "{errors:?}"
    );
}

#[test]
fn a_conf_d_file_whose_name_is_not_utf8_is_read_and_named() {
    let root = al2023_root();
    let r = root.path();
    let conf_d = r.join("etc/NetworkManager/conf.d");
    std::fs::create_dir_all(&conf_d).expect("mkdir");
    std::fs::write(
        conf_d.join(OsStr::from_bytes(b"\xff.conf")),
        "[global-dns]\ndns-options=rotate\n",
    )
    .expect("write");
    let (code, report, _) = inspect(r);
    assert_eq!(code, 0, "warnings only: {report}");
    assert_eq!(rules_fired(&report), ["EA062:warning"]);
    assert_eq!(
        messages(&report),
        ["DNS `rotate` is set: /etc/NetworkManager/conf.d/\\xff.conf: dns-options=rotate"]
    );
}

#[test]
fn a_tree_deeper_than_the_limit_is_a_run_error_not_silence() {
    let root = al2023_root();
    let r = root.path();
    let deep = vec!["d"; 300].join("/");
    std::fs::create_dir_all(r.join("var").join(&deep)).expect("mkdir");
    let (code, report, _) = inspect(r);
    assert_eq!(code, 3, "{report}");
    let errors = errors(&report);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("could not read /var/d/d/")
            && errors[0].contains("more than 256 directories deep; not read; 1 such directory under /var not counted in its size"),
        "{errors:?}"
    );
}

#[test]
fn a_tree_longer_than_path_max_is_counted_in_full() {
    use rustix::fs::{CWD, Mode, OFlags};
    let root = al2023_root();
    let r = root.path();
    // 30 levels of 200-character names: 6 000 bytes of path, past PATH_MAX (4 096), under the depth limit.
    let name = "n".repeat(200);
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let mut at = rustix::fs::openat(CWD, r.join("var"), flags, Mode::empty()).expect("open");
    for _ in 0..30 {
        rustix::fs::mkdirat(&at, name.as_str(), Mode::from(0o755)).expect("mkdir");
        at = rustix::fs::openat(&at, name.as_str(), flags, Mode::empty()).expect("open");
    }
    let file = rustix::fs::openat(
        &at,
        "big.img",
        OFlags::WRONLY | OFlags::CREATE | OFlags::CLOEXEC,
        Mode::from(0o644),
    )
    .expect("create");
    std::fs::File::from(file).set_len(2 << 30).expect("sparse");
    let (code, report, _) = inspect(r);
    assert_eq!(code, 0, "warnings only: {report}");
    assert_eq!(rules_fired(&report), ["EA063:warning"]);
    assert_eq!(errors(&report), Vec::<String>::new());
    // 2 GiB at the bottom, and the fixture's own 9 bytes.
    assert_eq!(
        report["targets"][0]["findings"][0]["evidence"]["Bytes"],
        ((2u64 << 30) + 9).to_string()
    );
}
