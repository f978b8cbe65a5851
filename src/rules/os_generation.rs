//! EA015–EA017: the operating system the release needs — Amazon Linux generation, AL2023 kernel line,
//! and IMDSv2-only images on releases that can't run them.

use super::{CUSTOM_AMI_DOC, Check, Finding, ImageSubject, Rule, Severity};
use crate::context::Context;
use crate::facts::ImageFacts;
use crate::facts::os::{self, OsFamily};
use crate::release::RequiredLinux;

pub(super) const RULES: &[Rule] = &[
    Rule {
        id: "EA015",
        name: "amazon-linux-generation",
        severity: Severity::Error,
        title: "The AMI's Amazon Linux generation fits the release",
        explanation: "EMR releases before 5.30.0 run on Amazon Linux (AL2 is not supported there); 5.30.0 and later 5.x and \
                      all 6.x run on Amazon Linux 2; 7.x runs on Amazon Linux 2023 (not supported below 7.x). A base \
                      that is not Amazon Linux is not supported at all.",
        remediation: "Rebuild the AMI from the most recent Amazon Linux AMI of the generation the release needs.",
        source: "spec, best practices; current AWS page (7.x needs AL2023)",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Image(amazon_linux_generation),
    },
    Rule {
        id: "EA016",
        name: "al2023-kernel-6-1",
        severity: Severity::Error,
        title: "The Amazon Linux 2023 base uses a kernel line the release accepts",
        explanation: "AWS documents provisioning failures for EMR 7.x custom AMIs built on Amazon Linux 2023 images with a \
                      kernel other than 6.1. The kernel lines each release accepts come from the release table \
                      (`emr-ami-audit releases`): 6.1 for every 7.x release, as no AWS page yet says a 7.x release \
                      accepts the 6.12 or 6.18 kernel AMIs. When the OS of the image can't be told, an info finding \
                      says the kernel line was not checked.",
        remediation: "Rebuild from an `al2023-ami-…-kernel-6.1-…` base (a kernel line the release accepts).",
        source: "current AWS page (Using a custom AMI); release table",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Image(al2023_kernel_6_1),
    },
    Rule {
        id: "EA017",
        name: "imdsv2-only-release",
        severity: Severity::Error,
        title: "An IMDSv2-only AMI is used with a release that supports IMDSv2",
        explanation: "Turning off IMDSv1 makes cluster startup fail on EMR releases without IMDSv2 support. Releases \
                      5.23.1, 5.27.1, 5.32.0 and later, and 6.2.0 and later support it.",
        remediation: "Use a release with IMDSv2 support, or register the AMI without `--imds-support v2.0`.",
        source: "EMR Management Guide, security configuration (IMDS)",
        doc_url: "https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-create-security-configuration.html",
        check: Check::Image(imdsv2_only_release),
    },
];

fn fits(family: &OsFamily, required: RequiredLinux) -> bool {
    matches!(
        (family, required),
        (OsFamily::AmazonLinux1, RequiredLinux::AmazonLinux1)
            | (OsFamily::AmazonLinux2, RequiredLinux::AmazonLinux2)
            | (
                OsFamily::AmazonLinux2023 { .. },
                RequiredLinux::AmazonLinux2023
            )
    )
}

