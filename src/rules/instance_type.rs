//! EA020–EA023: can each instance type that will boot the image actually boot it under EMR.

use super::{CUSTOM_AMI_DOC, Check, Finding, ImageSubject, Rule, Severity};
use crate::context::Context;
use crate::facts::{ImageFacts, InstanceTypeFacts};

pub(super) const RULES: &[Rule] = &[
    Rule {
        id: "EA020",
        name: "architecture-matches-instance-type",
        severity: Severity::Error,
        title: "The AMI's architecture matches each instance type",
        explanation: "An x86_64 AMI cannot boot a Graviton (arm64) instance type and vice versa. With instance-level custom \
                      AMIs each instance type needs an AMI of its own architecture. An arm64 AMI also needs a release \
                      that runs on Graviton (5.31.0+ on 5.x, 6.1.0+ on 6.x), whatever instance types are given.",
        remediation: "Use an AMI built for the instance type's architecture, or an instance type of the AMI's.",
        source: "spec, cluster-level and instance-level custom AMIs",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Image(architecture_matches_instance_type),
    },
    Rule {
        id: "EA021",
        name: "instance-type-supported-by-emr",
        severity: Severity::Error,
        title: "EMR supports the instance type for the release in the region",
        explanation: "EMR launches only the instance types it supports for a release in a region \
                      (ListSupportedInstanceTypes).",
        remediation: "Choose an instance type from `aws emr list-supported-instance-types --release-label …`.",
        source: "spec, best practices (instances compatible with Amazon EMR)",
        doc_url: "https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-supported-instance-types.html",
        check: Check::Image(instance_type_supported_by_emr),
    },
    Rule {
        id: "EA022",
        name: "ena-required",
        severity: Severity::Error,
        title: "The AMI enables ENA when the instance type requires it",
        explanation: "Current-generation instance types require Elastic Network Adapter support; EC2 refuses to launch an \
                      AMI without the ENA flag on them.",
        remediation: "Install the ENA driver and register the AMI with `--ena-support`, or rebuild from a current Amazon \
                      Linux base (ENA is enabled on all of them).",
        source: "EC2 User Guide, enhanced networking with ENA",
        doc_url: "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/enhanced-networking-ena.html",
        check: Check::Image(ena_required),
    },
    Rule {
        id: "EA023",
        name: "boot-mode-supported",
        severity: Severity::Error,
        title: "The instance type supports the AMI's boot mode",
        explanation: "An AMI registered for `uefi` or `legacy-bios` only launches on instance types that support that boot \
                      mode (`uefi-preferred` works on both).",
        remediation: "Register the AMI with a boot mode the instance type supports (or `uefi-preferred`), or choose \
                      another instance type.",
        source: "EC2 User Guide, boot modes",
        doc_url: "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ami-boot.html",
        check: Check::Image(boot_mode_supported),
    },
];

/// The context's instance types with what EC2 said of each; a failed lookup is reported once, by EA020.
fn described<'a>(
    subject: &ImageSubject<'a>,
    cx: &'a Context,
) -> Vec<Result<&'a InstanceTypeFacts, String>>
where
    'a: 'a,
{
    cx.instance_types
        .iter()
        .map(|name| match subject.region.instance_types.get(name) {
            Some(Ok(facts)) => Ok(facts),
            Some(Err(error)) => Err(format!("{name}: {error}")),
            None => Err(format!("{name}: not described")),
        })
        .collect()
}

fn architecture_matches_instance_type(
    rule: &'static Rule,
    subject: &ImageSubject<'_>,
    cx: &Context,
) -> Vec<Finding> {
    let Some(image) = subject.evidence.found() else {
        return vec![];
    };
    let mut findings = Vec::new();
    // Whatever instance types are given (or none): an arm64 AMI needs a release Graviton runs.
    if image.architecture.as_deref() == Some("arm64")
        && cx.release.supports_graviton() == Some(false)
    {
        findings.push(
            rule.finding(
                Severity::Error,
                format!(
                    "{} is arm64, and {} runs on no Graviton (arm64) instance type: the release ranges \
                     with Graviton start at {} (release table)",
                    image.image_id,
                    cx.release,
                    crate::release::starts_of(|row| row.graviton)
                        .iter()
                        .map(|r| format!("{r}"))
                        .collect::<Vec<_>>()
                        .join(" and ")
                ),
            )
            .with("Architecture", "arm64")
            .with("ReleaseLabel", cx.release),
        );
    }
    for described in described(subject, cx) {
        match described {
            Err(problem) => findings.push(rule.finding(Severity::Warning,
                format!("not audited: instance type {problem}; EA020, EA022 and EA023 were not checked for it"),
            )),
            Ok(t) => {
                let Some(arch) = image.architecture.as_deref() else {
                    continue; // EA014 reports the missing architecture.
                };
                if !t.architectures.iter().any(|a| a == arch) {
                    findings.push(
                        rule.finding(Severity::Error,
                            format!(
                                "{} is {}, which {} instances cannot boot",
                                image.image_id, arch, t.instance_type
                            ),
                        )
                        .with("Architecture", arch)
                        .with("InstanceType", &t.instance_type)
                        .with("SupportedArchitectures", t.architectures.join(", ")),
                    );
                }
            }
        }
    }
    findings
}

