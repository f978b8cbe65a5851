//! What a run collected: the evidence of every AMI, and the facts shared by every target in the region.

use std::collections::{BTreeMap, BTreeSet};

use super::cluster::NetworkFacts;
use super::error::CollectError;
use super::evidence::ImageEvidence;
use super::image::InstanceTypeFacts;

/// What a run collected.
#[derive(Debug, Clone)]
pub struct Collected {
    pub caller_account: Result<String, CollectError>,
    pub images: BTreeMap<String, ImageEvidence>,
    pub region: RegionFacts,
    /// Instance types EC2 says do not exist.
    pub invalid_instance_types: Vec<String>,
}

/// Facts shared by every target of a run in one region: instance types and EMR's supported list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegionFacts {
    pub instance_types: BTreeMap<String, Result<InstanceTypeFacts, CollectError>>,
    /// ListSupportedInstanceTypes for each release asked about.
    pub emr_supported: BTreeMap<String, Result<BTreeSet<String>, CollectError>>,
    pub network: NetworkFacts,
}
