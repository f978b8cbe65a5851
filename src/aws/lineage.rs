//! EC2 calls that trace an AMI's lineage: GetImageAncestry, the root snapshots and source instances of
//! images, Amazon's images of a family, and clients for the region a parent image lives in.

use std::collections::BTreeMap;

use aws_config::Region;
use aws_sdk_ec2::primitives::DateTimeFormat;
use aws_sdk_ec2::types::Filter;

use super::ec2::{MAX_PAGES, image_facts};
use super::{Aws, collect_error};
use crate::facts::{CollectError, ImageFacts};
use crate::lineage::AncestryEntry;

/// An instance, as far as lineage needs it: the image it was launched from and its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceOrigin {
    pub instance_id: String,
    pub image_id: Option<String>,
    pub tags: BTreeMap<String, String>,
}

fn too_many_pages(action: &str) -> CollectError {
    CollectError {
        service: "ec2".into(),
        action: action.into(),
        code: "TooManyPages".into(),
        message: format!("stopped after {MAX_PAGES} pages"),
    }
}

fn filter(name: &str, values: &[String]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.to_vec()))
        .build()
}

impl Aws {
    /// The same clients, pointed at another region (a parent image copied from there). Calls are
    /// counted with this run's.
    pub fn in_region(&self, region: &str) -> Aws {
        if region == self.region {
            return self.clone();
        }
        let ec2 = self
            .ec2
            .config()
            .to_builder()
            .region(Region::new(region.to_string()))
            .build();
        Aws {
            ec2: aws_sdk_ec2::Client::from_conf(ec2),
            region: region.to_string(),
            ..self.clone()
        }
    }

    /// GetImageAncestry: the chain from the image to its root, the image first.
    pub async fn image_ancestry(&self, image_id: &str) -> Result<Vec<AncestryEntry>, CollectError> {
        self.calls.record("ec2", "GetImageAncestry");
        let output = self
            .ec2
            .get_image_ancestry()
            .image_id(image_id)
            .send()
            .await
            .map_err(|e| collect_error("ec2", "GetImageAncestry", &e))?;
        Ok(output
            .image_ancestry_entries()
            .iter()
            .filter_map(|entry| {
                Some(AncestryEntry {
                    image_id: entry.image_id()?.to_string(),
                    creation_date: entry
                        .creation_date()
                        .and_then(|d| d.fmt(DateTimeFormat::DateTime).ok()),
                    owner_alias: entry.image_owner_alias().map(str::to_string),
                    source_image_id: entry.source_image_id().map(str::to_string),
                    source_image_region: entry.source_image_region().map(str::to_string),
                })
            })
            .collect())
    }

    /// The descriptions of snapshots (DescribeSnapshots with a `snapshot-id` filter, which leaves out
    /// snapshots that are gone or not visible instead of failing the call), every page.
    pub async fn snapshot_descriptions(
        &self,
        snapshot_ids: &[String],
    ) -> Result<BTreeMap<String, String>, CollectError> {
        let mut found = BTreeMap::new();
        let mut next_token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            self.calls.record("ec2", "DescribeSnapshots");
            let output = self
                .ec2
                .describe_snapshots()
                .filters(filter("snapshot-id", snapshot_ids))
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| collect_error("ec2", "DescribeSnapshots", &e))?;
            for snapshot in output.snapshots() {
                if let Some(id) = snapshot.snapshot_id() {
                    let description = snapshot.description().unwrap_or_default().to_string();
                    found.insert(id.to_string(), description);
                }
            }
            match output.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => return Ok(found),
            }
        }
        Err(too_many_pages("DescribeSnapshots"))
    }

    /// The images instances were launched from, and their tags (DescribeInstances with an
    /// `instance-id` filter: instances terminated long ago are simply absent), every page.
    pub async fn instance_origins(
        &self,
        instance_ids: &[String],
    ) -> Result<Vec<InstanceOrigin>, CollectError> {
        let mut found = Vec::new();
        let mut next_token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            self.calls.record("ec2", "DescribeInstances");
            let output = self
                .ec2
                .describe_instances()
                .filters(filter("instance-id", instance_ids))
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| collect_error("ec2", "DescribeInstances", &e))?;
            for instance in output.reservations().iter().flat_map(|r| r.instances()) {
                let Some(id) = instance.instance_id() else {
                    continue;
                };
                found.push(InstanceOrigin {
                    instance_id: id.to_string(),
                    image_id: instance.image_id().map(str::to_string),
                    tags: instance
                        .tags()
                        .iter()
                        .filter_map(|t| {
                            Some((
                                t.key()?.to_string(),
                                t.value().unwrap_or_default().to_string(),
                            ))
                        })
                        .collect(),
                });
            }
            match output.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => return Ok(found),
            }
        }
        Err(too_many_pages("DescribeInstances"))
    }

    /// Amazon's images whose name matches `pattern` (DescribeImages owner `amazon`), every page.
    pub async fn amazon_images_named(
        &self,
        pattern: &str,
    ) -> Result<Vec<ImageFacts>, CollectError> {
        let mut found = Vec::new();
        let mut next_token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            self.calls.record("ec2", "DescribeImages");
            let output = self
                .ec2
                .describe_images()
                .owners("amazon")
                .filters(filter("name", &[pattern.to_string()]))
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|e| collect_error("ec2", "DescribeImages", &e))?;
            found.extend(output.images().iter().filter_map(image_facts));
            match output.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
                _ => return Ok(found),
            }
        }
        Err(too_many_pages("DescribeImages"))
    }
}