fn instance_type_supported_by_emr(
    rule: &'static Rule,
    subject: &ImageSubject<'_>,
    cx: &Context,
) -> Vec<Finding> {
    if cx.instance_types.is_empty() {
        return vec![];
    }
    let release = cx.release.to_string();
    match subject.region.emr_supported.get(&release) {
        Some(Ok(supported)) => cx
            .instance_types
            .iter()
            .filter(|t| !supported.contains(*t))
            .map(|t| {
                rule.finding(
                    Severity::Error,
                    format!("EMR does not support {t} for {release} in {}", cx.region),
                )
                .with("InstanceType", t)
                .with("ReleaseLabel", &release)
            })
            .collect(),
        Some(Err(error)) => vec![rule.finding(
            Severity::Warning,
            format!(
                "not audited: EMR's supported instance types for {release} are unknown: {error}"
            ),
        )],
        None => vec![rule.finding(
            Severity::Warning,
            format!("not audited: EMR's supported instance types for {release} were not fetched"),
        )],
    }
}

fn ena_required(rule: &'static Rule, subject: &ImageSubject<'_>, cx: &Context) -> Vec<Finding> {
    let Some(image) = subject.evidence.found() else {
        return vec![];
    };
    described(subject, cx)
        .into_iter()
        .flatten()
        .filter(|t| t.ena_support.as_deref() == Some("required") && !image.ena_support)
        .map(|t| {
            rule.finding(
                Severity::Error,
                format!(
                    "{} requires ENA, and the AMI does not enable it",
                    t.instance_type
                ),
            )
            .with("EnaSupport", "false (not set on the AMI)")
            .with("InstanceType", &t.instance_type)
        })
        .collect()
}

fn boot_mode_supported(
    rule: &'static Rule,
    subject: &ImageSubject<'_>,
    cx: &Context,
) -> Vec<Finding> {
    let Some(image) = subject.evidence.found() else {
        return vec![];
    };
    described(subject, cx)
        .into_iter()
        .flatten()
        .filter_map(|t| boot_mode_problem(rule, image, t))
        .collect()
}

