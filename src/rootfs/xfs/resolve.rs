//! Path resolution confined to the image, over any tree of numbered nodes: one component at a time, a
//! symbolic link's target resolved again inside the image (an absolute one from its root), `..` stopping
//! at the root, at most [`MAX_LINKS`] links and [`MAX_DEPTH`] directories. The same rules as
//! [`super::super::HostFs`].

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use super::super::{FsError, FsErrorKind, ImagePath, MAX_DEPTH, MAX_LINKS, NodeKind};

/// What resolution needs of a filesystem.
pub trait Tree {
    fn root(&self) -> u64;
    fn kind(&self, node: u64) -> Result<NodeKind, FsErrorKind>;
    /// The node `name` names in directory `dir`, whose parent is `parent` (a directory whose `..` says
    /// otherwise is reached by two paths, or is in a loop: corrupt); `None` when it has no such entry.
    fn lookup(&self, dir: u64, parent: u64, name: &[u8]) -> Result<Option<u64>, FsErrorKind>;
    fn readlink(&self, node: u64) -> Result<Vec<u8>, FsErrorKind>;
}

/// Where a path led: the directories from the root, and the last component in the innermost one
/// (`None` when the path ends at a directory reached by `.`, `..` or the root).
#[derive(Debug)]
pub struct Resolved {
    pub dirs: Vec<(OsString, u64)>,
    pub last: Option<(OsString, u64)>,
    root: u64,
}

impl Resolved {
    /// The path in the image it resolved to.
    pub fn path(&self) -> ImagePath {
        let dirs = self.dirs.iter().map(|(name, _)| name);
        dirs.chain(self.last.iter().map(|(name, _)| name))
            .fold(ImagePath::root(), |path, name| path.join(name))
    }

    /// The node the path names.
    pub fn node(&self) -> u64 {
        match &self.last {
            Some((_, node)) => *node,
            None => self.dir(),
        }
    }

    /// The directory the node is in (the root's is the root).
    pub fn parent(&self) -> u64 {
        match (&self.last, self.dirs.len()) {
            (Some(_), _) => self.dir(),
            (None, n) if n >= 2 => self.dirs[n - 2].1,
            (None, _) => self.root,
        }
    }

    fn dir(&self) -> u64 {
        self.dirs.last().map_or(self.root, |(_, node)| *node)
    }
}

/// Resolve `path`; with `follow_last`, a link in its last component is followed too.
pub fn resolve(tree: &dyn Tree, path: &ImagePath, follow_last: bool) -> Result<Resolved, FsError> {
    let mut pending: VecDeque<OsString> = path.components().map(OsStr::to_owned).collect();
    let root = tree.root();
    let mut walk = Resolved {
        dirs: Vec::new(),
        last: None,
        root,
    };
    let mut links = 0;
    while let Some(name) = pending.pop_front() {
        let fail = |walk: &Resolved, kind| FsError {
            path: path.clone(),
            resolved: Some(
                pending
                    .iter()
                    .fold(walk.path().join(&name), |path, c| path.join(c)),
            ),
            kind,
        };
        match name.as_bytes() {
            b"." => continue,
            b".." => {
                walk.dirs.pop();
                continue;
            }
            _ => {}
        }
        let node = tree
            .lookup(walk.dir(), walk.parent(), name.as_bytes())
            .and_then(|found| found.ok_or(FsErrorKind::NotFound))
            .map_err(|kind| fail(&walk, kind))?;
        let kind = tree.kind(node).map_err(|kind| fail(&walk, kind))?;
        let last = pending.is_empty();
        if kind == NodeKind::Symlink && (follow_last || !last) {
            links += 1;
            if links > MAX_LINKS {
                return Err(fail(&walk, FsErrorKind::LinkLoop));
            }
            let target = tree.readlink(node).map_err(|kind| fail(&walk, kind))?;
            if target.is_empty() {
                return Err(fail(&walk, FsErrorKind::NotFound));
            }
            if super::super::image_fs::follow_link(&mut pending, &target) {
                walk.dirs.clear();
            }
            continue;
        }
        if last {
            walk.last = Some((name, node));
            return Ok(walk);
        }
        if kind != NodeKind::Dir {
            return Err(fail(&walk, FsErrorKind::NotADirectory));
        }
        if walk.dirs.len() >= MAX_DEPTH {
            return Err(fail(&walk, FsErrorKind::TooDeep));
        }
        walk.dirs.push((name, node));
    }
    Ok(walk)
}
