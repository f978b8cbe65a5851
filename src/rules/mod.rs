//! The rule registry. A rule is data (ID, name, severity, docs) plus a pure check function over facts
//! and a [`Context`]. `emr-ami-audit rules`, the reports and the README table all read this registry;
//! [`catalogue`] renders it.

mod access;
mod availability;
pub mod catalogue;
mod cluster;
mod contents;
mod instance_type;
mod os_generation;
mod provenance;
mod shape;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Serialize, Serializer};

use crate::context::Context;
use crate::facts::{ClusterFacts, ContentsFacts, ImageEvidence, RegionFacts};

/// How bad a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(&self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing a rule found. Made only by [`Rule::finding`], so it always names a rule of the registry;
/// name, remediation and docs come from `rule`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    #[serde(serialize_with = "rule_id")]
    pub rule: &'static Rule,
    pub severity: Severity,
    pub message: String,
    /// What the finding rests on: AWS field names and the values seen.
    pub evidence: BTreeMap<String, String>,
}

fn rule_id<S: Serializer>(rule: &&'static Rule, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(rule.id)
}

impl Finding {
    pub fn with(mut self, key: &str, value: impl fmt::Display) -> Self {
        self.evidence.insert(key.to_string(), value.to_string());
        self
    }
}

/// What an image rule looks at: the image's evidence and the region's shared facts.
#[derive(Debug, Clone, Copy)]
pub struct ImageSubject<'a> {
    pub evidence: &'a ImageEvidence,
    pub region: &'a RegionFacts,
}

/// An image rule's check: given its own rule (to make findings with) and what it looks at.
pub type ImageCheck = fn(&'static Rule, &ImageSubject<'_>, &Context) -> Vec<Finding>;

/// What a cluster rule looks at: the cluster, the AMIs it uses and the region's shared facts.
#[derive(Debug, Clone, Copy)]
pub struct ClusterSubject<'a> {
    pub cluster: &'a ClusterFacts,
    pub images: &'a BTreeMap<String, ImageEvidence>,
    pub region: &'a RegionFacts,
}

pub type ClusterCheck = fn(&'static Rule, &ClusterSubject<'_>, &Context) -> Vec<Finding>;

pub type ContentsCheck = fn(&'static Rule, &ContentsFacts, &Context) -> Vec<Finding>;

/// How a rule is evaluated, by what it looks at.
#[derive(Clone, Copy)]
pub enum Check {
    Image(ImageCheck),
    Cluster(ClusterCheck),
    /// The image's files (a root filesystem): no AWS API shows them.
    Contents(ContentsCheck),
}

/// A rule of the catalogue (RULES.md).
#[derive(Clone, Copy)]
pub struct Rule {
    pub id: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub title: &'static str,
    /// Why the constraint exists.
    pub explanation: &'static str,
    pub remediation: &'static str,
    /// Where the constraint is documented.
    pub source: &'static str,
    pub doc_url: &'static str,
    pub check: Check,
}

impl Rule {
    /// A finding of this rule: the only way to make one.
    pub fn finding(&'static self, severity: Severity, message: impl Into<String>) -> Finding {
        Finding {
            rule: self,
            severity,
            message: message.into(),
            evidence: BTreeMap::new(),
        }
    }
}

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rule({} {})", self.id, self.name)
    }
}

/// Rules are one by their ID (it is unique in the registry).
impl PartialEq for Rule {
    fn eq(&self, other: &Rule) -> bool {
        self.id == other.id
    }
}

impl Eq for Rule {}

pub(crate) const CUSTOM_AMI_DOC: &str =
    "https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-custom-ami.html";

/// The rule families, one file each; a family declares its rules in ID order.
const FAMILIES: &[&[Rule]] = &[
    availability::RULES,
    shape::RULES,
    os_generation::RULES,
    instance_type::RULES,
    access::RULES,
    provenance::RULES,
    cluster::RULES,
    contents::RULES,
];

/// Every rule, in ID order.
pub fn registry() -> &'static [Rule] {
    static RULES: std::sync::OnceLock<Vec<Rule>> = std::sync::OnceLock::new();
    RULES.get_or_init(|| {
        let mut rules: Vec<Rule> = FAMILIES.iter().flat_map(|f| f.iter().copied()).collect();
        rules.sort_by_key(|r| r.id);
        rules
    })
}

