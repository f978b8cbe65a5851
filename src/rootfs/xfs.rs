//! STUB, to be replaced by the real XFS reader at merge: the signatures `open.rs` uses, nothing read.

use std::ffi::OsString;
use std::sync::Arc;

use super::disk::Disk;
use super::image_fs::{Entry, FsError, FsErrorKind, ImageFs, ImagePath, Node};

/// An XFS filesystem (stub: never opens).
pub struct XfsFs {
    _private: (),
}

impl XfsFs {
    pub fn open(_disk: Arc<dyn Disk>) -> Result<XfsFs, String> {
        Err("XFS not supported yet".into())
    }
}

/// Whether `first_bytes` start an XFS filesystem (stub: never).
pub fn is_xfs(_first_bytes: &[u8]) -> bool {
    false
}

fn unsupported(path: &ImagePath) -> FsError {
    FsError::new(path, FsErrorKind::Corrupt("XFS not supported yet".into()))
}

impl ImageFs for XfsFs {
    fn symlink_metadata(&self, path: &ImagePath) -> Result<Node, FsError> {
        Err(unsupported(path))
    }
    fn metadata(&self, path: &ImagePath) -> Result<Node, FsError> {
        Err(unsupported(path))
    }
    fn read_file(&self, path: &ImagePath, _cap: u64) -> Result<Vec<u8>, FsError> {
        Err(unsupported(path))
    }
    fn read_dir(&self, path: &ImagePath) -> Result<Vec<Entry>, FsError> {
        Err(unsupported(path))
    }
    fn read_link(&self, path: &ImagePath) -> Result<OsString, FsError> {
        Err(unsupported(path))
    }
}
