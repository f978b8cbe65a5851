//! Everything collected about one AMI: whether DescribeImages found it, who may launch it, its lineage.

use super::error::CollectError;
use super::image::{ImageFacts, LaunchPermission};
use super::kms::RootKey;
use super::lineage::Lineage;

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
    /// The KMS key of an encrypted root snapshot (EA033).
    pub root_key: RootKey,
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