/// The operating system the rules judge: the traced base's when it can be told, else the AMI's own
/// metadata's (a custom AMI keeps its base's OS).
struct Judged {
    family: OsFamily,
    derivative: Option<&'static str>,
    /// Evidence keys and values: which image, how it was found, what named the OS.
    evidence: Vec<(&'static str, String)>,
    /// `the base ami-… (name)` or `the image`.
    subject: String,
}

fn judged(
    subject: &ImageSubject<'_>,
    image: &ImageFacts,
) -> Result<Judged, Vec<(&'static str, String)>> {
    let lineage = subject.evidence.lineage.as_ref();
    if let Some((link, class)) = lineage.and_then(|l| l.classified_base()) {
        let mut evidence = vec![
            ("Base", link.label()),
            ("BaseFrom", link.evidence.clone()),
            ("From", class.evidence.clone()),
        ];
        if link.is_amazons() == Some(false) {
            evidence.push((
                "BaseOwner",
                link.owner_id.clone().unwrap_or_else(|| "not Amazon".into()),
            ));
        }
        return Ok(Judged {
            family: class.family,
            derivative: class.derivative,
            evidence,
            subject: format!("the base {}", link.label()),
        });
    }
    let base = match lineage {
        Some(l) if !l.chain.is_empty() => format!(
            "base {} (what it is could not be told)",
            l.chain.last().map(|b| b.label()).unwrap_or_default()
        ),
        Some(l) if !l.notes.is_empty() => format!("not traced: {}", l.notes.join("; ")),
        _ => "not traced".to_string(),
    };
    match os::identify(image) {
        Some(identity) => Ok(Judged {
            family: identity.family,
            derivative: None,
            evidence: vec![("Base", base), ("From", identity.evidence)],
            subject: "the image".to_string(),
        }),
        None => Err(vec![("Base", base)]),
    }
}

fn amazon_linux_generation(
    rule: &'static Rule,
    subject: &ImageSubject<'_>,
    cx: &Context,
) -> Vec<Finding> {
    let Some(image) = subject.evidence.found() else {
        return vec![];
    };
    let Some(required) = cx.release.required_linux() else {
        return vec![super::not_known_for_release(rule, cx)];
    };
    let judged = match judged(subject, image) {
        Ok(judged) => judged,
        Err(evidence) => {
            let mut finding = rule.finding(Severity::Warning,
                format!(
                    "the OS generation could not be told: the base was not traced, and nothing in the image's {} names it; {} needs {required}",
                    os::LOOKED_AT,
                    cx.release
                ),
            )
            .with("Name", image.name.as_deref().unwrap_or("(none)"))
            .with(
                "Description",
                image.description.as_deref().unwrap_or("(none)"),
            )
            .with("Required", required);
            if let Some(details) = &image.platform_details {
                finding = finding.with("PlatformDetails", details);
            }
            for (key, value) in evidence {
                finding = finding.with(key, value);
            }
            return vec![finding];
        }
    };
    let fitting = fits(&judged.family, required);
    let (severity, message) = match (&judged.family, judged.derivative) {
        (_, Some(derivative)) if fitting => (
            Severity::Warning,
            format!(
                "{} is {derivative} {}, an Amazon Linux derivative rather than plain Amazon Linux; {} needs {required}",
                judged.subject, judged.family, cx.release
            ),
        ),
        _ if fitting => return vec![],
        (OsFamily::Windows | OsFamily::Other(_), _) => (
            Severity::Error,
            format!(
                "{} is {}, not Amazon Linux; {} needs {required}",
                judged.subject, judged.family, cx.release
            ),
        ),
        (family, _) => (
            Severity::Error,
            format!(
                "{} is {family}; {} needs {required}",
                judged.subject, cx.release
            ),
        ),
    };
    let found = match judged.derivative {
        Some(derivative) => format!("{derivative} {}", judged.family),
        None => judged.family.to_string(),
    };
    let mut finding = rule
        .finding(severity, message)
        .with("Found", found)
        .with("Required", required);
    for (key, value) in judged.evidence {
        finding = finding.with(key, value);
    }
    vec![finding]
}

fn al2023_kernel_6_1(
    rule: &'static Rule,
    subject: &ImageSubject<'_>,
    cx: &Context,
) -> Vec<Finding> {
    let Some(image) = subject.evidence.found() else {
        return vec![];
    };
    // The release table's kernel lines; none for a release with no documented limit, and a release
    // past the table is EA001's warning.
    let Some(lines) = cx.release.kernel_lines().filter(|l| !l.is_empty()) else {
        return vec![];
    };
    let accepted = lines.join(", ");
    let judged = match judged(subject, image) {
        Ok(judged) => judged,
        // EA015 warns that the OS can't be told; this says what that leaves unchecked here.
        Err(evidence) => {
            let mut finding = rule.finding(
                Severity::Info,
                format!(
                    "the kernel line could not be checked: the OS of the image could not be told (EA015); \
                     {} accepts kernel {accepted}",
                    cx.release
                ),
            );
            for (key, value) in evidence {
                finding = finding.with(key, value);
            }
            return vec![finding.with("AcceptedKernels", &accepted)];
        }
    };
    // Another generation is EA015's error; the kernel line is only judged on the one the release needs.
    let OsFamily::AmazonLinux2023 { kernel } = &judged.family else {
        return vec![];
    };
    if cx.release.required_linux() != Some(RequiredLinux::AmazonLinux2023) {
        return vec![];
    }
    let finding = match kernel.as_deref() {
        Some(line) if lines.contains(&line) => return vec![],
        Some(other) => rule
            .finding(
                Severity::Error,
                format!(
                    "{} uses AL2023 kernel {other}; {} accepts kernel {accepted} (release table)",
                    judged.subject, cx.release
                ),
            )
            .with("Kernel", other),
        None => rule.finding(
            Severity::Warning,
            format!(
                "the AL2023 kernel line of {} could not be told (nothing in its name or description \
                 names `kernel-…`); {} accepts kernel {accepted}",
                judged.subject, cx.release
            ),
        ),
    };
    let mut finding = finding.with("AcceptedKernels", &accepted);
    for (key, value) in judged.evidence {
        finding = finding.with(key, value);
    }
    vec![finding]
}

fn imdsv2_only_release(
    rule: &'static Rule,
    subject: &ImageSubject<'_>,
    cx: &Context,
) -> Vec<Finding> {
    let Some(image) = subject.evidence.found() else {
        return vec![];
    };
    // Only a release the table says can't run IMDSv2-only instances; past the table EA001 warns.
    if image.imds_support.as_deref() != Some("v2.0")
        || cx.release.supports_imdsv2_only() != Some(false)
    {
        return vec![];
    }
    vec![
        rule.finding(
            Severity::Error,
            format!(
                "the AMI requires IMDSv2, which {} does not support: cluster startup fails",
                cx.release
            ),
        )
        .with("ImdsSupport", "v2.0")
        .with("ReleaseLabel", cx.release),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{ImageEvidence, ImageFacts, Lineage, RegionFacts};
    use crate::rules::testing::*;

    fn named(name: &str, description: &str) -> ImageFacts {
        let mut image = good_image();
        image.name = Some(name.into());
        image.description = Some(description.into());
        image
    }

    #[test]
    fn ea015_generation_must_fit_release() {
        let region = RegionFacts::default();
        let al2 = evidence(named("amzn2-ami-hvm-2.0.20241113.1-x86_64-gp2", ""));
        let al1 = evidence(named("amzn-ami-hvm-2018.03.0.20190611-x86_64-gp2", ""));
        let al2023 = evidence(good_image());
        assert!(fired("EA015", &al2, &region, &context("emr-6.15.0")).is_empty());
        assert!(fired("EA015", &al1, &region, &context("emr-5.29.0")).is_empty());
        assert!(fired("EA015", &al2023, &region, &context("emr-7.1.0")).is_empty());
        assert_eq!(
            fired("EA015", &al2, &region, &context("emr-7.1.0")),
            [("EA015", Severity::Error)]
        );
        assert_eq!(
            fired("EA015", &al2, &region, &context("emr-5.29.0")),
            [("EA015", Severity::Error)]
        );
        assert_eq!(
            fired("EA015", &al2023, &region, &context("emr-6.15.0")),
            [("EA015", Severity::Error)]
        );
        assert_eq!(
            fired("EA015", &al1, &region, &context("emr-5.30.0")),
            [("EA015", Severity::Error)]
        );
    }

    #[test]
    fn ea015_other_os_is_an_error_unknown_a_warning() {
        let region = RegionFacts::default();
        let cx = context("emr-7.1.0");
        let ubuntu = evidence(named("ubuntu-noble-24.04-amd64-server-20241112", ""));
        assert_eq!(
            fired("EA015", &ubuntu, &region, &cx),
            [("EA015", Severity::Error)]
        );
        let unknown = evidence(named(
            "golden-image-2024-11",
            "Golden image (platform team)",
        ));
        let findings = findings("EA015", &unknown, &region, &cx);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Warning);
        assert!(findings[0].message.contains(
            "nothing in the image's platform, name, description, tags and platform details names it"
        ));
        assert_eq!(findings[0].evidence["Name"], "golden-image-2024-11");
    }

    #[test]
    fn ea016_kernel_line_on_7x() {
        let region = RegionFacts::default();
        let k612 = evidence(named(
            "emr-al2023",
            "from al2023-ami-2023.6.20241111.0-kernel-6.12-x86_64",
        ));
        assert_eq!(
            fired("EA016", &k612, &region, &context("emr-7.1.0")),
            [("EA016", Severity::Error)]
        );
        assert!(
            fired(
                "EA016",
                &evidence(good_image()),
                &region,
                &context("emr-7.1.0")
            )
            .is_empty()
        );
        // Below 7.x, EA015 reports AL2023 itself; EA016 stays out of it.
        assert!(fired("EA016", &k612, &region, &context("emr-6.15.0")).is_empty());
        let unknown_kernel = evidence(named("my-al2023-base", ""));
        assert_eq!(
            fired("EA016", &unknown_kernel, &region, &context("emr-7.1.0")),
            [("EA016", Severity::Warning)]
        );
    }

    /// The kernel lines come from the release table: every 7.x release there accepts 6.1 only.
    #[test]
    fn ea016_kernel_lines_from_the_release_table() {
        let region = RegionFacts::default();
        let accepted = crate::release::Release::new(7, 12, 0)
            .kernel_lines()
            .unwrap_or_default();
        assert_eq!(accepted, ["6.1"]);
        for kernel in ["6.12", "6.18"] {
            let image = evidence(named(
                &format!("al2023-ami-2023.9.20261110.0-kernel-{kernel}-x86_64"),
                "",
            ));
            let found = findings("EA016", &image, &region, &context("emr-7.12.0"));
            assert_eq!(found.len(), 1, "{kernel}");
            assert_eq!(found[0].severity, Severity::Error);
            assert_eq!(found[0].evidence["AcceptedKernels"], "6.1");
        }
        let k61 = evidence(named("al2023-ami-2023.9.20261110.0-kernel-6.1-x86_64", ""));
        assert!(fired("EA016", &k61, &region, &context("emr-7.12.0")).is_empty());
        // Past the table the kernel line is not judged (EA001 warns once).
        let k612 = evidence(named("al2023-ami-2023.9.20261110.0-kernel-6.12-x86_64", ""));
        assert!(fired("EA016", &k612, &region, &context("emr-8.0.0")).is_empty());
    }

    /// When nothing tells the OS, the kernel line is not silently passed: info, naming what's needed.
    #[test]
    fn ea016_says_when_the_kernel_line_could_not_be_checked() {
        let region = RegionFacts::default();
        let mut mystery = named("golden-image-2024-11", "Golden image (platform team)");
        mystery.tags.clear();
        let found = findings("EA016", &evidence(mystery), &region, &context("emr-7.1.0"));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Info);
        assert!(
            found[0].message.contains("could not be checked"),
            "{}",
            found[0].message
        );
        // No kernel limit below 7.x: nothing to check, nothing said.
        let mut mystery = named("golden-image-2024-11", "Golden image (platform team)");
        mystery.tags.clear();
        assert!(fired("EA016", &evidence(mystery), &region, &context("emr-6.15.0")).is_empty());
    }

