//! EC2: images, their launch permissions, and instance types.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ec2::types::{ImageAttributeName, InstanceType};
use chrono::{DateTime, Utc};

use super::Aws;
use super::paging::{Page, every_page};
use super::settling::settle_unknown;
use crate::facts::{
    BlockDevice, CollectError, EbsVolume, ImageFacts, InstanceTypeFacts, LaunchPermission,
};

/// What DescribeImages answered for one batch of IDs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageBatch {
    pub images: Vec<ImageFacts>,
    /// IDs EC2 does not show, with the error code that said so (or `EmptyAnswer`).
    pub missing: Vec<(String, String)>,
}

/// What DescribeInstanceTypes answered for one batch of names.
#[derive(Debug, Clone, PartialEq)]
pub enum InstanceTypeBatch {
    Found(Vec<InstanceTypeFacts>),
    /// EC2 says these instance types do not exist (InvalidInstanceType).
    Invalid(Vec<String>),
}

/// EC2 codes meaning "no such image here" rather than a failed call.
fn is_image_not_found(code: &str) -> bool {
    matches!(
        code,
        "InvalidAMIID.NotFound" | "InvalidAMIID.Malformed" | "InvalidAMIID.Unavailable"
    )
}

impl Aws {
    /// DescribeImages for one batch of IDs. EC2 fails the whole call when one ID is unknown and names
    /// it in the message: those are set aside as missing and the rest asked again. The number of calls
    /// is bounded by the batch size.
    pub async fn describe_images(&self, ids: &[String]) -> Result<ImageBatch, CollectError> {
        let mut batch = ImageBatch::default();
        let answered = self
            .describe_images_settling_missing(ids, false, &mut batch.missing)
            .await?;
        let found: BTreeSet<&str> = answered.iter().filter_map(|i| i.image_id()).collect();
        for id in ids {
            let already_missing = batch.missing.iter().any(|(m, _)| m == id);
            if !found.contains(id.as_str()) && !already_missing {
                batch.missing.push((id.clone(), "EmptyAnswer".to_string()));
            }
        }
        batch.images = answered.iter().filter_map(image_facts).collect();
        Ok(batch)
    }

    /// The IDs among `ids` that the caller may launch (DescribeImages with `ExecutableBy=self`; this
    /// includes shares to the caller's organization or OU).
    pub async fn executable_by_self(
        &self,
        ids: &[String],
    ) -> Result<BTreeSet<String>, CollectError> {
        let mut not_executable = Vec::new();
        let answered = self
            .describe_images_settling_missing(ids, true, &mut not_executable)
            .await?;
        Ok(answered
            .iter()
            .filter_map(|i| i.image_id().map(str::to_string))
            .collect())
    }

    async fn describe_images_settling_missing(
        &self,
        ids: &[String],
        executable_by_self: bool,
        missing: &mut Vec<(String, String)>,
    ) -> Result<Vec<aws_sdk_ec2::types::Image>, CollectError> {
        let settled = settle_unknown(ids, "ami-", is_image_not_found, |group| async move {
            self.calls.record("ec2", "DescribeImages");
            let mut request = self.ec2().describe_images().set_image_ids(Some(group));
            if executable_by_self {
                request = request.executable_users("self");
            }
            let output = &self
                .gate
                .ask("ec2", "DescribeImages", || request.clone().send())
                .await?;
            Ok(output.images().to_vec())
        })
        .await?;
        missing.extend(
            settled
                .missing
                .into_iter()
                .map(|(id, error)| (id, error.code)),
        );
        Ok(settled.found)
    }

    /// DescribeImageAttribute `launchPermission` (only the owner may ask).
    pub async fn launch_permissions(
        &self,
        image_id: &str,
    ) -> Result<Vec<LaunchPermission>, CollectError> {
        self.calls.record("ec2", "DescribeImageAttribute");
        let request = self
            .ec2()
            .describe_image_attribute()
            .image_id(image_id)
            .attribute(ImageAttributeName::LaunchPermission);
        let output = &self
            .gate
            .ask("ec2", "DescribeImageAttribute", || request.clone().send())
            .await?;
        Ok(output
            .launch_permissions()
            .iter()
            .filter_map(|p| {
                if let Some(account) = p.user_id() {
                    Some(LaunchPermission::Account(account.to_string()))
                } else if let Some(group) = p.group() {
                    Some(LaunchPermission::Group(group.as_str().to_string()))
                } else if let Some(org) = p.organization_arn() {
                    Some(LaunchPermission::Organization(org.to_string()))
                } else {
                    p.organizational_unit_arn()
                        .map(|ou| LaunchPermission::OrganizationalUnit(ou.to_string()))
                }
            })
            .collect())
    }

