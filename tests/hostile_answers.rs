//! Broken AWS answers: a truncated body is a failed call ("not audited", exit 3), never a finding; an
//! error page becomes one short line, never the raw body or an SDK debug dump.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

/// A copy of the shipped scenario whose answer `file` is replaced by `body`, answered with `status`.
fn scenario_with(file: &str, body: &[u8], status: Option<u16>) -> tempfile::TempDir {
    scenario_of(SCENARIO, file, body, status)
}

/// A copy of scenario `base` whose answer `file` is replaced by `body`, answered with `status`.
fn scenario_of(base: &str, file: &str, body: &[u8], status: Option<u16>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&repo().join(base), dir.path());
    std::fs::write(dir.path().join(file), body).expect("write answer");
    if let Some(status) = status {
        let index = dir.path().join("exchanges.json");
        let mut scenario: Value =
            serde_json::from_slice(&std::fs::read(&index).expect("index")).expect("json");
        for exchange in scenario["exchanges"].as_array_mut().into_iter().flatten() {
            if exchange["response"] == file {
                exchange["status"] = status.into();
            }
        }
        std::fs::write(&index, serde_json::to_vec(&scenario).expect("json")).expect("write");
    }
    dir
}

fn audit(scenario: &Path, image: &str) -> (Run, Value) {
    let run = run(command().args([
        "--replay",
        &scenario.display().to_string(),
        "--now",
        NOW,
        "--format",
        "json",
        "image",
        image,
        "--release",
        "emr-6.15.0",
    ]));
    let report = parse_report(&run);
    (run, report)
}

const ANSWER: &str = "ec2/DescribeImages.ami-0ea00000000000002.xml";

