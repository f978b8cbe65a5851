//! What EC2 says about one AMI and about instance types: DescribeImages, DescribeImageAttribute
//! `launchPermission`, DescribeInstanceTypes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// One AMI as DescribeImages describes it.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ImageFacts {
    pub image_id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub owner_id: Option<String>,
    pub owner_alias: Option<String>,
    /// `available`, `pending`, `failed`, `deregistered`, `disabled`, …
    pub state: Option<String>,
    pub state_reason: Option<String>,
    pub creation_date: Option<String>,
    pub deprecation_time: Option<DateTime<Utc>>,
    pub public: Option<bool>,
    /// `i386`, `x86_64`, `arm64`, `x86_64_mac`, `arm64_mac`.
    pub architecture: Option<String>,
    /// `windows` for Windows AMIs; AWS leaves it out for every other platform.
    pub platform: Option<String>,
    /// `Linux/UNIX`, `Windows`, `Red Hat Enterprise Linux`, …
    pub platform_details: Option<String>,
    /// `hvm` or `paravirtual`.
    pub virtualization_type: Option<String>,
    /// `ebs` or `instance-store`.
    pub root_device_type: Option<String>,
    pub root_device_name: Option<String>,
    pub block_devices: Vec<BlockDevice>,
    /// AWS documents that `enaSupport` is only present when enhanced networking with ENA is enabled,
    /// so its absence means false (the one field here where missing is not "unknown").
    pub ena_support: bool,
    /// `legacy-bios`, `uefi` or `uefi-preferred`; absent means the instance type's default boot mode.
    pub boot_mode: Option<String>,
    /// `v2.0` when instances launched from the AMI require IMDSv2; absent means IMDSv1 is allowed.
    pub imds_support: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub source_image_id: Option<String>,
    /// The region of `source_image_id` (CopyImage across regions).
    pub source_image_region: Option<String>,
    pub source_instance_id: Option<String>,
}

/// One entry of an AMI's block device mapping.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct BlockDevice {
    pub device_name: Option<String>,
    /// `ephemeralN` for instance-store volumes.
    pub virtual_name: Option<String>,
    pub ebs: Option<EbsVolume>,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct EbsVolume {
    pub snapshot_id: Option<String>,
    pub volume_size_gib: Option<i32>,
    pub volume_type: Option<String>,
    pub encrypted: Option<bool>,
}

impl ImageFacts {
    /// The mapping of the root device, when the AMI names one and maps it.
    pub fn root_device(&self) -> Option<&BlockDevice> {
        let root = self.root_device_name.as_deref()?;
        self.block_devices
            .iter()
            .find(|d| d.device_name.as_deref() == Some(root))
    }

    /// The EBS volumes the AMI maps (instance-store entries are not volumes of the AMI).
    pub fn ebs_volumes(&self) -> impl Iterator<Item = &BlockDevice> {
        self.block_devices.iter().filter(|d| d.ebs.is_some())
    }

    /// Name, or the ID when the AMI has no name.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.image_id)
    }
}

/// One EC2 instance type as DescribeInstanceTypes describes it.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct InstanceTypeFacts {
    pub instance_type: String,
    pub architectures: Vec<String>,
    /// `legacy-bios`, `uefi`; empty when AWS did not say.
    pub boot_modes: Vec<String>,
    /// `required`, `supported` or `unsupported`.
    pub ena_support: Option<String>,
}

/// Who may launch an AMI, as DescribeImageAttribute `launchPermission` lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum LaunchPermission {
    Account(String),
    /// `all` makes the AMI public.
    Group(String),
    Organization(String),
    OrganizationalUnit(String),
}
