//! `emr-ami-audit releases`: the release table, run through the binary.

mod common;

use common::*;
use emr_ami_audit::release::{TABLE, table_end};

#[test]
fn releases_prints_every_row_with_its_sources() {
    let run = run(command().arg("releases"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    for row in TABLE {
        assert!(
            run.stdout
                .contains(&format!("{} – before {}", row.from, row.until)),
            "{} missing:\n{}",
            row.from,
            run.stdout
        );
        for source in row.sources {
            assert!(run.stdout.contains(source), "{source} missing");
        }
    }
    assert!(run.stdout.contains("Amazon Linux 2023"));
    assert!(
        run.stdout
            .contains(&format!("Releases from {} on", table_end()))
    );
}

#[test]
fn releases_as_json_gives_every_field() {
    let run = run(command().args(["--format", "json", "releases"]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let rows = json.as_array().expect("an array");
    assert_eq!(rows.len(), TABLE.len());
    let seven = rows
        .iter()
        .find(|r| r["from"] == "emr-7.0.0")
        .expect("a 7.x row");
    assert_eq!(seven["linux"], "AmazonLinux2023");
    assert_eq!(seven["kernel_lines"], serde_json::json!(["6.1"]));
    assert_eq!(seven["default_root_gib"], 15);
    assert_eq!(seven["graviton"], true);
    assert!(seven["sources"].as_array().is_some_and(|s| !s.is_empty()));
    let six_ten = rows
        .iter()
        .find(|r| r["from"] == "emr-6.10.0")
        .expect("the 6.10 row");
    assert_eq!(six_ten["default_root_gib"], 15);
}

/// The table is built in: no configuration file is read, no request is made.
#[test]
fn releases_needs_no_config_or_network() {
    let run = run(command().args(["--config", "/nonexistent/emr-ami-audit.toml", "releases"]));
    assert_eq!(run.code, 0, "{}", run.stderr);
}
