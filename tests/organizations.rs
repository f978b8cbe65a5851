//! End-to-end: `--accounts org`, the organization's accounts listed through AWS Organizations, against
//! the organization recorded in `mocks/multi-account` (and small scenarios of a refused listing).

mod common;

use common::*;
use emr_ami_audit::replay::{ReplayServer, Scenario};
use serde_json::{Value, json};

const MULTI: &str = "mocks/multi-account";
const ROLE: &str = "arn:aws:iam::{account}:role/emr-ami-audit";

fn org_run(scenario: &str, extra: &[&str]) -> Run {
    run(command()
        .args(["--replay", scenario, "--now", NOW, "--format", "json"])
        .args(["--role-arn", ROLE, "--external-id", "audit-2026"])
        .args(["--accounts", "org", "--region", "us-east-1"])
        .args(extra))
}

/// (cluster, account) of every target.
fn placed(report: &Value) -> Vec<(String, String)> {
    report["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
            (text(&t["id"]), text(&t["context"]["account"]))
        })
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

fn pair(cluster: &str, account: &str) -> (String, String) {
    (cluster.to_string(), account.to_string())
}

/// The audited accounts of `stats.scopes`, in order.
fn scope_accounts(report: &Value) -> Vec<String> {
    report["stats"]["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| s["account"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn org_audits_the_active_accounts_of_the_organization() {
    let run = org_run(MULTI, &["cluster"]);
    let report = parse_report(&run);
    assert_eq!(run.code, 3, "333333333333's role can't be assumed");
    assert_eq!(
        placed(&report),
        [
            pair("j-1AAAEAST00001", "111111111111"),
            pair("j-2BBBEAST00001", "222222222222"),
        ]
    );
    assert_eq!(scope_accounts(&report), ["111111111111", "222222222222"]);
    let errors = errors(&report);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].starts_with("account 333333333333: not audited: sts:AssumeRole failed"),
        "{}",
        errors[0]
    );
    // Two pages of ListAccounts, with the caller's own credentials; AssumeRole in the three active
    // accounts (not the suspended or closing ones); per audited account one GetCallerIdentity, and in
    // us-east-1 one ListClusters page and one cluster each.
    assert_eq!(
        report["stats"]["api_calls"],
        json!({
            "organizations:ListAccounts": 2,
            "sts:AssumeRole": 3,
            "sts:GetCallerIdentity": 2,
            "emr:ListClusters": 2,
            "emr:DescribeCluster": 2,
            "emr:ListInstanceGroups": 2,
        })
    );
}

#[test]
fn suspended_and_closing_accounts_are_skipped_and_said_so() {
    let run = org_run(MULTI, &["cluster"]);
    let report = parse_report(&run);
    let notes: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        notes,
        [
            "emr-ami-audit: account 444444444444 (d-retired) skipped: it is SUSPENDED",
            "emr-ami-audit: account 555555555555 (e-security) skipped: it is PENDING_CLOSURE",
        ],
        "{}",
        run.stderr
    );
    let text = report.to_string();
    for skipped in ["444444444444", "555555555555"] {
        assert!(
            !text.contains(skipped),
            "{skipped} is neither audited nor an error"
        );
    }
}

#[test]
fn ou_restricts_the_run_to_that_unit_and_its_child_units() {
    let run = org_run(MULTI, &["--ou", "ou-ab12-prod0001", "cluster"]);
    let report = parse_report(&run);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        placed(&report),
        [
            pair("j-1AAAEAST00001", "111111111111"),
            pair("j-2BBBEAST00001", "222222222222"),
        ],
        "222222222222 is in the child unit ou-ab12-prodeu01"
    );
    assert!(errors(&report).is_empty(), "{:#?}", errors(&report));
    let calls = &report["stats"]["api_calls"];
    assert_eq!(calls["organizations:ListAccountsForParent"], 2);
    assert_eq!(calls["organizations:ListOrganizationalUnitsForParent"], 2);
    assert_eq!(calls["organizations:ListAccounts"], Value::Null);
    assert_eq!(calls["sts:AssumeRole"], 2);

    let run = org_run(MULTI, &["--ou", "ou-ab12-sandbox1", "cluster"]);
    let report = parse_report(&run);
    assert!(placed(&report).is_empty());
    assert!(
        run.stderr
            .contains("account 444444444444 (d-retired) skipped: it is SUSPENDED")
    );
    assert_eq!(
        report["stats"]["api_calls"]["sts:AssumeRole"], 1,
        "333333333333 only"
    );
}

