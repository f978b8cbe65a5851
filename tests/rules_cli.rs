//! `emr-ami-audit rules` and the README's rule table, both from the registry.

mod common;

use common::*;
use emr_ami_audit::rules;

#[test]
fn rules_lists_every_rule_of_the_registry() {
    let run = run(command().arg("rules"));
    assert_eq!(run.code, 0);
    for rule in rules::registry() {
        assert!(
            run.stdout.contains(rule.id),
            "{} missing:\n{}",
            rule.id,
            run.stdout
        );
        assert!(run.stdout.contains(rule.name), "{} missing", rule.name);
    }
    let json = run_json(&["rules"]);
    assert_eq!(json.as_array().map(Vec::len), Some(rules::registry().len()));
}

fn run_json(args: &[&str]) -> serde_json::Value {
    let run = run(command().args(["--format", "json"]).args(args));
    assert_eq!(run.code, 0);
    serde_json::from_str(&run.stdout).expect("JSON")
}

#[test]
fn rules_explains_one_rule_by_id_or_name() {
    for key in ["EA013", "ea013", "root-volume-min-size"] {
        let run = run(command().args(["rules", key]));
        assert_eq!(run.code, 0);
        assert!(
            run.stdout.starts_with("EA013 root-volume-min-size (error)"),
            "{}",
            run.stdout
        );
        assert!(
            run.stdout.contains("Why: The minimum root volume size"),
            "{}",
            run.stdout
        );
        assert!(run.stdout.contains("Remediation: "));
        assert!(run.stdout.contains("Source: spec"));
        assert!(
            run.stdout
                .contains("Docs: https://docs.aws.amazon.com/emr/")
        );
    }
    let json = run_json(&["rules", "EA030"]);
    assert_eq!(json["name"], "launch-permission");
}

/// The README's text between two markers.
fn readme_block<'a>(readme: &'a str, name: &str) -> &'a str {
    let open = format!("<!-- {name}:start -->\n");
    let start = readme.find(&open).expect("start marker") + open.len();
    let end = readme
        .find(&format!("<!-- {name}:end -->"))
        .expect("end marker");
    &readme[start..end]
}

/// Each rule's explanation in the README is what `rules EAnnn --format markdown` prints, and cites
/// its source and documentation.
#[test]
fn readme_rule_explanations_match_the_registry() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let expected = rules::catalogue::markdown_details();
    assert_eq!(
        readme_block(&readme, "rules-explained"),
        expected,
        "update the README's rule explanations to:\n{expected}"
    );
    for rule in rules::registry() {
        let one = run(command().args(["--format", "markdown", "rules", rule.id]));
        assert_eq!(one.code, 0);
        assert!(expected.contains(&one.stdout), "{}", rule.id);
        assert!(
            one.stdout.contains(&format!(
                "**Source:** {} ([documentation]({}))",
                rule.source, rule.doc_url
            )),
            "{}",
            one.stdout
        );
    }
}

#[test]
fn readme_rule_table_matches_the_registry() {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("README.md");
    let start = readme
        .find("<!-- rules:start -->\n")
        .expect("rules:start marker")
        + "<!-- rules:start -->\n".len();
    let end = readme.find("<!-- rules:end -->").expect("rules:end marker");
    let expected = rules::catalogue::markdown();
    assert_eq!(
        &readme[start..end],
        expected,
        "update the README's rule table to:\n{expected}"
    );
    // Each row cites its rule's source, linked to its page.
    for rule in rules::registry() {
        assert!(
            expected.contains(&format!(
                "[{}]({})",
                rule.source.replace('|', "\\|"),
                rule.doc_url
            )),
            "{}",
            rule.id
        );
    }
    // `rules --format markdown` prints the same table.
    let printed = run(command().args(["--format", "markdown", "rules"]));
    assert_eq!(printed.stdout, expected);
}
