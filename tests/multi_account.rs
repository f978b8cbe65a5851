//! End-to-end: several accounts (assumed roles) and regions in one run, against `mocks/multi-account`.

mod common;

use common::*;
use serde_json::{Value, json};

const MULTI: &str = "mocks/multi-account";
const ROLE: &str = "arn:aws:iam::{account}:role/emr-ami-audit";

fn multi(extra: &[&str], format: &str) -> Run {
    run(command()
        .args(["--replay", MULTI, "--now", NOW, "--format", format])
        .args(["--role-arn", ROLE, "--external-id", "audit-2026"])
        .args(extra))
}

fn json_run(extra: &[&str]) -> (i32, Value) {
    let run = multi(extra, "json");
    (run.code, parse_report(&run))
}

/// (cluster, region, account) of every target.
fn placed(report: &Value) -> Vec<(String, String, String)> {
    report["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (
                text(&t["id"]),
                text(&t["region"]),
                text(&t["context"]["account"]),
            )
        })
        .collect()
}

const THREE_ACCOUNTS_TWO_REGIONS: [&str; 5] = [
    "--accounts",
    "111111111111,222222222222,333333333333",
    "--region",
    "us-east-1,eu-west-1",
    "cluster",
];

#[test]
fn every_account_and_region_is_audited_and_failures_do_not_stop_the_rest() {
    let (code, report) = json_run(&THREE_ACCOUNTS_TWO_REGIONS);
    assert_eq!(code, 3, "an account and a region could not be audited");
    let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        placed(&report),
        [
            s("j-1AAAEAST00001", "us-east-1", "111111111111"),
            s("j-1AAAWEST00001", "eu-west-1", "111111111111"),
            s("j-2BBBEAST00001", "us-east-1", "222222222222"),
        ]
    );
    let errors: Vec<&str> = report["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors[0]
            .starts_with("account 333333333333: not audited: sts:AssumeRole failed: AccessDenied")
            && errors[0].ends_with("(grant sts:AssumeRole)"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].starts_with(
            "account 222222222222, eu-west-1: not audited: the clusters could not be listed"
        ) && errors[1].contains("(grant elasticmapreduce:ListClusters)"),
        "{}",
        errors[1]
    );
}

#[test]
fn a_custom_ami_is_audited_inside_its_account_and_region() {
    let (_, report) = json_run(&THREE_ACCOUNTS_TWO_REGIONS);
    let west = target(&report, "j-1AAAWEST00001");
    let image = &west["images"][0];
    assert_eq!(image["id"], "ami-0a1e00000000000b1");
    assert_eq!(image["region"], "eu-west-1");
    assert_eq!(image["context"]["account"], "111111111111");
    assert_eq!(rule_severities(image), ["EA032:info"]);
    assert_eq!(
        image["base"],
        "ami-0e1e00000000000d1 (al2023-ami-2023.9.20261110.0-kernel-6.1-x86_64) · Amazon Linux 2023 (kernel 6.1) · via GetImageAncestry"
    );
}