    #[test]
    fn ea017_imdsv2_only_needs_supporting_release() {
        let region = RegionFacts::default();
        let v2 = evidence(good_image());
        assert_eq!(
            fired("EA017", &v2, &region, &context("emr-5.29.0")),
            [("EA017", Severity::Error)]
        );
        assert!(fired("EA017", &v2, &region, &context("emr-5.32.0")).is_empty());
        let mut v1 = good_image();
        v1.imds_support = None;
        assert!(fired("EA017", &evidence(v1), &region, &context("emr-5.29.0")).is_empty());
    }

    fn on_base(own_name: &str, base_name: &str) -> ImageEvidence {
        let mut evidence = evidence(named(own_name, ""));
        evidence.lineage = Some(Lineage {
            chain: vec![amazon_base(base_name)],
            ..Lineage::default()
        });
        evidence
    }

    #[test]
    fn ea015_and_ea016_judge_the_traced_base_over_the_image_name() {
        let region = RegionFacts::default();
        let cx = context("emr-7.1.0");
        // The image's own name says AL2023; its base says otherwise, and the base wins.
        let al2 = on_base(
            "emr-base-al2023-x86_64",
            "amzn2-ami-kernel-5.10-hvm-2.0.20241113.1-x86_64-gp2",
        );
        let found = findings("EA015", &al2, &region, &cx);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].severity, Severity::Error);
        assert_eq!(found[0].evidence["Found"], "Amazon Linux 2");
        assert_eq!(
            found[0].evidence["Base"],
            "ami-0b100000000000001 (amzn2-ami-kernel-5.10-hvm-2.0.20241113.1-x86_64-gp2)"
        );
        assert!(found[0].evidence["BaseFrom"].starts_with("GetImageAncestry"));

        let k612 = on_base("golden", "al2023-ami-2023.9.20261110.0-kernel-6.12-x86_64");
        assert!(findings("EA015", &k612, &region, &cx).is_empty());
        let found = findings("EA016", &k612, &region, &cx);
        assert_eq!(found[0].severity, Severity::Error);
        assert_eq!(found[0].evidence["Kernel"], "6.12");
        let k61 = on_base("golden", "al2023-ami-2023.9.20261110.0-kernel-6.1-x86_64");
        assert!(findings("EA016", &k61, &region, &cx).is_empty());
    }

    #[test]
    fn ea015_warns_on_amazon_linux_derivatives() {
        let region = RegionFacts::default();
        let ecs = on_base("golden", "amzn2-ami-ecs-hvm-2.0.20261015-x86_64-ebs");
        let found = findings("EA015", &ecs, &region, &context("emr-6.15.0"));
        assert_eq!(found[0].severity, Severity::Warning);
        assert_eq!(found[0].evidence["Found"], "ECS-optimized Amazon Linux 2");
        // On a release that needs another generation, the generation error stands.
        let found = findings("EA015", &ecs, &region, &context("emr-7.1.0"));
        assert_eq!(found[0].severity, Severity::Error);
    }
}
