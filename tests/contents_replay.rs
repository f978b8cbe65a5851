//! `image --contents` and `inspect ami-…`/`snap-…`: AMIs' files read from their root snapshots through
//! the EBS direct APIs, against `mocks/contents` (XFS on GPT, ext4 on MBR, bare ext4 and ext3 images made
//! from `mocks/contents/trees/` by `build.sh`).

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;
use emr_ami_audit::replay::{ReplayServer, Scenario};
use serde_json::Value;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, ResponseTemplate};

const CONTENTS: &str = "mocks/contents";
const RELEASE: &str = "emr-7.1.0";
const BLOCK: usize = 512 * 1024;

/// AMI, its root snapshot, and the tree the snapshot holds.
const IMAGES: [(&str, &str, &str); 5] = [
    (
        "ami-0c0c0000000000a01",
        "snap-0a12023c1ea400001",
        "al2023-clean",
    ),
    (
        "ami-0c0c0000000000a02",
        "snap-0a12023ba0d000002",
        "al2023-violations",
    ),
    (
        "ami-0c0c0000000000a03",
        "snap-0a1ba0d0e40000003",
        "al1-violations",
    ),
    (
        "ami-0c0c0000000000a04",
        "snap-0c1ea4e4000000004",
        "al2023-clean",
    ),
    (
        "ami-0c0c0000000000a05",
        "snap-0c1ea4e3000000005",
        "al2023-clean",
    ),
];

fn image_args() -> Vec<String> {
    let mut args: Vec<String> = ["--format", "json", "image"].map(String::from).to_vec();
    args.extend(IMAGES.iter().map(|(ami, _, _)| ami.to_string()));
    args.extend(["--release", RELEASE, "--contents"].map(String::from));
    args
}

fn replay_contents(args: &[String]) -> (Run, Value) {
    let run = run_bounded(
        command()
            .args(["--replay", CONTENTS, "--now", NOW])
            .args(args),
    );
    let report = parse_report(&run);
    (run, report)
}

/// The content rules a target fired, as `rule:severity`, once each.
fn content_rules(target: &Value) -> BTreeSet<String> {
    fired(target)
        .into_iter()
        .filter(|(rule, _)| rule.starts_with("EA06"))
        .map(|(rule, severity)| format!("{rule}:{severity}"))
        .collect()
}

