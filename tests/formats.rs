//! End-to-end: `--format sarif`, `junit` and `markdown` on the shipped recordings, and `--output`.

mod common;

use common::*;
use emr_ami_audit::rules::{self, Check};
use serde_json::Value;

const CLUSTERS: &str = "mocks/emr-clusters";
const MIXED: &str = "j-5MIXEDARCH005";
/// The AL2023 x86_64 AMI most clusters use, cluster-level on j-5MIXEDARCH005.
const AMI_01: &str = "ami-0c100000000000001";
/// The emr-clusters recording: ten active clusters. j-2DEFAULTAMI02 has no custom AMI,
/// j-3GRAVFLEET003 and j-4BOTHLEVELS04 two each, the seven others one: eleven nested image targets.
const CLUSTER_TARGETS: usize = 10;
const NESTED_IMAGES: usize = 11;

fn clusters(format: &str, args: &[&str]) -> Run {
    run(command()
        .args(["--replay", CLUSTERS, "--now", NOW, "--format", format])
        .args(args))
}

/// The image-factory command of the README: the 19 AMIs, a missing one, for 7.1.0 on m5.xlarge.
fn images(format: &str) -> Run {
    let mut args: Vec<String> = vec!["--format".into(), format.into()];
    args.extend(image_factory_args(LAUNCHER));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    replay(&args)
}

fn rule_count(applies: fn(&Check) -> bool) -> usize {
    rules::registry()
        .iter()
        .filter(|r| applies(&r.check))
        .count()
}

fn image_rules() -> usize {
    rule_count(|c| matches!(c, Check::Image(_)))
}

fn cluster_rules() -> usize {
    rule_count(|c| matches!(c, Check::Cluster(_)))
}

// ---- SARIF -------------------------------------------------------------------------------------

/// The SARIF log of a run, checked against the vendored OASIS schema.
fn sarif(run: &Run) -> Value {
    let log: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
            run.stdout, run.stderr
        )
    });
    let schema = std::fs::read_to_string(repo().join("tests/data/sarif-schema-2.1.0.json"))
        .expect("SARIF schema file");
    let schema: Value = serde_json::from_str(&schema).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("SARIF schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "not valid SARIF 2.1.0:\n{}",
        errors.join("\n")
    );
    log
}

fn results(log: &Value) -> &Vec<Value> {
    log["runs"][0]["results"].as_array().expect("results")
}

fn logical(result: &Value) -> &Value {
    &result["locations"][0]["logicalLocations"][0]
}

fn uri(result: &Value) -> &Value {
    &result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
}

fn rule_index(id: &str) -> usize {
    rules::registry()
        .iter()
        .position(|r| r.id == id)
        .expect("rule in the registry")
}

