//! EA040–EA042: what the AMI was built from — the 2018-08-11 base that breaks Oozie, images taken from
//! EMR nodes, and stale bases. They read the lineage `collect` traced; where it could not be traced they
//! say so instead of passing.

use chrono::NaiveDate;

use super::{CUSTOM_AMI_DOC, Check, Finding, ImageSubject, Rule, Severity};
use crate::context::Context;
use crate::facts::lineage::{self, Lineage, LineageLink};

pub(super) const RULES: &[Rule] = &[
    Rule {
        id: "EA040",
        name: "oozie-base-2018-08-11",
        severity: Severity::Error,
        title: "The base is not the 2018-08-11 Amazon Linux AMI when Oozie runs",
        explanation: "Amazon Linux AMIs created on 2018-08-11 break Oozie on EMR: clusters built on them fail to start \
                      Oozie. It matters only when Oozie is among the cluster's applications.",
        remediation: "Rebuild the AMI from a base Amazon Linux AMI created on another date (the most recent one).",
        source: "spec, best practices",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Image(oozie_base),
    },
    Rule {
        id: "EA041",
        name: "not-from-emr-instance",
        severity: Severity::Error,
        title: "The AMI was not imaged from an EMR cluster's instance",
        explanation: "An image of an EMR node carries that cluster's configuration, users and provisioning state; \
                      AWS says not to create a custom AMI from an existing Amazon EMR instance.",
        remediation: "Build the AMI from an Amazon Linux base instance that never joined an EMR cluster.",
        source: "spec (\"Do not copy a snapshot of an existing Amazon EMR instance\")",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Image(not_from_emr_instance),
    },
    Rule {
        id: "EA042",
        name: "stale-base-image",
        severity: Severity::Warning,
        title: "The AMI's base is recent",
        explanation: "EMR does not install kernel and security updates that need a reboot on custom AMIs; an old base \
                      keeps its old kernel for the cluster's life. AWS recommends the most recent Amazon Linux base.",
        remediation: "Rebuild the AMI from the newest Amazon Linux AMI of its generation, architecture and kernel line.",
        source: "spec, Important note and best practices (\"most recent\")",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Image(stale_base),
    },
];

/// The date a base was created, and where that came from.
fn created(link: &LineageLink) -> Option<(NaiveDate, &'static str)> {
    let (date, from) = link.created_on()?;
    Some((NaiveDate::parse_from_str(&date, "%Y-%m-%d").ok()?, from))
}

fn with_base(finding: Finding, base: &LineageLink) -> Finding {
    finding
        .with("Base", base.label())
        .with("BaseFrom", &base.evidence)
}

/// Why the base is unknown, for messages: the fallbacks the trace noted.
fn untraced(lineage: Option<&Lineage>) -> String {
    match lineage
        .map(|l| l.notes.join("; "))
        .filter(|n| !n.is_empty())
    {
        Some(notes) => format!("base not traced ({notes})"),
        None => "base not traced".to_string(),
    }
}

