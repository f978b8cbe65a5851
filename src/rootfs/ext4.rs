//! [`Ext4Fs`]: an ext2, ext3 or ext4 filesystem read from a [`Disk`] (a snapshot's blocks, a partition of
//! one), through the `ext4-view` crate, as an [`ImageFs`].
//!
//! Paths are resolved here, one component at a time, as [`super::HostFs`] does: a symbolic link's target
//! is read and resolved again inside the image, an absolute one from the image's root, `..` stops at the
//! root, at most [`MAX_LINKS`] links and [`MAX_DEPTH`] directories. `ext4-view` is asked only about paths
//! already resolved (directories all the way, no `.`, `..` or link left in them), so its own resolver,
//! which differs in its bounds (a 4096-byte path limit, and a panic past 1000 components), never decides
//! anything and never sees more than [`MAX_DEPTH`] components.
//!
//! `ext4-view` does not expose inode numbers: a node's [`Node::inode`] is instead an identity derived
//! from its resolved path (see [`identity`]); the same for a directory reached by two routes, as the
//! audit needs to list a SysV runlevel directory once, and different for two hard links to one file.

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::sync::Arc;

use ext4_view::{Ext4, Ext4Error, Ext4Read, FileType, Metadata};

use super::disk::Disk;
use super::image_fs::{
    Entry, FsError, FsErrorKind, ImageFs, ImagePath, MAX_DEPTH, MAX_DIR_ENTRIES, MAX_LINKS, Node,
    NodeKind,
};

/// [`Node::device`] of every node: one image, one filesystem.
const DEVICE: u64 = 1;

/// Longest name an ext directory entry can hold: a longer one is not there.
const NAME_MAX: usize = 255;

/// Bytes read from a file at a time.
const CHUNK: usize = 64 * 1024;

/// An ext2/3/4 filesystem on a disk. Not `Send`: `ext4-view`'s [`Ext4`] shares its state through `Rc`,
/// so open and read it on one thread (inside one `spawn_blocking`).
pub struct Ext4Fs {
    fs: Ext4,
}

/// Least blocks per group accepted: mke2fs allows no fewer than 256.
const MIN_BLOCKS_PER_GROUP: u32 = 256;

/// The superblock's geometry, checked before `ext4-view` sees it: it divides by the blocks per group
/// without checking for zero (a panic) and sizes a vector by the group count it derives (a hostile
/// count asks for gigabytes, an abort). Here the filesystem must fit in its disk, which bounds the
/// groups by the disk's size.
fn check_geometry(disk: &dyn Disk) -> Result<(), String> {
    let mut sb = [0u8; 1024];
    disk.read_at(1024, &mut sb)
        .map_err(|e| format!("ext2/3/4 filesystem could not be read: {e}"))?;
    let u32_at = |at: usize| u32::from_le_bytes([sb[at], sb[at + 1], sb[at + 2], sb[at + 3]]);
    let corrupt = |what: String| format!("corrupt ext2/3/4 superblock: {what}");
    // Not an ext superblock at all: `ext4-view` says so in its own words.
    if sb[0x38..0x3a] != [0x53, 0xef] {
        return Ok(());
    }
    let log_block_size = u32_at(0x18);
    if log_block_size > 6 {
        return Err(corrupt(format!("block size 2^(10+{log_block_size})")));
    }
    let block_size = 1024u64 << log_block_size;
    // The block count as `ext4-view` reads it: with the high half whatever the 64bit feature says
    // (zero on a sound filesystem without it). Read only when the feature is set, a hostile high half
    // passed here and made the library ask for 46 GB (found by the corrupted-images proptest).
    let blocks = u64::from(u32_at(0x04)) | u64::from(u32_at(0x150)) << 32;
    let per_group = u32_at(0x20);
    if per_group < MIN_BLOCKS_PER_GROUP {
        return Err(corrupt(format!("{per_group} blocks per group")));
    }
    if u32_at(0x28) == 0 {
        return Err(corrupt("no inodes per group".into()));
    }
    if blocks
        .checked_mul(block_size)
        .is_none_or(|bytes| bytes > disk.size())
    {
        return Err(corrupt(format!(
            "{blocks} blocks of {block_size} bytes do not fit in the {}-byte disk",
            disk.size()
        )));
    }
    Ok(())
}