#[test]
fn sarif_is_valid_and_names_every_rule_cluster_and_nested_ami() {
    let run = clusters("sarif", &["cluster"]);
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    let log = sarif(&run);
    assert_eq!(log["version"], "2.1.0");
    let driver = &log["runs"][0]["tool"]["driver"];
    assert_eq!(driver["name"], "emr-ami-audit");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    let ids: Vec<&str> = driver["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default())
        .collect();
    let registry: Vec<&str> = rules::registry().iter().map(|r| r.id).collect();
    assert_eq!(ids, registry, "every rule, in registry order");
    let ea051 = &driver["rules"][rule_index("EA051")];
    assert_eq!(ea051["defaultConfiguration"]["level"], "error");
    assert!(
        ea051["help"]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("Why: ") && t.contains(" Remediation: ")),
        "{ea051}"
    );

    let results = results(&log);
    // 6 errors, 12 warnings and 12 info, as the table's summary says.
    assert_eq!(results.len(), 30);
    let mixed = results
        .iter()
        .find(|r| r["ruleId"] == "EA051" && logical(r)["name"] == MIXED)
        .unwrap_or_else(|| panic!("no EA051 result on {MIXED}: {results:#?}"));
    assert_eq!(mixed["level"], "error");
    assert_eq!(mixed["ruleIndex"], rule_index("EA051"));
    assert_eq!(logical(mixed)["fullyQualifiedName"], MIXED);
    assert_eq!(logical(mixed)["kind"], "resource");
    assert_eq!(*uri(mixed), format!("aws://us-east-1/cluster/{MIXED}"));
    assert_eq!(
        mixed["partialFingerprints"]["emrAmiAudit/v1"],
        format!("EA051:{MIXED}")
    );
    assert_eq!(mixed["properties"]["target_kind"], "cluster");
    assert_eq!(mixed["properties"]["region"], "us-east-1");
    assert!(
        mixed["message"]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with(&format!("{MIXED}: "))),
        "{mixed}"
    );

    let qualified = format!("{MIXED}/{AMI_01}");
    let mut nested: Vec<(&str, &str)> = results
        .iter()
        .filter(|r| logical(r)["fullyQualifiedName"] == qualified.as_str())
        .map(|r| {
            assert_eq!(logical(r)["name"], AMI_01);
            assert_eq!(*uri(r), format!("aws://us-east-1/image/{AMI_01}"));
            assert_eq!(r["properties"]["target_kind"], "image");
            (
                r["ruleId"].as_str().unwrap_or_default(),
                r["level"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    nested.sort_unstable();
    assert_eq!(
        nested,
        [("EA020", "error"), ("EA033", "note"), ("EA042", "warning")]
    );

    let invocation = &log["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], true);
    assert_eq!(
        invocation["toolExecutionNotifications"]
            .as_array()
            .map(Vec::len),
        Some(0)
    );
}

#[test]
fn sarif_locates_plan_findings_in_the_plan_file() {
    let run = run(command().args([
        "--replay",
        CLUSTERS,
        "--now",
        NOW,
        "--format",
        "sarif",
        "plan",
        "examples/cloudformation-bad.json",
    ]));
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    let log = sarif(&run);
    let results = results(&log);
    assert!(!results.is_empty());
    for result in results {
        assert_eq!(*uri(result), "examples/cloudformation-bad.json", "{result}");
    }
    assert!(
        results.iter().any(|r| r["ruleId"] == "EA052"
            && logical(r)["fullyQualifiedName"]
                == "examples/cloudformation-bad.json:PartialCluster"),
        "{results:#?}"
    );
    let mut fingerprints: Vec<&str> = results
        .iter()
        .map(|r| {
            r["partialFingerprints"]["emrAmiAudit/v1"]
                .as_str()
                .unwrap_or_default()
        })
        .collect();
    let all = fingerprints.len();
    fingerprints.sort_unstable();
    fingerprints.dedup();
    assert_eq!(fingerprints.len(), all, "fingerprints are distinct");
}

#[test]
fn sarif_images_are_aws_resources() {
    let run = images("sarif");
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    let log = sarif(&run);
    let ea015 = results(&log)
        .iter()
        .find(|r| r["ruleId"] == "EA015" && logical(r)["name"] == ami(2).as_str())
        .expect("EA015 on the AL2 image");
    assert_eq!(logical(ea015)["fullyQualifiedName"], ami(2).as_str());
    assert_eq!(*uri(ea015), format!("aws://us-east-1/image/{}", ami(2)));
}

// ---- JUnit -------------------------------------------------------------------------------------

/// Enough of XML to trust the counts: one root, balanced tags, quoted attributes, and every `&`
/// starting a reference.
fn assert_well_formed(xml: &str) {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .unwrap_or_else(|| panic!("no XML declaration:\n{xml}"));
    let mut stack: Vec<&str> = Vec::new();
    let mut roots = 0;
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        check_text(&rest[..start]);
        let end = start + rest[start..].find('>').expect("tag is closed");
        let tag = &rest[start + 1..end];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop(), Some(name), "closing tag </{name}>");
        } else {
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let name = tag.split_whitespace().next().expect("tag name");
            check_attributes(&tag[name.len()..]);
            if stack.is_empty() {
                roots += 1;
            }
            if !self_closing {
                stack.push(name);
            }
        }
        rest = &rest[end + 1..];
    }
    assert!(rest.trim().is_empty(), "text after the root: {rest:?}");
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    assert_eq!(roots, 1, "one root element");
}

fn check_attributes(mut attributes: &str) {
    loop {
        attributes = attributes.trim_start();
        if attributes.is_empty() {
            return;
        }
        let (name, after) = attributes
            .split_once("=\"")
            .unwrap_or_else(|| panic!("not name=\"value\": {attributes:?}"));
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "attribute name {name:?}"
        );
        let (value, after) = after.split_once('"').expect("closing quote");
        check_text(value);
        attributes = after;
    }
}

fn check_text(text: &str) {
    for (i, _) in text.match_indices('&') {
        let reference = &text[i..];
        assert!(
            ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#"]
                .iter()
                .any(|r| reference.starts_with(r)),
            "bare & in {text:?}"
        );
    }
}