fn boot_mode_problem(
    rule: &'static Rule,
    image: &ImageFacts,
    t: &InstanceTypeFacts,
) -> Option<Finding> {
    // No boot mode on the AMI means "the instance type's default", and uefi-preferred adapts.
    let mode = image
        .boot_mode
        .as_deref()
        .filter(|m| *m != "uefi-preferred")?;
    if t.boot_modes.is_empty() {
        return Some(
            rule.finding(
                Severity::Warning,
                format!(
                    "EC2 did not say which boot modes {} supports; {mode} was not verified",
                    t.instance_type
                ),
            )
            .with("BootMode", mode),
        );
    }
    if t.boot_modes.iter().any(|m| m == mode) {
        return None;
    }
    Some(
        rule.finding(
            Severity::Error,
            format!(
                "the AMI boots with {mode}, which {} does not support",
                t.instance_type
            ),
        )
        .with("BootMode", mode)
        .with("InstanceType", &t.instance_type)
        .with("SupportedBootModes", t.boot_modes.join(", ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{CollectError, RegionFacts};
    use crate::rules::testing::*;

    fn cx_with(types: &[&str]) -> Context {
        let mut cx = context("emr-7.1.0");
        cx.instance_types = types.iter().map(|t| t.to_string()).collect();
        cx
    }

    fn region() -> RegionFacts {
        region_with(
            vec![m5(), m6g(), m4()],
            "emr-7.1.0",
            &["m5.xlarge", "m6g.xlarge", "m4.xlarge"],
        )
    }

    #[test]
    fn ea020_architecture_mismatch() {
        let ev = evidence(good_image());
        assert_eq!(
            fired("EA020", &ev, &region(), &cx_with(&["m6g.xlarge"])),
            [("EA020", Severity::Error)]
        );
        assert!(fired("EA020", &ev, &region(), &cx_with(&["m5.xlarge"])).is_empty());
    }

    /// An arm64 AMI for a release without Graviton support fails with no instance type given.
    #[test]
    fn ea020_arm64_needs_a_graviton_release() {
        let mut arm = good_image();
        arm.architecture = Some("arm64".into());
        let arm = evidence(arm);
        let none: &[&str] = &[];
        for old in ["emr-6.0.0", "emr-5.30.1"] {
            let mut cx = cx_with(none);
            cx.release = old.parse().expect("label");
            let found = findings("EA020", &arm, &region(), &cx);
            assert_eq!(ids(found.clone()), [("EA020", Severity::Error)], "{old}");
            assert!(
                found[0].message.contains("Graviton"),
                "{}",
                found[0].message
            );
        }
        for new in ["emr-6.1.0", "emr-5.31.0", "emr-7.1.0"] {
            let mut cx = cx_with(none);
            cx.release = new.parse().expect("label");
            assert!(fired("EA020", &arm, &region(), &cx).is_empty(), "{new}");
        }
        // x86_64 is not concerned.
        let mut cx = cx_with(none);
        cx.release = "emr-6.0.0".parse().expect("label");
        assert!(fired("EA020", &evidence(good_image()), &region(), &cx).is_empty());
    }

    #[test]
    fn ea020_reports_an_instance_type_it_could_not_describe() {
        let mut region = region();
        region.instance_types.insert(
            "c5.xlarge".into(),
            Err(CollectError {
                service: "ec2".into(),
                action: "DescribeInstanceTypes".into(),
                code: "UnauthorizedOperation".into(),
                message: "not allowed".into(),
                status: None,
            }),
        );
        let findings = findings(
            "EA020",
            &evidence(good_image()),
            &region,
            &cx_with(&["c5.xlarge"]),
        );
        assert_eq!(findings.len(), 1);
        assert!(
            findings[0]
                .message
                .contains("grant ec2:DescribeInstanceTypes"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn ea021_type_not_in_emr_list() {
        let ev = evidence(good_image());
        let region = region_with(vec![m5()], "emr-7.1.0", &["m5.xlarge"]);
        let mut cx = cx_with(&["t2.micro"]);
        let mut with_t2 = region.clone();
        with_t2.instance_types.insert(
            "t2.micro".into(),
            Ok(InstanceTypeFacts {
                instance_type: "t2.micro".into(),
                ..m5()
            }),
        );
        assert_eq!(
            fired("EA021", &ev, &with_t2, &cx),
            [("EA021", Severity::Error)]
        );
        cx.instance_types = vec!["m5.xlarge".into()];
        assert!(fired("EA021", &ev, &region, &cx).is_empty());
    }

    #[test]
    fn ea022_ena_required_but_missing() {
        let mut no_ena = good_image();
        no_ena.ena_support = false;
        assert_eq!(
            fired(
                "EA022",
                &evidence(no_ena.clone()),
                &region(),
                &cx_with(&["m5.xlarge"])
            ),
            [("EA022", Severity::Error)]
        );
        assert!(
            fired(
                "EA022",
                &evidence(no_ena),
                &region(),
                &cx_with(&["m4.xlarge"])
            )
            .is_empty()
        );
        assert!(
            fired(
                "EA022",
                &evidence(good_image()),
                &region(),
                &cx_with(&["m5.xlarge"])
            )
            .is_empty()
        );
    }

    #[test]
    fn ea023_boot_mode() {
        let mut uefi = good_image();
        uefi.boot_mode = Some("uefi".into());
        assert_eq!(
            fired(
                "EA023",
                &evidence(uefi.clone()),
                &region(),
                &cx_with(&["m4.xlarge"])
            ),
            [("EA023", Severity::Error)]
        );
        assert!(
            fired(
                "EA023",
                &evidence(uefi),
                &region(),
                &cx_with(&["m5.xlarge"])
            )
            .is_empty()
        );
        // uefi-preferred adapts to the instance type.
        assert!(
            fired(
                "EA023",
                &evidence(good_image()),
                &region(),
                &cx_with(&["m4.xlarge"])
            )
            .is_empty()
        );
    }
}
