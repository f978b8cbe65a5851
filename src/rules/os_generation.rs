//! EA015–EA017: the operating system the release needs — Amazon Linux generation, AL2023 kernel line,
//! and IMDSv2-only images on releases that can't run them.

use super::{CUSTOM_AMI_DOC, Check, Finding, ImageSubject, Rule, Severity};
use crate::context::Context;
use crate::os::{self, OsFamily};
use crate::release::RequiredLinux;

pub(super) const RULES: [Rule; 3] = [
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
        title: "An AL2023 base for EMR 7.x uses the 6.1 kernel line",
        explanation: "AWS documents provisioning failures for EMR 7.x custom AMIs built on Amazon Linux 2023 images with a \
                      kernel other than 6.1 (such as the kernel-6.12 images).",
        remediation: "Rebuild from an `al2023-ami-…-kernel-6.1-…` base.",
        source: "current AWS page (Using a custom AMI)",
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

fn amazon_linux_generation(subject: &ImageSubject<'_>, cx: &Context) -> Vec<Finding> {
    let Some(image) = subject.evidence.found() else {
        return vec![];
    };
    let required = cx.release.required_linux();
    let Some(identity) = os::identify(image) else {
        let mut finding = Finding::new(
            "EA015",
            Severity::Warning,
            format!(
                "the OS generation could not be told from the image's {}; {} needs {required}",
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
        return vec![finding];
    };
    if fits(&identity.family, required) {
        return vec![];
    }
    let message = match &identity.family {
        OsFamily::Windows | OsFamily::Other(_) => {
            format!(
                "the image is {}, not Amazon Linux; {} needs {required}",
                identity.family, cx.release
            )
        }
        family => format!("the image is {family}; {} needs {required}", cx.release),
    };
    vec![
        Finding::new("EA015", Severity::Error, message)
            .with("Found", &identity.family)
            .with("From", &identity.evidence)
            .with("Required", required),
    ]
}

fn al2023_kernel_6_1(subject: &ImageSubject<'_>, cx: &Context) -> Vec<Finding> {
    let Some(image) = subject.evidence.found() else {
        return vec![];
    };
    if cx.release.required_linux() != RequiredLinux::AmazonLinux2023 {
        return vec![];
    }
    let Some(identity) = os::identify(image) else {
        return vec![];
    };
    let OsFamily::AmazonLinux2023 { kernel } = &identity.family else {
        return vec![];
    };
    match kernel.as_deref() {
        Some("6.1") => vec![],
        Some(other) => vec![
            Finding::new(
                "EA016",
                Severity::Error,
                format!("the AL2023 base uses kernel {other}; {} needs the 6.1 kernel line", cx.release),
            )
            .with("Kernel", other)
            .with("From", &identity.evidence),
        ],
        None => vec![
            Finding::new(
                "EA016",
                Severity::Warning,
                format!(
                    "the AL2023 kernel line could not be told from the image's {}; {} needs kernel 6.1",
                    os::LOOKED_AT,
                    cx.release
                ),
            )
            .with("From", &identity.evidence),
        ],
    }
}

fn imdsv2_only_release(subject: &ImageSubject<'_>, cx: &Context) -> Vec<Finding> {
    let Some(image) = subject.evidence.found() else {
        return vec![];
    };
    if image.imds_support.as_deref() != Some("v2.0") || cx.release.supports_imdsv2_only() {
        return vec![];
    }
    vec![
        Finding::new(
            "EA017",
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
    use crate::facts::{ImageFacts, RegionFacts};
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
        assert!(
            fired(
                amazon_linux_generation,
                &al2,
                &region,
                &context("emr-6.15.0")
            )
            .is_empty()
        );
        assert!(
            fired(
                amazon_linux_generation,
                &al1,
                &region,
                &context("emr-5.29.0")
            )
            .is_empty()
        );
        assert!(
            fired(
                amazon_linux_generation,
                &al2023,
                &region,
                &context("emr-7.1.0")
            )
            .is_empty()
        );
        assert_eq!(
            fired(
                amazon_linux_generation,
                &al2,
                &region,
                &context("emr-7.1.0")
            ),
            [("EA015", Severity::Error)]
        );
        assert_eq!(
            fired(
                amazon_linux_generation,
                &al2,
                &region,
                &context("emr-5.29.0")
            ),
            [("EA015", Severity::Error)]
        );
        assert_eq!(
            fired(
                amazon_linux_generation,
                &al2023,
                &region,
                &context("emr-6.15.0")
            ),
            [("EA015", Severity::Error)]
        );
        assert_eq!(
            fired(
                amazon_linux_generation,
                &al1,
                &region,
                &context("emr-5.30.0")
            ),
            [("EA015", Severity::Error)]
        );
    }

    #[test]
    fn ea015_other_os_is_an_error_unknown_a_warning() {
        let region = RegionFacts::default();
        let cx = context("emr-7.1.0");
        let ubuntu = evidence(named("ubuntu-noble-24.04-amd64-server-20241112", ""));
        assert_eq!(
            fired(amazon_linux_generation, &ubuntu, &region, &cx),
            [("EA015", Severity::Error)]
        );
        let unknown = evidence(named(
            "golden-image-2024-11",
            "Golden image (platform team)",
        ));
        let findings = amazon_linux_generation(
            &ImageSubject {
                evidence: &unknown,
                region: &region,
            },
            &cx,
        );
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].severity, Severity::Warning);
        assert!(
            findings[0]
                .message
                .contains("could not be told from the image's platform, name, description, tags and platform details")
        );
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
            fired(al2023_kernel_6_1, &k612, &region, &context("emr-7.1.0")),
            [("EA016", Severity::Error)]
        );
        assert!(
            fired(
                al2023_kernel_6_1,
                &evidence(good_image()),
                &region,
                &context("emr-7.1.0")
            )
            .is_empty()
        );
        // Below 7.x, EA015 reports AL2023 itself; EA016 stays out of it.
        assert!(fired(al2023_kernel_6_1, &k612, &region, &context("emr-6.15.0")).is_empty());
        let unknown_kernel = evidence(named("my-al2023-base", ""));
        assert_eq!(
            fired(
                al2023_kernel_6_1,
                &unknown_kernel,
                &region,
                &context("emr-7.1.0")
            ),
            [("EA016", Severity::Warning)]
        );
    }

    #[test]
    fn ea017_imdsv2_only_needs_supporting_release() {
        let region = RegionFacts::default();
        let v2 = evidence(good_image());
        assert_eq!(
            fired(imdsv2_only_release, &v2, &region, &context("emr-5.29.0")),
            [("EA017", Severity::Error)]
        );
        assert!(fired(imdsv2_only_release, &v2, &region, &context("emr-5.32.0")).is_empty());
        let mut v1 = good_image();
        v1.imds_support = None;
        assert!(
            fired(
                imdsv2_only_release,
                &evidence(v1),
                &region,
                &context("emr-5.29.0")
            )
            .is_empty()
        );
    }
}
