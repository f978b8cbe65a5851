//! EA010–EA014: the image's shape — virtualization, root device, volumes, size, platform.

use super::{CUSTOM_AMI_DOC, Check, Finding, ImageSubject, Rule, Severity};
use crate::context::Context;

pub(super) const RULES: &[Rule] = &[
    Rule {
        id: "EA010",
        name: "hvm-only",
        severity: Severity::Error,
        title: "The AMI uses HVM virtualization",
        explanation: "EMR supports only the HVM virtualization type; paravirtual AMIs cannot boot EMR's instance types.",
        remediation: "Rebuild the AMI from an HVM Amazon Linux base.",
        source: "spec, best practices",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Image(hvm_only),
    },
    Rule {
        id: "EA011",
        name: "ebs-backed-root",
        severity: Severity::Error,
        title: "The AMI is EBS-backed",
        explanation: "EMR custom AMIs must be EBS-backed; instance-store-backed AMIs are not supported.",
        remediation: "Rebuild the AMI from the most recent EBS-backed Amazon Linux AMI.",
        source: "spec, best practices",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Image(ebs_backed_root),
    },
    Rule {
        id: "EA012",
        name: "single-ebs-volume",
        severity: Severity::Error,
        title: "The AMI maps a single EBS volume",
        explanation: "Amazon Linux AMIs with multiple Amazon EBS volumes are not supported by EMR. Instance-store \
                      mappings do not count.",
        remediation: "Rebuild the AMI with only the root volume; attach data volumes through EMR's EBS configuration.",
        source: "spec, best practices",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Image(single_ebs_volume),
    },
    Rule {
        id: "EA013",
        name: "root-volume-min-size",
        severity: Severity::Error,
        title: "The root volume is large enough for the release",
        explanation: "The minimum root volume size for a custom AMI is 10 GiB; the current EMR documentation raises it to \
                      15 GiB for releases 6.10.0 and later (the release table's default root volume). The message \
                      also says whether EMR's own root volume (EbsRootVolumeSize, else that default) covers the \
                      snapshot: it does for any snapshot below the minimum, so EC2 can create the volume, but the \
                      AMI's own root is still below the documented minimum.",
        remediation: "Rebuild the AMI with a root volume of at least the release's minimum (10 GiB up to 6.9, 15 GiB \
                      from 6.10). EbsRootVolumeSize only sizes the instances' root volumes at launch; it does not \
                      change the AMI's own root volume, which is what this rule checks.",
        source: "spec, opening list (10 GiB); current AWS page (15 GiB for 6.10+); release table",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Image(root_volume_min_size),
    },
    Rule {
        id: "EA014",
        name: "linux-64-bit",
        severity: Severity::Error,
        title: "The AMI is 64-bit Linux",
        explanation: "EMR needs a 64-bit Amazon Linux AMI (x86_64 or arm64); Windows and 32-bit images cannot run EMR.",
        remediation: "Use an x86_64 or arm64 Amazon Linux base.",
        source: "spec, best practices (64-bit Amazon Linux AMI)",
        doc_url: CUSTOM_AMI_DOC,
        check: Check::Image(linux_64_bit),
    },
];

fn hvm_only(rule: &'static Rule, subject: &ImageSubject<'_>, _: &Context) -> Vec<Finding> {
    let Some(image) = subject.evidence.found() else {
        return vec![];
    };
    match image.virtualization_type.as_deref() {
        Some("hvm") => vec![],
        Some(other) => vec![
            rule.finding(
                Severity::Error,
                format!("virtualization type is {other}; EMR supports only hvm"),
            )
            .with("VirtualizationType", other),
        ],
        None => vec![rule.finding(
            Severity::Warning,
            "DescribeImages did not give the virtualization type; HVM was not verified",
        )],
    }
}

fn ebs_backed_root(rule: &'static Rule, subject: &ImageSubject<'_>, _: &Context) -> Vec<Finding> {
    let Some(image) = subject.evidence.found() else {
        return vec![];
    };
    match image.root_device_type.as_deref() {
        Some("ebs") => vec![],
        Some(other) => vec![
            rule.finding(
                Severity::Error,
                format!("root device type is {other}; EMR needs an EBS-backed AMI"),
            )
            .with("RootDeviceType", other),
        ],
        None => vec![rule.finding(
            Severity::Warning,
            "DescribeImages did not give the root device type; EBS backing was not verified",
        )],
    }
}

