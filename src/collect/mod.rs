//! From targets to facts: which calls to make, batched and made once per run.

mod clusters;
mod contents;
mod prefetch;
mod root_keys;
mod trace;

pub use clusters::{ClusterSelection, DescribedClusters, describe_clusters};
pub use contents::{MAX_BLOCKS, read_snapshot};
pub use prefetch::Prefetched;

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;

use crate::aws::{Aws, ImageBatch, InstanceTypeBatch, Lookup};
use crate::facts::{
    CollectError, Collected, DhcpOptions, ImageEvidence, ImageFacts, ImageLookup, LaunchAccess,
    NetworkFacts, RegionFacts,
};

/// DescribeImages and DescribeInstanceTypes take up to 100 IDs per call.
const BATCH: usize = 100;
/// Parallel DescribeImageAttribute calls (one per image; the API takes no list). Like every step's
/// concurrency, an upper bound of what the step asks at once: the run's budget of calls in flight
/// (`--concurrency`, shared by all accounts and regions) is what bounds the calls.
const ATTRIBUTE_CONCURRENCY: usize = 8;
/// DescribeImages batches asked at once (within the run's budget).
const BATCH_CONCURRENCY: usize = 4;

/// Why a run can't go on: the user named something that does not exist.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CollectUsageError {
    #[error("unknown instance type '{0}': EC2 says it does not exist (InvalidInstanceType)")]
    InvalidInstanceType(String),
}

/// What an audit needs collected: AMIs, and the instance types, releases and subnets they are judged with.
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    pub image_ids: Vec<String>,
    pub instance_types: Vec<String>,
    pub releases: Vec<String>,
    pub subnet_ids: Vec<String>,
    /// The account that will launch the AMIs (default: the caller's).
    pub launching_account: Option<String>,
}

/// Collect everything the image and cluster rules need, each distinct resource once, in batches;
/// what was already asked for while the clusters were described (`prefetched`) is not asked again.
pub async fn collect(aws: &Aws, wanted: &Wanted, prefetched: Prefetched) -> Collected {
    let Prefetched {
        images: mut known,
        mut ancestry,
    } = prefetched;
    let mut images = BTreeMap::new();
    let mut ask = Vec::new();
    for id in unique(&wanted.image_ids) {
        match known.remove(&id) {
            Some(lookup) => {
                images.insert(id.clone(), evidence(id, lookup));
            }
            None => ask.push(id),
        }
    }
    let (caller, described, (mut region, invalid), network) = tokio::join!(
        aws.caller_account(),
        describe_images(aws, &ask),
        region_facts(aws, &wanted.instance_types, &wanted.releases),
        network_facts(aws, &wanted.subnet_ids),
    );
    images.extend(described);
    region.network = network;
    let caller_ok = caller.as_ref().ok().map(String::as_str);
    let launcher = wanted.launching_account.as_deref().or(caller_ok);
    let found: BTreeMap<String, ImageFacts> = images
        .values()
        .filter_map(|e| Some((e.image_id.clone(), e.found()?.clone())))
        .collect();
    let root_keys = &mut BTreeMap::new();
    let ((), (), mut lineages) = tokio::join!(
        fill_launch_access(aws, &mut images, caller_ok, launcher),
        root_keys::collect(aws, &found, caller_ok, root_keys),
        trace::lineages(aws, &found, caller_ok, &mut ancestry),
    );
    for (id, key) in std::mem::take(root_keys) {
        if let Some(evidence) = images.get_mut(&id) {
            evidence.root_key = key;
        }
    }
    for (id, evidence) in images.iter_mut() {
        evidence.lineage = lineages.remove(id);
    }
    Collected {
        caller_account: caller,
        images,
        region,
        invalid_instance_types: invalid,
    }
}

/// As [`collect`], for AMIs the user named with instance types the user named: an instance type EC2
/// does not know is the user's mistake.
pub async fn collect_images(
    aws: &Aws,
    image_ids: &[String],
    instance_types: &[String],
    releases: &[String],
    launching_account: Option<&str>,
) -> Result<Collected, CollectUsageError> {
    let wanted = Wanted {
        image_ids: image_ids.to_vec(),
        instance_types: instance_types.to_vec(),
        releases: releases.to_vec(),
        subnet_ids: Vec::new(),
        launching_account: launching_account.map(str::to_string),
    };
    let collected = collect(aws, &wanted, Prefetched::default()).await;
    match collected.invalid_instance_types.first() {
        Some(invalid) => Err(CollectUsageError::InvalidInstanceType(invalid.clone())),
        None => Ok(collected),
    }
}