struct TestCase {
    classname: String,
    name: String,
    /// What is inside the element (empty when self-closing).
    body: String,
}

fn attribute(head: &str, key: &str) -> String {
    head.split_once(&format!(" {key}=\""))
        .and_then(|(_, v)| v.split_once('"'))
        .map(|(v, _)| v.to_string())
        .unwrap_or_else(|| panic!("no {key} in {head}"))
}

fn test_cases(xml: &str) -> Vec<TestCase> {
    xml.split("<testcase ")
        .skip(1)
        .map(|chunk| {
            let head_end = chunk.find('>').expect("testcase tag end");
            let head = [" ", &chunk[..head_end]].concat();
            let body = if head.ends_with('/') {
                String::new()
            } else {
                let inner = &chunk[head_end + 1..];
                inner[..inner.find("</testcase>").expect("</testcase>")].to_string()
            };
            TestCase {
                classname: attribute(&head, "classname"),
                name: attribute(&head, "name"),
                body,
            }
        })
        .collect()
}

/// An attribute of the `<testsuites>` element, as a number.
fn totals(xml: &str, key: &str) -> usize {
    let start = xml.find("<testsuites ").expect("<testsuites>");
    let head = &xml[start..start + xml[start..].find('>').expect("tag end")];
    attribute(head, key).parse().expect("a count")
}

#[test]
fn junit_has_a_case_per_applicable_rule_and_fails_on_errors() {
    let run = clusters("junit", &["cluster"]);
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    let xml = &run.stdout;
    assert_well_formed(xml);
    assert!(xml.contains("<testsuites name=\"emr-ami-audit\""), "{xml}");

    let expected = CLUSTER_TARGETS * cluster_rules() + NESTED_IMAGES * image_rules();
    let cases = test_cases(xml);
    assert_eq!(cases.len(), expected);
    assert_eq!(totals(xml, "tests"), expected);
    assert_eq!(
        xml.matches("<testsuite ").count(),
        CLUSTER_TARGETS + NESTED_IMAGES
    );
    let image_suite = format!("<testsuite name=\"image {AMI_01} in {MIXED}\"");
    assert!(xml.contains(&image_suite), "{xml}");

    // The default threshold is error: the six errors fail, nothing else does.
    assert_eq!(totals(xml, "failures"), 6);
    assert_eq!(totals(xml, "errors"), 0);
    assert_eq!(xml.matches("<failure ").count(), 6);
    let ea051 = cases
        .iter()
        .find(|c| c.classname == MIXED && c.name.starts_with("EA051 "))
        .expect("EA051 case on the mixed-architecture cluster");
    assert_eq!(ea051.name, "EA051 single-ami-mixed-architectures");
    assert!(
        ea051.body.contains("<failure message=\"") && ea051.body.contains("type=\"error\""),
        "{}",
        ea051.body
    );
    let clean: Vec<&TestCase> = cases
        .iter()
        .filter(|c| c.classname.starts_with("j-1CLEANETL0001"))
        .collect();
    assert_eq!(clean.len(), cluster_rules() + image_rules());
    assert!(
        clean.iter().all(|c| !c.body.contains("<failure")),
        "j-1CLEANETL0001 passes"
    );
    // Its AMI's EA033 note is below the threshold: reported, not failing.
    let note = clean
        .iter()
        .find(|c| c.name.starts_with("EA033 "))
        .expect("EA033 case on the clean cluster's AMI");
    assert_eq!(note.classname, format!("j-1CLEANETL0001/{AMI_01}"));
    assert!(note.body.contains("<system-out>info: "), "{}", note.body);
}

#[test]
fn junit_threshold_follows_fail_on() {
    let never = clusters("junit", &["--fail-on", "never", "cluster"]);
    assert_eq!(never.code, 0, "stderr: {}", never.stderr);
    assert_eq!(totals(&never.stdout, "failures"), 0);
    assert!(!never.stdout.contains("<failure"));

    // Every finding fails: 6 errors, 12 warnings, 12 info, each on its own case.
    let info = clusters("junit", &["--fail-on", "info", "cluster"]);
    assert_eq!(info.code, 1, "stderr: {}", info.stderr);
    assert_well_formed(&info.stdout);
    assert_eq!(totals(&info.stdout, "failures"), 30);
}

