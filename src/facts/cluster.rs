//! EMR clusters (described, or as a launch plan would create them) and the network facts of their
//! subnets.

use std::collections::BTreeMap;

use serde::Serialize;

use super::error::CollectError;

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

/// Where an instance type is configured, as [`InstanceSlot::container`] says it:
/// `CORE group ig-2XYZ (Core)`.
pub fn container(role: Option<&str>, kind: &str, id: Option<&str>, name: Option<&str>) -> String {
    let mut text = format!("{} {kind}", role.unwrap_or("?"));
    if let Some(id) = id {
        text.push(' ');
        text.push_str(id);
    }
    if let Some(name) = name.filter(|n| !n.is_empty()) {
        text.push_str(&format!(" ({name})"));
    }
    text
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
    /// The EMR service role (`ServiceRole`: a name or an ARN).
    pub service_role: Option<String>,
    /// The EC2 instance profile (`JobFlowRole`, DescribeCluster's `IamInstanceProfile`).
    pub instance_profile: Option<String>,
    pub subnet_ids: Vec<String>,
    pub instances: Vec<InstanceSlot>,
    /// Launch plans only: values (`Ref`, `Fn::…`) that could not be resolved, as `path: reason`.
    pub unresolved: Vec<String>,
    /// Launch plans only: an instance group or fleet resource that adds to a cluster defined elsewhere
    /// (what its cluster reference says); the cluster's own settings (subnet, release) are not here.
    pub adds_to: Option<String>,
    /// A launch plan's cluster (what was asked for), not a running one (what EMR reports).
    pub planned: bool,
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
