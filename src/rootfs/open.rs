//! [`open_root`]: an image's root filesystem from its disk's blocks, whichever of the readable kinds it
//! is, with where on the disk it was found.

use std::sync::Arc;

use super::disk::Disk;
use super::ext4::Ext4Fs;
use super::image_fs::ImageFs;
use super::partition::{FsKind, Located, root_filesystem};
use super::xfs::XfsFs;

/// Find the root filesystem on `disk` ([`root_filesystem`]) and open it: XFS or ext2/3/4, by its
/// superblock's magic. Not `Send`: the ext reader shares its state through `Rc`, so open and read the
/// filesystem on one thread (the whole audit of it inside one `spawn_blocking`).
pub fn open_root(disk: Arc<dyn Disk>) -> Result<(Box<dyn ImageFs>, Located), String> {
    let (fs_disk, located) = root_filesystem(disk)?;
    let fs: Box<dyn ImageFs> = match located.kind {
        FsKind::Xfs => Box::new(XfsFs::open(fs_disk).map_err(|e| format!("{located}: {e}"))?),
        FsKind::Ext => Box::new(Ext4Fs::open(fs_disk).map_err(|e| format!("{located}: {e}"))?),
    };
    Ok((fs, located))
}