#[test]
fn a_truncated_answer_is_not_audited_never_a_finding() {
    let whole = std::fs::read(repo().join(SCENARIO).join(ANSWER)).expect("answer");
    // Cut inside the image's record, and just before the root element closes.
    for cut in [whole.len() / 2, whole.len() - 12] {
        let dir = scenario_with(ANSWER, &whole[..cut], None);
        let (run, report) = audit(dir.path(), &ami(2));
        assert_eq!(run.code, 3, "cut at {cut}: {}", run.stderr);
        let target = target(&report, &ami(2));
        assert_eq!(target["status"], "not_audited", "{target}");
        assert!(
            target["findings"].as_array().is_none_or(Vec::is_empty),
            "no finding from a broken answer: {target}"
        );
        let error = target["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("malformed response to ec2:DescribeImages (HTTP 200"),
            "{error}"
        );
    }
    // The whole answer audits.
    let dir = scenario_with(ANSWER, &whole, None);
    let (_, report) = audit(dir.path(), &ami(2));
    assert_eq!(target(&report, &ami(2))["status"], "audited");
}

#[test]
fn an_error_page_is_one_short_line() {
    let mut page = b"<html><head><title>502 Bad Gateway</title></head><body>\n".to_vec();
    page.extend(std::iter::repeat_n(b"\x1b]0;owned\x07 junk junk\n".as_slice(), 50_000).flatten());
    page.extend(b"</body></html>");
    let dir = scenario_with(ANSWER, &page, Some(502));
    let (run, report) = audit(dir.path(), &ami(2));
    assert_eq!(run.code, 3, "{}", run.stderr);
    let target = target(&report, &ami(2));
    assert_eq!(target["status"], "not_audited");
    let error = target["error"].as_str().unwrap_or_default();
    assert!(error.contains("ec2:DescribeImages failed"), "{error}");
    assert!(error.contains("HTTP 502"), "{error}");
    assert!(error.len() < 500, "cut short: {} bytes", error.len());
    assert!(
        !error.contains('\n') && !error.contains('\u{1b}'),
        "{error:?}"
    );
    for dump in ["<html", "ServiceError", "Unhandled", "junk junk"] {
        assert!(!error.contains(dump), "{dump} in {error}");
        assert!(!run.stderr.contains(dump), "{dump} in stderr");
    }
}

/// A cluster name with escape sequences and a newline (anyone who can launch a cluster can write it).
const HOSTILE_NAME: &str = "etl\u{1b}]0;owned\u{7}\u{1b}[2J\nEA000 error forged line";

#[test]
fn names_from_aws_are_shown_not_obeyed() {
    const CLUSTER: &str = "j-1CLEANETL0001";
    let file = format!("emr/DescribeCluster.{CLUSTER}.json");
    let whole =
        std::fs::read_to_string(repo().join("mocks/emr-clusters").join(&file)).expect("answer");
    let escaped = serde_json::to_string(HOSTILE_NAME).expect("json string");
    let hostile = whole.replacen(
        "\"Name\":\"etl-nightly\"",
        &format!("\"Name\":{escaped}"),
        1,
    );
    assert_ne!(hostile, whole, "the fixture holds the name");
    let dir = scenario_of("mocks/emr-clusters", &file, hostile.as_bytes(), None);
    let scenario = dir.path().display().to_string();
    let render = |format: &str| {
        run(command().args([
            "--replay", &scenario, "--now", NOW, "--format", format, "cluster", CLUSTER,
        ]))
    };
    // Markdown also escapes its own punctuation, and makes line breaks spaces.
    for (format, shown) in [
        ("table", "etl\\e]0;owned\\x07\\e[2J\\nEA000"),
        ("markdown", "etl\\e\\]0;owned\\x07\\e\\[2J EA000"),
    ] {
        let run = render(format);
        assert_ne!(run.code, 2, "{format}: {}", run.stderr);
        assert!(
            !run.stdout.contains('\u{1b}') && !run.stdout.contains('\u{7}'),
            "{format}: raw control characters reach the terminal"
        );
        assert!(
            !run.stdout.lines().any(|l| l.starts_with("EA000")),
            "{format}: a forged line:\n{}",
            run.stdout
        );
        assert!(
            run.stdout.contains(shown),
            "{format}: the name is shown escaped:\n{}",
            run.stdout
        );
    }
    // JSON keeps the exact value, escaped by the serializer.
    let report = parse_report(&render("json"));
    assert_eq!(target(&report, CLUSTER)["name"], HOSTILE_NAME);
}

#[test]
fn command_line_values_are_shown_not_obeyed_on_stderr() {
    let run = run(command().args([
        "--replay",
        SCENARIO,
        "image",
        "ami-\u{1b}]0;owned\u{7}",
        "--release",
        "emr-6.15.0",
    ]));
    assert_eq!(run.code, 2);
    assert!(!run.stderr.contains('\u{1b}'), "{:?}", run.stderr);
    assert!(
        run.stderr.contains("ami-\\e]0;owned\\x07"),
        "{}",
        run.stderr
    );
}

/// An endpoint that never answers: `--timeout` ends the run with what it has, each target "not audited:
/// deadline reached", instead of waiting out every call's own timeouts one after another.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_ends_a_run_against_a_silent_endpoint() {
    let server = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(
            wiremock::ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(600)),
        )
        .mount(&server)
        .await;
    // 250 AMIs: three DescribeImages batches.
    let mut args: Vec<String> = ["--timeout", "2s", "--format", "json", "image"]
        .map(String::from)
        .to_vec();
    args.extend((1..=250).map(|n| format!("ami-0ea{n:014}")));
    args.extend(["--release".to_string(), "emr-7.1.0".to_string()]);
    let started = std::time::Instant::now();
    let run = run_live(server.uri(), args).await;
    let elapsed = started.elapsed();
    assert_eq!(run.code, 3, "{}", run.stderr);
    // A bound against hanging, far above the 2 s asked for, far below the calls' own timeouts (120 s).
    assert!(elapsed.as_secs() < 60, "took {elapsed:?}");
    let report = parse_report(&run);
    let targets = report["targets"].as_array().expect("targets");
    assert_eq!(targets.len(), 250);
    for target in targets {
        assert_eq!(target["status"], "not_audited");
        assert!(
            target["error"]
                .as_str()
                .is_some_and(|e| e.contains("deadline reached")),
            "{target}"
        );
    }
}

/// An endpoint that answers with more than any AWS answer holds: the call fails once the cap is read,
/// naming it, instead of the whole body being held in memory and quoted in the report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_answer_is_refused_at_the_cap() {
    let server = wiremock::MockServer::start().await;
    let huge = vec![b'x'; 80 << 20];
    wiremock::Mock::given(wiremock::matchers::any())
        .respond_with(wiremock::ResponseTemplate::new(500).set_body_bytes(huge))
        .mount(&server)
        .await;
    let args = ["--max-attempts", "1", "--format", "json", "image", &ami(2)]
        .iter()
        .chain(&["--release", "emr-7.1.0"])
        .map(|a| a.to_string())
        .collect();
    let run = run_live(server.uri(), args).await;
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        run.stdout.len() < 100_000,
        "report of {} bytes",
        run.stdout.len()
    );
    let report = parse_report(&run);
    let error = target(&report, &ami(2))["error"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        error.contains("ResponseTooLarge") && error.contains("larger than 64 MiB"),
        "{error}"
    );
}