fn single_ebs_volume(rule: &'static Rule, subject: &ImageSubject<'_>, _: &Context) -> Vec<Finding> {
    let Some(image) = subject.evidence.found() else {
        return vec![];
    };
    let devices: Vec<&str> = image
        .ebs_volumes()
        .map(|d| d.device_name.as_deref().unwrap_or("(unnamed)"))
        .collect();
    if devices.len() <= 1 {
        return vec![];
    }
    vec![
        rule.finding(
            Severity::Error,
            format!(
                "the AMI maps {} EBS volumes ({}); EMR supports one",
                devices.len(),
                devices.join(", ")
            ),
        )
        .with("EbsVolumes", devices.join(", ")),
    ]
}

fn root_volume_min_size(
    rule: &'static Rule,
    subject: &ImageSubject<'_>,
    cx: &Context,
) -> Vec<Finding> {
    let Some(image) = subject.evidence.found() else {
        return vec![];
    };
    // An instance-store root has no EBS size; EA011 already reports it.
    if image.root_device_type.as_deref() != Some("ebs") {
        return vec![];
    }
    // A release past the release table: EA001 says what is not judged.
    let Some(minimum) = cx.release.default_root_volume_gib() else {
        return vec![];
    };
    let size = image
        .root_device()
        .and_then(|d| d.ebs.as_ref())
        .and_then(|e| e.volume_size_gib);
    match size {
        Some(size) if size >= minimum => vec![],
        // EMR's default root volume (the table's, equal to the minimum) is larger than this snapshot, so
        // EC2 can create it: the launch is not refused for size, but the AMI is below the documented minimum.
        Some(size) => vec![
            rule.finding(Severity::Error,
                format!(
                    "root volume is {size} GiB; {release} needs at least {minimum} GiB for a custom AMI's root. \
                     EMR's own root volume for {release} ({minimum} GiB when EbsRootVolumeSize is not set) covers \
                     the {size} GiB snapshot, so EC2 can create it, but the AMI itself is below the minimum",
                    release = cx.release
                ),
            )
            .with("VolumeSize", size)
            .with("MinimumGiB", minimum)
            .with("DefaultRootVolumeGiB", minimum),
        ],
        None => vec![
            rule.finding(Severity::Warning,
                format!(
                    "the root volume's size is not known (no EBS mapping for root device {}); at least {minimum} GiB is needed",
                    image.root_device_name.as_deref().unwrap_or("(unnamed)")
                ),
            )
            .with("MinimumGiB", minimum),
        ],
    }
}

