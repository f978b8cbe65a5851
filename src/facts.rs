//! Crate-owned facts about AWS resources. The `aws` module converts SDK output into these; rules read
//! only these. `None` means AWS did not say, which rules treat as "unknown", never as "false".

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::lineage::Lineage;

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

/// A failed AWS call, kept as a fact so a target is reported "not audited" instead of dropped.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CollectError {
    /// `ec2`, `emr`, `sts`, …
    pub service: String,
    /// `DescribeImages`, …
    pub action: String,
    /// AWS error code (`UnauthorizedOperation`), or a transport failure's kind.
    pub code: String,
    /// One line, cut short: never a raw body.
    pub message: String,
    /// The HTTP status of the answer, when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

impl CollectError {
    /// The IAM action that would have allowed the call.
    pub fn iam_action(&self) -> String {
        let service = match self.service.as_str() {
            "emr" => "elasticmapreduce",
            other => other,
        };
        format!("{service}:{}", self.action)
    }

    pub fn is_access_denied(&self) -> bool {
        matches!(
            self.code.as_str(),
            "UnauthorizedOperation" | "AccessDenied" | "AccessDeniedException" | "AuthFailure"
        ) || self.code.starts_with("UnauthorizedOperation")
    }
}

impl fmt::Display for CollectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{} failed: {}", self.service, self.action, self.code)?;
        if let Some(status) = self.status {
            write!(f, " (HTTP {status})")?;
        }
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if self.is_access_denied() {
            write!(f, " (grant {})", self.iam_action())?;
        }
        Ok(())
    }
}

/// What DescribeImages said about one requested AMI.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageLookup {
    Found(Box<ImageFacts>),
    /// EC2 does not show it to this account in this region (the AWS error code says how).
    NotFound {
        code: String,
    },
    Failed(CollectError),
}

/// Whether the launching account may launch an image, as far as the caller can see.
#[derive(Debug, Clone, PartialEq)]
pub enum LaunchAccess {
    /// Not asked: ownership or publicity already settles it, or the question can't be asked.
    NotFetched,
    /// DescribeImageAttribute `launchPermission` (the caller owns the image).
    Permissions(Vec<LaunchPermission>),
    /// DescribeImages `ExecutableBy=self`: whether the caller is among those who may launch it.
    ExecutableBySelf(bool),
    Failed(CollectError),
}

/// Everything collected about one AMI.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageEvidence {
    pub image_id: String,
    pub lookup: ImageLookup,
    pub launch_access: LaunchAccess,
    /// The chain back to the image's base, when the image was found.
    pub lineage: Option<Lineage>,
}

impl ImageEvidence {
    pub fn found(&self) -> Option<&ImageFacts> {
        match &self.lookup {
            ImageLookup::Found(image) => Some(image),
            _ => None,
        }
    }
}

/// Facts shared by every target of a run in one region: instance types and EMR's supported list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegionFacts {
    pub instance_types: BTreeMap<String, Result<InstanceTypeFacts, CollectError>>,
    /// ListSupportedInstanceTypes for each release asked about.
    pub emr_supported: BTreeMap<String, Result<BTreeSet<String>, CollectError>>,
    pub network: NetworkFacts,
}

/// How a cluster's instances are organised.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum InstanceCollection {
    InstanceGroups,
    InstanceFleets,
}

/// One instance type of a cluster, where it is configured, and its instance-level custom AMI.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct InstanceSlot {
    /// Where it is configured, e.g. `CORE group ig-2XYZ (Core)` or `TASK fleet if-3ABC`.
    pub container: String,
    pub instance_type: String,
    pub custom_ami_id: Option<String>,
}

/// An EMR cluster as DescribeCluster and ListInstanceGroups/Fleets describe it, or as a launch plan
/// would create it.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ClusterFacts {
    pub cluster_id: String,
    pub name: Option<String>,
    pub state: Option<String>,
    pub release_label: Option<String>,
    /// The cluster-level custom AMI.
    pub custom_ami_id: Option<String>,
    pub applications: Vec<String>,
    pub ebs_root_volume_gib: Option<i32>,
    /// `SECURITY` or `NONE`.
    pub repo_upgrade_on_boot: Option<String>,
    pub os_release_label: Option<String>,
    pub collection: Option<InstanceCollection>,
    pub subnet_ids: Vec<String>,
    pub instances: Vec<InstanceSlot>,
    /// Launch plans only: values (`Ref`, `Fn::…`) that could not be resolved, as `path: reason`.
    pub unresolved: Vec<String>,
    /// Launch plans only: an instance group or fleet resource that adds to a cluster defined elsewhere
    /// (what its cluster reference says); the cluster's own settings (subnet, release) are not here.
    pub adds_to: Option<String>,
}

impl ClusterFacts {
    /// Every custom AMI the cluster uses, cluster-level first.
    pub fn custom_amis(&self) -> Vec<String> {
        let mut amis: Vec<String> = self.custom_ami_id.iter().cloned().collect();
        for slot in &self.instances {
            if let Some(ami) = &slot.custom_ami_id
                && !amis.contains(ami)
            {
                amis.push(ami.clone());
            }
        }
        amis
    }

    /// Distinct instance types, in configuration order.
    pub fn instance_types(&self) -> Vec<String> {
        let mut types: Vec<String> = Vec::new();
        for slot in &self.instances {
            if !types.contains(&slot.instance_type) {
                types.push(slot.instance_type.clone());
            }
        }
        types
    }
}

/// A VPC's DHCP options, as far as EA054 needs them.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DhcpOptions {
    pub domain_names: Vec<String>,
    pub domain_name_servers: Vec<String>,
}

/// Subnet → VPC → DHCP options, each fetched once per run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NetworkFacts {
    /// Subnet → its VPC.
    pub subnets: BTreeMap<String, Result<String, CollectError>>,
    /// VPC → its DHCP options set.
    pub vpcs: BTreeMap<String, Result<String, CollectError>>,
    pub dhcp_options: BTreeMap<String, Result<DhcpOptions, CollectError>>,
}

impl NetworkFacts {
    /// The DHCP options that apply to a subnet, or the first failure on the way there.
    pub fn dhcp_for_subnet(&self, subnet: &str) -> Result<(&str, &DhcpOptions), String> {
        let vpc = match self.subnets.get(subnet) {
            Some(Ok(vpc)) => vpc,
            Some(Err(error)) => return Err(error.to_string()),
            None => return Err(format!("subnet {subnet} was not described")),
        };
        let options = match self.vpcs.get(vpc) {
            Some(Ok(options)) => options,
            Some(Err(error)) => return Err(error.to_string()),
            None => return Err(format!("VPC {vpc} was not described")),
        };
        match self.dhcp_options.get(options) {
            Some(Ok(dhcp)) => Ok((vpc.as_str(), dhcp)),
            Some(Err(error)) => Err(error.to_string()),
            None => Err(format!("DHCP options {options} were not described")),
        }
    }
}
