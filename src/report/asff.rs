//! `--format asff`: the AWS Security Finding Format, as the JSON array that
//! `aws securityhub batch-import-findings --findings file://…` takes. The tool stays read-only: it
//! writes the file, the user imports it.
//!
//! One finding per target × rule finding (a cluster's AMI is a target of its own, so the same AMI in
//! two clusters gives two findings: each names its cluster among its resources). Ids are built from
//! the account, region, target and rule only, so a re-import updates the finding instead of adding a
//! copy. What cannot be imported is left out and named in `left_out` (the caller warns on stderr):
//! targets without a known account or region (`inspect`'s root filesystems, plans checked without
//! `--account`) — Security Hub refuses a finding without `AwsAccountId` and `ProductArn`.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value, json};

use super::located::{Located, kind_name, located};
use super::{Report, ReportedFinding, Status, TargetKind};
use crate::rules::{self, Severity};

/// The only version of the format there is.
pub const SCHEMA_VERSION: &str = "2018-10-08";
/// `GeneratorId` of the finding a target that could not be audited gets.
pub const NOT_AUDITED: &str = "emr-ami-audit/not-audited";
/// The finding type: a configuration check, against AWS's documented requirements for EMR custom AMIs.
const TYPE: &str =
    "Software and Configuration Checks/AWS Security Best Practices/Amazon EMR custom AMI";
/// Limits from the ASFF documentation: Id 512, Title 256, Description 1024 characters,
/// Remediation.Recommendation.Text 512; `Details.Other` values under 1024 characters, at most 50 keys.
const ID_MAX: usize = 512;
const TITLE_MAX: usize = 256;
const DESCRIPTION_MAX: usize = 1024;
const RECOMMENDATION_MAX: usize = 512;
const OTHER_VALUE_MAX: usize = 1023;
const OTHER_KEYS_MAX: usize = 50;

/// The findings, and the targets left out because they cannot be imported.
#[derive(Debug)]
pub struct Asff {
    pub text: String,
    pub left_out: Vec<String>,
}

pub fn render_asff(report: &Report, now: DateTime<Utc>) -> Asff {
    let time = now.to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut findings = Vec::new();
    let mut left_out = Vec::new();
    // Repeats of a rule on one target get `/2`, `/3`, … so that Ids stay distinct (and stable as long
    // as the findings come in the same order, which the rules guarantee).
    let mut seen = std::collections::BTreeMap::new();
    for entry in located(&report.targets) {
        let Some(scope) = Scope::of(&entry) else {
            if entry.target.status == Status::NotAudited || !entry.target.findings.is_empty() {
                left_out.push(entry.qualified.clone());
            }
            continue;
        };
        if entry.target.status == Status::NotAudited {
            findings.push(not_audited(&entry, &scope, &time));
        }
        for finding in &entry.target.findings {
            let base = format!("{}/{}", entry.qualified, finding.rule);
            let count = seen.entry((scope.key(), base.clone())).or_insert(0usize);
            *count += 1;
            let suffix = match *count {
                1 => base,
                n => format!("{base}/{n}"),
            };
            findings.push(one(&entry, &scope, finding, &suffix, &time));
        }
    }
    // Serializing a `Value` cannot fail; fall back to an empty array if it ever did.
    let mut text =
        serde_json::to_string_pretty(&Value::Array(findings)).unwrap_or_else(|_| "[]".to_string());
    text.push('\n');
    Asff { text, left_out }
}

/// Where a finding lives in AWS: its partition, region and account.
struct Scope {
    partition: &'static str,
    region: String,
    account: String,
}

impl Scope {
    /// The target's region and account, else its top-level target's; `None` when either is unknown
    /// or not a 12-digit account ID.
    fn of(entry: &Located<'_>) -> Option<Scope> {
        let region = [entry.target, entry.root]
            .iter()
            .map(|t| t.region.as_str())
            .find(|r| !r.is_empty())?
            .to_string();
        let account = [entry.target, entry.root]
            .iter()
            .find_map(|t| t.context.account.clone())?;
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(Scope {
            partition: partition(&region),
            region,
            account,
        })
    }

    fn key(&self) -> String {
        format!("{}/{}", self.account, self.region)
    }

    fn product_arn(&self) -> String {
        format!(
            "arn:{}:securityhub:{}:{}:product/{}/default",
            self.partition, self.region, self.account, self.account
        )
    }