#[test]
fn junit_images_get_every_image_rule() {
    let run = images("junit");
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    assert_well_formed(&run.stdout);
    let cases = test_cases(&run.stdout);
    assert_eq!(cases.len(), 20 * image_rules());
    let al2 = cases
        .iter()
        .find(|c| c.classname == ami(2) && c.name.starts_with("EA015 "))
        .expect("EA015 case on the AL2 image");
    assert!(al2.body.contains("<failure"), "{}", al2.body);
}

// ---- Markdown ----------------------------------------------------------------------------------

/// The part of a Markdown report from `heading` to the next target's heading.
fn section<'a>(markdown: &'a str, heading: &str) -> &'a str {
    let start = markdown
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading:?} in:\n{markdown}"));
    let rest = &markdown[start..];
    let end = rest[1..].find("\n#### ").map_or(rest.len(), |i| i + 1);
    &rest[..end]
}

#[test]
fn markdown_summarizes_and_links_each_finding() {
    let run = clusters("markdown", &["cluster"]);
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    let md = &run.stdout;
    assert!(md.starts_with("### emr-ami-audit\n"), "{md}");
    let summary = concat!(
        "🔴 **6** errors · 🟡 **12** warnings · 🔵 **12** info",
        " — 10 targets audited, 0 not audited\n"
    );
    assert!(md.contains(summary), "{md}");
    assert_eq!(md.matches("\n#### ").count(), CLUSTER_TARGETS);

    let mixed = section(md, &format!("#### cluster `{MIXED}`"));
    assert!(
        mixed.contains(&format!("#### cluster `{MIXED}` mixed-arch\n")),
        "{mixed}"
    );
    assert!(mixed.contains("emr-7.1.0"), "{mixed}");
    assert!(
        mixed.contains(&format!("- `{AMI_01}`")) && mixed.contains("← cluster-level"),
        "{mixed}"
    );
    assert!(
        mixed.contains("| Severity | Rule | Where | Message |"),
        "{mixed}"
    );
    let doc_url = rules::find("EA051").expect("EA051").doc_url;
    assert!(
        mixed.contains(&format!("| 🔴 error | [EA051]({doc_url}) | cluster | ")),
        "{mixed}"
    );
    assert!(
        mixed
            .lines()
            .any(|l| l.contains("[EA020](") && l.contains(&format!("| `{AMI_01}` |"))),
        "the AMI's own finding says where: {mixed}"
    );

    let default = section(md, "#### cluster `j-2DEFAULTAMI02`");
    assert!(default.contains("No findings."), "{default}");
    assert!(default.contains("EMR default AMI"), "{default}");
}

#[test]
fn markdown_lists_images() {
    let run = images("markdown");
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    let md = &run.stdout;
    assert_eq!(md.matches("\n#### image `").count(), 20);
    let al2 = section(md, &format!("#### image `{}`", ami(2)));
    assert!(al2.contains("[EA015]("), "{al2}");
    assert!(al2.contains(&format!("account {LAUNCHER}")), "{al2}");
}

// ---- Not audited, in every format --------------------------------------------------------------

#[test]
fn a_target_not_audited_is_an_error_in_every_format() {
    let args = ["cluster", "j-2DEFAULTAMI02", "j-NOSUCHCLUSTER1"];

    let run = clusters("sarif", &args);
    assert_eq!(run.code, 3, "stderr: {}", run.stderr);
    let log = sarif(&run);
    let invocation = &log["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let notifications = invocation["toolExecutionNotifications"]
        .as_array()
        .expect("notifications");
    assert_eq!(notifications.len(), 1, "{notifications:#?}");
    assert_eq!(notifications[0]["level"], "error");
    assert!(
        notifications[0]["message"]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("j-NOSUCHCLUSTER1: not audited: ")),
        "{notifications:#?}"
    );

    let run = clusters("junit", &args);
    assert_eq!(run.code, 3, "stderr: {}", run.stderr);
    let xml = &run.stdout;
    assert_well_formed(xml);
    assert_eq!(totals(xml, "errors"), 1);
    assert_eq!(totals(xml, "tests"), cluster_rules() + 1);
    let missing: Vec<TestCase> = test_cases(xml)
        .into_iter()
        .filter(|c| c.classname == "j-NOSUCHCLUSTER1")
        .collect();
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].name, "not-audited");
    assert!(
        missing[0].body.contains("<error message=\"not audited: "),
        "{}",
        missing[0].body
    );

    let run = clusters("markdown", &args);
    assert_eq!(run.code, 3, "stderr: {}", run.stderr);
    let missing = section(&run.stdout, "#### cluster `j-NOSUCHCLUSTER1`");
    assert!(
        missing.contains("Not audited: emr:DescribeCluster"),
        "{missing}"
    );
    assert!(
        run.stdout.contains("1 target audited, 1 not audited"),
        "{}",
        run.stdout
    );
}