fn errors(report: &Value) -> Vec<String> {
    report["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

#[test]
fn planted_violations_are_found_in_both_filesystems_and_clean_images_are_quiet() {
    let (run, report) = replay_contents(&image_args());
    // Error findings, and one run error: the FIFO planted where a DNS configuration file is read.
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(
        errors(&report),
        [
            "ami-0c0c0000000000a02: could not read /etc/sysconfig/network-scripts/ifcfg-eth0: is a FIFO (named pipe), not a regular file; not opened"
        ]
    );
    let every_rule: BTreeSet<String> = [
        "EA060:error",
        "EA060:warning",
        "EA061:info",
        "EA062:warning",
        "EA063:warning",
        "EA064:error",
        "EA065:error",
    ]
    .map(String::from)
    .into();
    let planted_xfs = content_rules(target(&report, "ami-0c0c0000000000a02"));
    assert_eq!(planted_xfs, every_rule, "XFS on GPT");
    let planted_ext4 = content_rules(target(&report, "ami-0c0c0000000000a03"));
    let al1: BTreeSet<String> = every_rule
        .iter()
        .filter(|r| *r != "EA060:warning")
        .cloned()
        .collect();
    assert_eq!(planted_ext4, al1, "ext4 on MBR");
    for clean in [
        "ami-0c0c0000000000a01",
        "ami-0c0c0000000000a04",
        "ami-0c0c0000000000a05",
    ] {
        assert!(content_rules(target(&report, clean)).is_empty(), "{clean}");
    }
    // Where each filesystem was found, and what reading it took: a few blocks, never the volume.
    for (ami, snapshot, _) in IMAGES {
        let read = &target(&report, ami)["contents"];
        assert_eq!(read["snapshot_id"], snapshot);
        assert!(read.get("error").is_none(), "{ami}: {read}");
        let fetched = read["blocks_fetched"].as_u64().expect("blocks fetched");
        assert!((1..=8).contains(&fetched), "{ami}: {read}");
        assert_eq!(read["bytes_fetched"], fetched * BLOCK as u64);
        assert_eq!(read["list_calls"], 1);
        assert!(read["estimated_cost_usd"].as_f64().is_some_and(|c| c > 0.0));
    }
    let filesystem = |ami: &str| {
        target(&report, ami)["contents"]["filesystem"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert!(filesystem("ami-0c0c0000000000a01").starts_with("GPT partition 1 (Linux filesystem"));
    assert!(filesystem("ami-0c0c0000000000a01").contains("XFS"));
    assert!(filesystem("ami-0c0c0000000000a03").starts_with("MBR partition 1"));
    assert!(filesystem("ami-0c0c0000000000a04").starts_with("whole disk"));
    let calls = &report["stats"]["api_calls"];
    assert_eq!(calls["ebs:ListSnapshotBlocks"], 5);
    let fetched: u64 = IMAGES
        .iter()
        .map(|(ami, _, _)| {
            target(&report, ami)["contents"]["blocks_fetched"]
                .as_u64()
                .unwrap_or(0)
        })
        .sum();
    assert_eq!(
        calls["ebs:GetSnapshotBlock"], fetched,
        "each block fetched once"
    );
}

/// The tree as the image holds it (committed files, and what git can't hold, added by build.sh).
fn materialized(tree: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let full = dir.path().join("root");
    let status = std::process::Command::new("bash")
        .arg(repo().join("mocks/contents/build.sh"))
        .args(["--tree", tree])
        .arg(&full)
        .status()
        .expect("build.sh runs");
    assert!(status.success());
    dir
}

/// Findings as `rule severity message`, sorted, and the run errors.
fn verdict(report: &Value) -> (Vec<String>, Vec<String>) {
    let mut findings: Vec<String> = report["targets"][0]["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| format!("{} {} {}", f["rule"], f["severity"], f["message"]))
        .collect();
    findings.sort();
    (findings, errors(report))
}

#[test]
fn inspect_on_a_tree_equals_reading_the_snapshot_of_it() {
    for (_, snapshot, tree) in IMAGES {
        let dir = materialized(tree);
        let root = dir.path().join("root");
        let on_disk = run_bounded(command().args([
            "--format",
            "json",
            "--now",
            NOW,
            "inspect",
            &root.display().to_string(),
            "--release",
            RELEASE,
        ]));
        let (_, from_snapshot) = replay_contents(
            &[
                "--format",
                "json",
                "inspect",
                snapshot,
                "--release",
                RELEASE,
            ]
            .map(String::from),
        );
        let on_disk = parse_report(&on_disk);
        assert_eq!(
            verdict(&on_disk),
            verdict(&from_snapshot),
            "{tree} on disk and in {snapshot}"
        );
        assert_eq!(from_snapshot["targets"][0]["id"], snapshot);
        assert!(
            !verdict(&on_disk).0.is_empty() || tree == "al2023-clean",
            "{tree} plants findings"
        );
    }
}

async fn contents_server() -> ReplayServer {
    ReplayServer::start(Scenario::load(&repo().join(CONTENTS)).expect("scenario loads")).await
}

fn ebs_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("x-amzn-errortype", code)
        .set_body_raw(
            serde_json::json!({"message": message}).to_string(),
            "application/json",
        )
}

/// ListSnapshotBlocks of `snapshot` denied, as AWS denies it.
async fn deny_listing(server: &ReplayServer, snapshot: &str) {
    Mock::given(method("GET"))
        .and(path_regex(format!("^/snapshots/{snapshot}/blocks$")))
        .respond_with(ebs_error(
            403,
            "AccessDeniedException",
            "User is not authorized to perform: ebs:ListSnapshotBlocks",
        ))
        .with_priority(1)
        .mount(server.mock_server())
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_that_cannot_be_read_is_a_run_error_naming_the_action_and_the_rest_go_on() {
    let server = contents_server().await;
    deny_listing(&server, "snap-0a1ba0d0e40000003").await;
    let run = run_live(server.url(), image_args()).await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    let report = parse_report(&run);
    let errors = errors(&report);
    assert!(
        errors.iter().any(|e| e.starts_with("ami-0c0c0000000000a03: contents not audited: ebs:ListSnapshotBlocks failed: AccessDeniedException (HTTP 403)")
            && e.ends_with("(grant ebs:ListSnapshotBlocks, and kms:Decrypt on the snapshot's key if it is encrypted)")),
        "{errors:?}"
    );
    let denied = target(&report, "ami-0c0c0000000000a03");
    assert!(
        content_rules(denied).is_empty(),
        "nothing judged from what was not read"
    );
    assert!(denied["contents"]["error"].is_string());
    // Its API findings stand, and the other AMIs' files were read.
    assert!(fired(denied).iter().any(|(rule, _)| rule == "EA015"));
    assert!(!content_rules(target(&report, "ami-0c0c0000000000a02")).is_empty());
    assert!(target(&report, "ami-0c0c0000000000a04")["contents"]["filesystem"].is_string());
}

/// A block the API sends whose bytes are not those of its checksum, or fewer than a block, is never
/// read as the image's: the AMI's files are not audited, and say why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_or_short_block_is_a_run_error_not_data() {
    for (body, code) in [
        (vec![0u8; BLOCK], "ChecksumMismatch"),
        (vec![7u8; 1000], "TruncatedResponse"),
    ] {
        let server = contents_server().await;
        let checksum = if code == "TruncatedResponse" {
            // The right checksum of the short body: only its length gives it away.
            emr_ami_audit::replay::checksum(&body)
        } else {
            emr_ami_audit::replay::checksum(b"something else")
        };
        Mock::given(method("GET"))
            .and(path_regex(
                "^/snapshots/snap-0a1ba0d0e40000003/blocks/[0-9]+$",
            ))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("x-amz-Data-Length", body.len().to_string().as_str())
                    .insert_header("x-amz-Checksum", checksum.as_str())
                    .insert_header("x-amz-Checksum-Algorithm", "SHA256")
                    .set_body_raw(body.clone(), "application/octet-stream"),
            )
            .with_priority(1)
            .mount(server.mock_server())
            .await;
        let run = run_live(server.url(), image_args()).await;
        assert_eq!(run.code, 3, "{}", run.stderr);
        let report = parse_report(&run);
        let errors = errors(&report);
        assert!(
            errors.iter().any(
                |e| e.starts_with("ami-0c0c0000000000a03: contents not audited")
                    && e.contains(code)
            ),
            "{code}: {errors:?}"
        );
        assert!(content_rules(target(&report, "ami-0c0c0000000000a03")).is_empty());
        assert!(!content_rules(target(&report, "ami-0c0c0000000000a02")).is_empty());
    }
}

/// A snapshot whose listing lacks blocks the filesystem needs reads zeros there: a corrupt filesystem,
/// said so, never files taken as absent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_missing_its_metadata_blocks_is_a_run_error() {
    for (ami, snapshot) in [
        ("ami-0c0c0000000000a02", "snap-0a12023ba0d000002"),
        ("ami-0c0c0000000000a03", "snap-0a1ba0d0e40000003"),
    ] {
        let server = contents_server().await;
        let listing = std::fs::read(
            repo()
                .join(CONTENTS)
                .join("ebs")
                .join(snapshot)
                .join("blocks.json"),
        )
        .expect("block list");
        let listing: Value = serde_json::from_slice(&listing).expect("JSON");
        // Only the partition table's block and the filesystem's first (its superblock) are left: the
        // filesystem opens, and what it points to reads as zeros.
        let kept: Vec<Value> = listing["Blocks"]
            .as_array()
            .expect("blocks")
            .iter()
            .take(2)
            .map(|b| {
                let index = &b["BlockIndex"];
                serde_json::json!({"BlockIndex": index, "BlockToken": format!("replay-{snapshot}-{index}")})
            })
            .collect();
        let body = serde_json::json!({
            "Blocks": kept,
            "BlockSize": BLOCK,
            "VolumeSize": listing["VolumeSize"],
        });
        Mock::given(method("GET"))
            .and(path_regex(format!("^/snapshots/{snapshot}/blocks$")))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(body.to_string(), "application/json"),
            )
            .with_priority(1)
            .mount(server.mock_server())
            .await;
        let run = run_live(server.url(), image_args()).await;
        assert_eq!(run.code, 3, "{}", run.stderr);
        let report = parse_report(&run);
        let errors = errors(&report);
        // Not the partition table's doing: the filesystem was found, and its own structures failed.
        assert!(
            errors.iter().any(|e| e.starts_with(&format!("{ami}: "))
                && (e.contains("corrupt") || e.contains("Corrupt"))),
            "{ami}: {errors:?}"
        );
        assert!(
            target(&report, ami)["contents"]["filesystem"].is_string(),
            "{ami}: the filesystem was found"
        );
        // What could not be read is not audited, never judged: no content finding but those saying so.
        let judged: Vec<&Value> = target(&report, ami)["findings"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| f["rule"].as_str().is_some_and(|r| r.starts_with("EA06")))
            .filter(|f| {
                !f["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("not audited"))
            })
            .collect();
        assert!(judged.is_empty(), "{ami}: {judged:?}");
    }
}

fn without_timing(mut report: Value) -> Value {
    if let Some(stats) = report.get_mut("stats").and_then(Value::as_object_mut) {
        stats.remove("elapsed_ms");
    }
    for target in report["targets"].as_array_mut().into_iter().flatten() {
        if let Some(read) = target.get_mut("contents").and_then(Value::as_object_mut) {
            read.remove("elapsed_ms");
        }
    }
    report
}

/// The contents command against a recording, strictly: every recorded answer must be used.
fn replay_strict(recording: &Path) -> Run {
    run_bounded(
        command()
            .args([
                "--replay",
                &recording.display().to_string(),
                "--replay-strict",
            ])
            .args(["--now", NOW])
            .args(image_args()),
    )
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.flatten().count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_keeps_only_the_blocks_read_and_replays_the_same_report() {
    let server = contents_server().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let recording = dir.path().join("recorded");
    let mut args = vec!["--record".to_string(), recording.display().to_string()];
    args.extend(image_args());
    let recorded = run_live(server.url(), args).await;
    assert_eq!(recorded.code, 3, "{}", recorded.stderr);
    let live = parse_report(&recorded);
    for (ami, snapshot, _) in IMAGES {
        let fetched = target(&live, ami)["contents"]["blocks_fetched"]
            .as_u64()
            .expect("fetched");
        let folder = recording.join("ebs").join(snapshot);
        // The block list, and each block read: no more.
        assert_eq!(files_in(&folder) as u64, fetched + 1, "{snapshot}");
        let index: Value =
            serde_json::from_slice(&std::fs::read(folder.join("blocks.json")).expect("index"))
                .expect("JSON");
        let shipped: Value = serde_json::from_slice(
            &std::fs::read(
                repo()
                    .join(CONTENTS)
                    .join("ebs")
                    .join(snapshot)
                    .join("blocks.json"),
            )
            .expect("shipped index"),
        )
        .expect("JSON");
        assert_eq!(
            index["Blocks"].as_array().map(Vec::len),
            shipped["Blocks"].as_array().map(Vec::len),
            "every block listed is kept in the list"
        );
    }
    let replayed = replay_strict(&recording);
    assert_eq!(replayed.code, 3, "{}", replayed.stderr);
    assert_eq!(
        without_timing(parse_report(&replayed)),
        without_timing(live),
        "the replay of the recording gives the live report"
    );
}

#[test]
fn inspect_ami_is_image_contents_and_bad_ids_stop_before_any_request() {
    let (run, report) = replay_contents(
        &[
            "--format",
            "json",
            "inspect",
            "ami-0c0c0000000000a03",
            "--release",
            RELEASE,
        ]
        .map(String::from),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let t = target(&report, "ami-0c0c0000000000a03");
    assert!(content_rules(t).contains("EA065:error"));
    assert!(
        fired(t).iter().any(|(rule, _)| rule == "EA015"),
        "the API rules too"
    );

    for (args, shown) in [
        (
            vec!["inspect", "snap-xyz", "--release", RELEASE],
            "invalid snapshot ID 'snap-xyz'",
        ),
        (vec!["inspect", "ami-123", "--release", RELEASE], "ami-123"),
        (
            vec![
                "image",
                "ami-0c0c0000000000a01",
                "--release",
                RELEASE,
                "--max-relocated",
                "1GiB",
            ],
            "only with --rootfs or --contents",
        ),
        (
            vec![
                "image",
                "ami-0c0c0000000000a01",
                "--release",
                "all",
                "--contents",
            ],
            "--contents is not supported",
        ),
    ] {
        let run = run_bounded(command().args(["--replay", CONTENTS]).args(&args));
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(shown), "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.trim().lines().count(), 1, "{}", run.stderr);
    }
}

/// What reading costs follows what is read, not the volume: the clean tree on 100 GiB takes the blocks it
/// takes on 8 GiB.
#[test]
fn a_100_gib_volume_costs_what_an_8_gib_one_does() {
    let blocks = |snapshot: &str| {
        let (run, report) = replay_contents(
            &[
                "--format",
                "json",
                "inspect",
                snapshot,
                "--release",
                RELEASE,
            ]
            .map(String::from),
        );
        assert_eq!(run.code, 0, "{}", run.stderr);
        let read = &report["targets"][0]["contents"];
        (read["volume_gib"].as_u64(), read["blocks_fetched"].as_u64())
    };
    let (small, on_small) = blocks("snap-0a12023c1ea400001");
    let (large, on_large) = blocks("snap-0a12023b160000006");
    assert_eq!((small, large), (Some(8), Some(100)));
    assert_eq!(on_small, on_large);
    assert!(on_large.is_some_and(|n| n <= 8), "{on_large:?}");
}

/// `mock serve` answers the EBS direct APIs too: another tool (or this one, live) reads the snapshots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_serve_answers_image_contents() {
    let (mut child, url, stderr) = mock_serve(CONTENTS);
    let run = run_live(url, image_args()).await;
    assert_eq!(stop(&mut child), Some(0));
    let log = std::io::read_to_string(stderr).expect("log");
    assert_eq!(run.code, 3, "{}", run.stderr);
    let report = parse_report(&run);
    assert!(!content_rules(target(&report, "ami-0c0c0000000000a03")).is_empty());
    assert!(
        log.contains("ebs GetSnapshotBlock {\"BlockIndex\":\"0\""),
        "{log}"
    );
}

/// A refusal is recorded like an answer: the replay of a run whose listing was denied is denied too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_refusal_replays_as_the_same_refusal() {
    let server = contents_server().await;
    deny_listing(&server, "snap-0a1ba0d0e40000003").await;
    let dir = tempfile::tempdir().expect("temp dir");
    let recording = dir.path().join("recorded");
    let mut args = vec!["--record".to_string(), recording.display().to_string()];
    args.extend(image_args());
    let recorded = run_live(server.url(), args).await;
    assert_eq!(recorded.code, 3, "{}", recorded.stderr);
    let refusal: Value = serde_json::from_slice(
        &std::fs::read(recording.join("ebs/snap-0a1ba0d0e40000003/error.json"))
            .expect("error.json"),
    )
    .expect("JSON");
    assert_eq!(refusal["Action"], "ListSnapshotBlocks");
    assert_eq!(refusal["Status"], 403);
    assert_eq!(refusal["Code"], "AccessDeniedException");
    let replayed = replay_strict(&recording);
    assert_eq!(
        without_timing(parse_report(&replayed)),
        without_timing(parse_report(&recorded)),
        "{}",
        replayed.stderr
    );
}