/// A rule by ID (`EA013`, any case) or name (`root-volume-min-size`).
pub fn find(key: &str) -> Option<&'static Rule> {
    registry()
        .iter()
        .find(|r| r.id.eq_ignore_ascii_case(key) || r.name == key)
}

/// What a line-dependent rule says for a release of a line the tool doesn't know (EA001 warns of it).
fn not_known_for_release(rule: &'static Rule, cx: &Context) -> Finding {
    rule.finding(
        Severity::Info,
        format!(
            "not judged: the Amazon Linux generation {} needs is not known for this release",
            cx.release
        ),
    )
    .with("ReleaseLabel", cx.release)
}

/// Run every image rule over one image.
pub fn evaluate_image(subject: &ImageSubject<'_>, context: &Context) -> Vec<Finding> {
    let mut findings: Vec<Finding> = registry()
        .iter()
        .flat_map(|rule| match rule.check {
            Check::Image(check) => check(rule, subject, context),
            Check::Cluster(_) | Check::Contents(_) => vec![],
        })
        .collect();
    sort(&mut findings);
    findings
}

/// Run every cluster rule over one cluster.
pub fn evaluate_cluster(subject: &ClusterSubject<'_>, context: &Context) -> Vec<Finding> {
    let mut findings: Vec<Finding> = registry()
        .iter()
        .flat_map(|rule| match rule.check {
            Check::Cluster(check) => check(rule, subject, context),
            Check::Image(_) | Check::Contents(_) => vec![],
        })
        .collect();
    sort(&mut findings);
    findings
}

/// Run every image-content rule over one root filesystem.
pub fn evaluate_contents(facts: &ContentsFacts, context: &Context) -> Vec<Finding> {
    let mut findings: Vec<Finding> = registry()
        .iter()
        .flat_map(|rule| match rule.check {
            Check::Contents(check) => check(rule, facts, context),
            Check::Image(_) | Check::Cluster(_) => vec![],
        })
        .collect();
    sort(&mut findings);
    findings
}

/// Most severe first, then by rule ID.
fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule.id.cmp(b.rule.id)));
}

#[cfg(test)]
pub(crate) mod testing {
    //! Hand-built facts for rule tests.
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::facts::{
        BlockDevice, EbsVolume, ImageFacts, ImageLookup, InstanceSlot, InstanceTypeFacts,
        LaunchAccess,
    };
    use crate::release::Release;

    pub const CALLER: &str = "111122223333";
    pub const LAUNCHER: &str = "444455556666";

    /// A good AL2023 kernel-6.1 image owned by the caller.
    pub fn good_image() -> ImageFacts {
        ImageFacts {
            image_id: "ami-0ea00000000000001".into(),
            name: Some("emr-base-al2023-x86_64".into()),
            description: Some("built from al2023-ami-2023.6.20241111.0-kernel-6.1-x86_64".into()),
            owner_id: Some(CALLER.into()),
            state: Some("available".into()),
            public: Some(false),
            architecture: Some("x86_64".into()),
            platform_details: Some("Linux/UNIX".into()),
            virtualization_type: Some("hvm".into()),
            root_device_type: Some("ebs".into()),
            root_device_name: Some("/dev/xvda".into()),
            block_devices: vec![BlockDevice {
                device_name: Some("/dev/xvda".into()),
                virtual_name: None,
                ebs: Some(EbsVolume {
                    snapshot_id: Some("snap-0123456789abcdef0".into()),
                    volume_size_gib: Some(20),
                    volume_type: Some("gp3".into()),
                    encrypted: Some(false),
                }),
            }],
            ena_support: true,
            boot_mode: Some("uefi-preferred".into()),
            imds_support: Some("v2.0".into()),
            ..Default::default()
        }
    }

    /// Amazon's image `name`, the parent of the good image as GetImageAncestry would name it.
    pub fn amazon_base(name: &str) -> crate::facts::LineageLink {
        crate::facts::LineageLink {
            name: Some(name.into()),
            owner_alias: Some("amazon".into()),
            ..crate::facts::LineageLink::to_image(
                "ami-0b100000000000001",
                None,
                crate::facts::LinkSource::Ancestry,
                "GetImageAncestry: parent of ami-0ea00000000000001".into(),
            )
        }
    }