/// `ext4-view`'s reader over a [`Disk`]: reads past its end are errors, as `Ext4Read` requires.
struct DiskReader(Arc<dyn Disk>);

impl Ext4Read for DiskReader {
    fn read(
        &mut self,
        start_byte: u64,
        dst: &mut [u8],
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync + 'static>> {
        self.0.read_at(start_byte, dst).map_err(|e| e.into())
    }
}

impl Ext4Fs {
    /// Open the ext2/3/4 filesystem that starts at byte 0 of `disk`: its superblock, block group
    /// descriptors and journal are read and checked (nothing else). A filesystem using features
    /// `ext4-view` does not read (encryption-only layouts, some journal formats, …) is an error here.
    pub fn open(disk: Arc<dyn Disk>) -> Result<Ext4Fs, String> {
        check_geometry(disk.as_ref())?;
        match Ext4::load(Box::new(DiskReader(disk))) {
            Ok(fs) => Ok(Ext4Fs { fs }),
            Err(Ext4Error::Incompatible(what)) => Err(format!(
                "ext2/3/4 filesystem uses features this reader does not support: {what}"
            )),
            Err(Ext4Error::Corrupt(what)) => Err(format!("corrupt ext2/3/4 filesystem: {what}")),
            Err(Ext4Error::Io(error)) => Err(format!(
                "ext2/3/4 filesystem could not be read: {}",
                one_line(&error.to_string())
            )),
            Err(error) => Err(format!("ext2/3/4 filesystem could not be opened: {error}")),
        }
    }

    /// `ext4-view`'s path for resolved components: absolute, `/`-joined.
    fn ext_path(components: &[OsString], last: Option<&OsStr>) -> Vec<u8> {
        let mut path = Vec::new();
        for name in components.iter().map(OsString::as_os_str).chain(last) {
            path.push(b'/');
            path.extend_from_slice(name.as_bytes());
        }
        if path.is_empty() {
            path.push(b'/');
        }
        path
    }

    /// What `name` in the resolved directory `dir` is, not following a link.
    fn lookup(&self, dir: &[OsString], name: &OsStr) -> Result<Metadata, FsErrorKind> {
        // Names that cannot be on the disk are not there: asking would be an error in `ext4-view`.
        if name.len() > NAME_MAX || name.as_bytes().contains(&0) {
            return Err(FsErrorKind::NotFound);
        }
        self.fs
            .symlink_metadata(Self::ext_path(dir, Some(name)).as_slice())
            .map_err(kind)
    }

    /// Resolve `path` inside the image: the directory it is in (resolved components from the root), and
    /// its last component with that component's metadata (`None` when the path names a directory reached
    /// by `.`/`..`, or the root). With `follow_last`, a link in the last component is followed too.
    fn resolve(&self, path: &ImagePath, follow_last: bool) -> Result<Resolved, FsError> {
        let mut pending: VecDeque<OsString> = path.components().map(OsStr::to_owned).collect();
        let mut dir: Vec<OsString> = Vec::new();
        let mut links = 0;
        while let Some(name) = pending.pop_front() {
            // Where resolution stopped, with what was left to resolve after it.
            let fail = |dir: &[OsString], kind| FsError {
                path: path.clone(),
                resolved: Some(
                    dir.iter()
                        .chain(std::iter::once(&name))
                        .chain(pending.iter())
                        .fold(ImagePath::root(), |path, c| path.join(c)),
                ),
                kind,
            };
            match name.as_bytes() {
                b"." => continue,
                b".." => {
                    // At the root, `..` is the root.
                    dir.pop();
                    continue;
                }
                _ => {}
            }
            let meta = self.lookup(&dir, &name).map_err(|kind| fail(&dir, kind))?;
            let last = pending.is_empty();
            if meta.is_symlink() && (follow_last || !last) {
                links += 1;
                if links > MAX_LINKS {
                    return Err(fail(&dir, FsErrorKind::LinkLoop));
                }
                let target = self
                    .fs
                    .read_link(Self::ext_path(&dir, Some(&name)).as_slice())
                    .map_err(|e| fail(&dir, kind(e)))?;
                let target = target.as_ref();
                if target.is_empty() {
                    return Err(fail(&dir, FsErrorKind::NotFound));
                }
                if super::image_fs::follow_link(&mut pending, target) {
                    dir.clear();
                }
                continue;
            }
            if last {
                return Ok(Resolved {
                    dir,
                    last: Some((name, meta)),
                });
            }
            if !meta.is_dir() {
                return Err(fail(&dir, FsErrorKind::NotADirectory));
            }
            if dir.len() >= MAX_DEPTH {
                return Err(fail(&dir, FsErrorKind::TooDeep));
            }
            dir.push(name);
        }
        Ok(Resolved { dir, last: None })
    }

