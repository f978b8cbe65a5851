//! Hostile scenarios and recording targets: a replay reads only regular files inside its scenario,
//! under a size cap, and `--record` refuses a target it can't write or must not replace before any call.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::*;
use emr_ami_audit::replay::{ReplayServer, Scenario};
use serde_json::Value;

const SECRET: &str = "HOST-SECRET-MARKER-7f3c";

/// A copy of the shipped image-factory scenario in `base/scenario`.
fn scenario_copy(base: &Path) -> std::path::PathBuf {
    let dir = base.join("scenario");
    copy_dir(&repo().join(SCENARIO), &dir);
    dir
}

/// The response file replaced below (any one would do: the whole scenario is loaded first).
const RESPONSE: &str = "sts/GetCallerIdentity.xml";

/// `--replay DIR image …`, then `mock serve DIR`: both must refuse the scenario with exit 2, quickly,
/// with `expected` in the one-line message, and never show the secret.
fn assert_refused(dir: &Path, expected: &[&str]) {
    let replay = [
        "--replay",
        &dir.display().to_string(),
        "--now",
        NOW,
        "image",
        &ami(2),
        "--release",
        "emr-6.15.0",
        "--account",
        LAUNCHER,
    ]
    .map(String::from);
    let serve = ["mock", "serve", &dir.display().to_string()].map(String::from);
    for args in [&replay[..], &serve[..]] {
        let (run, took) = run_within(command().args(args));
        assert_eq!(run.code, 2, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(took < Duration::from_secs(10), "{args:?} took {took:?}");
        for part in expected {
            assert!(
                run.stderr.contains(part),
                "{args:?}: {part}: {}",
                run.stderr
            );
        }
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
        assert!(
            !run.stdout.contains(SECRET) && !run.stderr.contains(SECRET),
            "{args:?} showed the host file: {}{}",
            run.stdout,
            run.stderr
        );
        assert!(!run.stderr.contains("serving"), "{}", run.stderr);
    }
}

#[cfg(unix)]
#[test]
fn a_response_linked_to_a_host_file_is_refused_and_never_shown() {
    let base = tempfile::tempdir().expect("temp dir");
    let secret = base.path().join("host-secret.txt");
    std::fs::write(&secret, format!("<x>{SECRET}</x>")).expect("secret");
    let dir = scenario_copy(base.path());
    let response = dir.join(RESPONSE);
    std::fs::remove_file(&response).expect("rm");

    // An absolute link.
    std::os::unix::fs::symlink(&secret, &response).expect("link");
    assert_refused(&dir, &[RESPONSE, "leads outside the scenario directory"]);

    // A relative one climbing out with `..`.
    std::fs::remove_file(&response).expect("rm");
    std::os::unix::fs::symlink("../../host-secret.txt", &response).expect("link");
    assert_refused(&dir, &[RESPONSE, "leads outside the scenario directory"]);

    // A host file everyone has.
    if Path::new("/etc/hostname").is_file() {
        std::fs::remove_file(&response).expect("rm");
        std::os::unix::fs::symlink("/etc/hostname", &response).expect("link");
        assert_refused(&dir, &[RESPONSE, "leads outside the scenario directory"]);
    }
}

#[cfg(unix)]
#[test]
fn a_response_linked_to_dev_zero_is_refused_at_once() {
    let base = tempfile::tempdir().expect("temp dir");
    let dir = scenario_copy(base.path());
    std::fs::remove_file(dir.join(RESPONSE)).expect("rm");
    std::os::unix::fs::symlink("/dev/zero", dir.join(RESPONSE)).expect("link");
    assert_refused(&dir, &[RESPONSE, "leads outside"]);
}

#[cfg(unix)]
#[test]
fn a_fifo_as_a_response_or_index_is_refused_without_blocking() {
    let base = tempfile::tempdir().expect("temp dir");
    let dir = scenario_copy(base.path());
    let mkfifo = |path: &Path| {
        std::fs::remove_file(path).expect("rm");
        let status = Command::new("mkfifo").arg(path).status().expect("mkfifo");
        assert!(status.success());
    };
    mkfifo(&dir.join(RESPONSE));
    assert_refused(&dir, &[RESPONSE, "is a FIFO, not a regular file"]);

    let index = scenario_copy(&base.path().join("index"));
    mkfifo(&index.join("exchanges.json"));
    assert_refused(&index, &["exchanges.json", "is a FIFO, not a regular file"]);
}

#[test]
fn an_oversized_response_is_refused_by_its_size() {
    let base = tempfile::tempdir().expect("temp dir");
    let dir = scenario_copy(base.path());
    // Sparse: 4 GiB that take no disk space, and would take 4 GiB of memory if read.
    let file = std::fs::File::create(dir.join(RESPONSE)).expect("create");
    file.set_len(4 << 30).expect("set_len");
    assert_refused(
        &dir,
        &[
            RESPONSE,
            "4294967296 bytes, over the 64 MiB limit for a response",
        ],
    );
}

#[cfg(unix)]
#[test]
fn a_directory_as_a_response_is_refused_by_name() {
    let base = tempfile::tempdir().expect("temp dir");
    let dir = scenario_copy(base.path());
    std::fs::remove_file(dir.join(RESPONSE)).expect("rm");
    std::fs::create_dir(dir.join(RESPONSE)).expect("mkdir");
    assert_refused(&dir, &[RESPONSE, "is a directory, not a regular file"]);
}

// --- --record -------------------------------------------------------------------------------------

async fn image_factory() -> ReplayServer {
    ReplayServer::start(Scenario::load(&repo().join(SCENARIO)).expect("scenario")).await
}

fn record_args(target: &Path, force: bool) -> Vec<String> {
    let mut args: Vec<String> = vec!["--record".into(), target.display().to_string()];
    if force {
        args.push("--force".into());
    }
    args.extend(
        [
            "image",
            &ami(2),
            "--release",
            "emr-6.15.0",
            "--account",
            LAUNCHER,
        ]
        .map(String::from),
    );
    args
}

async fn assert_no_request(server: &ReplayServer) {
    let requests = server
        .mock_server()
        .received_requests()
        .await
        .expect("requests are recorded");
    assert!(requests.is_empty(), "{} requests were made", requests.len());
}

/// Names in `dir`, sorted: nothing stray (`.replaced-PID`, `.recording-PID`, a probe) may be left.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Whether permission bits stop this process (they don't for root).
#[cfg(unix)]
fn permissions_apply(dir: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let probe_dir = dir.join("probe-ro");
    std::fs::create_dir(&probe_dir).expect("mkdir");
    std::fs::set_permissions(&probe_dir, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    let blocked = std::fs::write(probe_dir.join("x"), "x").is_err();
    std::fs::set_permissions(&probe_dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::remove_dir_all(&probe_dir).expect("rm");
    blocked
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_where_it_cannot_be_written_is_refused_before_any_call() {
    use std::os::unix::fs::PermissionsExt;
    let server = image_factory().await;
    let base = tempfile::tempdir().expect("temp dir");
    std::fs::write(base.path().join("file.txt"), "mine").expect("file");

    // Under a regular file (a path no one can create, root included).
    let under_file = base.path().join("file.txt/rec");
    let run = run_live(server.url(), record_args(&under_file, false)).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("file.txt/rec") && run.stderr.contains("is not a directory"),
        "{}",
        run.stderr
    );

    // Under a directory that does not exist.
    let missing = base.path().join("missing/rec");
    let run = run_live(server.url(), record_args(&missing, false)).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("its parent directory") && run.stderr.contains("missing"),
        "{}",
        run.stderr
    );

    // In a read-only directory, where permission bits apply (not as root).
    let other = tempfile::tempdir().expect("temp dir");
    if permissions_apply(other.path()) {
        let read_only = other.path().join("read-only");
        std::fs::create_dir(&read_only).expect("mkdir");
        std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o555))
            .expect("chmod");
        let run = run_live(server.url(), record_args(&read_only.join("rec"), false)).await;
        std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains("cannot write in"), "{}", run.stderr);
        assert!(names(&read_only).is_empty());
    }

    assert_no_request(&server).await;
    assert_eq!(names(base.path()), ["file.txt"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_replaces_only_an_earlier_recording_or_an_empty_directory() {
    let server = image_factory().await;
    let base = tempfile::tempdir().expect("temp dir");

    // A regular file: refused, with or without --force, and left alone.
    let file = base.path().join("notes.txt");
    std::fs::write(&file, "mine").expect("file");
    for force in [false, true] {
        let run = run_live(server.url(), record_args(&file, force)).await;
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(
            run.stderr.contains("notes.txt")
                && run.stderr.contains("is not a directory")
                && run
                    .stderr
                    .contains("--force replaces only an earlier recording"),
            "{}",
            run.stderr
        );
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    }
    assert_eq!(std::fs::read_to_string(&file).expect("kept"), "mine");

    // A directory holding something else than a recording: the same.
    let other = base.path().join("project");
    std::fs::create_dir(&other).expect("mkdir");
    std::fs::write(other.join("main.rs"), "fn main() {}").expect("file");
    let run = run_live(server.url(), record_args(&other, true)).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("project")
            && run
                .stderr
                .contains("neither empty nor a recording (no exchanges.json)"),
        "{}",
        run.stderr
    );
    assert_eq!(names(&other), ["main.rs"]);
    assert_no_request(&server).await;
    assert_eq!(names(base.path()), ["notes.txt", "project"]);

    // An empty directory: replaced with --force (and refused without).
    let empty = base.path().join("empty");
    std::fs::create_dir(&empty).expect("mkdir");
    let run = run_live(server.url(), record_args(&empty, false)).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("already exists: give --force"),
        "{}",
        run.stderr
    );
    let run = run_live(server.url(), record_args(&empty, true)).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(empty.join("exchanges.json").is_file());

    // An earlier recording: replaced with --force, nothing stray left beside it.
    std::fs::write(empty.join("EXPECTED.md"), "old notes").expect("file");
    let run = run_live(server.url(), record_args(&empty, true)).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(empty.join("exchanges.json").is_file());
    assert!(!empty.join("EXPECTED.md").exists());
    assert_eq!(names(base.path()), ["empty", "notes.txt", "project"]);
    Scenario::load(&empty).expect("the new recording loads");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_user_info_is_never_stored_and_the_command_is() {
    let server = image_factory().await;
    let base = tempfile::tempdir().expect("temp dir");
    let recording = base.path().join("rec");
    let url = server
        .url()
        .replace("://", "://audit-user:PASSWORD-NOT-TO-BE-WRITTEN@");
    assert_ne!(url, server.url());
    let mut args = vec!["--format".to_string(), "json".into(), "-v".into()];
    args.extend(record_args(&recording, false));
    let live = run_live(url, args).await;
    assert_eq!(live.code, 0, "{}", live.stderr);

    let mut files = vec![recording.join("exchanges.json")];
    for folder in ["ec2", "emr", "sts"] {
        if let Ok(entries) = std::fs::read_dir(recording.join(folder)) {
            files.extend(entries.flatten().map(|e| e.path()));
        }
    }
    for path in &files {
        let text = std::fs::read_to_string(path).expect("text");
        for secret in [
            "PASSWORD-NOT-TO-BE-WRITTEN",
            "audit-user",
            LIVE_ACCESS_KEY,
            LIVE_SECRET_KEY,
            LIVE_SESSION_TOKEN,
        ] {
            assert!(!text.contains(secret), "{} holds {secret}", path.display());
        }
    }

    let index: Value = serde_json::from_str(
        &std::fs::read_to_string(recording.join("exchanges.json")).expect("index"),
    )
    .expect("JSON");
    let description = index["description"].as_str().expect("description");
    assert!(
        description.contains(&format!("--endpoint-url {}", server.url())),
        "the URL stays, without its user info: {description}"
    );
    // The command after the global options (--format, -v, --record, --endpoint-url, --now dropped).
    let recorded: Vec<String> = index["commands"][0]
        .as_array()
        .expect("commands as documented")
        .iter()
        .map(|a| a.as_str().expect("string").to_string())
        .collect();
    assert_eq!(
        recorded,
        [
            "image",
            &ami(2),
            "--release",
            "emr-6.15.0",
            "--account",
            LAUNCHER
        ]
    );
    assert_eq!(index["commands"].as_array().map(Vec::len), Some(1));

    // And it replays, using every exchange.
    let replayed = run(command()
        .args([
            "--replay",
            &recording.display().to_string(),
            "--replay-strict",
            "--now",
            NOW,
        ])
        .args(&recorded));
    assert_eq!(replayed.code, 0, "{}{}", replayed.stdout, replayed.stderr);
}

/// `exchanges.json` shaped like a scenario, with arbitrary values where the loader decides things.
fn index_value() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let text = prop_oneof![
        Just("ec2".to_string()),
        Just("emr".to_string()),
        Just("sts".to_string()),
        Just("answer.xml".to_string()),
        Just("../outside".to_string()),
        Just("/etc/hostname".to_string()),
        ".{0,12}",
    ];
    let scalar = prop_oneof![
        text.clone().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ];
    let exchange = proptest::collection::btree_map(
        prop_oneof![
            Just("service".to_string()),
            Just("action".to_string()),
            Just("params".to_string()),
            Just("status".to_string()),
            Just("region".to_string()),
            Just("response".to_string()),
            ".{0,8}",
        ],
        scalar.clone(),
        0..7,
    )
    .prop_map(|m| Value::Object(m.into_iter().collect()));
    (
        proptest::collection::vec(exchange, 0..4),
        proptest::option::of(scalar),
    )
        .prop_map(|(exchanges, region)| {
            let mut index = serde_json::json!({ "exchanges": exchanges });
            if let Some(region) = region {
                index["region"] = region;
            }
            index
        })
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    /// Whatever `exchanges.json` holds, loading it is an answer or an error, never a panic.
    #[test]
    fn the_scenario_loader_never_panics(index in index_value(), text in ".*", raw in proptest::prelude::any::<bool>()) {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("answer.xml"), "<A/>").expect("write answer");
        let body = if raw { text } else { index.to_string() };
        std::fs::write(dir.path().join("exchanges.json"), body).expect("write index");
        let _ = Scenario::load(dir.path());
    }
}
