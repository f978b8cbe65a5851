//! EA001–EA003: can the release take a custom AMI at all, and does the AMI exist and work.

use super::{CUSTOM_AMI_DOC, Check, Finding, ImageSubject, Rule, Severity};
use crate::context::Context;
use crate::facts::ImageLookup;

pub(super) const RULES: &[Rule] = &[
    Rule {
        id: "EA001",
        name: "release-supports-custom-ami",
        severity: Severity::Error,
        title: "The EMR release supports custom AMIs",
        explanation: "Custom AMIs are available from Amazon EMR 5.7.0 on; older releases only boot the default EMR AMI. \
                      A release newer than the tool's release table (`emr-ami-audit releases`) is a warning: what \
                      depends on the release is not judged.",
        remediation: "Use EMR release 5.7.0 or later, or drop the custom AMI.",
        source: "spec, opening paragraph",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Image(release_supports_custom_ami),
    },
    Rule {
        id: "EA002",
        name: "image-not-found",
        severity: Severity::Error,
        title: "The AMI exists in the cluster's region and is visible to the account",
        explanation: "EMR launches the AMI in the cluster's region with the account's permissions; an AMI that EC2 does not \
                      show there (wrong region, deregistered, not shared) fails provisioning.",
        remediation: "Check the AMI ID and region; copy the AMI into the cluster's region, or share it with the account.",
        source: "spec, best practices (launch permission); an AMI is regional",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Image(image_not_found),
    },
    Rule {
        id: "EA003",
        name: "image-not-available",
        severity: Severity::Error,
        title: "The AMI is available and not deprecated",
        explanation: "Only an AMI in state `available` can be launched. A deprecated AMI still launches when named by ID, \
                      but its owner has marked it for retirement.",
        remediation: "Use an available AMI; rebuild or replace a failed or deprecated one.",
        source: "EC2 DescribeImages (State, DeprecationTime)",
        doc_url: "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_Image.html",
        check: Check::Image(image_not_available),
    },
];

fn release_supports_custom_ami(
    rule: &'static Rule,
    _: &ImageSubject<'_>,
    cx: &Context,
) -> Vec<Finding> {
    if cx.release.supports_custom_ami() == Some(true) {
        return vec![];
    }
    // A release past the table may well take custom AMIs; what it needs is what isn't known.
    if cx.release.is_beyond_table() {
        return vec![
            rule.finding(
                Severity::Warning,
                format!(
                    "{} is newer than emr-ami-audit's release table (which ends before {}; see \
                     `emr-ami-audit releases`): what depends on the release (Amazon Linux generation and \
                     kernel, root volume size, IMDSv2, Graviton, root encryption: EA013, EA015, EA016, \
                     EA017, EA020, EA032, EA053, EA064) is not judged; a newer emr-ami-audit may know it",
                    cx.release,
                    crate::release::table_end()
                ),
            )
            .with("ReleaseLabel", cx.release),
        ];
    }
    vec![
        rule.finding(
            Severity::Error,
            format!(
                "{} does not support custom AMIs (5.7.0 and later do)",
                cx.release
            ),
        )
        .with("ReleaseLabel", cx.release),
    ]
}

fn image_not_found(rule: &'static Rule, subject: &ImageSubject<'_>, cx: &Context) -> Vec<Finding> {
    let ImageLookup::NotFound { code } = &subject.evidence.lookup else {
        return vec![];
    };
    let account = cx.caller_account.as_deref().unwrap_or("the caller");
    vec![
        rule.finding(
            Severity::Error,
            format!(
                "{} does not exist in {} or is not visible to account {account}",
                subject.evidence.image_id, cx.region
            ),
        )
        .with("ErrorCode", code)
        .with("Region", &cx.region),
    ]
}

