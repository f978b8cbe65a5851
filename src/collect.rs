//! From targets to facts: which calls to make, batched and made once per run.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;

use crate::aws::{Aws, InstanceTypeBatch};
use crate::facts::{CollectError, ImageEvidence, ImageLookup, LaunchAccess, RegionFacts};

/// DescribeImages and DescribeInstanceTypes take up to 100 IDs per call.
const BATCH: usize = 100;
/// Parallel DescribeImageAttribute calls (one per image; the API takes no list).
const ATTRIBUTE_CONCURRENCY: usize = 8;

/// Why a run can't go on: the user named something that does not exist.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CollectUsageError {
    #[error("unknown instance type '{0}': EC2 says it does not exist (InvalidInstanceType)")]
    InvalidInstanceType(String),
}

/// What a run of image audits collected.
#[derive(Debug, Clone)]
pub struct Collected {
    pub caller_account: Result<String, CollectError>,
    pub images: BTreeMap<String, ImageEvidence>,
    pub region: RegionFacts,
}

/// Collect everything the image rules need for `image_ids`, with the instance types and releases
/// they will be judged against.
pub async fn collect_images(
    aws: &Aws,
    image_ids: &[String],
    instance_types: &[String],
    releases: &[String],
    launching_account: Option<&str>,
) -> Result<Collected, CollectUsageError> {
    let image_ids: Vec<String> = unique(image_ids);
    let (caller, images, region) = tokio::join!(
        aws.caller_account(),
        describe_images(aws, &image_ids),
        region_facts(aws, instance_types, releases),
    );
    let region = region?;
    let mut images = images;
    let caller_ok = caller.as_ref().ok().map(String::as_str);
    let launcher = launching_account.or(caller_ok);
    fill_launch_access(aws, &mut images, caller_ok, launcher).await;
    Ok(Collected {
        caller_account: caller,
        images,
        region,
    })
}

fn unique(items: &[String]) -> Vec<String> {
    items
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

async fn describe_images(aws: &Aws, ids: &[String]) -> BTreeMap<String, ImageEvidence> {
    let mut evidence = BTreeMap::new();
    for chunk in ids.chunks(BATCH) {
        let mut lookups: BTreeMap<String, ImageLookup> = BTreeMap::new();
        match aws.describe_images(chunk).await {
            Ok(batch) => {
                for image in batch.images {
                    lookups.insert(image.image_id.clone(), ImageLookup::Found(Box::new(image)));
                }
                for (id, code) in batch.missing {
                    lookups.insert(id, ImageLookup::NotFound { code });
                }
            }
            Err(error) => {
                for id in chunk {
                    lookups.insert(id.clone(), ImageLookup::Failed(error.clone()));
                }
            }
        }
        for id in chunk {
            let lookup = lookups.remove(id).unwrap_or(ImageLookup::NotFound {
                code: "EmptyAnswer".into(),
            });
            evidence.insert(
                id.clone(),
                ImageEvidence {
                    image_id: id.clone(),
                    lookup,
                    launch_access: LaunchAccess::NotFetched,
                },
            );
        }
    }
    evidence
}

async fn region_facts(
    aws: &Aws,
    instance_types: &[String],
    releases: &[String],
) -> Result<RegionFacts, CollectUsageError> {
    let mut facts = RegionFacts::default();
    let instance_types = unique(instance_types);
    if instance_types.is_empty() {
        return Ok(facts);
    }
    for chunk in instance_types.chunks(BATCH) {
        match aws.describe_instance_types(chunk).await {
            Ok(InstanceTypeBatch::Found(found)) => {
                for t in found {
                    facts.instance_types.insert(t.instance_type.clone(), Ok(t));
                }
                for name in chunk {
                    facts.instance_types.entry(name.clone()).or_insert_with(|| {
                        Err(CollectError {
                            service: "ec2".into(),
                            action: "DescribeInstanceTypes".into(),
                            code: "EmptyAnswer".into(),
                            message: format!("EC2 did not describe {name}"),
                        })
                    });
                }
            }
            Ok(InstanceTypeBatch::Invalid(invalid)) => {
                let first = invalid.into_iter().next().unwrap_or_default();
                return Err(CollectUsageError::InvalidInstanceType(first));
            }
            Err(error) => {
                for name in chunk {
                    facts
                        .instance_types
                        .insert(name.clone(), Err(error.clone()));
                }
            }
        }
    }
    // EMR's list depends only on the release: one (paged) call per release.
    for release in unique(releases) {
        let supported = aws.supported_instance_types(&release).await;
        facts.emr_supported.insert(release, supported);
    }
    Ok(facts)
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