fn unique(items: &[String]) -> Vec<String> {
    items
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

/// DescribeImages in batches of [`BATCH`], several batches at once (unordered: a batch waiting on
/// retries holds no other back; the map puts them in order).
async fn describe_images(aws: &Aws, ids: &[String]) -> BTreeMap<String, ImageEvidence> {
    let answers: Vec<_> = futures::stream::iter(ids.chunks(BATCH))
        .map(|chunk| async move { (chunk, aws.describe_images(chunk).await) })
        .buffer_unordered(BATCH_CONCURRENCY)
        .collect()
        .await;
    answers
        .into_iter()
        .flat_map(|(chunk, answer)| lookups(chunk, answer))
        .map(|(id, lookup)| (id.clone(), evidence(id, lookup)))
        .collect()
}

/// What one DescribeImages batch says of each AMI asked: found, not shown (and how), or the call's
/// failure.
fn lookups(
    asked: &[String],
    answer: Result<ImageBatch, CollectError>,
) -> Vec<(String, ImageLookup)> {
    let mut lookups: BTreeMap<String, ImageLookup> = BTreeMap::new();
    match answer {
        Ok(batch) => {
            for image in batch.images {
                lookups.insert(image.image_id.clone(), ImageLookup::Found(Box::new(image)));
            }
            for (id, code) in batch.missing {
                lookups.insert(id, ImageLookup::NotFound { code });
            }
        }
        Err(error) => {
            for id in asked {
                lookups.insert(id.clone(), ImageLookup::Failed(error.clone()));
            }
        }
    }
    asked
        .iter()
        .map(|id| {
            let lookup = lookups.remove(id).unwrap_or(ImageLookup::NotFound {
                code: "EmptyAnswer".into(),
            });
            (id.clone(), lookup)
        })
        .collect()
}

/// An AMI's evidence before its launch access, root key and lineage are looked into.
fn evidence(image_id: String, lookup: ImageLookup) -> ImageEvidence {
    ImageEvidence {
        image_id,
        lookup,
        launch_access: LaunchAccess::NotFetched,
        root_key: crate::facts::RootKey::NotFetched,
        lineage: None,
    }
}

async fn region_facts(
    aws: &Aws,
    instance_types: &[String],
    releases: &[String],
) -> (RegionFacts, Vec<String>) {
    let mut facts = RegionFacts::default();
    let mut invalid_types = Vec::new();
    let instance_types = unique(instance_types);
    if instance_types.is_empty() {
        return (facts, invalid_types);
    }
    for chunk in instance_types.chunks(BATCH) {
        // EC2 fails the whole batch when one name is unknown and names it: set those aside and ask
        // again for the rest (at most once more per unknown name).
        let mut pending: Vec<String> = chunk.to_vec();
        while !pending.is_empty() {
            match aws.describe_instance_types(&pending).await {
                Ok(InstanceTypeBatch::Found(found)) => {
                    for t in found {
                        facts.instance_types.insert(t.instance_type.clone(), Ok(t));
                    }
                    for name in &pending {
                        facts.instance_types.entry(name.clone()).or_insert_with(|| {
                            Err(CollectError {
                                service: "ec2".into(),
                                action: "DescribeInstanceTypes".into(),
                                code: "EmptyAnswer".into(),
                                message: format!("EC2 did not describe {name}"),
                                status: None,
                            })
                        });
                    }
                    pending.clear();
                }
                Ok(InstanceTypeBatch::Invalid(invalid)) => {
                    for name in &invalid {
                        let error = CollectError {
                            service: "ec2".into(),
                            action: "DescribeInstanceTypes".into(),
                            code: "InvalidInstanceType".into(),
                            message: format!("EC2 says {name} does not exist"),
                            status: None,
                        };
                        facts.instance_types.insert(name.clone(), Err(error));
                    }
                    let before = pending.len();
                    pending.retain(|name| !invalid.contains(name));
                    invalid_types.extend(invalid);
                    if pending.len() == before {
                        // The message named none of the batch: no way to tell good from bad.
                        for name in pending.drain(..) {
                            invalid_types.push(name);
                        }
                    }
                }
                Err(error) => {
                    for name in pending.drain(..) {
                        facts.instance_types.insert(name, Err(error.clone()));
                    }
                }
            }
        }
    }
    // EMR's list depends only on the release: one (paged) call per release, all at once.
    let releases = unique(releases);
    let lists =
        futures::future::join_all(releases.iter().map(|r| aws.supported_instance_types(r))).await;
    facts.emr_supported.extend(releases.into_iter().zip(lists));
    (facts, invalid_types)
}

/// Subnet → VPC → DHCP options, one batched call per level.
/// The DHCP options ID EC2 gives a VPC that has none: AWS's own resolver, no custom domain. Not an ID
/// DescribeDhcpOptions knows (asking for it fails the whole batch).
const NO_DHCP_OPTIONS: &str = "default";

async fn network_facts(aws: &Aws, subnet_ids: &[String]) -> NetworkFacts {
    let mut network = NetworkFacts::default();
    let subnets = unique(subnet_ids);
    for chunk in subnets.chunks(BATCH) {
        settle(&mut network.subnets, chunk, aws.subnet_vpcs(chunk).await);
    }
    let vpcs = unique(
        &network
            .subnets
            .values()
            .filter_map(|v| v.as_ref().ok().cloned())
            .collect::<Vec<_>>(),
    );
    for chunk in vpcs.chunks(BATCH) {
        settle(&mut network.vpcs, chunk, aws.vpc_dhcp_options(chunk).await);
    }
    let (none, options): (Vec<String>, Vec<String>) = unique(
        &network
            .vpcs
            .values()
            .filter_map(|v| v.as_ref().ok().cloned())
            .collect::<Vec<_>>(),
    )
    .into_iter()
    .partition(|id| id == NO_DHCP_OPTIONS);
    for id in none {
        network.dhcp_options.insert(id, Ok(DhcpOptions::default()));
    }
    for chunk in options.chunks(BATCH) {
        settle(
            &mut network.dhcp_options,
            chunk,
            aws.dhcp_options(chunk).await,
        );
    }
    network
}

/// Record a batch's answer for each ID asked: its value, or why there is none (EC2 said it doesn't
/// exist, or didn't describe it, or the call failed).
fn settle<T: Clone>(
    into: &mut BTreeMap<String, Result<T, CollectError>>,
    asked: &[String],
    answer: Result<Lookup<T>, CollectError>,
) {
    match answer {
        Ok((found, missing)) => {
            let found: BTreeMap<String, T> = found.into_iter().collect();
            let mut missing: BTreeMap<String, CollectError> = missing.into_iter().collect();
            for id in asked {
                let value = found.get(id).cloned().ok_or_else(|| {
                    missing.remove(id).unwrap_or_else(|| CollectError {
                        service: "ec2".into(),
                        action: "Describe".into(),
                        code: "EmptyAnswer".into(),
                        message: format!("EC2 did not describe {id}"),
                        status: None,
                    })
                });
                into.insert(id.clone(), value);
            }
        }
        Err(error) => {
            for id in asked {
                into.insert(id.clone(), Err(error.clone()));
            }
        }
    }
}

/// Ask only what the launch-permission rule can't settle from DescribeImages: the owner's permission
/// list when the caller owns the image, or `ExecutableBy=self` when the caller is the launcher.
async fn fill_launch_access(
    aws: &Aws,
    images: &mut BTreeMap<String, ImageEvidence>,
    caller: Option<&str>,
    launcher: Option<&str>,
) {
    let Some(launcher) = launcher else {
        return;
    };
    let mut owned = Vec::new();
    let mut shared_to_caller = Vec::new();
    for evidence in images.values() {
        let Some(image) = evidence.found() else {
            continue;
        };
        let owner = image.owner_id.as_deref();
        if owner == Some(launcher) || image.public == Some(true) {
            continue;
        }
        if caller.is_some() && owner == caller {
            owned.push(evidence.image_id.clone());
        } else if caller == Some(launcher) {
            shared_to_caller.push(evidence.image_id.clone());
        }
    }
    let permissions: Vec<(String, LaunchAccess)> = futures::stream::iter(owned)
        .map(|id| async move {
            let access = match aws.launch_permissions(&id).await {
                Ok(permissions) => LaunchAccess::Permissions(permissions),
                Err(error) => LaunchAccess::Failed(error),
            };
            (id, access)
        })
        .buffer_unordered(ATTRIBUTE_CONCURRENCY)
        .collect()
        .await;
    for (id, access) in permissions {
        if let Some(evidence) = images.get_mut(&id) {
            evidence.launch_access = access;
        }
    }
    for chunk in shared_to_caller.chunks(BATCH) {
        let result = aws.executable_by_self(chunk).await;
        for id in chunk {
            if let Some(evidence) = images.get_mut(id) {
                evidence.launch_access = match &result {
                    Ok(executable) => LaunchAccess::ExecutableBySelf(executable.contains(id)),
                    Err(error) => LaunchAccess::Failed(error.clone()),
                };
            }
        }
    }
}
