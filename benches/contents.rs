//! `cargo bench --bench contents`: reading an AMI's files from its root snapshot through the EBS direct
//! APIs, at 50 ms of latency per request. For every snapshot recorded in `mocks/contents/ebs/`, the
//! release binary runs `inspect snap-…` against a replay server and prints the volume size, the blocks
//! written, the blocks fetched (GetSnapshotBlock calls) and the wall time. The targets: at most 64 blocks
//! (32 MiB) and 5 s per snapshot, whatever the volume size.
//!
//! `BENCH_LATENCY_MS=N` changes the latency; `BENCH_SNAPSHOTS=snap-a,snap-b` picks snapshots.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use emr_ami_audit::replay::{Faults, ReplayServer, Scenario};
use serde_json::Value;

const BLOCK_BUDGET: u64 = 64;
const TIME_BUDGET: Duration = Duration::from_secs(5);

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("mocks/contents");
    let latency = Duration::from_millis(
        std::env::var("BENCH_LATENCY_MS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(50),
    );
    let only = std::env::var("BENCH_SNAPSHOTS").unwrap_or_default();
    let scenario = Scenario::load(&dir).expect("mocks/contents loads");
    let snapshots: Vec<String> = scenario
        .snapshots
        .keys()
        .filter(|id| only.is_empty() || only.split(',').any(|o| o == id.as_str()))
        .cloned()
        .collect();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let faults = Faults {
        latency,
        rate: 0.0,
        seed: 0,
    };
    let server = runtime.block_on(ReplayServer::start_with_faults(scenario, faults));
    println!(
        "reading root snapshots through the EBS direct APIs, {} ms per request\n",
        latency.as_millis()
    );
    println!(
        "{:<24} {:>7} {:>8} {:>8} {:>9} {:>8} {:>6}  filesystem",
        "snapshot", "volume", "written", "fetched", "MiB", "wall", "read"
    );
    let mut worst_blocks = 0;
    let mut worst_time = Duration::ZERO;
    for id in &snapshots {
        let started = Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_emr-ami-audit"))
            .env("AWS_ACCESS_KEY_ID", "BENCHACCESSKEY")
            .env("AWS_SECRET_ACCESS_KEY", "bench-secret")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .args(["--endpoint-url", &server.url(), "--format", "json"])
            .args([
                "--fail-on",
                "never",
                "inspect",
                id,
                "--release",
                "emr-7.1.0",
            ])
            .stderr(Stdio::inherit())
            .output()
            .expect("run the binary");
        let elapsed = started.elapsed();
        let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
        let read = &report["targets"][0]["contents"];
        let fetched = read["blocks_fetched"].as_u64().unwrap_or(0);
        // Read: the filesystem was found and walked (a planted FIFO is a run error, not a failed read).
        let ok = read["error"].is_null() && read["filesystem"].is_string();
        worst_blocks = worst_blocks.max(fetched);
        worst_time = worst_time.max(elapsed);
        println!(
            "{:<24} {:>4} GiB {:>8} {:>8} {:>9.1} {:>7.2}s {:>6}  {}",
            id,
            read["volume_gib"].as_u64().unwrap_or(0),
            read["blocks_listed"].as_u64().unwrap_or(0),
            fetched,
            read["bytes_fetched"].as_u64().unwrap_or(0) as f64 / f64::from(1 << 20),
            elapsed.as_secs_f64(),
            if ok { "yes" } else { "NO" },
            read["filesystem"].as_str().unwrap_or("-"),
        );
    }
    println!(
        "\nmost blocks fetched for one snapshot: {worst_blocks} (budget {BLOCK_BUDGET}); longest: {:.2} s (budget {} s)",
        worst_time.as_secs_f64(),
        TIME_BUDGET.as_secs()
    );
    if worst_blocks > BLOCK_BUDGET || worst_time > TIME_BUDGET {
        println!("OVER BUDGET");
    }
}