    /// `emr-ami-audit/REGION/ACCOUNT/TARGET/RULE`: the same target and rule give the same Id in every
    /// run. A target path that would make it too long is replaced by its hash.
    fn finding_id(&self, suffix: &str) -> String {
        let id = format!("emr-ami-audit/{}/{}/{suffix}", self.region, self.account);
        if id.chars().count() <= ID_MAX {
            return id;
        }
        format!(
            "emr-ami-audit/{}/{}/fnv1a64-{:016x}",
            self.region,
            self.account,
            fnv1a64(suffix)
        )
    }
}

/// The partition of a region's ARNs.
fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// A stable 64-bit hash (FNV-1a): the same in every run and on every platform, unlike `DefaultHasher`.
fn fnv1a64(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Our severities as ASFF labels: an error means EMR refuses or breaks the cluster (HIGH, not
/// CRITICAL, which ASFF keeps for active compromise); a warning is a likely problem (MEDIUM); info
/// is context (INFORMATIONAL).
pub fn severity_label(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "HIGH",
        Severity::Warning => "MEDIUM",
        Severity::Info => "INFORMATIONAL",
    }
}

fn severity_name(severity: Severity) -> String {
    serde_json::to_value(severity)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The first `max` characters of `text`, marked with `…` when cut.
fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The resources of a finding: the target itself first, then the cluster or plan it is used in.
fn resources(entry: &Located<'_>, scope: &Scope, details: Map<String, Value>) -> Vec<Value> {
    let mut all = vec![resource(entry.target, scope, Some(details))];
    if let Some(parent) = entry.parent {
        all.push(resource(parent, scope, None));
    }
    all
}

/// One resource. ASFF has no typed object for EC2 images or EMR clusters, so both are `Other`,
/// named by their ARN; plans (files) are `Other` named by their path.
fn resource(target: &super::Target, scope: &Scope, details: Option<Map<String, Value>>) -> Value {
    let id = match target.kind {
        TargetKind::Image => format!(
            "arn:{}:ec2:{}::image/{}",
            scope.partition, scope.region, target.id
        ),
        TargetKind::Cluster => format!(
            "arn:{}:elasticmapreduce:{}:{}:cluster/{}",
            scope.partition, scope.region, scope.account, target.id
        ),
        TargetKind::Plan | TargetKind::Rootfs => target.id.clone(),
    };
    let mut other = details.unwrap_or_default();
    other.insert("kind".into(), Value::String(kind_name(target.kind)));
    if let Some(name) = &target.name {
        other.insert("name".into(), Value::String(cut(name, OTHER_VALUE_MAX)));
    }
    json!({
        "Type": "Other",
        "Id": id,
        "Partition": scope.partition,
        "Region": scope.region,
        "Details": { "Other": other },
    })
}

/// The evidence of a finding as `Details.Other` (within ASFF's limits on keys and values).
fn evidence(finding: &ReportedFinding) -> Map<String, Value> {
    finding
        .evidence
        .iter()
        // Two keys are for `kind` and `name`.
        .take(OTHER_KEYS_MAX - 2)
        .map(|(key, value)| (cut(key, 127), Value::String(cut(value, OTHER_VALUE_MAX))))
        .collect()
}

fn common(
    entry: &Located<'_>,
    scope: &Scope,
    id: String,
    generator: &str,
    time: &str,
) -> Map<String, Value> {
    let mut finding = Map::new();
    finding.insert("SchemaVersion".into(), json!(SCHEMA_VERSION));
    finding.insert("Id".into(), json!(id));
    finding.insert("ProductArn".into(), json!(scope.product_arn()));
    finding.insert("ProductName".into(), json!("emr-ami-audit"));
    finding.insert("CompanyName".into(), json!("emr-ami-audit"));
    finding.insert("GeneratorId".into(), json!(generator));
    finding.insert("AwsAccountId".into(), json!(scope.account));
    finding.insert("Region".into(), json!(scope.region));
    finding.insert("Types".into(), json!([TYPE]));
    // The tool keeps no memory between runs, so both are the run's time; Security Hub keeps when it
    // first saw the finding in its own fields.
    finding.insert("CreatedAt".into(), json!(time));
    finding.insert("UpdatedAt".into(), json!(time));
    finding.insert(
        "ProductFields".into(),
        json!({
            "emr-ami-audit/Version": env!("CARGO_PKG_VERSION"),
            "emr-ami-audit/Target": cut(&entry.qualified, 2048),
        }),
    );
    finding
}

fn one(
    entry: &Located<'_>,
    scope: &Scope,
    finding: &ReportedFinding,
    suffix: &str,
    time: &str,
) -> Value {
    let rule = rules::find(&finding.rule);
    let title = rule.map_or(finding.name.as_str(), |r| r.title);
    let mut value = common(entry, scope, scope.finding_id(suffix), &finding.rule, time);
    value.insert(
        "Severity".into(),
        json!({
            "Label": severity_label(finding.severity),
            "Original": severity_name(finding.severity),
        }),
    );
    value.insert(
        "Title".into(),
        json!(cut(&format!("{} {}", finding.rule, title), TITLE_MAX)),
    );
    value.insert(
        "Description".into(),
        json!(cut(
            &format!("{}: {}", entry.qualified, finding.message),
            DESCRIPTION_MAX
        )),
    );
    let mut recommendation = json!({ "Text": cut(&finding.remediation, RECOMMENDATION_MAX) });
    if finding.doc_url.starts_with("https://") {
        recommendation["Url"] = json!(finding.doc_url);
    }
    value.insert(
        "Remediation".into(),
        json!({ "Recommendation": recommendation }),
    );
    value.insert(
        "Resources".into(),
        json!(resources(entry, scope, evidence(finding))),
    );
    // A waived finding is archived (hidden from Security Hub's default views, and archived again if
    // it was imported before the waiver): the record state is the provider's to set on every import,
    // unlike the workflow status, which belongs to Security Hub's users.
    let state = if finding.suppressed.is_some() {
        "ARCHIVED"
    } else {
        "ACTIVE"
    };
    value.insert("RecordState".into(), json!(state));
    if let Some(waiver) = &finding.suppressed
        && let Some(fields) = value
            .get_mut("ProductFields")
            .and_then(Value::as_object_mut)
    {
        fields.insert(
            "emr-ami-audit/Waiver".into(),
            json!(cut(&waiver.reason, 2048)),
        );
    }
    Value::Object(value)
}

/// A target that could not be audited: a finding of its own (MEDIUM), so that a gap in the audit
/// shows in Security Hub instead of passing for a clean target.
fn not_audited(entry: &Located<'_>, scope: &Scope, time: &str) -> Value {
    let suffix = format!("{}/not-audited", entry.qualified);
    let mut value = common(entry, scope, scope.finding_id(&suffix), NOT_AUDITED, time);
    let error = entry.target.error.as_deref().unwrap_or("not audited");
    value.insert(
        "Severity".into(),
        json!({ "Label": "MEDIUM", "Original": "not_audited" }),
    );
    value.insert(
        "Title".into(),
        json!(cut(
            &format!("{} could not be audited", kind_name(entry.target.kind)),
            TITLE_MAX
        )),
    );
    value.insert(
        "Description".into(),
        json!(cut(
            &format!("{}: {error}", entry.qualified),
            DESCRIPTION_MAX
        )),
    );
    value.insert(
        "Remediation".into(),
        json!({ "Recommendation": { "Text": "Grant the read-only permissions the README lists (or fix the input the error names), then run the audit again." } }),
    );
    value.insert(
        "Resources".into(),
        json!(resources(entry, scope, Map::new())),
    );
    value.insert("RecordState".into(), json!("ACTIVE"));
    Value::Object(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_stay_short_and_stable() {
        let scope = Scope {
            partition: "aws",
            region: "us-east-1".into(),
            account: "111122223333".into(),
        };
        assert_eq!(
            scope.finding_id("j-1/ami-1/EA013"),
            "emr-ami-audit/us-east-1/111122223333/j-1/ami-1/EA013"
        );
        let long = "x".repeat(600);
        let id = scope.finding_id(&long);
        assert!(id.len() <= ID_MAX);
        assert_eq!(id, scope.finding_id(&long));
        assert_ne!(id, scope.finding_id(&format!("{long}y")));
    }

    #[test]
    fn partitions_severities_and_cuts() {
        assert_eq!(partition("cn-north-1"), "aws-cn");
        assert_eq!(partition("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition("eu-west-1"), "aws");
        assert_eq!(severity_label(Severity::Error), "HIGH");
        assert_eq!(severity_label(Severity::Warning), "MEDIUM");
        assert_eq!(severity_label(Severity::Info), "INFORMATIONAL");
        assert_eq!(cut("abcdef", 4).chars().count(), 4);
        assert_eq!(cut("abc", 4), "abc");
    }
}