    /// The metadata of what `resolved` names.
    fn meta(&self, resolved: &Resolved) -> Result<Metadata, FsErrorKind> {
        match &resolved.last {
            Some((_, meta)) => Ok(meta.clone()),
            None => self
                .fs
                .metadata(Self::ext_path(&resolved.dir, None).as_slice())
                .map_err(kind),
        }
    }
}

/// Where resolution ended: a directory, and the last component in it.
struct Resolved {
    dir: Vec<OsString>,
    last: Option<(OsString, Metadata)>,
}

impl Resolved {
    fn path(&self) -> ImagePath {
        self.dir
            .iter()
            .chain(self.last.as_ref().map(|(name, _)| name))
            .fold(ImagePath::root(), |path, c| path.join(c))
    }

    fn ext_path(&self) -> Vec<u8> {
        Ext4Fs::ext_path(&self.dir, self.last.as_ref().map(|(n, _)| n.as_os_str()))
    }

    fn error(&self, path: &ImagePath, kind: FsErrorKind) -> FsError {
        FsError {
            path: path.clone(),
            resolved: Some(self.path()),
            kind,
        }
    }
}

/// A node's identity on this filesystem, in place of its inode number (which `ext4-view` does not
/// expose): FNV-1a of its resolved path, so stable within a run and the same for every route to a
/// directory. The root is 2, its inode number.
fn identity(path: &ImagePath) -> u64 {
    let bytes = path.as_os_str().as_bytes();
    if bytes.is_empty() {
        return 2;
    }
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn node_kind(file_type: FileType) -> NodeKind {
    if file_type.is_regular_file() {
        NodeKind::File
    } else if file_type.is_dir() {
        NodeKind::Dir
    } else if file_type.is_symlink() {
        NodeKind::Symlink
    } else if file_type.is_fifo() {
        NodeKind::Fifo
    } else if file_type.is_socket() {
        NodeKind::Socket
    } else if file_type.is_char_dev() {
        NodeKind::CharDevice
    } else if file_type.is_block_dev() {
        NodeKind::BlockDevice
    } else {
        NodeKind::Unknown
    }
}

fn node(meta: &Metadata, path: &ImagePath) -> Node {
    Node {
        kind: node_kind(meta.file_type()),
        size: meta.len(),
        device: DEVICE,
        inode: identity(path),
    }
}

/// An `ext4-view` error as what it means for the path asked about.
fn kind(error: Ext4Error) -> FsErrorKind {
    match error {
        Ext4Error::NotFound => FsErrorKind::NotFound,
        // A name that cannot be on disk (too long, a NUL byte) is not there.
        Ext4Error::MalformedPath => FsErrorKind::NotFound,
        Ext4Error::NotADirectory => FsErrorKind::NotADirectory,
        Ext4Error::TooManySymlinks => FsErrorKind::LinkLoop,
        Ext4Error::Corrupt(what) => FsErrorKind::Corrupt(what.to_string()),
        Ext4Error::Io(error) => FsErrorKind::Io(match error.downcast::<io::Error>() {
            Ok(error) => *error,
            Err(error) => io::Error::other(one_line(&error.to_string())),
        }),
        Ext4Error::Incompatible(what) => FsErrorKind::Io(io::Error::other(format!(
            "not supported by the ext4 reader: {what}"
        ))),
        Ext4Error::Encrypted => FsErrorKind::Io(io::Error::other(
            "encrypted (fscrypt): not readable from the snapshot",
        )),
        Ext4Error::PathTooLong => FsErrorKind::Io(io::Error::other(
            "resolved path over 4096 bytes, the most the ext4 reader looks up",
        )),
        other => FsErrorKind::Io(io::Error::other(other.to_string())),
    }
}

/// An error text on one line (a reader's error could carry newlines).
fn one_line(text: &str) -> String {
    text.lines().collect::<Vec<_>>().join(" ")
}

impl ImageFs for Ext4Fs {
    fn symlink_metadata(&self, path: &ImagePath) -> Result<Node, FsError> {
        let resolved = self.resolve(path, false)?;
        let meta = self
            .meta(&resolved)
            .map_err(|kind| resolved.error(path, kind))?;
        Ok(node(&meta, &resolved.path()))
    }

    fn metadata(&self, path: &ImagePath) -> Result<Node, FsError> {
        let resolved = self.resolve(path, true)?;
        let meta = self
            .meta(&resolved)
            .map_err(|kind| resolved.error(path, kind))?;
        Ok(node(&meta, &resolved.path()))
    }

    fn read_file(&self, path: &ImagePath, cap: u64) -> Result<Vec<u8>, FsError> {
        let resolved = self.resolve(path, true)?;
        let fail = |kind| resolved.error(path, kind);
        let meta = self.meta(&resolved).map_err(fail)?;
        let found = node_kind(meta.file_type());
        if found != NodeKind::File {
            return Err(fail(FsErrorKind::WrongKind {
                found,
                wanted: NodeKind::File,
            }));
        }
        if meta.len() > cap {
            return Err(fail(FsErrorKind::TooLarge {
                size: Some(meta.len()),
                cap,
            }));
        }
        let mut file = self
            .fs
            .open(resolved.ext_path().as_slice())
            .map_err(|e| fail(kind(e)))?;
        // At most cap + 1 bytes, whatever the size said: one more than allowed shows the file is over.
        // (`ext4-view` stops at the inode's size, checked above; this holds even if it did not.)
        let limit = cap.saturating_add(1);
        let mut bytes = Vec::new();
        let mut chunk = vec![0u8; CHUNK];
        while (bytes.len() as u64) < limit {
            let want = usize::try_from(limit - bytes.len() as u64)
                .unwrap_or(CHUNK)
                .min(CHUNK);
            let n = file
                .read_bytes(&mut chunk[..want])
                .map_err(|e| fail(kind(e)))?;
            if n == 0 {
                break;
            }
            bytes.extend_from_slice(&chunk[..n]);
        }
        if bytes.len() as u64 > cap {
            return Err(fail(FsErrorKind::TooLarge { size: None, cap }));
        }
        Ok(bytes)
    }

    fn read_dir(&self, path: &ImagePath) -> Result<Vec<Entry>, FsError> {
        let resolved = self.resolve(path, true)?;
        let fail = |kind| resolved.error(path, kind);
        let meta = self.meta(&resolved).map_err(fail)?;
        let found = node_kind(meta.file_type());
        if found != NodeKind::Dir {
            return Err(fail(FsErrorKind::WrongKind {
                found,
                wanted: NodeKind::Dir,
            }));
        }
        let here = resolved.path();
        let listing = self
            .fs
            .read_dir(resolved.ext_path().as_slice())
            .map_err(|e| fail(kind(e)))?;
        let mut entries = Vec::new();
        for entry in listing {
            let entry = entry.map_err(|e| fail(kind(e)))?;
            let name = entry.file_name().as_ref().to_vec();
            if name == b"." || name == b".." {
                continue;
            }
            if entries.len() >= MAX_DIR_ENTRIES {
                return Err(fail(FsErrorKind::Corrupt(format!(
                    "directory with more than {MAX_DIR_ENTRIES} entries"
                ))));
            }
            let name = OsString::from_vec(name);
            let at = here.join(&name);
            let node = entry
                .metadata()
                .map(|m| node(&m, &at))
                .map_err(|e| FsError {
                    path: path.join(&name),
                    resolved: Some(at.clone()),
                    kind: kind(e),
                });
            entries.push(Entry { name, node });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    fn read_link(&self, path: &ImagePath) -> Result<OsString, FsError> {
        let resolved = self.resolve(path, false)?;
        let fail = |kind| resolved.error(path, kind);
        let meta = self.meta(&resolved).map_err(fail)?;
        if !meta.is_symlink() {
            return Err(fail(FsErrorKind::WrongKind {
                found: node_kind(meta.file_type()),
                wanted: NodeKind::Symlink,
            }));
        }
        self.fs
            .read_link(resolved.ext_path().as_slice())
            .map(|target| OsString::from_vec(target.as_ref().to_vec()))
            .map_err(|e| fail(kind(e)))
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::super::disk::SparseDisk;
    use super::super::partition::root_filesystem;
    use super::*;

    fn mocks() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("mocks/contents")
    }

    /// The filesystem of a recorded snapshot of the `contents` scenario.
    fn open(snapshot: &str) -> Ext4Fs {
        let disk = SparseDisk::load_recorded(&mocks().join("ebs").join(snapshot)).expect("load");
        let (fs, _) = root_filesystem(Arc::new(disk)).expect("root filesystem");
        Ext4Fs::open(fs).expect("open")
    }

    fn p(path: &str) -> ImagePath {
        ImagePath::new(path)
    }

    /// Every file, directory and link of the committed tree is in the image, the same; each directory of
    /// the image lists what the tree's does, plus `extras` (what build.sh adds: FIFOs, sparse files, odd
    /// names; mke2fs's empty `lost+found`), given as paths.
    fn same_as_tree(fs: &Ext4Fs, tree: &str, extras: &[&[u8]]) {
        let root = mocks().join("trees").join(tree);
        let mut pending = vec![(root.clone(), ImagePath::root())];
        let mut seen = 0;
        while let Some((host, image)) = pending.pop() {
            let mut names: Vec<OsString> = std::fs::read_dir(&host)
                .expect("tree dir")
                .map(|e| e.expect("entry").file_name())
                .collect();
            for extra in extras {
                let extra = ImagePath::new(OsStr::from_bytes(extra));
                let mut components: Vec<&OsStr> = extra.components().collect();
                let last = components.pop().expect("name");
                if components
                    .iter()
                    .fold(ImagePath::root(), |path, c| path.join(c))
                    == image
                {
                    names.push(last.to_owned());
                }
            }
            names.sort();
            let listed: Vec<OsString> = fs
                .read_dir(&image)
                .unwrap_or_else(|e| panic!("{e}"))
                .into_iter()
                .map(|e| e.name)
                .collect();
            assert_eq!(listed, names, "{image}");
            for name in std::fs::read_dir(&host).expect("tree dir") {
                let name = name.expect("entry").file_name();
                let (host, image) = (host.join(&name), image.join(&name));
                let meta = std::fs::symlink_metadata(&host).expect("lstat");
                let node = fs
                    .symlink_metadata(&image)
                    .unwrap_or_else(|e| panic!("{e}"));
                seen += 1;
                if meta.is_dir() {
                    assert_eq!(node.kind, NodeKind::Dir, "{image}");
                    pending.push((host, image));
                } else if meta.is_symlink() {
                    assert_eq!(node.kind, NodeKind::Symlink, "{image}");
                    let target = std::fs::read_link(&host).expect("readlink");
                    assert_eq!(
                        fs.read_link(&image).expect("read_link"),
                        target.into_os_string(),
                        "{image}"
                    );
                } else {
                    assert_eq!(
                        (node.kind, node.size),
                        (NodeKind::File, meta.len()),
                        "{image}"
                    );
                    let bytes = fs.read_file(&image, 1 << 20).expect("read");
                    assert_eq!(bytes, std::fs::read(&host).expect("read"), "{image}");
                }
            }
        }
        assert!(seen > 40, "only {seen} paths compared");
    }

    #[test]
    fn al1_image_holds_its_tree_and_what_build_sh_adds() {
        let fs = open("snap-0a1ba0d0e40000003");
        same_as_tree(
            &fs,
            "al1-violations",
            &[
                b"lost+found",
                b"tmp/fifo",
                b"var/log/big.log",
                b"var/log/\x1b]0;pwned\x07.log",
            ],
        );
        let big = fs.symlink_metadata(&p("var/log/big.log")).expect("big");
        assert_eq!((big.kind, big.size), (NodeKind::File, 5 << 30 >> 2));
        let odd = ImagePath::new(OsStr::from_bytes(b"var/log/\x1b]0;pwned\x07.log"));
        assert_eq!(fs.read_file(&odd, 100).expect("odd name"), b"fixture\n");
    }

    #[test]
    fn clean_ext4_and_ext3_images_hold_their_tree() {
        for snapshot in ["snap-0c1ea4e4000000004", "snap-0c1ea4e3000000005"] {
            let fs = open(snapshot);
            same_as_tree(&fs, "al2023-clean", &[b"lost+found"]);
            // /etc/resolv.conf leads to /run/systemd/resolve/stub-resolv.conf, not in the image.
            let error = fs.metadata(&p("etc/resolv.conf")).expect_err("dangling");
            assert!(matches!(error.kind, FsErrorKind::NotFound), "{error}");
            assert_eq!(
                error.resolved,
                Some(p("run/systemd/resolve/stub-resolv.conf"))
            );
            // /lib is a link to usr/lib: a kernel is found by either path.
            let listed = fs.read_dir(&p("lib/modules")).expect("modules");
            assert_eq!(listed.len(), 1);
            assert_eq!(listed[0].name, "6.1.115-126.197.amzn2023.x86_64");
        }
    }

    #[test]
    fn links_resolve_inside_the_image() {
        let fs = open("snap-0a1ba0d0e40000003");
        let shadow =
            std::fs::read(mocks().join("trees/al1-violations/etc/shadow")).expect("shadow");
        // `../../../../etc/shadow` from /etc: `..` stops at the image's root.
        assert_eq!(
            fs.read_file(&p("etc/escape"), 1 << 20).expect("escape"),
            shadow
        );
        assert_eq!(
            fs.read_file(&p("../../etc/./shadow"), 1 << 20).expect("up"),
            shadow
        );
        assert_eq!(
            fs.read_link(&p("etc/escape")).expect("link"),
            "../../../../etc/shadow"
        );
        let error = fs.metadata(&p("etc/loop-a")).expect_err("loop");
        assert!(matches!(error.kind, FsErrorKind::LinkLoop), "{error}");
        assert_eq!(
            fs.symlink_metadata(&p("etc/loop-a")).expect("lstat").kind,
            NodeKind::Symlink
        );
        // A runlevel directory reached through /etc/rc3.d -> rc.d/rc3.d is the same node.
        let via_link = fs.metadata(&p("etc/rc3.d")).expect("rc3.d");
        let direct = fs.metadata(&p("etc/rc.d/rc3.d")).expect("rc.d/rc3.d");
        assert_eq!(via_link, direct);
        assert_ne!(via_link, fs.metadata(&p("etc/rc.d/rc5.d")).expect("rc5.d"));
        assert_eq!(fs.metadata(&p("")).expect("root").inode, 2);
        let script = fs
            .metadata(&p("etc/rc3.d/S50amazon-ssm-agent"))
            .expect("through two links");
        assert_eq!(script.kind, NodeKind::File);
        assert_eq!(
            fs.symlink_metadata(&p("etc/init.d/instance-controller"))
                .expect("through /etc/init.d")
                .kind,
            NodeKind::File
        );
    }

    /// What `ext4-view`'s own resolver does (not relied on: every path it is given is resolved here
    /// already): absolute targets from the filesystem's root, `..` at the root stays there.
    #[test]
    fn ext4_view_itself_resolves_inside_the_filesystem() {
        let fs = open("snap-0a1ba0d0e40000003");
        let shadow = fs.fs.read("/etc/shadow").expect("shadow");
        assert_eq!(fs.fs.read("/etc/escape").expect("escape"), shadow);
        assert_eq!(fs.fs.read("/../../etc/shadow").expect("up"), shadow);
        assert!(matches!(
            fs.fs.metadata("/etc/loop-a"),
            Err(Ext4Error::TooManySymlinks)
        ));
    }

    #[test]
    fn only_regular_files_under_the_cap_are_read() {
        let fs = open("snap-0a1ba0d0e40000003");
        let error = fs.read_file(&p("tmp/fifo"), 1 << 20).expect_err("fifo");
        assert!(
            matches!(
                error.kind,
                FsErrorKind::WrongKind {
                    found: NodeKind::Fifo,
                    wanted: NodeKind::File
                }
            ),
            "{error}"
        );
        let error = fs.read_file(&p("etc"), 1 << 20).expect_err("dir");
        assert!(matches!(
            error.kind,
            FsErrorKind::WrongKind {
                found: NodeKind::Dir,
                ..
            }
        ));
        let error = fs.read_dir(&p("etc/passwd")).expect_err("file");
        assert!(matches!(
            error.kind,
            FsErrorKind::WrongKind {
                found: NodeKind::File,
                ..
            }
        ));
        let error = fs.read_link(&p("etc/passwd")).expect_err("file");
        assert!(matches!(error.kind, FsErrorKind::WrongKind { .. }));
        let passwd = fs.read_file(&p("etc/passwd"), 1 << 20).expect("passwd");
        let len = passwd.len() as u64;
        assert_eq!(
            fs.read_file(&p("etc/passwd"), len).expect("at the cap"),
            passwd
        );
        let error = fs.read_file(&p("etc/passwd"), len - 1).expect_err("over");
        assert!(matches!(error.kind, FsErrorKind::TooLarge { size: Some(s), .. } if s == len));
        let error = fs
            .read_file(&p("var/log/big.log"), 4 << 20)
            .expect_err("big");
        assert!(
            matches!(error.kind, FsErrorKind::TooLarge { size: Some(s), .. } if s == 5 << 30 >> 2)
        );
        let error = fs.read_file(&p("etc/nothing"), 1).expect_err("absent");
        assert!(matches!(error.kind, FsErrorKind::NotFound));
        let error = fs.read_file(&p("etc/passwd/x"), 1).expect_err("not a dir");
        assert!(matches!(error.kind, FsErrorKind::NotADirectory));
        let long = "x".repeat(300);
        let error = fs
            .metadata(&p(&format!("etc/{long}")))
            .expect_err("long name");
        assert!(matches!(error.kind, FsErrorKind::NotFound));
        let nul = ImagePath::new(OsStr::from_bytes(b"etc/pass\0wd"));
        assert!(fs.metadata(&nul).expect_err("NUL").is_absent());
    }

    #[test]
    fn depth_is_bounded() {
        let fs = open("snap-0a1ba0d0e40000003");
        // Not deep in this image, but resolution stops at the first missing component either way.
        let deep = p(&"etc/".repeat(MAX_DEPTH + 5));
        assert!(fs.metadata(&deep).is_err());
        let up = p(&"../".repeat(10_000));
        assert_eq!(fs.metadata(&up).expect("root").inode, 2);
    }

    #[test]
    fn a_disk_that_is_not_ext_is_an_open_error() {
        let disk = Arc::new(super::super::disk::MemDisk(vec![0u8; 1 << 20]));
        let error = Ext4Fs::open(disk).err().expect("not ext");
        assert!(error.starts_with("corrupt ext2/3/4 filesystem"), "{error}");
        let error = Ext4Fs::open(Arc::new(super::super::disk::MemDisk(vec![0u8; 100])))
            .err()
            .expect("tiny");
        assert!(
            error.starts_with("ext2/3/4 filesystem could not be read"),
            "{error}"
        );
    }

    /// Superblock fields `ext4-view` would divide by, or size a vector by, without a check: refused
    /// here with a one-line error, never a panic or a gigabyte allocation.
    #[test]
    fn hostile_geometry_is_refused_before_the_library_sees_it() {
        let dir = mocks().join("ebs").join("snap-0c1ea4e4000000004");
        let base = SparseDisk::load_recorded(&dir).expect("load");
        let set_all = |fields: &[(usize, u32)]| {
            let mut disk = SparseDisk::load_recorded(&dir).expect("load");
            let mut block = vec![0u8; 512 * 1024];
            disk.read_at(0, &mut block).expect("block 0");
            for &(at, value) in fields {
                block[1024 + at..1024 + at + 4].copy_from_slice(&value.to_le_bytes());
            }
            disk.set_block(0, block);
            Ext4Fs::open(Arc::new(disk)).err().unwrap_or_default()
        };
        let set = |at: usize, value: u32| set_all(&[(at, value)]);
        assert!(
            set(0x20, 0).contains("0 blocks per group"),
            "{}",
            set(0x20, 0)
        );
        assert!(set(0x20, 1).contains("1 blocks per group"));
        // 2^32 - 1 blocks of 1 KiB or more: far beyond the 1 GiB disk.
        assert!(set(0x04, u32::MAX).contains("do not fit in the"));
        // The high half of the count on a filesystem without the 64bit feature: read by the library
        // all the same.
        // (0x242: this image's incompatible features, 0x2c2, without 64bit.)
        let high = set_all(&[(0x60, 0x242), (0x150, 0x0100_0000)]);
        assert!(high.contains("do not fit in the"), "{high}");
        assert!(set(0x18, 40).contains("block size"));
        assert!(set(0x28, 0).contains("no inodes per group"));
        // The image itself opens.
        assert!(Ext4Fs::open(Arc::new(base)).is_ok());
    }
}