    pub fn evidence(image: ImageFacts) -> ImageEvidence {
        ImageEvidence {
            image_id: image.image_id.clone(),
            lookup: ImageLookup::Found(Box::new(image)),
            launch_access: LaunchAccess::NotFetched,
            root_key: crate::facts::RootKey::NotFetched,
            lineage: None,
        }
    }

    pub fn m5() -> InstanceTypeFacts {
        InstanceTypeFacts {
            instance_type: "m5.xlarge".into(),
            architectures: vec!["x86_64".into()],
            boot_modes: vec!["legacy-bios".into(), "uefi".into()],
            ena_support: Some("required".into()),
        }
    }

    /// A Graviton type: arm64, UEFI only, ENA required.
    pub fn m6g() -> InstanceTypeFacts {
        InstanceTypeFacts {
            instance_type: "m6g.xlarge".into(),
            architectures: vec!["arm64".into()],
            boot_modes: vec!["uefi".into()],
            ena_support: Some("required".into()),
        }
    }

    /// An older type: x86_64, legacy BIOS only, no ENA.
    pub fn m4() -> InstanceTypeFacts {
        InstanceTypeFacts {
            instance_type: "m4.xlarge".into(),
            architectures: vec!["x86_64".into()],
            boot_modes: vec!["legacy-bios".into()],
            ena_support: Some("unsupported".into()),
        }
    }

    pub fn region_with(
        types: Vec<InstanceTypeFacts>,
        release: &str,
        supported: &[&str],
    ) -> RegionFacts {
        let mut region = RegionFacts::default();
        for t in types {
            region.instance_types.insert(t.instance_type.clone(), Ok(t));
        }
        region.emr_supported.insert(
            release.to_string(),
            Ok(supported.iter().map(|s| s.to_string()).collect()),
        );
        region
    }

    pub fn slot(container: &str, instance_type: &str, ami: Option<&str>) -> InstanceSlot {
        InstanceSlot {
            container: container.into(),
            instance_type: instance_type.into(),
            custom_ami_id: ami.map(str::to_string),
        }
    }

    /// An emr-7.1.0 cluster in subnet-1 with a 20 GiB root volume and security updates at boot.
    pub fn cluster(ami: Option<&str>, slots: Vec<InstanceSlot>) -> ClusterFacts {
        ClusterFacts {
            cluster_id: "j-1ABCDEFGHIJKL".into(),
            release_label: Some("emr-7.1.0".into()),
            custom_ami_id: ami.map(str::to_string),
            ebs_root_volume_gib: Some(20),
            repo_upgrade_on_boot: Some("SECURITY".into()),
            subnet_ids: vec!["subnet-1".into()],
            instances: slots,
            ..Default::default()
        }
    }

    pub fn context(release: &str) -> Context {
        Context {
            release: release.parse::<Release>().expect("valid release"),
            instance_types: vec![],
            applications: vec![],
            launching_account: Some(CALLER.into()),
            caller_account: Some(CALLER.into()),
            roles: crate::context::EmrRoles::default(),
            region: "us-east-1".into(),
            thresholds: crate::context::Thresholds::default(),
            now: Utc
                .with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
                .single()
                .expect("valid date"),
        }
    }

