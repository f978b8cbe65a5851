//! EC2 calls that trace an AMI's lineage: GetImageAncestry, the root snapshots and source instances of
//! images, and Amazon's images of a family.

use std::collections::BTreeMap;

use aws_sdk_ec2::primitives::DateTimeFormat;
use aws_sdk_ec2::types::Filter;

use super::Aws;
use super::ec2::{image_facts, tag_map};
use super::paging::{Page, every_page};
use crate::facts::{AncestryEntry, CollectError, ImageFacts, InstanceOrigin};

/// What DescribeSnapshots says of one snapshot that the lineage and EA033 read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFacts {
    pub snapshot_id: String,
    pub description: String,
    /// The ARN of the KMS key of an encrypted snapshot.
    pub kms_key_id: Option<String>,
}

fn filter(name: &str, values: &[String]) -> Filter {
    Filter::builder()
        .name(name)
        .set_values(Some(values.to_vec()))
        .build()
}

impl Aws {
    /// GetImageAncestry: the chain from the image to its root, the image first.
    pub async fn image_ancestry(&self, image_id: &str) -> Result<Vec<AncestryEntry>, CollectError> {
        self.calls.record("ec2", "GetImageAncestry");
        let request = self.ec2().get_image_ancestry().image_id(image_id);
        let output = &self
            .gate
            .ask("ec2", "GetImageAncestry", || request.clone().send())
            .await?;
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

    /// The descriptions of snapshots, for the lineage fallback (see [`Aws::snapshots`]).
    pub async fn snapshot_descriptions(
        &self,
        snapshot_ids: &[String],
    ) -> Result<BTreeMap<String, String>, CollectError> {
        Ok(self
            .snapshots(snapshot_ids)
            .await?
            .into_iter()
            .map(|s| (s.snapshot_id, s.description))
            .collect())
    }

    /// Snapshots as DescribeSnapshots describes them (with a `snapshot-id` filter, which leaves out
    /// snapshots that are gone or not visible instead of failing the call), every page.
    pub async fn snapshots(
        &self,
        snapshot_ids: &[String],
    ) -> Result<Vec<SnapshotFacts>, CollectError> {
        every_page(
            &self.calls,
            "ec2",
            "DescribeSnapshots",
            |token| async move {
                let request = self
                    .ec2()
                    .describe_snapshots()
                    .filters(filter("snapshot-id", snapshot_ids))
                    .set_next_token(token);
                let output = &self
                    .gate
                    .ask("ec2", "DescribeSnapshots", || request.clone().send())
                    .await?;
                let snapshots = output.snapshots().iter().filter_map(|snapshot| {
                    Some(SnapshotFacts {
                        snapshot_id: snapshot.snapshot_id()?.to_string(),
                        description: snapshot.description().unwrap_or_default().to_string(),
                        kms_key_id: snapshot.kms_key_id().map(str::to_string),
                    })
                });
                Ok(Page::new(snapshots, output.next_token()))
            },
        )
        .await
    }

    /// The images instances were launched from, and their tags (DescribeInstances with an
    /// `instance-id` filter: instances terminated long ago are simply absent), every page.
    pub async fn instance_origins(
        &self,
        instance_ids: &[String],
    ) -> Result<Vec<InstanceOrigin>, CollectError> {
        every_page(
            &self.calls,
            "ec2",
            "DescribeInstances",
            |token| async move {
                let request = self
                    .ec2()
                    .describe_instances()
                    .filters(filter("instance-id", instance_ids))
                    .set_next_token(token);
                let output = &self
                    .gate
                    .ask("ec2", "DescribeInstances", || request.clone().send())
                    .await?;
                let instances = output
                    .reservations()
                    .iter()
                    .flat_map(|r| r.instances())
                    .filter_map(|instance| {
                        Some(InstanceOrigin {
                            instance_id: instance.instance_id()?.to_string(),
                            image_id: instance.image_id().map(str::to_string),
                            tags: tag_map(instance.tags()),
                        })
                    });
                Ok(Page::new(instances, output.next_token()))
            },
        )
        .await
    }

    /// Amazon's images whose name matches `pattern` (DescribeImages owner `amazon`), every page.
    pub async fn amazon_images_named(
        &self,
        pattern: &str,
    ) -> Result<Vec<ImageFacts>, CollectError> {
        every_page(&self.calls, "ec2", "DescribeImages", |token| async move {
            let request = self
                .ec2()
                .describe_images()
                .owners("amazon")
                .filters(filter("name", &[pattern.to_string()]))
                .set_next_token(token);
            let output = &self
                .gate
                .ask("ec2", "DescribeImages", || request.clone().send())
                .await?;
            Ok(Page::new(
                output.images().iter().filter_map(image_facts),
                output.next_token(),
            ))
        })
        .await
    }
}