fn linux_64_bit(rule: &'static Rule, subject: &ImageSubject<'_>, _: &Context) -> Vec<Finding> {
    let Some(image) = subject.evidence.found() else {
        return vec![];
    };
    let mut findings = Vec::new();
    if let Some(platform) = image
        .platform
        .as_deref()
        .filter(|p| p.eq_ignore_ascii_case("windows"))
    {
        findings.push(
            rule.finding(
                Severity::Error,
                "the AMI is a Windows image; EMR runs only on Linux",
            )
            .with("Platform", platform),
        );
    }
    match image.architecture.as_deref() {
        Some("x86_64" | "arm64") => {}
        Some(other) => findings.push(
            rule.finding(
                Severity::Error,
                format!("architecture is {other}; EMR needs x86_64 or arm64"),
            )
            .with("Architecture", other),
        ),
        None => findings.push(rule.finding(
            Severity::Warning,
            "DescribeImages did not give the architecture; 64-bit was not verified",
        )),
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{BlockDevice, EbsVolume, RegionFacts};
    use crate::rules::testing::*;

    fn none() -> RegionFacts {
        RegionFacts::default()
    }

    #[test]
    fn ea010_paravirtual_fires_hvm_quiet() {
        let cx = context("emr-7.1.0");
        let mut pv = good_image();
        pv.virtualization_type = Some("paravirtual".into());
        assert_eq!(
            fired("EA010", &evidence(pv), &none(), &cx),
            [("EA010", Severity::Error)]
        );
        assert!(fired("EA010", &evidence(good_image()), &none(), &cx).is_empty());
    }

    #[test]
    fn ea011_instance_store_fires_ebs_quiet() {
        let cx = context("emr-7.1.0");
        let mut store = good_image();
        store.root_device_type = Some("instance-store".into());
        assert_eq!(
            fired("EA011", &evidence(store), &none(), &cx),
            [("EA011", Severity::Error)]
        );
        assert!(fired("EA011", &evidence(good_image()), &none(), &cx).is_empty());
    }

    #[test]
    fn ea012_counts_ebs_volumes_not_instance_store() {
        let cx = context("emr-7.1.0");
        let mut two = good_image();
        two.block_devices.push(BlockDevice {
            device_name: Some("/dev/sdb".into()),
            virtual_name: None,
            ebs: Some(EbsVolume {
                volume_size_gib: Some(100),
                ..Default::default()
            }),
        });
        assert_eq!(
            fired("EA012", &evidence(two), &none(), &cx),
            [("EA012", Severity::Error)]
        );

        let mut ephemeral = good_image();
        ephemeral.block_devices.push(BlockDevice {
            device_name: Some("/dev/sdb".into()),
            virtual_name: Some("ephemeral0".into()),
            ebs: None,
        });
        assert!(fired("EA012", &evidence(ephemeral), &none(), &cx).is_empty());
    }

    fn with_root(size: i32) -> crate::facts::ImageFacts {
        let mut image = good_image();
        if let Some(ebs) = image.block_devices[0].ebs.as_mut() {
            ebs.volume_size_gib = Some(size);
        }
        image
    }

    /// An 8 GiB stock snapshot: the message says EMR's own 10 GiB (6.9) root volume covers it.
    #[test]
    fn ea013_says_whether_emrs_root_volume_covers_a_stock_snapshot() {
        let found = findings(
            "EA013",
            &evidence(with_root(8)),
            &none(),
            &context("emr-6.9.0"),
        );
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .message
                .contains("EMR's own root volume for emr-6.9.0 (10 GiB")
                && found[0].message.contains("covers the 8 GiB snapshot"),
            "{}",
            found[0].message
        );
        assert_eq!(found[0].evidence["DefaultRootVolumeGiB"], "10");
        // Past the release table the minimum is not known: EA001 says so, EA013 doesn't guess.
        assert!(
            fired(
                "EA013",
                &evidence(with_root(8)),
                &none(),
                &context("emr-8.0.0")
            )
            .is_empty()
        );
    }

    #[test]
    fn ea013_minimum_depends_on_release() {
        assert_eq!(
            fired(
                "EA013",
                &evidence(with_root(8)),
                &none(),
                &context("emr-6.9.0")
            ),
            [("EA013", Severity::Error)]
        );
        assert!(
            fired(
                "EA013",
                &evidence(with_root(10)),
                &none(),
                &context("emr-6.9.0")
            )
            .is_empty()
        );
        assert_eq!(
            fired(
                "EA013",
                &evidence(with_root(12)),
                &none(),
                &context("emr-6.10.0")
            ),
            [("EA013", Severity::Error)]
        );
        assert!(
            fired(
                "EA013",
                &evidence(with_root(15)),
                &none(),
                &context("emr-7.1.0")
            )
            .is_empty()
        );
    }

    #[test]
    fn ea014_windows_and_32_bit_fire() {
        let cx = context("emr-7.1.0");
        let mut windows = good_image();
        windows.platform = Some("windows".into());
        assert_eq!(
            fired("EA014", &evidence(windows), &none(), &cx),
            [("EA014", Severity::Error)]
        );
        let mut i386 = good_image();
        i386.architecture = Some("i386".into());
        assert_eq!(
            fired("EA014", &evidence(i386), &none(), &cx),
            [("EA014", Severity::Error)]
        );
        let mut arm = good_image();
        arm.architecture = Some("arm64".into());
        assert!(fired("EA014", &evidence(arm), &none(), &cx).is_empty());
        assert!(fired("EA014", &evidence(good_image()), &none(), &cx).is_empty());
    }
}
