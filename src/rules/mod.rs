//! The rule registry. A rule is data (ID, name, severity, docs) plus a pure check function over facts
//! and a [`Context`]. `emr-ami-audit rules`, the reports and the README table all read this registry.

mod access;
mod availability;
mod cluster;
mod contents;
mod instance_type;
mod os_generation;
mod provenance;
mod shape;

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;

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

/// One thing a rule found. Name, remediation and docs come from the registry by `rule`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
    /// What the finding rests on: AWS field names and the values seen.
    pub evidence: BTreeMap<String, String>,
}

impl Finding {
    pub fn new(rule: &'static str, severity: Severity, message: impl Into<String>) -> Self {
        Finding {
            rule,
            severity,
            message: message.into(),
            evidence: BTreeMap::new(),
        }
    }

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

pub type ImageCheck = fn(&ImageSubject<'_>, &Context) -> Vec<Finding>;

/// What a cluster rule looks at: the cluster, the AMIs it uses and the region's shared facts.
#[derive(Debug, Clone, Copy)]
pub struct ClusterSubject<'a> {
    pub cluster: &'a ClusterFacts,
    pub images: &'a BTreeMap<String, ImageEvidence>,
    pub region: &'a RegionFacts,
}

pub type ClusterCheck = fn(&ClusterSubject<'_>, &Context) -> Vec<Finding>;

pub type ContentsCheck = fn(&ContentsFacts, &Context) -> Vec<Finding>;

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

impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rule({} {})", self.id, self.name)
    }
}

pub(crate) const CUSTOM_AMI_DOC: &str =
    "https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-custom-ami.html";

/// Every rule, in ID order.
pub fn registry() -> &'static [Rule] {
    static RULES: std::sync::OnceLock<Vec<Rule>> = std::sync::OnceLock::new();
    RULES.get_or_init(|| {
        let mut rules = Vec::new();
        rules.extend(availability::RULES);
        rules.extend(shape::RULES);
        rules.extend(os_generation::RULES);
        rules.extend(instance_type::RULES);
        rules.extend(access::RULES);
        rules.extend(provenance::RULES);
        rules.extend(cluster::RULES);
        rules.extend(contents::RULES);
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

/// The catalogue as a Markdown table (the README's rule table is this, kept in step by a test).
pub fn catalogue_markdown() -> String {
    let mut table = String::from("| ID | Name | Default | Title |\n|---|---|---|---|\n");
    for rule in registry() {
        table.push_str(&format!(
            "| {} | `{}` | {} | {} |\n",
            rule.id, rule.name, rule.severity, rule.title
        ));
    }
    table
}

/// Run every image rule over one image.
pub fn evaluate_image(subject: &ImageSubject<'_>, context: &Context) -> Vec<Finding> {
    let mut findings: Vec<Finding> = registry()
        .iter()
        .flat_map(|rule| match rule.check {
            Check::Image(check) => check(subject, context),
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
            Check::Cluster(check) => check(subject, context),
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
            Check::Contents(check) => check(facts, context),
            Check::Image(_) | Check::Cluster(_) => vec![],
        })
        .collect();
    sort(&mut findings);
    findings
}

/// Most severe first, then by rule ID.
fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule.cmp(b.rule)));
}

#[cfg(test)]
pub(crate) mod testing {
    //! Hand-built facts for rule tests.
    use chrono::{TimeZone, Utc};

    use super::*;
    use crate::facts::{
        BlockDevice, EbsVolume, ImageFacts, ImageLookup, InstanceTypeFacts, LaunchAccess,
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

    pub fn context(release: &str) -> Context {
        Context {
            release: release.parse::<Release>().expect("valid release"),
            instance_types: vec![],
            applications: vec![],
            launching_account: Some(CALLER.into()),
            caller_account: Some(CALLER.into()),
            region: "us-east-1".into(),
            thresholds: crate::context::Thresholds::default(),
            now: Utc
                .with_ymd_and_hms(2026, 11, 25, 12, 0, 0)
                .single()
                .expect("valid date"),
        }
    }

    /// IDs of the findings one check reports.
    /// The findings of one image check, whole.
    pub fn findings(
        check: ImageCheck,
        evidence: &ImageEvidence,
        region: &RegionFacts,
        context: &Context,
    ) -> Vec<Finding> {
        check(&ImageSubject { evidence, region }, context)
    }

    pub fn fired(
        check: ImageCheck,
        evidence: &ImageEvidence,
        region: &RegionFacts,
        context: &Context,
    ) -> Vec<(&'static str, Severity)> {
        check(&ImageSubject { evidence, region }, context)
            .into_iter()
            .map(|f| (f.rule, f.severity))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_are_unique_and_well_formed() {
        let rules = registry();
        for (i, rule) in rules.iter().enumerate() {
            assert!(
                rule.id.len() == 5 && rule.id.starts_with("EA"),
                "{}",
                rule.id
            );
            assert!(
                rule.name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            );
            for other in &rules[i + 1..] {
                assert_ne!(rule.id, other.id);
                assert_ne!(rule.name, other.name);
            }
            assert!(
                !rule.title.is_empty()
                    && !rule.explanation.is_empty()
                    && !rule.remediation.is_empty()
            );
            assert!(
                rule.doc_url.starts_with("https://docs.aws.amazon.com/"),
                "{}",
                rule.id
            );
        }
    }

    #[test]
    fn catalogue_is_complete() {
        let expected = [
            "EA001", "EA002", "EA003", "EA010", "EA011", "EA012", "EA013", "EA014", "EA015",
            "EA016", "EA017", "EA020", "EA021", "EA022", "EA023", "EA030", "EA031", "EA032",
            "EA033", "EA040", "EA041", "EA042", "EA050", "EA051", "EA052", "EA053", "EA054",
            "EA055", "EA056", "EA060", "EA061", "EA062", "EA063", "EA064", "EA065",
        ];
        let ids: Vec<&str> = registry().iter().map(|r| r.id).collect();
        assert_eq!(ids, expected);
    }

    #[test]
    fn find_by_id_or_name() {
        assert_eq!(find("ea013").map(|r| r.id), Some("EA013"));
        assert_eq!(find("hvm-only").map(|r| r.id), Some("EA010"));
        assert!(find("EA999").is_none());
    }
}