#[test]
fn a_denied_unit_is_reported_and_the_others_go_on() {
    let run = org_run(
        MULTI,
        &[
            "--ou",
            "ou-ab12-secure01",
            "--ou",
            "ou-ab12-prod0001",
            "cluster",
        ],
    );
    let report = parse_report(&run);
    assert_eq!(run.code, 3, "a unit could not be listed");
    assert_eq!(scope_accounts(&report), ["111111111111", "222222222222"]);
    let errors = errors(&report);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].starts_with(
            "organizational unit ou-ab12-secure01: not audited, nor its child units: \
             organizations:ListAccountsForParent failed: AccessDeniedException"
        ) && errors[0].ends_with("(grant organizations:ListAccountsForParent)"),
        "{}",
        errors[0]
    );
    let calls = &report["stats"]["api_calls"];
    assert_eq!(calls["organizations:ListAccountsForParent"], 3);
    assert_eq!(
        calls["organizations:ListOrganizationalUnitsForParent"], 2,
        "no child units asked of the denied unit"
    );
}

/// A scenario whose one answer is ListAccounts failing with `code`.
fn refused_listing(dir: &std::path::Path, code: &str, message: &str) {
    std::fs::create_dir_all(dir.join("organizations")).expect("mkdir");
    std::fs::write(
        dir.join("organizations/ListAccounts.json"),
        json!({"__type": code, "Message": message}).to_string(),
    )
    .expect("answer");
    std::fs::write(
        dir.join("exchanges.json"),
        json!({
            "description": "ListAccounts refused",
            "region": "us-east-1",
            "exchanges": [{
                "service": "organizations", "action": "ListAccounts", "params": {},
                "status": 400, "response": "organizations/ListAccounts.json"
            }]
        })
        .to_string(),
    )
    .expect("exchanges");
}

#[test]
fn a_refused_listing_leaves_nothing_to_audit_and_says_why() {
    let cases = [
        (
            "AccessDeniedException",
            "You don't have permissions to access this resource.",
            " (grant organizations:ListAccounts)",
        ),
        (
            "AWSOrganizationsNotInUseException",
            "Your account is not a member of an organization.",
            "",
        ),
    ];
    for (code, message, hint) in cases {
        let dir = tempfile::tempdir().expect("temp dir");
        refused_listing(dir.path(), code, message);
        let run = org_run(dir.path().to_str().expect("utf-8"), &["cluster"]);
        let report = parse_report(&run);
        assert_eq!(run.code, 3, "{code}: {}", run.stderr);
        assert!(placed(&report).is_empty());
        assert_eq!(
            errors(&report),
            [format!(
                "organization: not audited: organizations:ListAccounts failed: {code} (HTTP 400): {message}{hint}"
            )]
        );
        assert_eq!(
            report["stats"]["api_calls"],
            json!({"organizations:ListAccounts": 1})
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_ou_usage_exits_2_with_no_request() {
    let scenario = Scenario::load(&repo().join(MULTI)).expect("shipped scenario loads");
    let server = ReplayServer::start(scenario).await;
    let with_role = |args: &[&str]| {
        let mut all: Vec<String> = ["--role-arn", ROLE]
            .iter()
            .chain(args)
            .map(|a| a.to_string())
            .collect();
        all.push("cluster".into());
        all
    };
    let cases = [
        (
            with_role(&["--accounts", "org", "--ou", "ou-AB12-prod0001"]),
            "invalid organizational unit ID 'ou-AB12-prod0001'",
        ),
        (
            with_role(&["--accounts", "org", "--ou", "ou-ab12-prod0001,r-ab12"]),
            "invalid organizational unit ID 'r-ab12'",
        ),
        (
            with_role(&["--accounts", "111111111111", "--ou", "ou-ab12-prod0001"]),
            "--ou restricts --accounts org",
        ),
        (
            vec!["--ou".into(), "ou-ab12-prod0001".into(), "cluster".into()],
            "--ou restricts --accounts org",
        ),
        (
            with_role(&["--accounts", "org,111111111111"]),
            "give it alone",
        ),
    ];
    for (args, says) in cases {
        let run = run_live(server.url(), args.clone()).await;
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
    }
    assert_eq!(
        server.log().requests.len(),
        0,
        "no request before the input is checked: {:?}",
        server.log().requests
    );
}