// ---- Waivers ----------------------------------------------------------------------------------

const WAIVERS: &str = "[[waiver]]
rule = \"EA051\"
target = \"j-5*\"
reason = \"moving to instance-level AMIs\"
expires = \"2027-03-31\"

[[waiver]]
rule = \"EA031\"
target = \"ami-ffff*\"
reason = \"nothing matches this\"
";

#[test]
fn waived_findings_are_suppressed_not_failed_nor_listed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("emr-ami-audit.toml");
    std::fs::write(&config, WAIVERS).expect("write config");
    let config = config.display().to_string();
    let with_waivers = |format: &str| clusters(format, &["--config", &config, "cluster"]);

    // Five errors are left: still exit 1.
    let run = with_waivers("sarif");
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    let log = sarif(&run);
    let ea051 = results(&log)
        .iter()
        .find(|r| r["ruleId"] == "EA051")
        .expect("the waived result stays");
    let suppression = &ea051["suppressions"][0];
    assert_eq!(suppression["kind"], "external");
    assert_eq!(suppression["status"], "accepted");
    assert_eq!(
        suppression["justification"],
        "moving to instance-level AMIs"
    );
    assert_eq!(suppression["properties"]["expires"], "2027-03-31");
    let unsuppressed = results(&log)
        .iter()
        .filter(|r| r.get("suppressions").is_none())
        .count();
    assert_eq!(unsuppressed, 29);
    let notes = log["runs"][0]["invocations"][0]["toolConfigurationNotifications"]
        .as_array()
        .expect("configuration notifications");
    assert_eq!(notes.len(), 1, "{notes:#?}");
    assert_eq!(notes[0]["level"], "warning");
    assert!(
        notes[0]["message"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("EA031") && t.contains("matched no finding")),
        "{notes:#?}"
    );

    let run = with_waivers("junit");
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    assert_well_formed(&run.stdout);
    assert_eq!(totals(&run.stdout, "failures"), 5);
    let cases = test_cases(&run.stdout);
    let ea051 = cases
        .iter()
        .find(|c| c.classname == MIXED && c.name.starts_with("EA051 "))
        .expect("EA051 case");
    assert!(!ea051.body.contains("<failure"), "{}", ea051.body);
    assert!(
        ea051
            .body
            .contains("<system-out>waived (moving to instance-level AMIs) error: "),
        "{}",
        ea051.body
    );

    let run = with_waivers("markdown");
    assert_eq!(run.code, 1, "stderr: {}", run.stderr);
    let md = &run.stdout;
    assert!(
        md.contains("🔴 **5** errors · 🟡 **12** warnings · 🔵 **12** info · 1 waived"),
        "{md}"
    );
    assert!(
        md.contains("- EA031 on `ami-ffff*`: matched no finding (nothing matches this)"),
        "{md}"
    );
    let mixed = section(md, &format!("#### cluster `{MIXED}`"));
    assert!(!mixed.contains("[EA051]("), "{mixed}");
    assert!(mixed.contains("1 waived."), "{mixed}");
}

// ---- --output ----------------------------------------------------------------------------------

#[test]
fn output_writes_the_report_to_a_file_and_keeps_the_exit_code() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("report.json");
    let path_arg = path.display().to_string();
    let to_file = clusters("json", &["--output", &path_arg, "cluster"]);
    assert_eq!(to_file.code, 1, "stderr: {}", to_file.stderr);
    assert_eq!(to_file.stdout, "", "nothing on stdout");
    let written = std::fs::read_to_string(path).expect("report file written");
    let mut from_file: Value = serde_json::from_str(&written).expect("the file holds JSON");
    assert_valid_report(&from_file);

    let to_stdout = clusters("json", &["cluster"]);
    assert_eq!(to_stdout.code, 1);
    let mut from_stdout = parse_report(&to_stdout);
    // Only the timing may differ between two runs.
    for report in [&mut from_file, &mut from_stdout] {
        report["stats"]["elapsed_ms"] = Value::Null;
    }
    assert_eq!(from_file, from_stdout);
}