    /// Images each wrong in one way, and the good one, by what is wrong: with [`busy_context`] and the
    /// other contexts of [`registry_contexts`] they make every image rule fire.
    pub fn bad_images() -> Vec<(&'static str, ImageEvidence)> {
        let variant = |change: fn(&mut ImageFacts)| {
            let mut image = good_image();
            change(&mut image);
            evidence(image)
        };
        let missing = ImageEvidence {
            image_id: "ami-0ea0000000000dead".into(),
            lookup: ImageLookup::NotFound {
                code: "InvalidAMIID.NotFound".into(),
            },
            launch_access: LaunchAccess::NotFetched,
            root_key: crate::facts::RootKey::NotFetched,
            lineage: None,
        };
        vec![
            ("good", evidence(good_image())),
            ("not found", missing),
            ("failed", variant(|i| i.state = Some("failed".into()))),
            (
                "deprecated",
                variant(|i| {
                    i.deprecation_time = Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).single()
                }),
            ),
            (
                "paravirtual",
                variant(|i| i.virtualization_type = Some("paravirtual".into())),
            ),
            (
                "instance-store",
                variant(|i| i.root_device_type = Some("instance-store".into())),
            ),
            (
                "two volumes",
                variant(|i| {
                    i.block_devices.push(BlockDevice {
                        device_name: Some("/dev/sdb".into()),
                        virtual_name: None,
                        ebs: Some(EbsVolume {
                            volume_size_gib: Some(100),
                            ..Default::default()
                        }),
                    })
                }),
            ),
            (
                "small root",
                variant(|i| {
                    if let Some(ebs) = i.block_devices[0].ebs.as_mut() {
                        ebs.volume_size_gib = Some(8);
                    }
                }),
            ),
            ("windows", variant(|i| i.platform = Some("windows".into()))),
            ("32-bit", variant(|i| i.architecture = Some("i386".into()))),
            (
                "Amazon Linux 2",
                variant(|i| {
                    i.name = Some("amzn2-ami-hvm-2.0.20241113.1-x86_64-gp2".into());
                    i.description = None;
                }),
            ),
            (
                "kernel 6.12",
                variant(|i| {
                    i.name = Some("emr-al2023".into());
                    i.description =
                        Some("from al2023-ami-2023.6.20241111.0-kernel-6.12-x86_64".into());
                }),
            ),
            ("no ENA", variant(|i| i.ena_support = false)),
            ("UEFI only", variant(|i| i.boot_mode = Some("uefi".into()))),
            ("public", variant(|i| i.public = Some(true))),
            (
                "encrypted",
                variant(|i| {
                    if let Some(ebs) = i.block_devices[0].ebs.as_mut() {
                        ebs.encrypted = Some(true);
                    }
                }),
            ),
            (
                "EMR node tag",
                variant(|i| {
                    i.tags.insert(
                        "aws:elasticmapreduce:instance-group-role".into(),
                        "CORE".into(),
                    );
                }),
            ),
        ]
    }

    /// emr-7.1.0 launched by another account on m5, m6g and m4 (of which EMR supports only m5 in
    /// [`registry_region`]), with Oozie.
    pub fn busy_context() -> Context {
        let mut cx = context("emr-7.1.0");
        cx.instance_types = vec!["m5.xlarge".into(), "m6g.xlarge".into(), "m4.xlarge".into()];
        cx.applications = vec!["Oozie".into()];
        cx.launching_account = Some(LAUNCHER.into());
        cx
    }

    /// The contexts the registry test judges [`bad_images`] in: old releases make the release rules fire.
    pub fn registry_contexts() -> Vec<Context> {
        vec![
            busy_context(),
            context("emr-7.1.0"),
            context("emr-5.29.0"),
            context("emr-5.6.0"),
        ]
    }

    /// m5, m6g and m4 described; EMR supports only m5 for emr-7.1.0; no network described.
    pub fn registry_region() -> RegionFacts {
        region_with(vec![m5(), m6g(), m4()], "emr-7.1.0", &["m5.xlarge"])
    }

    /// Clusters that make every cluster rule fire in [`registry_region`] (where subnet-1 is unknown).
    pub fn bad_clusters() -> Vec<(&'static str, ClusterFacts)> {
        let ami = good_image().image_id;
        let both_levels = cluster(
            Some(&ami),
            vec![
                slot("MASTER group", "m5.xlarge", None),
                slot("CORE group", "m6g.xlarge", Some(&ami)),
            ],
        );
        let partial = cluster(
            None,
            vec![
                slot("MASTER group", "m5.xlarge", Some(&ami)),
                slot("CORE group", "m5.xlarge", None),
            ],
        );
        let mut careless = cluster(Some(&ami), vec![slot("MASTER group", "m5.xlarge", None)]);
        careless.ebs_root_volume_gib = Some(15);
        careless.repo_upgrade_on_boot = Some("NONE".into());
        careless.subnet_ids.clear();
        careless
            .unresolved
            .push("Resources.Cluster.Properties.CustomAmiId: Ref AmiId has no value".into());
        vec![
            ("both levels, two architectures", both_levels),
            ("partial instance-level", partial),
            ("small root, no updates, unresolved", careless),
        ]
    }

    /// Root filesystems: one with every problem the content rules look for, and one that could not
    /// be read at all.
    pub fn bad_contents() -> Vec<(&'static str, ContentsFacts)> {
        let everything = ContentsFacts {
            users: Some(vec!["root".into(), "hadoop".into(), "hive".into()]),
            groups: Some(vec!["root".into(), "spark".into()]),
            ssm_installed: vec!["/usr/bin/amazon-ssm-agent".into()],
            ssm_enabled: vec![
                "/etc/systemd/system/multi-user.target.wants/amazon-ssm-agent.service".into(),
            ],
            dns_rotate: vec!["/etc/resolv.conf: options rotate".into()],
            relocated_bytes: [("/var".to_string(), 5 * 1024 * 1024 * 1024)].into(),
            os_release: Some(
                [
                    ("ID".to_string(), "amzn".to_string()),
                    ("VERSION_ID".to_string(), "2".to_string()),
                ]
                .into(),
            ),
            kernels: vec!["5.10.228-219.884.amzn2.x86_64".into()],
            emr_artifacts: vec!["/var/aws/emr".into()],
            ..Default::default()
        };
        let al2023_6_12 = ContentsFacts {
            os_release: Some(
                [
                    ("ID".to_string(), "amzn".to_string()),
                    ("VERSION_ID".to_string(), "2023".to_string()),
                ]
                .into(),
            ),
            kernels: vec!["6.12.8-1.amzn2023.x86_64".into()],
            ..Default::default()
        };
        vec![
            ("everything wrong", everything),
            ("AL2023 on kernel 6.12", al2023_6_12),
            ("unreadable", ContentsFacts::default()),
        ]
    }

    /// The rule of the registry with this ID. Tests name rules by ID, as reports do.
    pub fn rule(id: &str) -> &'static Rule {
        registry()
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("no rule {id} in the registry"))
    }

    /// A check's findings, each asserted to carry the rule whose check made it.
    fn made_by(rule: &'static Rule, findings: Vec<Finding>) -> Vec<Finding> {
        for finding in &findings {
            assert_eq!(
                finding.rule.id, rule.id,
                "{}'s check made a finding of {}: {}",
                rule.id, finding.rule.id, finding.message
            );
        }
        findings
    }

    /// The findings of one image rule, whole.
    pub fn findings(
        id: &str,
        evidence: &ImageEvidence,
        region: &RegionFacts,
        context: &Context,
    ) -> Vec<Finding> {
        let rule = rule(id);
        let Check::Image(check) = rule.check else {
            panic!("{id} is not an image rule");
        };
        made_by(
            rule,
            check(rule, &ImageSubject { evidence, region }, context),
        )
    }

    /// The findings of one cluster rule, whole.
    pub fn cluster_findings(
        id: &str,
        subject: &ClusterSubject<'_>,
        context: &Context,
    ) -> Vec<Finding> {
        let rule = rule(id);
        let Check::Cluster(check) = rule.check else {
            panic!("{id} is not a cluster rule");
        };
        made_by(rule, check(rule, subject, context))
    }

    /// Rule IDs and severities of findings.
    pub fn ids(findings: Vec<Finding>) -> Vec<(&'static str, Severity)> {
        findings
            .into_iter()
            .map(|f| (f.rule.id, f.severity))
            .collect()
    }

    /// What one image rule reports, as (rule, severity).
    pub fn fired(
        id: &str,
        evidence: &ImageEvidence,
        region: &RegionFacts,
        context: &Context,
    ) -> Vec<(&'static str, Severity)> {
        ids(findings(id, evidence, region, context))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::*;
    use super::*;

    #[test]
    fn ids_are_unique_sorted_and_well_formed() {
        // Families declare their rules in ID order, one family after the other: the registry's order
        // is the order of declaration, and no ID appears twice.
        let declared: Vec<&str> = FAMILIES
            .iter()
            .flat_map(|f| f.iter())
            .map(|r| r.id)
            .collect();
        assert!(
            declared.windows(2).all(|w| w[0] < w[1]),
            "rule IDs out of order or repeated: {declared:?}"
        );
        let ids: Vec<&str> = registry().iter().map(|r| r.id).collect();
        assert_eq!(ids, declared);
        for id in ids {
            assert!(
                id.len() == 5
                    && id.starts_with("EA")
                    && id[2..].chars().all(|c| c.is_ascii_digit()),
                "{id}"
            );
        }
    }

    #[test]
    fn names_are_unique_and_every_rule_is_documented() {
        let rules = registry();
        for (i, rule) in rules.iter().enumerate() {
            assert!(
                rule.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{}",
                rule.name
            );
            for other in &rules[i + 1..] {
                assert_ne!(rule.name, other.name);
            }
            assert!(
                !rule.title.is_empty()
                    && !rule.explanation.is_empty()
                    && !rule.remediation.is_empty()
                    && !rule.source.is_empty(),
                "{}",
                rule.id
            );
            assert!(
                rule.doc_url.starts_with("https://docs.aws.amazon.com/"),
                "{}",
                rule.id
            );
        }
    }

    /// Counts `findings` for `rule`, asserting each carries the rule whose check made it.
    fn tally(
        fired: &mut BTreeMap<&'static str, usize>,
        rule: &'static Rule,
        fixture: &str,
        findings: &[Finding],
    ) {
        for finding in findings {
            assert_eq!(
                finding.rule.id, rule.id,
                "{}'s check on {fixture} made a finding of {}: {}",
                rule.id, finding.rule.id, finding.message
            );
            *fired.entry(rule.id).or_default() += 1;
        }
    }

    /// Every rule's check over hand-built facts: each finding carries the ID of the rule whose check
    /// made it, `evaluate_*` passes each check its own rule, and the fixtures make every rule fire
    /// (a new rule needs a fixture in `testing` that makes it fire).
    #[test]
    fn every_finding_names_the_rule_that_made_it() {
        let mut fired: BTreeMap<&'static str, usize> = BTreeMap::new();

        let region = registry_region();
        for cx in registry_contexts() {
            for (fixture, evidence) in bad_images() {
                let subject = ImageSubject {
                    evidence: &evidence,
                    region: &region,
                };
                let mut all = Vec::new();
                for rule in registry() {
                    if let Check::Image(check) = rule.check {
                        let found = check(rule, &subject, &cx);
                        tally(&mut fired, rule, fixture, &found);
                        all.extend(found);
                    }
                }
                sort(&mut all);
                assert_eq!(evaluate_image(&subject, &cx), all, "{fixture}");
            }
        }

        let image = good_image();
        let images = BTreeMap::from([(image.image_id.clone(), evidence(image))]);
        let cx = context("emr-7.1.0");
        for (fixture, cluster) in bad_clusters() {
            let subject = ClusterSubject {
                cluster: &cluster,
                images: &images,
                region: &region,
            };
            let mut all = Vec::new();
            for rule in registry() {
                if let Check::Cluster(check) = rule.check {
                    let found = check(rule, &subject, &cx);
                    tally(&mut fired, rule, fixture, &found);
                    all.extend(found);
                }
            }
            sort(&mut all);
            assert_eq!(evaluate_cluster(&subject, &cx), all, "{fixture}");
        }

        for (fixture, facts) in bad_contents() {
            let mut all = Vec::new();
            for rule in registry() {
                if let Check::Contents(check) = rule.check {
                    let found = check(rule, &facts, &cx);
                    tally(&mut fired, rule, fixture, &found);
                    all.extend(found);
                }
            }
            sort(&mut all);
            assert_eq!(evaluate_contents(&facts, &cx), all, "{fixture}");
        }

        let silent: Vec<&str> = registry()
            .iter()
            .map(|r| r.id)
            .filter(|id| !fired.contains_key(id))
            .collect();
        assert!(
            silent.is_empty(),
            "no fixture makes these rules fire: {silent:?}"
        );
        assert_eq!(fired.len(), registry().len());
    }

    #[test]
    fn find_by_id_or_name() {
        assert_eq!(find("ea013").map(|r| r.id), Some("EA013"));
        assert_eq!(find("hvm-only").map(|r| r.id), Some("EA010"));
        assert!(find("EA999").is_none());
    }
}
