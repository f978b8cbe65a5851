//! Crate-owned facts: what AWS says about images, instance types and clusters, what a launch plan
//! would create, what an image's root filesystem holds, and the pure work of telling an image's OS and
//! lineage from them. `aws` converts SDK output into these, `plan` and `rootfs` build them from files,
//! `collect` gathers them for a run, and rules read only these. `None` means the source did not say,
//! which rules treat as "unknown", never as "false".
//!
//! Nothing here calls AWS or reads files. The modules below depend on each other directly
//! (`super::image::ImageFacts`), never through the re-exports of this one, and never in a circle.

pub mod cluster;
pub mod collected;
pub mod contents;
pub mod error;
pub mod evidence;
pub mod image;
pub mod kms;
pub mod lineage;
pub mod origin;
pub mod os;

pub use cluster::{ClusterFacts, DhcpOptions, InstanceCollection, InstanceSlot, NetworkFacts};
pub use collected::{Collected, RegionFacts};
pub use contents::{ContentsFacts, SnapshotRead};
pub use error::CollectError;
pub use evidence::{ImageEvidence, ImageLookup, LaunchAccess};
pub use image::{BlockDevice, EbsVolume, ImageFacts, InstanceTypeFacts, LaunchPermission};
pub use kms::{KeyFacts, KeyGrant, KeyManager, RootKey};
pub use lineage::{
    BaseClass, Lineage, LineageLink, LinkSource, NewestBase, SnapshotOrigin, SourceInstance,
    TextParent,
};
pub use origin::{AncestryEntry, InstanceOrigin};
pub use os::{OsFamily, OsIdentity};
