//! Helpers for end-to-end tests: run the real binary, hermetically, and check its JSON against the schema.
#![allow(dead_code)] // each test binary uses a different part

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const SCENARIO: &str = "mocks/image-factory";
pub const NOW: &str = "2026-11-25T12:00:00Z";
pub const LAUNCHER: &str = "444455556666";

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `ami-0ea000000000000NN`.
pub fn ami(n: u32) -> String {
    format!("ami-0ea000000000000{n:02}")
}

/// The binary with no AWS configuration from this machine: no profiles, no instance metadata.
pub fn command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_emr-ami-audit"));
    command.current_dir(repo());
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("AWS_") {
            command.env_remove(&key);
        }
    }
    command
        .env("AWS_CONFIG_FILE", "/nonexistent/emr-ami-audit-test/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/emr-ami-audit-test/credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1");
    command
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(command: &mut Command) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("the binary runs");
    Run {
        code: status.code().expect("exited, not killed"),
        stdout: String::from_utf8(stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(stderr).expect("utf-8 stderr"),
    }
}

/// Run with `--replay` on the shipped scenario.
pub fn replay(args: &[&str]) -> Run {
    run(command()
        .args(["--replay", SCENARIO, "--now", NOW])
        .args(args))
}

/// Run with `--format json` and return the exit code and the schema-checked report.
pub fn replay_json(args: &[&str]) -> (i32, Value) {
    let run = replay(&[&["--format", "json"], args].concat());
    let report = parse_report(&run);
    (run.code, report)
}

pub fn parse_report(run: &Run) -> Value {
    let report: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            run.stdout, run.stderr
        )
    });
    assert_valid_report(&report);
    report
}

pub fn assert_valid_report(report: &Value) {
    let schema_path = repo().join("schema/report.schema.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(&schema_path).expect("schema file"))
            .expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "report does not match the schema:\n{}",
        errors.join("\n")
    );
}

/// The report's target with this ID.
pub fn target<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["targets"]
        .as_array()
        .and_then(|targets| targets.iter().find(|t| t["id"] == id))
        .unwrap_or_else(|| panic!("no target {id} in report"))
}

/// `(rule, severity)` of a target's findings, sorted.
pub fn fired(target: &Value) -> Vec<(String, String)> {
    let mut fired: Vec<(String, String)> = target["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or_default().to_string(),
                f["severity"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    fired.sort();
    fired
}

/// The README's image-factory command: the 19 AMIs and a missing one, for emr-7.1.0 on m5.xlarge,
/// launched by `account`.
pub fn image_factory_args(account: &str) -> Vec<String> {
    let mut args: Vec<String> = vec!["image".into()];
    args.extend((1..=19).map(ami));
    args.extend(
        [
            "ami-0ea0000000000dead",
            "--release",
            "emr-7.1.0",
            "--instance-type",
            "m5.xlarge",
            "--account",
            account,
        ]
        .map(String::from),
    );
    args
}

/// `RULE:severity` of the findings of a target (or anything with `findings`), sorted.
pub fn rule_severities(owner: &Value) -> Vec<String> {
    let mut rules: Vec<String> = owner["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| {
            format!(
                "{}:{}",
                f["rule"].as_str().unwrap_or_default(),
                f["severity"].as_str().unwrap_or_default()
            )
        })
        .collect();
    rules.sort();
    rules
}

/// Fake credentials for live-mode runs against a loopback server; recordings must never contain them.
pub const LIVE_ACCESS_KEY: &str = "TESTACCESSKEYLIVE";
pub const LIVE_SECRET_KEY: &str = "test-secret-not-to-be-written";
pub const LIVE_SESSION_TOKEN: &str = "FAKESESSIONTOKENNOTTOBEWRITTEN";

/// Run the binary in live mode (credentials from the environment) against `url`, off the async
/// runtime's threads.
pub async fn run_live(url: String, args: Vec<String>) -> Run {
    tokio::task::spawn_blocking(move || {
        run(command()
            .env("AWS_ACCESS_KEY_ID", LIVE_ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", LIVE_SECRET_KEY)
            .env("AWS_SESSION_TOKEN", LIVE_SESSION_TOKEN)
            .env("AWS_REGION", "us-east-1")
            .args(["--endpoint-url", &url, "--now", NOW])
            .args(args))
    })
    .await
    .expect("test thread")
}

pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = items
        .iter()
        .map(|(r, s)| (r.to_string(), s.to_string()))
        .collect();
    pairs.sort();
    pairs
}

pub fn scenario_dir() -> &'static Path {
    Path::new(SCENARIO)
}

