//! `--format sarif`: SARIF 2.1.0 for code-scanning tools (GitHub code scanning, …). One run; the
//! rules are the registry's, in its order, so `ruleIndex` is a finding's position in
//! `rules::registry()`.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{Map, Value, json};

use super::located::{Located, kind_name, located};
use super::{Report, ReportedFinding, Status, TargetKind};
use crate::rules::catalogue::{sarif_descriptor, sarif_level};
use crate::rules::{self, Rule};
use crate::sink::WaiverStatus;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFORMATION_URI: &str = "https://github.com/emr-ami-audit/emr-ami-audit";
/// Key of `partialFingerprints`; bump the version if the fingerprint's recipe changes.
const FINGERPRINT: &str = "emrAmiAudit/v1";

pub fn render_sarif(report: &Report) -> String {
    let registry = rules::registry();
    let descriptors: Vec<Value> = registry.iter().map(sarif_descriptor).collect();
    let mut notifications: Vec<Value> = report
        .errors
        .iter()
        .map(|error| notification(error.clone()))
        .collect();
    let mut results = Vec::new();
    // Repeats of a rule on one target get `:2`, `:3`, … so that fingerprints stay distinct.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for entry in located(&report.targets) {
        if entry.target.status == Status::NotAudited {
            let error = entry.target.error.as_deref().unwrap_or("not audited");
            notifications.push(notification(format!("{}: {error}", entry.qualified)));
        }
        for finding in &entry.target.findings {
            results.push(result(&entry, finding, registry, &mut seen));
        }
    }
    let sarif = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "emr-ami-audit",
                    "version": report.tool.version,
                    "informationUri": INFORMATION_URI,
                    "rules": descriptors,
                }
            },
            "invocations": [{
                "executionSuccessful": !report.incomplete(),
                "toolExecutionNotifications": notifications,
                "toolConfigurationNotifications": waiver_notifications(report),
            }],
            "results": results,
        }]
    });
    // Serializing a `Value` cannot fail; fall back to an empty object if it ever did.
    let mut text = serde_json::to_string_pretty(&sarif).unwrap_or_else(|_| "{}".to_string());
    text.push('\n');
    text
}

fn result(
    entry: &Located<'_>,
    finding: &ReportedFinding,
    registry: &[Rule],
    seen: &mut BTreeMap<String, usize>,
) -> Value {
    let target = entry.target;
    let base = format!("{}:{}", finding.rule, entry.qualified);
    let count = seen.entry(base.clone()).or_insert(0);
    *count += 1;
    let fingerprint = match *count {
        1 => base,
        n => format!("{base}:{n}"),
    };
    let mut fingerprints = Map::new();
    fingerprints.insert(FINGERPRINT.to_string(), Value::String(fingerprint));
    let mut value = json!({
        "ruleId": finding.rule,
        "level": sarif_level(finding.severity),
        "message": { "text": format!("{}: {}", target.id, finding.message) },
        "locations": [{
            "physicalLocation": { "artifactLocation": { "uri": uri(entry) } },
            "logicalLocations": [{
                "name": target.id,
                "fullyQualifiedName": entry.qualified,
                "kind": "resource",
            }],
        }],
        "partialFingerprints": fingerprints,
        "properties": {
            "target_kind": kind_name(target.kind),
            "region": target.region,
            "account": target.context.account,
            "evidence": finding.evidence,
            "remediation": finding.remediation,
        },
    });
    if let Some(index) = registry.iter().position(|r| r.id == finding.rule) {
        value["ruleIndex"] = json!(index);
    }
    // A waiver of the configuration: the result stays, marked as accepted.
    if let Some(waiver) = &finding.suppressed {
        let mut suppression = json!({
            "kind": "external",
            "status": "accepted",
            "justification": waiver.reason,
        });
        if let Some(expires) = &waiver.expires {
            suppression["properties"] = json!({ "expires": expires });
        }
        value["suppressions"] = json!([suppression]);
    }
    value
}

fn notification(text: String) -> Value {
    json!({ "level": "error", "message": { "text": text } })
}

/// Waivers that waived nothing: expired, or matching no finding.
fn waiver_notifications(report: &Report) -> Vec<Value> {
    report
        .waivers
        .iter()
        .flatten()
        .filter_map(|waiver| {
            let note = match waiver.status {
                WaiverStatus::Applied => return None,
                WaiverStatus::Expired => "expired: it no longer waives",
                WaiverStatus::Unmatched => "matched no finding",
            };
            let text = format!(
                "waiver of {} on {}: {note} ({})",
                waiver.rule, waiver.target, waiver.reason
            );
            Some(json!({ "level": "warning", "message": { "text": text } }))
        })
        .collect()
}

/// Where a result is fixed: a plan's file (for the AMIs it names too), a root filesystem's
/// directory, else the AWS resource.
fn uri(entry: &Located<'_>) -> String {
    if entry.root.kind == TargetKind::Plan {
        return file_uri(plan_file(&entry.root.id));
    }
    let target = entry.target;
    match target.kind {
        TargetKind::Rootfs => file_uri(&target.id),
        TargetKind::Image | TargetKind::Cluster | TargetKind::Plan => format!(
            "aws://{}/{}/{}",
            encode(&target.region, false),
            kind_name(target.kind),
            encode(&target.id, false)
        ),
    }
}

/// A plan target's file: `file.yaml:LogicalId` for a CloudFormation cluster, else the file itself.
fn plan_file(id: &str) -> &str {
    match id.rsplit_once(':') {
        Some((file, logical_id))
            if !file.is_empty()
                && !logical_id.is_empty()
                && logical_id.chars().all(|c| c.is_ascii_alphanumeric()) =>
        {
            file
        }
        _ => id,
    }
}

/// A relative path as a relative URI reference; an absolute one as a `file://` URI.
fn file_uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let path = path.trim_start_matches("./");
    let drive = path.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && path.get(1..).is_some_and(|rest| rest.starts_with(":/"));
    if drive {
        format!("file:///{}{}", &path[..2], encode(&path[2..], true))
    } else if path.starts_with('/') {
        format!("file://{}", encode(path, true))
    } else {
        encode(path, true)
    }
}

/// Percent-encodes everything but unreserved characters, sub-delimiters, `@` and (if asked) `/`.
/// `:` is encoded too, so that a relative path never reads as a scheme.
fn encode(text: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric()
            || b"-._~!$&'()*+,;=@".contains(&byte)
            || (keep_slash && byte == b'/')
        {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_files_and_uris() {
        assert_eq!(plan_file("examples/cf.yaml:EtlCluster"), "examples/cf.yaml");
        assert_eq!(
            plan_file("examples/runjobflow.json"),
            "examples/runjobflow.json"
        );
        assert_eq!(plan_file("C:\\plans\\run.json"), "C:\\plans\\run.json");
        assert_eq!(file_uri("./plans/my plan.json"), "plans/my%20plan.json");
        assert_eq!(file_uri("/tmp/a:b.json"), "file:///tmp/a%3Ab.json");
        assert_eq!(file_uri("C:\\plans\\run.json"), "file:///C:/plans/run.json");
        assert_eq!(encode("ami-0123/x", false), "ami-0123%2Fx");
    }
}
