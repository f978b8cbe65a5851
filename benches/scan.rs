//! Benchmark: a synthetic account in the replay format — clusters on instance groups and fleets, 200
//! custom AMIs, 40 instance types, 4 releases, 20 VPCs — served with 50 ms of latency per request, and
//! scanned by the release binary with the default budget of calls in flight, in four cases: (a) clean;
//! (b) against EMR-like rate limits (a token bucket per action, 10 requests/s sustained, burst 20;
//! throttled requests get EMR's ThrottlingException JSON or EC2's RequestLimitExceeded XML); (b′) 30% of
//! requests faulted at random (throttling, 500s, dropped connections); (c) one cluster's
//! ListInstanceGroups and every GetImageAncestry failing every time. Prints wall time against the ideal,
//! calls per action against the floor, and peak memory. `cargo bench --bench scan` (add `-- 5000` for
//! other sizes, of the clean case; `BENCH_CASES=b′,d` for some cases only; `BENCH_LOG=FILE` to keep the
//! tool's `-vv` log; `BENCH_WRAP="heaptrack -o FILE"` to run it under a profiler).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use emr_ami_audit::replay::{Faults, ReplayServer, Scenario};
use serde_json::{Value, json};

#[path = "../tests/synthetic/mod.rs"]
mod synthetic;

use synthetic::{Writer, ec2, generate};

const LATENCY: Duration = Duration::from_millis(50);
const DEFAULT_CONCURRENCY: usize = 16;
/// EMR-like limits of case (b): requests a second per action, sustained, and the burst.
const LIMIT_RATE: f64 = 10.0;
const LIMIT_BURST: f64 = 20.0;
/// Case (d)'s organization: accounts, regions enabled in each, and one cluster in this share of the
/// account × region scopes.
const ORG_ACCOUNTS: usize = 1000;
const ORG_REGIONS: [&str; 17] = [
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "ca-central-1",
    "sa-east-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "ap-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-southeast-1",
    "ap-southeast-2",
];
const ORG_BUSY_SHARE: f64 = 0.03;
const ORG_CONCURRENCY: usize = 64;
const ORG_ROLE: &str = "arn:aws:iam::{account}:role/emr-ami-audit";

fn org_account(n: usize) -> String {
    format!("{:012}", 100_000_000_000u64 + n as u64)
}