    /// DescribeInstanceTypes for one batch of names (at most 100), every page.
    pub async fn describe_instance_types(
        &self,
        names: &[String],
    ) -> Result<InstanceTypeBatch, CollectError> {
        let types: Vec<InstanceType> = names
            .iter()
            .map(|n| InstanceType::from(n.as_str()))
            .collect();
        let types = &types;
        let answer = every_page(
            &self.calls,
            "ec2",
            "DescribeInstanceTypes",
            |token| async move {
                let request = self
                    .ec2()
                    .describe_instance_types()
                    .set_instance_types(Some(types.clone()))
                    .set_next_token(token);
                let output = &self
                    .gate
                    .ask("ec2", "DescribeInstanceTypes", || request.clone().send())
                    .await?;
                Ok(Page::new(
                    output
                        .instance_types()
                        .iter()
                        .filter_map(instance_type_facts),
                    output.next_token(),
                ))
            },
        )
        .await;
        match answer {
            Ok(found) => Ok(InstanceTypeBatch::Found(found)),
            // EC2 fails the whole batch for one unknown name, and names it in the message.
            Err(error) if error.code == "InvalidInstanceType" => {
                let invalid: Vec<String> = names
                    .iter()
                    .filter(|n| error.message.contains(n.as_str()))
                    .cloned()
                    .collect();
                Ok(InstanceTypeBatch::Invalid(if invalid.is_empty() {
                    names.to_vec()
                } else {
                    invalid
                }))
            }
            Err(error) => Err(error),
        }
    }
}

fn instance_type_facts(t: &aws_sdk_ec2::types::InstanceTypeInfo) -> Option<InstanceTypeFacts> {
    Some(InstanceTypeFacts {
        instance_type: t.instance_type()?.as_str().to_string(),
        architectures: t
            .processor_info()
            .map(|p| {
                p.supported_architectures()
                    .iter()
                    .map(|a| a.as_str().to_string())
                    .collect()
            })
            .unwrap_or_default(),
        boot_modes: t
            .supported_boot_modes()
            .iter()
            .map(|m| m.as_str().to_string())
            .collect(),
        ena_support: t
            .network_info()
            .and_then(|n| n.ena_support())
            .map(|e| e.as_str().to_string()),
    })
}

/// EC2 tags as key → value (a tag without a key is no tag).
pub(super) fn tag_map(tags: &[aws_sdk_ec2::types::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

pub(super) fn image_facts(image: &aws_sdk_ec2::types::Image) -> Option<ImageFacts> {
    let text = |v: Option<&str>| v.map(str::to_string);
    Some(ImageFacts {
        image_id: image.image_id()?.to_string(),
        name: text(image.name()),
        description: text(image.description()),
        owner_id: text(image.owner_id()),
        owner_alias: text(image.image_owner_alias()),
        state: image.state().map(|s| s.as_str().to_string()),
        state_reason: image.state_reason().map(|r| {
            [r.code(), r.message()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(": ")
        }),
        creation_date: text(image.creation_date()),
        deprecation_time: image
            .deprecation_time()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&Utc)),
        public: image.public(),
        architecture: image.architecture().map(|a| a.as_str().to_string()),
        platform: image.platform().map(|p| p.as_str().to_string()),
        platform_details: text(image.platform_details()),
        virtualization_type: image.virtualization_type().map(|v| v.as_str().to_string()),
        root_device_type: image.root_device_type().map(|d| d.as_str().to_string()),
        root_device_name: text(image.root_device_name()),
        block_devices: image
            .block_device_mappings()
            .iter()
            .map(|m| BlockDevice {
                device_name: text(m.device_name()),
                virtual_name: text(m.virtual_name()),
                ebs: m.ebs().map(|e| EbsVolume {
                    snapshot_id: text(e.snapshot_id()),
                    volume_size_gib: e.volume_size(),
                    volume_type: e.volume_type().map(|v| v.as_str().to_string()),
                    encrypted: e.encrypted(),
                }),
            })
            .collect(),
        // Documented: the element is only present when ENA is enabled, so absence means false.
        ena_support: image.ena_support().unwrap_or(false),
        boot_mode: image.boot_mode().map(|b| b.as_str().to_string()),
        imds_support: image.imds_support().map(|i| i.as_str().to_string()),
        tags: tag_map(image.tags()),
        source_image_id: text(image.source_image_id()),
        source_image_region: text(image.source_image_region()),
        source_instance_id: text(image.source_instance_id()),
    })
}