fn image_not_available(
    rule: &'static Rule,
    subject: &ImageSubject<'_>,
    cx: &Context,
) -> Vec<Finding> {
    let Some(image) = subject.evidence.found() else {
        return vec![];
    };
    let mut findings = Vec::new();
    match image.state.as_deref() {
        Some("available") => {}
        Some(state) => {
            let mut finding = rule
                .finding(
                    Severity::Error,
                    format!("the AMI is {state}, not available"),
                )
                .with("State", state);
            if let Some(reason) = &image.state_reason {
                finding = finding.with("StateReason", reason);
            }
            findings.push(finding);
        }
        None => findings.push(rule.finding(
            Severity::Warning,
            "DescribeImages did not give the AMI's state; availability was not checked",
        )),
    }
    if let Some(deprecated) = image.deprecation_time.filter(|t| *t <= cx.now) {
        findings.push(
            rule.finding(
                Severity::Warning,
                format!(
                    "the AMI has been deprecated since {}",
                    deprecated.format("%Y-%m-%d")
                ),
            )
            .with("DeprecationTime", deprecated.to_rfc3339()),
        );
    }
    findings
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::facts::{ImageEvidence, LaunchAccess, RegionFacts};
    use crate::rules::testing::*;

    #[test]
    fn ea001_fires_before_5_7_and_not_after() {
        let ev = evidence(good_image());
        let region = RegionFacts::default();
        assert_eq!(
            fired("EA001", &ev, &region, &context("emr-5.6.0")),
            [("EA001", Severity::Error)]
        );
        assert!(fired("EA001", &ev, &region, &context("emr-5.7.0")).is_empty());
        assert!(fired("EA001", &ev, &region, &context("emr-7.12.0")).is_empty());
    }

    /// A line after the ones the tool knows is a warning, not judged as the newest known line.
    #[test]
    fn ea001_warns_of_a_release_line_it_does_not_know() {
        let ev = evidence(good_image());
        let region = RegionFacts::default();
        let found = findings("EA001", &ev, &region, &context("emr-8.0.0"));
        assert_eq!(ids(found.clone()), [("EA001", Severity::Warning)]);
        assert!(
            found[0].message.contains("emr-8.0.0"),
            "{}",
            found[0].message
        );
        // The line-dependent rules say so instead of judging.
        let said = findings("EA015", &ev, &region, &context("emr-8.0.0"));
        assert_eq!(ids(said.clone()), [("EA015", Severity::Info)]);
        assert!(said[0].message.contains("not known for this release"));
        assert!(fired("EA016", &ev, &region, &context("emr-8.0.0")).is_empty());
    }

    #[test]
    fn ea002_fires_when_not_found_only() {
        let region = RegionFacts::default();
        let missing = ImageEvidence {
            image_id: "ami-0ea0000000000dead".into(),
            lookup: ImageLookup::NotFound {
                code: "InvalidAMIID.NotFound".into(),
            },
            launch_access: LaunchAccess::NotFetched,
            root_key: crate::facts::RootKey::NotFetched,
            lineage: None,
        };
        let cx = context("emr-7.1.0");
        let findings = findings("EA002", &missing, &region, &cx);
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0]
                .message
                .contains("ami-0ea0000000000dead does not exist in us-east-1")
        );
        assert_eq!(findings[0].evidence["ErrorCode"], "InvalidAMIID.NotFound");
        assert!(fired("EA002", &evidence(good_image()), &region, &cx).is_empty());
    }

    #[test]
    fn ea003_fires_on_state_and_deprecation() {
        let region = RegionFacts::default();
        let cx = context("emr-7.1.0");
        let mut failed = good_image();
        failed.state = Some("failed".into());
        assert_eq!(
            fired("EA003", &evidence(failed), &region, &cx),
            [("EA003", Severity::Error)]
        );

        let mut deprecated = good_image();
        deprecated.deprecation_time = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).single();
        assert_eq!(
            fired("EA003", &evidence(deprecated), &region, &cx),
            [("EA003", Severity::Warning)]
        );

        let mut future = good_image();
        future.deprecation_time = Utc.with_ymd_and_hms(2027, 6, 1, 0, 0, 0).single();
        assert!(fired("EA003", &evidence(future), &region, &cx).is_empty());
        assert!(fired("EA003", &evidence(good_image()), &region, &cx).is_empty());
    }
}
