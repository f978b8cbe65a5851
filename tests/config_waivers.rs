//! `emr-ami-audit.toml`: defaults, severities, waivers (with expiry and unmatched ones), bad config, init.

mod common;

use common::*;
use serde_json::Value;

fn with_config(text: &str, args: &[&str]) -> (i32, Value, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("emr-ami-audit.toml");
    std::fs::write(&path, text).expect("write config");
    let run = run(command()
        .args([
            "--replay",
            SCENARIO,
            "--now",
            NOW,
            "--format",
            "json",
            "--config",
            &path.display().to_string(),
        ])
        .args(args));
    let report = if run.code == 2 {
        Value::Null
    } else {
        parse_report(&run)
    };
    (run.code, report, run.stderr)
}

fn findings(report: &Value, id: &str) -> Vec<Value> {
    target(report, id)["findings"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn defaults_fill_what_the_command_line_leaves_out() {
    let config =
        "[defaults]\nrelease = \"emr-5.29.0\"\naccount = \"444455556666\"\nmax_age_days = 3650\n";
    let (code, report, _) = with_config(config, &["image", &ami(10)]);
    assert_eq!(code, 1);
    assert_eq!(
        target(&report, &ami(10))["context"]["release"],
        "emr-5.29.0"
    );
    assert_eq!(
        fired(target(&report, &ami(10))),
        pairs(&[("EA017", "error"), ("EA042", "warning")])
    );
    // Not too old for a 3650-day limit, but a newer Amazon Linux AMI of its family exists.
    let stale = findings(&report, &ami(10))
        .into_iter()
        .find(|f| f["rule"] == "EA042")
        .expect("EA042");
    assert_eq!(stale["evidence"]["MaxAgeDays"], "3650");
    assert!(
        stale["message"]
            .as_str()
            .is_some_and(|m| !m.contains("days ago") && m.contains("is not the newest")),
        "{stale}"
    );
    // The command line wins.
    let (_, report, _) = with_config(config, &["image", &ami(2), "--release", "emr-6.15.0"]);
    assert_eq!(target(&report, &ami(2))["context"]["release"], "emr-6.15.0");
}

#[test]
fn severity_overrides_and_off() {
    let config = "[defaults]\naccount = \"444455556666\"\n[severity]\nEA033 = \"off\"\nEA017 = \"warning\"\n";
    let (code, report, _) = with_config(config, &["image", &ami(10), "--release", "emr-5.29.0"]);
    assert_eq!(code, 0, "EA017 is only a warning now");
    assert_eq!(
        fired(target(&report, &ami(10))),
        pairs(&[("EA017", "warning"), ("EA042", "warning")])
    );
}

#[test]
fn a_waiver_suppresses_and_stays_visible() {
    let config = "[[waiver]]\nrule = \"EA017\"\ntarget = \"ami-0ea0000000000001?\"\nreason = \"legacy ETL, retired in Q1\"\nexpires = \"2027-03-31\"\n\n\
                  [[waiver]]\nrule = \"EA031\"\ntarget = \"ami-ffff*\"\nreason = \"nothing matches this\"\n";
    let (code, report, _) = with_config(
        config,
        &[
            "image",
            &ami(10),
            "--release",
            "emr-5.29.0",
            "--account",
            LAUNCHER,
        ],
    );
    assert_eq!(code, 0, "the only error is waived");
    let ea017: Vec<Value> = findings(&report, &ami(10))
        .into_iter()
        .filter(|f| f["rule"] == "EA017")
        .collect();
    assert_eq!(
        ea017[0]["suppressed"]["reason"],
        "legacy ETL, retired in Q1"
    );
    assert_eq!(report["summary"]["suppressed"], 1);
    assert_eq!(report["summary"]["error"], 0);
    let waivers = report["waivers"].as_array().expect("waivers");
    assert_eq!(waivers[0]["status"], "applied");
    assert_eq!(waivers[0]["matched"], 1);
    assert_eq!(waivers[1]["status"], "unmatched");

    let table = run(command()
        .args(["--replay", SCENARIO, "--now", NOW])
        .args(["--config", &write_temp(config)])
        .args([
            "image",
            &ami(10),
            "--release",
            "emr-5.29.0",
            "--account",
            LAUNCHER,
        ]));
    assert!(
        table
            .stdout
            .contains("waiver of EA031 on ami-ffff*: matched no finding"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("1 waived"), "{}", table.stdout);
    assert!(
        !table.stdout.contains("EA017 ┆"),
        "waived findings are not in the table"
    );
}

fn write_temp(text: &str) -> String {
    let path = std::env::temp_dir().join(format!("emr-ami-audit-test-{}.toml", std::process::id()));
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

#[test]
fn an_expired_waiver_stops_waiving_and_says_so() {
    let config = "[[waiver]]\nrule = \"EA017\"\ntarget = \"ami-0ea00000000000010\"\nreason = \"until the migration\"\nexpires = \"2026-01-31\"\n";
    // NOW is 2026-11-25: expired.
    let (code, report, _) = with_config(
        config,
        &[
            "image",
            &ami(10),
            "--release",
            "emr-5.29.0",
            "--account",
            LAUNCHER,
        ],
    );
    assert_eq!(code, 1);
    let ea017: Vec<Value> = findings(&report, &ami(10))
        .into_iter()
        .filter(|f| f["rule"] == "EA017")
        .collect();
    assert!(ea017[0].get("suppressed").is_none());
    assert!(
        ea017[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("expired on 2026-01-31")),
        "{}",
        ea017[0]
    );
    assert_eq!(report["waivers"][0]["status"], "expired");
}

#[test]
fn a_bad_config_exits_2_with_its_line() {
    let (code, _, stderr) = with_config(
        "[defaults]\nrelease = \"emr-7.1.0\"\n\n[[waiver]]\nrule = \"EA031\"\ntarget = \"ami-1\"\n",
        &["image", &ami(1)],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("emr-ami-audit.toml:4: missing field `reason`"),
        "{stderr}"
    );
    assert_eq!(stderr.trim_end().lines().count(), 1);
}

#[test]
fn init_writes_a_template_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("emr-ami-audit.toml");
    let first = run(command().args(["init", "--path", &path.display().to_string()]));
    assert_eq!(first.code, 0, "{}", first.stderr);
    let text = std::fs::read_to_string(&path).expect("written");
    assert!(text.contains("[[waiver]]") && text.contains("[severity]"));
    let again = run(command().args(["init", "--path", &path.display().to_string()]));
    assert_eq!(again.code, 2);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    // The template is a valid (empty) configuration.
    let check = run(command().args([
        "--replay",
        SCENARIO,
        "--config",
        &path.display().to_string(),
        "image",
        &ami(2),
        "--release",
        "emr-6.15.0",
        "--account",
        LAUNCHER,
    ]));
    assert_eq!(check.code, 0, "{}", check.stderr);
}