/// Write case (d)'s organization; returns the floor of calls per action. Organizations lists the
/// accounts 20 a page (its maximum); each account's role is assumed, asked who it is and which regions
/// it has; each region is one ListClusters call, empty but in [`ORG_BUSY_SHARE`] of them, which hold
/// one cluster on the EMR default AMI (DescribeCluster and ListInstanceGroups, nothing to look up).
fn generate_organization(dir: &Path) -> BTreeMap<String, u64> {
    let mut w = Writer {
        dir: dir.to_path_buf(),
        exchanges: Vec::new(),
    };
    let mut floor: BTreeMap<String, u64> = BTreeMap::new();
    let mut count =
        |action: &str, n: usize| *floor.entry(action.to_string()).or_default() += n as u64;
    let accounts: Vec<String> = (0..ORG_ACCOUNTS).map(org_account).collect();
    let pages: Vec<&[String]> = accounts.chunks(20).collect();
    for (p, page) in pages.iter().enumerate() {
        let listed: Vec<Value> = page
            .iter()
            .map(|id| json!({"Id": id, "Name": format!("member-{id}"), "State": "ACTIVE", "Arn": format!("arn:aws:organizations::999988887777:account/o-bench/{id}")}))
            .collect();
        let mut body = json!({"Accounts": listed});
        if p + 1 < pages.len() {
            body["NextToken"] = json!(format!("page-{}", p + 1));
        }
        let params = if p > 0 {
            json!({"NextToken": format!("page-{p}")})
        } else {
            json!({})
        };
        w.add("organizations", "ListAccounts", params, body.to_string());
    }
    count("organizations:ListAccounts", pages.len());
    let regions: String = ORG_REGIONS
        .iter()
        .map(|r| format!("<item><regionName>{r}</regionName><regionEndpoint>ec2.{r}.amazonaws.com</regionEndpoint><optInStatus>opt-in-not-required</optInStatus></item>"))
        .collect();
    w.add(
        "ec2",
        "DescribeRegions",
        json!({}),
        ec2("DescribeRegions", "regionInfo", &regions),
    );
    w.add(
        "emr",
        "ListClusters",
        json!({"ClusterStates": ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"]}),
        json!({"Clusters": []}).to_string(),
    );
    w.add("sts", "GetCallerIdentity", json!({}), 
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:iam::999988887777:role/auditor</Arn><UserId>AROAAUDITOR:ci</UserId><Account>999988887777</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></GetCallerIdentityResponse>".to_string());
    let mut busy = 0usize;
    for (n, account) in accounts.iter().enumerate() {
        let key = format!("ASIA{n:016}");
        w.add("sts", "AssumeRole", json!({"RoleArn": ORG_ROLE.replace("{account}", account), "RoleSessionName": "emr-ami-audit"}), format!(
            "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><AssumedRoleUser><AssumedRoleId>AROABENCH:emr-ami-audit</AssumedRoleId><Arn>arn:aws:sts::{account}:assumed-role/emr-ami-audit/emr-ami-audit</Arn></AssumedRoleUser><Credentials><AccessKeyId>{key}</AccessKeyId><SecretAccessKey>bench-secret-{n}</SecretAccessKey><SessionToken>bench-token-{n}</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult><ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></AssumeRoleResponse>"));
        w.add_scoped("sts", "GetCallerIdentity", json!({}), format!(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Arn>arn:aws:sts::{account}:assumed-role/emr-ami-audit/emr-ami-audit</Arn><UserId>AROABENCH:emr-ami-audit</UserId><Account>{account}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></GetCallerIdentityResponse>"),
            Some(account), None);
        for (r, region) in ORG_REGIONS.iter().enumerate() {
            // Spread evenly: every scope whose running share crosses a whole cluster holds one.
            let scope = n * ORG_REGIONS.len() + r;
            if ((scope + 1) as f64 * ORG_BUSY_SHARE).floor()
                <= (scope as f64 * ORG_BUSY_SHARE).floor()
            {
                continue;
            }
            busy += 1;
            let id = format!("j-ORG{busy:09}");
            w.add_scoped(
                "emr",
                "ListClusters",
                json!({"ClusterStates": ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"]}),
                json!({"Clusters": [{"Id": id, "Name": id, "Status": {"State": "WAITING"}}]})
                    .to_string(),
                Some(account),
                Some(region),
            );
            w.add_scoped(
                "emr",
                "DescribeCluster",
                json!({"ClusterId": id}),
                json!({"Cluster": {"Id": id, "Name": id, "Status": {"State": "WAITING"},
                    "InstanceCollectionType": "INSTANCE_GROUP", "ReleaseLabel": "emr-6.15.0",
                    "Applications": [{"Name": "Spark"}], "Ec2InstanceAttributes": {}}})
                .to_string(),
                Some(account),
                Some(region),
            );
            w.add_scoped("emr", "ListInstanceGroups", json!({"ClusterId": id}),
                json!({"InstanceGroups": [{"Id": format!("ig-{busy:011}"), "Name": "Primary", "InstanceGroupType": "MASTER", "InstanceType": "m5.xlarge"}]}).to_string(),
                Some(account), Some(region));
        }
    }
    count("sts:AssumeRole", ORG_ACCOUNTS);
    count("sts:GetCallerIdentity", ORG_ACCOUNTS);
    count("ec2:DescribeRegions", ORG_ACCOUNTS);
    count("emr:ListClusters", ORG_ACCOUNTS * ORG_REGIONS.len());
    count("emr:DescribeCluster", busy);
    count("emr:ListInstanceGroups", busy);
    w.finish("us-east-1");
    floor
}

/// What a scan gave: wall time, the report's calls per action, peak RSS in KiB, and the targets not
/// audited.
struct Scanned {
    elapsed: Duration,
    calls: BTreeMap<String, u64>,
    peak_kib: u64,
    not_audited: usize,
    /// Run errors: scopes (accounts, regions) not audited.
    errors: usize,
    /// The report's targets, to compare with the clean case's.
    targets: Value,
}

/// Run the scan, with `args` before the command.
fn scan(url: &str, concurrency: usize, args: &[&str]) -> Scanned {
    let started = Instant::now();
    // BENCH_WRAP="heaptrack -o FILE" runs the binary under a profiler (its peak RSS is then theirs).
    let wrap = std::env::var("BENCH_WRAP").unwrap_or_default();
    let mut wrap = wrap.split_whitespace();
    let mut child = match wrap.next() {
        Some(program) => {
            let mut command = Command::new(program);
            command.args(wrap).arg(env!("CARGO_BIN_EXE_emr-ami-audit"));
            command
        }
        None => Command::new(env!("CARGO_BIN_EXE_emr-ami-audit")),
    };
    let mut child = child
        .env("AWS_ACCESS_KEY_ID", "BENCHACCESSKEY")
        .env("AWS_SECRET_ACCESS_KEY", "bench-secret")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
        .args([
            "--endpoint-url",
            url,
            "--format",
            "json",
            "--fail-on",
            "never",
            "--concurrency",
            &concurrency.to_string(),
        ])
        .args(args)
        .args(std::env::var("BENCH_LOG").map(|_| "-vv"))
        .arg("cluster")
        .stdout(Stdio::piped())
        .stderr(match std::env::var("BENCH_LOG") {
            Ok(path) => Stdio::from(std::fs::File::create(path).expect("log file")),
            Err(_) => Stdio::inherit(),
        })
        .spawn()
        .expect("run the binary");
    // Peak RSS: the kernel's high-water mark, read while the process lives.
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    let stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::BufReader::new(stdout), &mut text).map(|_| text)
    });
    while child.try_wait().expect("wait").is_none() {
        if let Ok(status) = std::fs::read_to_string(&status_path)
            && let Some(line) = status.lines().find(|l| l.starts_with("VmHWM:"))
        {
            let kib: u64 = line
                .split_whitespace()
                .nth(1)
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            peak_kib = peak_kib.max(kib);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = started.elapsed();
    let text = reader.join().expect("reader").expect("stdout text");
    let report: Value = serde_json::from_str(&text).expect("JSON report");
    let calls = report["stats"]["api_calls"]
        .as_object()
        .expect("api_calls")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_u64().unwrap_or(0)))
        .collect();
    let not_audited = report["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["status"] != "audited")
        .count();
    let errors = report["errors"].as_array().map_or(0, Vec::len);
    let targets = report["targets"].clone();
    Scanned {
        elapsed,
        calls,
        peak_kib,
        not_audited,
        errors,
        targets,
    }
}

/// Case (b)'s server-side limits: a token bucket per action. As a wiremock matcher that matches (so its
/// mock answers with throttling) when the action's bucket is empty.
#[derive(Clone, Default)]
struct RateLimits(Arc<Mutex<Limits>>);

#[derive(Default)]
struct Limits {
    buckets: BTreeMap<String, (f64, Option<Instant>)>,
    allowed: u64,
    throttled: u64,
    first: Option<Instant>,
    last: Option<Instant>,
    /// Allowed requests per action.
    per_action: BTreeMap<String, u64>,
}

impl wiremock::Match for RateLimits {
    fn matches(&self, request: &wiremock::Request) -> bool {
        let Ok(key) = emr_ami_audit::replay::identify(request) else {
            return false;
        };
        let now = Instant::now();
        let mut limits = self.0.lock().unwrap_or_else(|e| e.into_inner());
        limits.first.get_or_insert(now);
        limits.last = Some(now);
        let action = format!("{}:{}", key.service, key.action);
        let (tokens, refilled) = limits
            .buckets
            .entry(action.clone())
            .or_insert((LIMIT_BURST, None));
        if let Some(at) = refilled {
            *tokens = (*tokens + (now - *at).as_secs_f64() * LIMIT_RATE).min(LIMIT_BURST);
        }
        *refilled = Some(now);
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            limits.allowed += 1;
            *limits.per_action.entry(action).or_default() += 1;
            false
        } else {
            limits.throttled += 1;
            true
        }
    }
}

/// A throttling answer in the request's service's format.
struct Throttle;

impl wiremock::Respond for Throttle {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let service = emr_ami_audit::replay::identify(request)
            .map(|k| k.service)
            .unwrap_or_default();
        match service.as_str() {
            "emr" => error_answer("emr", 400, "ThrottlingException", "Rate exceeded"),
            _ => error_answer(
                "ec2",
                503,
                "RequestLimitExceeded",
                "Request limit exceeded.",
            ),
        }
    }
}

/// An error answer in the service's own format (EMR's JSON, EC2's XML), after the latency.
fn error_answer(
    service: &str,
    status: u16,
    code: &str,
    message: &str,
) -> wiremock::ResponseTemplate {
    let template = if service == "emr" {
        wiremock::ResponseTemplate::new(status).set_body_raw(
            json!({"__type": code, "message": message}).to_string(),
            "application/x-amz-json-1.1",
        )
    } else {
        wiremock::ResponseTemplate::new(status).set_body_raw(
            format!("<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors><RequestID>bench</RequestID></Response>"),
            "text/xml",
        )
    };
    template.set_delay(LATENCY)
}

/// A server error every time.
fn failing(service: &str) -> wiremock::ResponseTemplate {
    match service {
        "emr" => error_answer("emr", 500, "InternalServerException", "try later"),
        _ => error_answer(
            "ec2",
            500,
            "InternalError",
            "We encountered an internal error.",
        ),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Case {
    Clean,
    RateLimited,
    RandomFaults,
    Failing,
    Organization,
}

impl Case {
    fn title(self) -> &'static str {
        match self {
            Case::Clean => "(a) clean",
            Case::RateLimited => "(b) EMR-like rate limits: 10 requests/s per action, burst 20",
            Case::RandomFaults => "(b′) 30% of requests faulted at random, --max-attempts 10",
            Case::Failing => {
                "(c) one cluster's ListInstanceGroups and every GetImageAncestry failing every time"
            }
            Case::Organization => {
                "(d) an organization: 1,000 accounts × 17 regions, a cluster in 3% of the regions"
            }
        }
    }
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    // BENCH_CASES=a,c,d runs only those cases.
    let only = std::env::var("BENCH_CASES").unwrap_or_default();
    let runs: Vec<(usize, Case)> = if sizes.is_empty() {
        [
            ("a", 1000, Case::Clean),
            ("b", 1000, Case::RateLimited),
            ("b′", 1000, Case::RandomFaults),
            ("c", 1000, Case::Failing),
            ("d", 0, Case::Organization),
        ]
        .into_iter()
        .filter(|(name, _, _)| only.is_empty() || only.split(',').any(|o| o == *name))
        .map(|(_, n, case)| (n, case))
        .collect()
    } else {
        sizes.iter().map(|n| (*n, Case::Clean)).collect()
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let mut clean_targets: Option<Value> = None;
    for (clusters, case) in runs {
        let dir = tempfile::tempdir().expect("temp dir");
        let (floor, concurrency, args) = if case == Case::Organization {
            let args = vec!["--accounts", "org", "--role-arn", ORG_ROLE, "--all-regions"];
            (generate_organization(dir.path()), ORG_CONCURRENCY, args)
        } else if case == Case::RandomFaults {
            // Enough attempts that no call fails all of them (0.3¹⁰ a call): the report must be the
            // clean one, and the time is what the faults cost.
            let args = vec!["--max-attempts", "10"];
            (generate(dir.path(), clusters), DEFAULT_CONCURRENCY, args)
        } else {
            (generate(dir.path(), clusters), DEFAULT_CONCURRENCY, vec![])
        };
        let clusters = floor
            .get("emr:DescribeCluster")
            .copied()
            .unwrap_or_default();
        let scenario = Scenario::load(dir.path()).expect("generated scenario loads");
        let faults = Faults {
            latency: LATENCY,
            rate: if case == Case::RandomFaults { 0.3 } else { 0.0 },
            seed: 7,
        };
        let server = runtime.block_on(ReplayServer::start_with_faults(scenario, faults));
        let limits = RateLimits::default();
        runtime.block_on(async {
            match case {
                Case::RateLimited => {
                    wiremock::Mock::given(limits.clone())
                        .respond_with(Throttle)
                        .with_priority(1)
                        .mount(server.mock_server())
                        .await
                }
                Case::Failing => {
                    wiremock::Mock::given(wiremock::matchers::header(
                        "x-amz-target",
                        "ElasticMapReduce.ListInstanceGroups",
                    ))
                    .and(wiremock::matchers::body_string_contains("j-BENCH00000000"))
                    .respond_with(failing("emr"))
                    .with_priority(1)
                    .mount(server.mock_server())
                    .await;
                    wiremock::Mock::given(wiremock::matchers::body_string_contains(
                        "Action=GetImageAncestry&",
                    ))
                    .respond_with(failing("ec2"))
                    .with_priority(1)
                    .mount(server.mock_server())
                    .await;
                }
                _ => {}
            }
        });
        let Scanned {
            elapsed,
            calls,
            peak_kib,
            not_audited,
            errors,
            targets,
        } = scan(&server.url(), concurrency, &args);
        let requests = runtime
            .block_on(server.mock_server().received_requests())
            .map_or(0, |r| r.len());
        let log = server.log();
        let total: u64 = calls.values().sum();
        let ideal = LATENCY.as_secs_f64() * total as f64 / concurrency as f64;
        println!(
            "== {clusters} clusters, {}; --concurrency {concurrency}, {} ms latency",
            case.title(),
            LATENCY.as_millis()
        );
        println!(
            "wall time      {:.1} s   (calls × latency ÷ calls in flight = {ideal:.1} s, ratio {:.2})",
            elapsed.as_secs_f64(),
            elapsed.as_secs_f64() / ideal
        );
        println!(
            "API calls      {total}   (floor {}; at the floor: {}); requests at the server {}",
            floor.values().sum::<u64>(),
            calls == floor,
            requests + log.dropped as usize
        );
        println!("not audited    {not_audited} of {clusters} clusters; {errors} run errors");
        match (&clean_targets, case) {
            (_, Case::Clean) => clean_targets = Some(targets),
            (_, Case::Organization) => {}
            (Some(clean), _) => println!(
                "report         {} the clean one",
                if *clean == targets {
                    "identical to"
                } else {
                    "differs from"
                }
            ),
            (None, _) => {}
        }
        for (action, n) in &calls {
            println!(
                "  {action:<34} {n:>6}   floor {:>6}",
                floor.get(action).copied().unwrap_or(0)
            );
        }
        match case {
            Case::RateLimited => {
                let limits = limits.0.lock().unwrap_or_else(|e| e.into_inner());
                let seen = limits.allowed + limits.throttled;
                let span = match (limits.first, limits.last) {
                    (Some(first), Some(last)) => (last - first).as_secs_f64(),
                    _ => 0.0,
                };
                let busiest = limits
                    .per_action
                    .iter()
                    .max_by_key(|(_, n)| **n)
                    .map(|(a, n)| (a.clone(), *n))
                    .unwrap_or_default();
                // The fastest a scan can go: the busiest action's calls beyond the burst at the rate.
                let limit_floor = (busiest.1 as f64 - LIMIT_BURST).max(0.0) / LIMIT_RATE;
                println!(
                    "throttled      {} of {seen} requests ({:.1}%)",
                    limits.throttled,
                    100.0 * limits.throttled as f64 / seen.max(1) as f64
                );
                println!(
                    "sustained      {} at {:.1} requests/s allowed over {span:.1} s (limit {LIMIT_RATE}/s; its floor for the scan {limit_floor:.1} s)",
                    busiest.0,
                    busiest.1 as f64 / span.max(1e-9),
                );
            }
            Case::RandomFaults => println!(
                "faulted        {} answered with errors, {} connections dropped, of {} requests",
                log.faults,
                log.dropped,
                requests + log.dropped as usize
            ),
            _ => {}
        }
        println!("peak RSS       {:.1} MiB", peak_kib as f64 / 1024.0);
        drop(server);
    }
}
