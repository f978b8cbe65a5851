//! TEMPORARY stub until the partition/ext4 branch lands.
use std::sync::Arc;

use super::ImageFs;
use super::disk::Disk;

pub fn open_root(_disk: Arc<dyn Disk>) -> Result<(Box<dyn ImageFs + Send>, String), String> {
    Err("not yet".into())
}