#[test]
fn calls_follow_the_formula_per_account_and_region() {
    let (_, report) = json_run(&THREE_ACCOUNTS_TWO_REGIONS);
    // Per account: one AssumeRole (the denied one too) and one GetCallerIdentity for all its regions.
    // Per account and region: one ListClusters page; per cluster: one DescribeCluster and one ListInstanceGroups page. The
    // one custom AMI (account 111111111111, eu-west-1) adds that scope's batched lookups: the AMI,
    // instance types, EMR's list, subnet, VPC, DHCP options, its ancestry, its base and its family.
    let image_lookups = json!({
        "ec2:DescribeImages": 3,
        "ec2:DescribeInstanceTypes": 1,
        "emr:ListSupportedInstanceTypes": 1,
        "ec2:DescribeSubnets": 1,
        "ec2:DescribeVpcs": 1,
        "ec2:DescribeDhcpOptions": 1,
        "ec2:GetImageAncestry": 1,
    });
    let mut expected = json!({
        "sts:AssumeRole": 3,
        "sts:GetCallerIdentity": 2,
        "emr:ListClusters": 4,
        "emr:DescribeCluster": 3,
        "emr:ListInstanceGroups": 3,
    });
    for (action, n) in image_lookups.as_object().into_iter().flatten() {
        expected[action] = n.clone();
    }
    assert_eq!(report["stats"]["api_calls"], expected);
    let scopes = report["stats"]["scopes"].as_array().expect("scopes");
    assert_eq!(scopes.len(), 4);
    assert_eq!(scopes[0]["account"], "111111111111");
    assert_eq!(scopes[0]["region"], "us-east-1");
    assert_eq!(
        scopes[0]["api_calls"],
        json!({"emr:ListClusters": 1, "emr:DescribeCluster": 1, "emr:ListInstanceGroups": 1})
    );
    let mut west = image_lookups.clone();
    for (action, n) in [
        ("emr:ListClusters", 1),
        ("emr:DescribeCluster", 1),
        ("emr:ListInstanceGroups", 1),
    ] {
        west[action] = json!(n);
    }
    assert_eq!(scopes[1]["api_calls"], west);
    assert_eq!(scopes[3]["api_calls"], json!({"emr:ListClusters": 1}));
}