fn oozie_base(rule: &'static Rule, subject: &ImageSubject<'_>, cx: &Context) -> Vec<Finding> {
    let Some(image) = subject.evidence.found() else {
        return vec![];
    };
    let oozie = cx
        .applications
        .iter()
        .any(|a| a.eq_ignore_ascii_case("oozie"));
    let unknown_apps = cx.applications.is_empty();
    if !oozie && !unknown_apps {
        return vec![];
    }
    let lineage = subject.evidence.lineage.as_ref();
    let Some((base, _)) = lineage::base_of(lineage, image) else {
        return if oozie {
            vec![
                rule.finding(Severity::Warning,
                    format!(
                        "Oozie runs, and the base could not be traced, so the 2018-08-11 base that breaks Oozie can't be ruled out ({})",
                        untraced(lineage)
                    ),
                )
                .with("Applications", cx.applications.join(",")),
            ]
        } else {
            // Not silent: nothing here rules the 2018-08-11 base out, only the applications might.
            vec![rule.finding(
                Severity::Info,
                format!(
                    "the base could not be traced and the applications are unknown (give --application): if \
                     Oozie runs, the 2018-08-11 base that breaks it can't be ruled out ({})",
                    untraced(lineage)
                ),
            )]
        };
    };
    match created(&base) {
        Some((date, from)) if date == bad_date() => {
            let (severity, message) = if oozie {
                (
                    Severity::Error,
                    format!(
                        "the base {} was created on 2018-08-11, which breaks Oozie, and Oozie is among the applications",
                        base.label()
                    ),
                )
            } else {
                (
                    Severity::Warning,
                    format!(
                        "the base {} was created on 2018-08-11, which breaks Oozie; the applications are unknown (give --application)",
                        base.label()
                    ),
                )
            };
            vec![
                with_base(rule.finding(severity, message), &base)
                    .with("Created", date)
                    .with("CreatedFrom", from)
                    .with("Applications", cx.applications.join(",")),
            ]
        }
        Some(_) => vec![],
        None if oozie => vec![with_base(
            rule.finding(Severity::Warning,
                format!(
                    "Oozie runs, and the creation date of the base {} is unknown, so the 2018-08-11 base can't be ruled out",
                    base.label()
                ),
            ),
            &base,
        )],
        None => vec![with_base(
            rule.finding(
                Severity::Info,
                format!(
                    "the creation date of the base {} is unknown and the applications are unknown (give \
                     --application): if Oozie runs, the 2018-08-11 base can't be ruled out",
                    base.label()
                ),
            ),
            &base,
        )],
    }
}

fn bad_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2018, 8, 11).unwrap_or_default()
}

fn not_from_emr_instance(
    rule: &'static Rule,
    subject: &ImageSubject<'_>,
    _cx: &Context,
) -> Vec<Finding> {
    let Some(image) = subject.evidence.found() else {
        return vec![];
    };
    let mut findings = Vec::new();
    let lineage = subject.evidence.lineage.as_ref();
    let instances = lineage
        .map(|l| l.source_instances.as_slice())
        .unwrap_or_default();
    for instance in instances {
        if let Some((key, value)) = instance.emr_tags().first() {
            findings.push(
                rule.finding(
                    Severity::Error,
                    format!(
                        "{} was imaged from instance {}, an EMR cluster node (tag {key}={value})",
                        instance.image_id, instance.instance_id
                    ),
                )
                .with("Image", &instance.image_id)
                .with("SourceInstance", &instance.instance_id)
                .with("Tag", format!("{key}={value}")),
            );
        }
    }
    // CreateImage can copy the instance's tags to the image: EMR's tags on any image of the chain.
    let mut tagged: Vec<(&str, &std::collections::BTreeMap<String, String>)> =
        vec![(image.image_id.as_str(), &image.tags)];
    for link in lineage.map(|l| l.chain.as_slice()).unwrap_or_default() {
        if let (Some(id), Some(facts)) = (&link.image_id, &link.facts) {
            tagged.push((id, &facts.tags));
        }
    }
    for (id, tags) in tagged {
        if let Some((key, value)) = tags
            .iter()
            .find(|(k, _)| k.starts_with("aws:elasticmapreduce:"))
        {
            findings.push(
                rule.finding(Severity::Error,
                    format!("{id} carries EMR's node tag {key}={value}: it was imaged from an EMR cluster's instance"),
                )
                .with("Image", id)
                .with("Tag", format!("{key}={value}")),
            );
        }
    }
    if findings.is_empty()
        && let Some(instance) = instances.iter().find(|i| i.unknown.is_some())
    {
        findings.push(
            rule.finding(Severity::Info,
                format!(
                    "{} was imaged from instance {}, which could not be described ({}): whether it was an EMR node is unknown",
                    instance.image_id,
                    instance.instance_id,
                    instance.unknown.as_deref().unwrap_or_default()
                ),
            )
            .with("Image", &instance.image_id)
            .with("SourceInstance", &instance.instance_id),
        );
    }
    findings
}

