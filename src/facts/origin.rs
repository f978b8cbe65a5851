//! Where images and instances came from, as EC2 answers: the raw material a lineage is traced from.

use std::collections::BTreeMap;

/// One entry of GetImageAncestry's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AncestryEntry {
    pub image_id: String,
    pub creation_date: Option<String>,
    pub owner_alias: Option<String>,
    /// The parent, and its region.
    pub source_image_id: Option<String>,
    pub source_image_region: Option<String>,
}

/// An instance, as far as lineage needs it: the image it was launched from and its tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceOrigin {
    pub instance_id: String,
    pub image_id: Option<String>,
    pub tags: BTreeMap<String, String>,
}