#[test]
fn all_regions_asks_each_account_which_regions_are_enabled() {
    let (code, report) = json_run(&[
        "--accounts",
        "111111111111,222222222222",
        "--all-regions",
        "cluster",
    ]);
    assert_eq!(code, 3, "222222222222's eu-west-1 is still denied");
    assert_eq!(placed(&report).len(), 3);
    assert_eq!(report["stats"]["api_calls"]["ec2:DescribeRegions"], 2);
    assert_eq!(report["stats"]["api_calls"]["sts:AssumeRole"], 2);
    let regions: Vec<&str> = report["stats"]["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["region"].as_str())
        .collect();
    assert_eq!(
        regions,
        ["eu-west-1", "us-east-1", "eu-west-1", "us-east-1"]
    );
}

#[test]
fn every_format_says_where_each_target_is() {
    let table = multi(&THREE_ACCOUNTS_TWO_REGIONS, "table");
    assert!(
        table
            .stdout
            .contains("j-1AAAWEST00001  a-west-etl  (eu-west-1 · emr-7.1.0 · m5.xlarge · account 111111111111)"),
        "{}",
        table.stdout
    );
    assert!(
        table
            .stdout
            .contains("run error: account 333333333333: not audited")
    );
    let junit = multi(&THREE_ACCOUNTS_TWO_REGIONS, "junit");
    assert!(
        junit
            .stdout
            .contains("<property name=\"region\" value=\"eu-west-1\"/>")
    );
    assert!(
        junit
            .stdout
            .contains("<property name=\"account\" value=\"222222222222\"/>")
    );
    let sarif = multi(&THREE_ACCOUNTS_TWO_REGIONS, "sarif");
    let log: Value = serde_json::from_str(&sarif.stdout).expect("SARIF is JSON");
    let results = log["runs"][0]["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "the EA032 note on a-west-etl's AMI");
    assert_eq!(results[0]["properties"]["region"], "eu-west-1");
    assert_eq!(results[0]["properties"]["account"], "111111111111");
    let markdown = multi(&THREE_ACCOUNTS_TWO_REGIONS, "markdown");
    assert!(
        markdown
            .stdout
            .contains("eu-west-1 · emr-7.1.0 · m5.xlarge · account 111111111111")
    );
}

#[test]
fn a_region_named_twice_is_audited_once() {
    let (_, report) = json_run(&[
        "--accounts",
        "111111111111",
        "--region",
        "us-east-1,us-east-1",
        "cluster",
    ]);
    assert_eq!(placed(&report).len(), 1);
    assert_eq!(report["stats"]["scopes"].as_array().map(Vec::len), Some(1));
}

#[test]
fn accounts_come_from_a_file_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("accounts.txt");
    std::fs::write(
        &file,
        "# member accounts\n111111111111\n111111111111 # twice, asked once\n",
    )
    .expect("write");
    let at = format!("@{}", file.display());
    let (code, report) = json_run(&["--accounts", &at, "--region", "us-east-1", "cluster"]);
    assert_eq!(code, 0);
    assert_eq!(report["stats"]["api_calls"]["sts:AssumeRole"], 1);
    assert_eq!(placed(&report).len(), 1);
}

#[test]
fn bad_account_options_are_usage_errors() {
    let empty = tempfile::NamedTempFile::new().expect("temp file");
    let empty = format!("@{}", empty.path().display());
    let cases: [(&[&str], &str); 8] = [
        (
            &["--accounts", &empty, "--role-arn", ROLE, "cluster"],
            "names no account",
        ),
        (
            &[
                "--region",
                "us-east-1,eu-west-1",
                "image",
                "ami-0ea00000000000001",
                "--release",
                "emr-7.1.0",
            ],
            "AMI IDs belong to one region",
        ),
        (
            &["--all-regions", "plan", "examples/runjobflow-good.json"],
            "a launch plan belongs to one region",
        ),
        (
            &[
                "--region",
                "us-east-1,eu-west-1",
                "cluster",
                "j-1AAAEAST00001",
            ],
            "cluster IDs belong to one region",
        ),
        (
            &["--accounts", "12345", "--role-arn", ROLE, "cluster"],
            "'12345'",
        ),
        (
            &[
                "--accounts",
                "@/nonexistent/accounts.txt",
                "--role-arn",
                ROLE,
                "cluster",
            ],
            "/nonexistent/accounts.txt",
        ),
        (
            &[
                "--accounts",
                "111111111111",
                "--role-arn",
                "arn:aws:iam::111111111111:role/x",
                "cluster",
            ],
            "{account}",
        ),
        (
            &[
                "--accounts",
                "111111111111",
                "--role-arn",
                ROLE,
                "--record",
                "/tmp/emr-ami-audit-never-written",
                "cluster",
            ],
            "--record",
        ),
    ];
    for (args, named) in cases {
        // Never reaches AWS: the options are refused first (and a mistake would hit a closed local port).
        let run = run(command()
            .args(["--endpoint-url", "http://127.0.0.1:9"])
            .args(args));
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(named), "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
    }
    let missing_role =
        run(command().args(["--replay", MULTI, "--accounts", "111111111111", "cluster"]));
    assert_eq!(missing_role.code, 2);
    assert!(
        missing_role.stderr.contains("--role-arn"),
        "{}",
        missing_role.stderr
    );
}

/// Live mode (the standard credential chain, no --replay) with no region configured anywhere:
/// --all-regions asks DescribeRegions in us-east-1, and the role is assumed through the endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_regions_needs_no_configured_region() {
    use emr_ami_audit::replay::{ReplayServer, Scenario};
    let scenario = Scenario::load(&repo().join(MULTI)).expect("scenario");
    let server = ReplayServer::start(scenario).await;
    let url = server.url();
    let run = tokio::task::spawn_blocking(move || {
        run(command()
            .env("AWS_ACCESS_KEY_ID", LIVE_ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", LIVE_SECRET_KEY)
            .args(["--endpoint-url", &url, "--now", NOW, "--format", "json"])
            .args(["--accounts", "111111111111", "--role-arn", ROLE])
            .args(["--external-id", "audit-2026", "--all-regions", "cluster"]))
    })
    .await
    .expect("test thread");
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = parse_report(&run);
    assert_eq!(placed(&report).len(), 2, "both of the account's regions");
    assert_eq!(report["stats"]["api_calls"]["ec2:DescribeRegions"], 1);
}