fn stale_base(rule: &'static Rule, subject: &ImageSubject<'_>, cx: &Context) -> Vec<Finding> {
    let Some(image) = subject.evidence.found() else {
        return vec![];
    };
    let max_days = i64::from(cx.thresholds.max_base_age_days);
    let today = cx.now.date_naive();
    let lineage = subject.evidence.lineage.as_ref();
    let Some((base, _)) = lineage::base_of(lineage, image) else {
        // The AMI is younger than its base: its own age is a lower bound on the base's.
        let own = image
            .creation_date
            .as_deref()
            .and_then(|d| NaiveDate::parse_from_str(d.get(..10)?, "%Y-%m-%d").ok());
        return match own {
            Some(date) if (today - date).num_days() > max_days => vec![
                rule.finding(Severity::Warning,
                    format!(
                        "{}; the AMI itself was created {date}, {} days ago (more than {max_days}), so its base is at least as old",
                        untraced(lineage),
                        (today - date).num_days()
                    ),
                )
                .with("ImageCreated", date)
                .with("MaxAgeDays", max_days),
            ],
            _ => vec![
                rule.finding(Severity::Info,
                    format!("{}: its age and newer releases can't be checked", untraced(lineage)),
                ),
            ],
        };
    };
    let mut reasons = Vec::new();
    let mut finding = rule.finding(Severity::Warning, String::new());
    match created(&base) {
        Some((date, from)) => {
            let age = (today - date).num_days();
            finding = finding
                .with("Created", date)
                .with("CreatedFrom", from)
                .with("AgeDays", age);
            if age > max_days {
                reasons.push(format!(
                    "was created {date}, {age} days ago (more than {max_days})"
                ));
            }
        }
        None => finding = finding.with("Created", "unknown"),
    }
    if let Some(family) = lineage.and_then(|l| l.family.as_deref()) {
        finding = finding.with("Family", family);
    }
    if let Some(newest) = lineage.and_then(|l| l.newest_in_family.as_ref())
        && is_newer(&newest.name, newest.creation_date.as_deref(), &base)
    {
        reasons.push(format!(
            "is not the newest of its family: {} ({}) is newer",
            newest.name, newest.image_id
        ));
        finding = finding.with("Newest", format!("{} ({})", newest.image_id, newest.name));
    }
    if let Some(error) = lineage.and_then(|l| l.newest_lookup_error.as_ref()) {
        finding = finding.with("NewestLookup", error);
    }
    if reasons.is_empty() {
        // Nothing stale was found; say what could not be checked rather than pass silently.
        let mut unchecked = Vec::new();
        if finding.evidence.get("Created").map(String::as_str) == Some("unknown") {
            unchecked.push("its creation date is unknown, so its age can't be checked".to_string());
        }
        if let Some(error) = lineage.and_then(|l| l.newest_lookup_error.as_ref()) {
            unchecked.push(format!(
                "newer releases of its family could not be looked up ({error})"
            ));
        }
        if unchecked.is_empty() {
            return vec![];
        }
        finding.severity = Severity::Info;
        finding.message = format!("the base {}: {}", base.label(), unchecked.join("; "));
        return vec![with_base(finding, &base)];
    }
    finding.message = format!("the base {} {}", base.label(), reasons.join(", and "));
    vec![with_base(finding.with("MaxAgeDays", max_days), &base)]
}