/// Longer than any bounded run takes, far shorter than a hang.
pub const KILL_AFTER: Duration = Duration::from_secs(20);

/// Run `command` with no stdin, failing the test (after killing it) if it is still running after
/// [`KILL_AFTER`]: a hang is a failure, not a stuck test run. Also how long it took.
pub fn run_within(command: &mut Command) -> (Run, Duration) {
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("piped stdout")));
    let err = drain(Box::new(child.stderr.take().expect("piped stderr")));
    let status = loop {
        if let Some(status) = child.try_wait().expect("waits") {
            break status;
        }
        if started.elapsed() > KILL_AFTER {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "still running after {KILL_AFTER:?}, killed: {command:?}\nstderr: {}",
                err.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = err.join().expect("stderr reader");
    let run = Run {
        code: status
            .code()
            .unwrap_or_else(|| panic!("killed by a signal: {status}\n{stderr}")),
        stdout: out.join().expect("stdout reader"),
        stderr,
    };
    (run, started.elapsed())
}

/// [`run_within`], without the time.
pub fn run_bounded(command: &mut Command) -> Run {
    run_within(command).0
}

/// Copy the folder `from` (a scenario, say) into `to`, created if missing, to change a file of it in a
/// test.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// `mock serve SCENARIO --port 0`, started: the child, the URL from its banner, and its stderr (the
/// rest of it: one line per request). Stop it with SIGINT.
pub fn mock_serve(
    scenario: &str,
) -> (
    std::process::Child,
    String,
    std::io::BufReader<std::process::ChildStderr>,
) {
    use std::io::BufRead;
    let mut child = command()
        .args(["mock", "serve", scenario, "--port", "0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut first = String::new();
    stderr.read_line(&mut first).expect("banner");
    let url = first
        .split(" on ")
        .nth(1)
        .and_then(|rest| rest.split(';').next())
        .expect("URL in the banner")
        .trim()
        .to_string();
    (child, url, stderr)
}

/// SIGINT to a `mock serve`, and its exit code.
pub fn stop(child: &mut std::process::Child) -> Option<i32> {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(status.success());
    child.wait().expect("exits").code()
}

/// The EMR action a request names (`X-Amz-Target: ElasticMapReduce.{Action}`), if any.
pub fn emr_action(request: &wiremock::Request) -> Option<&str> {
    request
        .headers
        .get("x-amz-target")?
        .to_str()
        .ok()?
        .strip_prefix("ElasticMapReduce.")
}

/// Whether `request` is the EMR `action` of `cluster`.
pub fn is_emr_call_of(request: &wiremock::Request, action: &str, cluster: &str) -> bool {
    emr_action(request) == Some(action) && String::from_utf8_lossy(&request.body).contains(cluster)
}

/// Scan (`cluster`, JSON, 4 calls in flight) with `cluster`'s ListInstanceGroups answered HTTP 500
/// every time (retried, then given up): the run, which must exit 3, its report, and the requests in the
/// order the server received them. Each failure takes a second to come, so the failing cluster's last
/// attempt is at least 4 s after its first whatever the retries' random backoffs draw (as little as
/// none): what the tests expect to happen meanwhile does not race them.
pub async fn scan_with_a_failing_cluster(
    server: &wiremock::MockServer,
    url: String,
    cluster: &str,
) -> (Run, Value, Vec<wiremock::Request>) {
    wiremock::Mock::given(wiremock::matchers::header(
        "x-amz-target",
        "ElasticMapReduce.ListInstanceGroups",
    ))
    .and(wiremock::matchers::body_string_contains(cluster))
    .respond_with(
        wiremock::ResponseTemplate::new(500)
            .set_body_raw(
                r#"{"__type":"InternalServerException","Message":"try later"}"#,
                "application/x-amz-json-1.1",
            )
            .set_delay(Duration::from_secs(1)),
    )
    .with_priority(1)
    .mount(server)
    .await;
    let args = ["--format", "json", "--concurrency", "4", "cluster"]
        .map(String::from)
        .to_vec();
    let run = run_live(url, args).await;
    let report = parse_report(&run);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let requests = server.received_requests().await.expect("recording on");
    (run, report, requests)
}
