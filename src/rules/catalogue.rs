//! Every rendering of the rule catalogue: the list (a table for people, JSON, the README's Markdown
//! table), one rule (text or JSON), and a rule as SARIF's `reportingDescriptor`. `emr-ami-audit rules`,
//! `--format sarif` and the README all show rules through these.

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use serde_json::{Value, json};

use super::{Rule, Severity, registry};

/// How `emr-ami-audit rules` shows the catalogue: JSON, or text for people (every other format).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Json,
    Text,
    /// The README's Markdown: the table, or one rule's section.
    Markdown,
}

/// Every rule of the registry, in the given style.
pub fn list(style: Style) -> String {
    match style {
        Style::Json => json_list(),
        Style::Text => table(),
        Style::Markdown => markdown(),
    }
}

/// One rule, in the given style.
pub fn one(rule: &Rule, style: Style) -> String {
    match style {
        Style::Json => pretty(&json(rule)),
        Style::Text => text(rule),
        Style::Markdown => markdown_one(rule),
    }
}

/// The catalogue as a terminal table: ID, name, default severity, title.
pub fn table() -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_content_arrangement(ContentArrangement::Dynamic);
    table.set_header(["ID", "Name", "Severity", "Title"]);
    for rule in registry() {
        table.add_row(vec![rule.id, rule.name, rule.severity.as_str(), rule.title]);
    }
    format!("{table}\n")
}

/// The catalogue as a pretty-printed JSON array of [`json`] objects.
pub fn json_list() -> String {
    let list: Vec<Value> = registry().iter().map(json).collect();
    pretty(&Value::Array(list))
}

/// The catalogue as a Markdown table, each rule with its source linked to its page (the README's rule
/// table is this, kept in step by a test).
pub fn markdown() -> String {
    let mut table =
        String::from("| ID | Name | Default | Title | Source |\n|---|---|---|---|---|\n");
    for rule in registry() {
        table.push_str(&format!(
            "| {} | `{}` | {} | {} | [{}]({}) |\n",
            rule.id,
            rule.name,
            rule.severity,
            cell(rule.title),
            cell(rule.source),
            rule.doc_url
        ));
    }
    table
}

/// A table cell: a `|` would end it early.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// One rule as a README section: what `rules EAnnn` says, in Markdown.
pub fn markdown_one(rule: &Rule) -> String {
    format!(
        "#### {} `{}` ({})\n\n{}\n\n**Why:** {}\n\n**Remediation:** {}\n\n**Source:** {} ([documentation]({}))\n",
        rule.id,
        rule.name,
        rule.severity,
        rule.title,
        rule.explanation,
        rule.remediation,
        rule.source,
        rule.doc_url
    )
}

/// Every rule's section, in registry order (the README's "Rules explained").
pub fn markdown_details() -> String {
    registry()
        .iter()
        .map(markdown_one)
        .collect::<Vec<_>>()
        .join("\n")
}

/// One rule explained for people: why, remediation, source and docs.
pub fn text(rule: &Rule) -> String {
    format!(
        "{} {} ({})\n{}\n\nWhy: {}\n\nRemediation: {}\n\nSource: {}\nDocs: {}\n",
        rule.id,
        rule.name,
        rule.severity,
        rule.title,
        rule.explanation,
        rule.remediation,
        rule.source,
        rule.doc_url
    )
}

/// One rule as a JSON object: every field of the catalogue.
pub fn json(rule: &Rule) -> Value {
    json!({
        "id": rule.id,
        "name": rule.name,
        "severity": rule.severity,
        "title": rule.title,
        "explanation": rule.explanation,
        "remediation": rule.remediation,
        "source": rule.source,
        "doc_url": rule.doc_url,
    })
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

/// SARIF's `level` for a severity.
pub fn sarif_level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// One rule as a SARIF 2.1.0 `reportingDescriptor` (an entry of `tool.driver.rules`).
pub fn sarif_descriptor(rule: &Rule) -> Value {
    let mut descriptor = json!({
        "id": rule.id,
        "name": rule.name,
        "shortDescription": { "text": rule.title },
        "fullDescription": { "text": rule.explanation },
        "help": {
            "text": format!(
                "Why: {} Remediation: {} Source: {}",
                rule.explanation, rule.remediation, rule.source
            ),
            "markdown": format!(
                "**Why:** {}\n\n**Remediation:** {}\n\n**Source:** {} ([documentation]({}))",
                rule.explanation, rule.remediation, rule.source, rule.doc_url
            ),
        },
        "defaultConfiguration": { "level": sarif_level(rule.severity) },
        "properties": { "tags": ["emr", "custom-ami"] },
    });
    // `helpUri` must be a URI: left out rather than empty.
    if !rule.doc_url.is_empty() {
        descriptor["helpUri"] = json!(rule.doc_url);
    }
    descriptor
}