/// Whether the family's newest image is newer than the base: by version when both names have one,
/// else by creation date.
fn is_newer(newest_name: &str, newest_created: Option<&str>, base: &LineageLink) -> bool {
    let base_version = base.name.as_deref().and_then(lineage::version_token);
    match (lineage::version_token(newest_name), base_version) {
        (Some(newest), Some(base)) => lineage::compare_versions(newest, base).is_gt(),
        _ => match (newest_created, base.creation_date.as_deref()) {
            (Some(newest), Some(base)) => newest > base,
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{ImageEvidence, NewestBase, RegionFacts, SourceInstance};
    use crate::rules::testing::*;

    fn base_link(name: &str, created: &str) -> LineageLink {
        LineageLink {
            creation_date: Some(created.into()),
            ..amazon_base(name)
        }
    }

    fn traced(chain: Vec<LineageLink>) -> ImageEvidence {
        let mut evidence = evidence(good_image());
        evidence.lineage = Some(Lineage {
            chain,
            ..Lineage::default()
        });
        evidence
    }

    fn with_apps(release: &str, apps: &[&str]) -> Context {
        let mut cx = context(release);
        cx.applications = apps.iter().map(|a| a.to_string()).collect();
        cx
    }

    const OOZIE_BASE: &str = "amzn-ami-hvm-2018.03.0.20180811-x86_64-gp2";

    #[test]
    fn ea040_fires_on_the_2018_08_11_base_with_oozie() {
        let region = RegionFacts::default();
        let bad = traced(vec![base_link(OOZIE_BASE, "2018-08-11T02:05:47.000Z")]);
        let found = findings("EA040", &bad, &region, &with_apps("emr-5.29.0", &["Oozie"]));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Error);
        assert_eq!(found[0].evidence["Created"], "2018-08-11");
        assert_eq!(found[0].evidence["CreatedFrom"], "CreationDate");
        let unknown = findings("EA040", &bad, &region, &context("emr-5.29.0"));
        assert_eq!(unknown[0].severity, Severity::Warning);
        assert!(findings("EA040", &bad, &region, &with_apps("emr-5.29.0", &["Spark"])).is_empty());
    }

    #[test]
    fn ea040_reads_the_date_stamp_of_a_base_known_by_name() {
        let region = RegionFacts::default();
        let mut by_name = base_link(OOZIE_BASE, "");
        by_name.creation_date = None;
        by_name.image_id = None;
        let found = findings(
            "EA040",
            &traced(vec![by_name]),
            &region,
            &with_apps("emr-5.29.0", &["oozie"]),
        );
        assert_eq!(
            found[0].evidence["CreatedFrom"],
            "the date stamp in its name"
        );
        let other = traced(vec![base_link(OOZIE_BASE, "2018-08-12T00:00:00.000Z")]);
        assert!(
            findings(
                "EA040",
                &other,
                &region,
                &with_apps("emr-5.29.0", &["Oozie"])
            )
            .is_empty()
        );
    }

    #[test]
    fn ea040_says_when_the_base_is_unknown_and_oozie_runs() {
        let region = RegionFacts::default();
        let untraced = evidence(good_image());
        let found = findings(
            "EA040",
            &untraced,
            &region,
            &with_apps("emr-5.29.0", &["Oozie"]),
        );
        assert_eq!(found[0].severity, Severity::Warning);
        // Applications unknown: not silent, an info naming what would settle it.
        let unknown = findings("EA040", &untraced, &region, &context("emr-5.29.0"));
        assert_eq!(unknown.len(), 1);
        assert_eq!(unknown[0].severity, Severity::Info);
        assert!(unknown[0].message.contains("--application"));
        // Applications known, without Oozie: nothing to say.
        assert!(
            findings(
                "EA040",
                &untraced,
                &region,
                &with_apps("emr-5.29.0", &["Spark"])
            )
            .is_empty()
        );
    }

    #[test]
    fn ea041_fires_on_emr_node_tags() {
        let region = RegionFacts::default();
        let mut node = traced(vec![]);
        let lineage = node.lineage.as_mut().expect("lineage");
        lineage.source_instances.push(SourceInstance {
            instance_id: "i-0aa0000000000c003".into(),
            image_id: "ami-0ea00000000000001".into(),
            tags: Some(
                [(
                    "aws:elasticmapreduce:job-flow-id".to_string(),
                    "j-3LAB".to_string(),
                )]
                .into_iter()
                .collect(),
            ),
            unknown: None,
        });
        let found = findings("EA041", &node, &region, &context("emr-7.1.0"));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Error);
        assert_eq!(found[0].evidence["SourceInstance"], "i-0aa0000000000c003");

        let mut builder = node.clone();
        let instance = &mut builder.lineage.as_mut().expect("lineage").source_instances[0];
        instance.tags = Some(
            [("Name".to_string(), "builder".to_string())]
                .into_iter()
                .collect(),
        );
        assert!(findings("EA041", &builder, &region, &context("emr-7.1.0")).is_empty());

        let mut gone = builder.clone();
        let instance = &mut gone.lineage.as_mut().expect("lineage").source_instances[0];
        instance.tags = None;
        instance.unknown = Some("terminated".into());
        let found = findings("EA041", &gone, &region, &context("emr-7.1.0"));
        assert_eq!(found[0].severity, Severity::Info);
    }

    #[test]
    fn ea041_fires_on_emr_tags_copied_to_the_image() {
        let region = RegionFacts::default();
        let mut image = good_image();
        image.tags.insert(
            "aws:elasticmapreduce:instance-group-role".into(),
            "CORE".into(),
        );
        let found = findings("EA041", &evidence(image), &region, &context("emr-7.1.0"));
        assert_eq!(
            found[0].evidence["Tag"],
            "aws:elasticmapreduce:instance-group-role=CORE"
        );
    }

    #[test]
    fn ea042_fires_on_old_bases_and_newer_releases() {
        let region = RegionFacts::default();
        let name = "al2023-ami-2023.9.20261110.0-kernel-6.1-x86_64";
        let fresh = traced(vec![base_link(name, "2026-11-10T21:14:00.000Z")]);
        assert!(findings("EA042", &fresh, &region, &context("emr-7.1.0")).is_empty());

        let old = traced(vec![base_link(
            "al2023-ami-2023.5.20240805.0-kernel-6.1-x86_64",
            "2024-08-05T19:30:00.000Z",
        )]);
        let found = findings("EA042", &old, &region, &context("emr-7.1.0"));
        assert_eq!(found[0].severity, Severity::Warning);
        assert_eq!(found[0].evidence["AgeDays"], "842");

        let mut superseded = fresh.clone();
        let lineage = superseded.lineage.as_mut().expect("lineage");
        lineage.newest_in_family = Some(NewestBase {
            image_id: "ami-0b1000000000000a9".into(),
            name: "al2023-ami-2023.10.20261120.0-kernel-6.1-x86_64".into(),
            creation_date: None,
        });
        let found = findings("EA042", &superseded, &region, &context("emr-7.1.0"));
        assert!(
            found[0].message.contains("al2023-ami-2023.10.20261120.0"),
            "{}",
            found[0].message
        );

        let mut lenient = context("emr-7.1.0");
        lenient.thresholds.max_base_age_days = 1000;
        assert!(findings("EA042", &old, &region, &lenient).is_empty());
    }

    #[test]
    fn ea042_says_what_it_could_not_check() {
        let region = RegionFacts::default();
        let mut undated = base_link("al2023-ami-latest-custom", "");
        undated.creation_date = None;
        let found = findings(
            "EA042",
            &traced(vec![undated]),
            &region,
            &context("emr-7.1.0"),
        );
        assert_eq!(found[0].severity, Severity::Info);
        assert!(
            found[0].message.contains("creation date is unknown"),
            "{}",
            found[0].message
        );
        let mut unlooked = traced(vec![base_link(
            "al2023-ami-2023.9.20261110.0-kernel-6.1-x86_64",
            "2026-11-10T21:14:00.000Z",
        )]);
        unlooked
            .lineage
            .as_mut()
            .expect("lineage")
            .newest_lookup_error = Some("ec2:DescribeImages failed: UnauthorizedOperation".into());
        let found = findings("EA042", &unlooked, &region, &context("emr-7.1.0"));
        assert_eq!(found[0].severity, Severity::Info);
        assert!(
            found[0].message.contains("could not be looked up"),
            "{}",
            found[0].message
        );
    }

    #[test]
    fn ea042_without_a_base_uses_the_image_age() {
        let region = RegionFacts::default();
        let mut image = good_image();
        image.creation_date = Some("2024-11-01T09:00:12.000Z".into());
        let found = findings(
            "EA042",
            &evidence(image.clone()),
            &region,
            &context("emr-7.1.0"),
        );
        assert_eq!(found[0].severity, Severity::Warning);
        image.creation_date = Some("2026-11-20T09:00:00.000Z".into());
        let found = findings("EA042", &evidence(image), &region, &context("emr-7.1.0"));
        assert_eq!(found[0].severity, Severity::Info);
    }
}
