//! [`HostFs`]: an image's root filesystem as a directory of this machine (a mounted image, a chroot, `/`).
//!
//! Resolution is done here, one component at a time, relative to open directories (`openat`, `fstatat`,
//! `readlinkat` on each name, never a whole host path): a symbolic link's target is read and resolved
//! again inside the image, an absolute one from the image's root, and `..` stops at that root — what
//! `openat2(RESOLVE_IN_ROOT)` does, the way the image sees itself when it boots. Nothing outside the root
//! directory is reachable, path length is no limit (only [`MAX_DEPTH`]), and a file is opened only after
//! `lstat` said it is a regular file (and checked again once open, in case it was swapped meanwhile).

use std::collections::VecDeque;
use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use rustix::fs::{AtFlags, CWD, Dir, FileType, Mode, OFlags, Stat};
use rustix::io::Errno;

use super::image_fs::{
    Entry, FsError, FsErrorKind, ImageFs, ImagePath, MAX_DEPTH, MAX_LINKS, Node, NodeKind,
};

/// Flags to hold a directory for resolving names in it: not readable, only a place (`O_PATH` where there
/// is one, so a directory with search but no read permission can still be passed through).
#[cfg(any(target_os = "linux", target_os = "android"))]
const DIR_FLAGS: OFlags = OFlags::PATH.union(OFlags::DIRECTORY).union(OFlags::CLOEXEC);
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const DIR_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::DIRECTORY)
    .union(OFlags::CLOEXEC);

/// A directory of this machine, read as an image's root filesystem.
#[derive(Debug)]
pub struct HostFs {
    root: OwnedFd,
}

impl HostFs {
    /// Open `root` (a host path, resolved by the host: it is the auditor's choice, not the image's).
    pub fn open(root: &Path) -> std::io::Result<Self> {
        let root = rustix::fs::openat(CWD, root, DIR_FLAGS, Mode::empty())?;
        Ok(Self { root })
    }

    /// Resolve `path` inside the root: the directory it is in, and its last component with that
    /// component's `lstat` (`None` when the path names a directory reached by `.`/`..` or the root).
    /// With `follow_last`, a link in the last component is followed too.
    fn resolve(&self, path: &ImagePath, follow_last: bool) -> Result<Resolved<'_>, FsError> {
        let mut pending: VecDeque<OsString> = path.components().map(OsStr::to_owned).collect();
        let mut walk = Walk::at_root(self);
        let mut links = 0;
        while let Some(name) = pending.pop_front() {
            // Where resolution stopped, with what was left to resolve after it.
            let fail = |walk: &Walk<'_>, kind| FsError {
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
                    walk.up().map_err(|kind| fail(&walk, kind))?;
                    continue;
                }
                _ => {}
            }
            let stat = rustix::fs::statat(walk.dir(), &name, AtFlags::SYMLINK_NOFOLLOW)
                .map_err(|e| fail(&walk, errno_kind(e)))?;
            let last = pending.is_empty();
            let kind = kind_of(&stat);
            if kind == NodeKind::Symlink && (follow_last || !last) {
                links += 1;
                if links > MAX_LINKS {
                    return Err(fail(&walk, FsErrorKind::LinkLoop));
                }
                let target = rustix::fs::readlinkat(walk.dir(), &name, Vec::new())
                    .map_err(|e| fail(&walk, errno_kind(e)))?
                    .into_bytes();
                if target.is_empty() {
                    return Err(fail(&walk, FsErrorKind::NotFound));
                }
                if super::image_fs::follow_link(&mut pending, &target) {
                    walk = Walk::at_root(self);
                }
                continue;
            }
            if last {
                return Ok(Resolved {
                    walk,
                    last: Some((name, stat)),
                });
            }
            if kind != NodeKind::Dir {
                return Err(fail(&walk, FsErrorKind::NotADirectory));
            }
            walk.enter(&name).map_err(|kind| fail(&walk, kind))?;
        }
        Ok(Resolved { walk, last: None })
    }
}

/// Where resolution ended: a directory, and the last component in it.
struct Resolved<'a> {
    walk: Walk<'a>,
    last: Option<(OsString, Stat)>,
}

impl Resolved<'_> {
    fn path(&self) -> ImagePath {
        match &self.last {
            Some((name, _)) => self.walk.path().join(name),
            None => self.walk.path(),
        }
    }

    fn node(&self) -> Result<Node, FsErrorKind> {
        match &self.last {
            Some((_, stat)) => Ok(node(stat)),
            None => rustix::fs::fstat(self.walk.dir())
                .map(|s| node(&s))
                .map_err(errno_kind),
        }
    }

    /// Open what the path names, for reading, without following a link (it was resolved already), and
    /// check it is still what `lstat` saw.
    fn open(&self, flags: OFlags) -> Result<OwnedFd, FsErrorKind> {
        let (name, seen): (&OsStr, Node) = match &self.last {
            Some((name, stat)) => (name, node(stat)),
            None => (OsStr::new("."), self.node()?),
        };
        let fd = rustix::fs::openat(
            self.walk.dir(),
            name,
            flags | OFlags::NOFOLLOW | OFlags::NOCTTY | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| match e {
            Errno::LOOP => FsErrorKind::Changed,
            e => errno_kind(e),
        })?;
        let now = rustix::fs::fstat(&fd)
            .map(|s| node(&s))
            .map_err(errno_kind)?;
        if (now.kind, now.device, now.inode) != (seen.kind, seen.device, seen.inode) {
            return Err(FsErrorKind::Changed);
        }
        Ok(fd)
    }
}

/// A position in the image: the directories from its root, and the innermost one open.
struct Walk<'a> {
    fs: &'a HostFs,
    names: Vec<OsString>,
    /// `None` at the root.
    dir: Option<OwnedFd>,
}

impl<'a> Walk<'a> {
    fn at_root(fs: &'a HostFs) -> Self {
        Self {
            fs,
            names: Vec::new(),
            dir: None,
        }
    }

    fn dir(&self) -> BorrowedFd<'_> {
        match &self.dir {
            Some(fd) => fd.as_fd(),
            None => self.fs.root.as_fd(),
        }
    }

    fn path(&self) -> ImagePath {
        self.names
            .iter()
            .fold(ImagePath::root(), |path, name| path.join(name))
    }

    /// Into the directory `name` (checked to be one, not a link: `O_NOFOLLOW` refuses a swapped-in link).
    fn enter(&mut self, name: &OsStr) -> Result<(), FsErrorKind> {
        if self.names.len() >= MAX_DEPTH {
            return Err(FsErrorKind::TooDeep);
        }
        let fd = rustix::fs::openat(
            self.dir(),
            name,
            DIR_FLAGS | OFlags::NOFOLLOW,
            Mode::empty(),
        )
        .map_err(|e| match e {
            Errno::LOOP | Errno::NOTDIR => FsErrorKind::Changed,
            e => errno_kind(e),
        })?;
        self.names.push(name.to_owned());
        self.dir = Some(fd);
        Ok(())
    }

    /// Out to the parent; at the root, stay (as `..` of `/` is `/`). Only the innermost directory is held
    /// open, so the parent is reached again from the root, by the same names.
    fn up(&mut self) -> Result<(), FsErrorKind> {
        if self.names.pop().is_none() {
            return Ok(());
        }
        let names = std::mem::take(&mut self.names);
        self.dir = None;
        for name in &names {
            self.enter(name)?;
        }
        Ok(())
    }
}

fn kind_of(stat: &Stat) -> NodeKind {
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::RegularFile => NodeKind::File,
        FileType::Directory => NodeKind::Dir,
        FileType::Symlink => NodeKind::Symlink,
        FileType::Fifo => NodeKind::Fifo,
        FileType::Socket => NodeKind::Socket,
        FileType::CharacterDevice => NodeKind::CharDevice,
        FileType::BlockDevice => NodeKind::BlockDevice,
        _ => NodeKind::Unknown,
    }
}

#[allow(clippy::unnecessary_cast)] // the field types differ between platforms
fn node(stat: &Stat) -> Node {
    Node {
        kind: kind_of(stat),
        size: u64::try_from(stat.st_size).unwrap_or(0),
        device: stat.st_dev as u64,
        inode: stat.st_ino as u64,
    }
}

fn errno_kind(errno: Errno) -> FsErrorKind {
    match errno {
        Errno::NOENT => FsErrorKind::NotFound,
        Errno::NOTDIR => FsErrorKind::NotADirectory,
        e => FsErrorKind::Io(e.into()),
    }
}

/// The kernel-generated filesystem `fd` is on, if it is one: what it holds is the auditing machine's
/// state (`/proc/self/environ` is this process's environment), never the image's content.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn pseudo_fs(fd: &OwnedFd) -> Result<Option<&'static str>, FsErrorKind> {
    const PSEUDO: [(u32, &str); 10] = [
        (0x9fa0, "procfs"),
        (0x6265_6572, "sysfs"),
        (0x6462_6720, "debugfs"),
        (0x7472_6163, "tracefs"),
        (0x7363_6673, "securityfs"),
        (0x0027_e0eb, "cgroupfs"),
        (0x6367_7270, "cgroup2fs"),
        (0xde5e_81e4, "efivarfs"),
        (0xcafe_4a11, "bpffs"),
        (0x6265_6570, "configfs"),
    ];
    let statfs = rustix::fs::fstatfs(fd).map_err(errno_kind)?;
    #[allow(clippy::unnecessary_cast)] // a signed long or an unsigned int, by platform
    let magic = statfs.f_type as u32;
    Ok(PSEUDO
        .iter()
        .find(|(m, _)| *m == magic)
        .map(|(_, name)| *name))
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn pseudo_fs(_: &OwnedFd) -> Result<Option<&'static str>, FsErrorKind> {
    Ok(None)
}

impl ImageFs for HostFs {
    fn symlink_metadata(&self, path: &ImagePath) -> Result<Node, FsError> {
        let resolved = self.resolve(path, false)?;
        resolved.node().map_err(|kind| error(path, &resolved, kind))
    }

    fn metadata(&self, path: &ImagePath) -> Result<Node, FsError> {
        let resolved = self.resolve(path, true)?;
        resolved.node().map_err(|kind| error(path, &resolved, kind))
    }

    fn read_file(&self, path: &ImagePath, cap: u64) -> Result<Vec<u8>, FsError> {
        let resolved = self.resolve(path, true)?;
        let fail = |kind| error(path, &resolved, kind);
        let seen = resolved.node().map_err(fail)?;
        if seen.kind != NodeKind::File {
            return Err(fail(FsErrorKind::WrongKind {
                found: seen.kind,
                wanted: NodeKind::File,
            }));
        }
        if seen.size > cap {
            return Err(fail(FsErrorKind::TooLarge {
                size: Some(seen.size),
                cap,
            }));
        }
        let fd = resolved.open(OFlags::RDONLY).map_err(fail)?;
        if let Some(fs) = pseudo_fs(&fd).map_err(fail)? {
            return Err(fail(FsErrorKind::PseudoFs(fs)));
        }
        // At most cap + 1 bytes, whatever the size said: one more than allowed shows the file is over.
        let mut bytes = Vec::new();
        std::fs::File::from(fd)
            .take(cap.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| fail(FsErrorKind::Io(e)))?;
        if bytes.len() as u64 > cap {
            return Err(fail(FsErrorKind::TooLarge { size: None, cap }));
        }
        Ok(bytes)
    }

    fn read_dir(&self, path: &ImagePath) -> Result<Vec<Entry>, FsError> {
        let resolved = self.resolve(path, true)?;
        let fail = |kind| error(path, &resolved, kind);
        let seen = resolved.node().map_err(fail)?;
        if seen.kind != NodeKind::Dir {
            return Err(fail(FsErrorKind::WrongKind {
                found: seen.kind,
                wanted: NodeKind::Dir,
            }));
        }
        let fd = resolved
            .open(OFlags::RDONLY | OFlags::DIRECTORY)
            .map_err(fail)?;
        let dir = Dir::read_from(&fd).map_err(|e| fail(errno_kind(e)))?;
        let here = resolved.path();
        let mut entries = Vec::new();
        for entry in dir {
            let entry = entry.map_err(|e| fail(errno_kind(e)))?;
            let name = entry.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            let name = OsString::from_vec(name.to_vec());
            let node = rustix::fs::statat(&fd, &name, AtFlags::SYMLINK_NOFOLLOW)
                .map(|s| node(&s))
                .map_err(|e| FsError {
                    path: path.join(&name),
                    resolved: Some(here.join(&name)),
                    kind: errno_kind(e),
                });
            entries.push(Entry { name, node });
        }
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(entries)
    }

    fn read_link(&self, path: &ImagePath) -> Result<OsString, FsError> {
        let resolved = self.resolve(path, false)?;
        let fail = |kind| error(path, &resolved, kind);
        match &resolved.last {
            Some((name, stat)) if kind_of(stat) == NodeKind::Symlink => {
                rustix::fs::readlinkat(resolved.walk.dir(), name, Vec::new())
                    .map(|target| OsString::from_vec(target.into_bytes()))
                    .map_err(|e| fail(errno_kind(e)))
            }
            _ => Err(fail(FsErrorKind::WrongKind {
                found: resolved.node().map_err(fail)?.kind,
                wanted: NodeKind::Symlink,
            })),
        }
    }
}

fn error(path: &ImagePath, resolved: &Resolved<'_>, kind: FsErrorKind) -> FsError {
    FsError {
        path: path.clone(),
        resolved: Some(resolved.path()),
        kind,
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    fn fixture() -> (tempfile::TempDir, HostFs) {
        let dir = tempfile::tempdir().expect("temp dir");
        let fs = HostFs::open(dir.path()).expect("open root");
        (dir, fs)
    }

    fn write(root: &Path, relative: &str, text: &str) {
        let path = root.join(relative);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    fn read(fs: &HostFs, path: &str) -> Result<String, FsError> {
        fs.read_file(&ImagePath::new(path), 1 << 20)
            .map(|b| String::from_utf8(b).expect("utf-8"))
    }

    #[test]
    fn absolute_links_start_again_at_the_image_root() {
        let (dir, fs) = fixture();
        let r = dir.path();
        write(r, "usr/lib/os-release", "ID=inside\n");
        std::fs::create_dir(r.join("etc")).expect("mkdir");
        symlink("/usr/lib/os-release", r.join("etc/os-release")).expect("symlink");
        assert_eq!(read(&fs, "etc/os-release").expect("read"), "ID=inside\n");
        // In an intermediate component too, and for a link to the root itself.
        symlink("/usr", r.join("u")).expect("symlink");
        assert_eq!(read(&fs, "/u/lib/os-release").expect("read"), "ID=inside\n");
        symlink("/", r.join("host-root")).expect("symlink");
        let names: Vec<OsString> = fs
            .read_dir(&ImagePath::new("host-root"))
            .expect("read dir")
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["etc", "host-root", "u", "usr"]);
        assert_eq!(
            fs.read_link(&ImagePath::new("etc/os-release"))
                .expect("read link"),
            "/usr/lib/os-release"
        );
    }

    #[test]
    fn dot_dot_stops_at_the_image_root() {
        let (dir, fs) = fixture();
        let r = dir.path();
        write(r, "etc/passwd.real", "root:x:0:0::/root:/bin/sh\n");
        symlink("../../../../etc/passwd.real", r.join("etc/passwd")).expect("symlink");
        assert_eq!(
            read(&fs, "etc/passwd").expect("read"),
            "root:x:0:0::/root:/bin/sh\n"
        );
        assert_eq!(
            read(&fs, "../../etc/../../etc/passwd.real").expect("read"),
            "root:x:0:0::/root:/bin/sh\n"
        );
        // A link to itself through `..` at the root: a loop, never the host's /etc/passwd.
        symlink("../../../../etc/shadow", r.join("etc/shadow")).expect("symlink");
        let error = read(&fs, "etc/shadow").expect_err("a loop");
        assert!(matches!(error.kind, FsErrorKind::LinkLoop), "{error}");
    }

    #[test]
    fn link_loops_are_errors() {
        let (dir, fs) = fixture();
        let r = dir.path();
        symlink("b", r.join("a")).expect("symlink");
        symlink("a", r.join("b")).expect("symlink");
        symlink("self/x", r.join("self")).expect("symlink");
        for path in ["a", "b/c", "self"] {
            let error = fs.metadata(&ImagePath::new(path)).expect_err("a loop");
            assert!(matches!(error.kind, FsErrorKind::LinkLoop), "{error}");
            assert!(error.to_string().contains("link loop"), "{error}");
        }
        // Not following the last link, `a` is just a link.
        let node = fs.symlink_metadata(&ImagePath::new("a")).expect("lstat");
        assert_eq!(node.kind, NodeKind::Symlink);
        // A long chain that is no loop resolves up to the limit.
        write(r, "end", "end");
        for i in 0..MAX_LINKS {
            let target = if i == 0 {
                "end".to_string()
            } else {
                format!("l{}", i - 1)
            };
            symlink(target, r.join(format!("l{i}"))).expect("symlink");
        }
        assert_eq!(
            read(&fs, &format!("l{}", MAX_LINKS - 1)).expect("read"),
            "end"
        );
        symlink(format!("l{}", MAX_LINKS - 1), r.join("one-more")).expect("symlink");
        assert!(matches!(
            read(&fs, "one-more").expect_err("over").kind,
            FsErrorKind::LinkLoop
        ));
    }

    #[test]
    fn only_regular_files_are_read_and_never_past_the_cap() {
        let (dir, fs) = fixture();
        let r = dir.path();
        rustix::fs::mknodat(CWD, r.join("fifo"), FileType::Fifo, Mode::from(0o644), 0)
            .expect("mkfifo");
        let error = read(&fs, "fifo").expect_err("a FIFO");
        assert_eq!(
            error.to_string(),
            "/fifo: is a FIFO (named pipe), not a regular file; not opened"
        );
        write(r, "ten", "0123456789");
        let error = fs
            .read_file(&ImagePath::new("ten"), 5)
            .expect_err("over the cap");
        assert!(matches!(
            error.kind,
            FsErrorKind::TooLarge {
                size: Some(10),
                cap: 5
            }
        ));
        assert_eq!(
            fs.read_file(&ImagePath::new("ten"), 10).expect("read"),
            b"0123456789"
        );
        std::fs::create_dir(r.join("dir")).expect("mkdir");
        let error = read(&fs, "dir").expect_err("a directory");
        assert!(error.to_string().contains("is a directory"), "{error}");
        let error = read(&fs, "ten/x").expect_err("not a directory");
        assert!(error.is_absent(), "{error}");
        let error = read(&fs, "missing").expect_err("missing");
        assert!(error.is_absent(), "{error}");
    }

    #[test]
    fn names_are_bytes() {
        let (dir, fs) = fixture();
        let name = OsStr::from_bytes(b"\xff.conf");
        std::fs::write(dir.path().join(name), "x").expect("write");
        let entries = fs.read_dir(&ImagePath::root()).expect("read dir");
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].name, name);
        let path = ImagePath::root().join(&entries[0].name);
        assert_eq!(fs.read_file(&path, 10).expect("read"), b"x");
        assert_eq!(path.to_string(), "/\\xff.conf");
    }

    #[test]
    fn depth_is_bounded_not_path_length() {
        let (dir, fs) = fixture();
        // Longer than PATH_MAX (4096), made relative to open directories.
        let name = "n".repeat(200);
        let mut at = rustix::fs::openat(CWD, dir.path(), DIR_FLAGS, Mode::empty()).expect("open");
        for _ in 0..30 {
            rustix::fs::mkdirat(&at, name.as_str(), Mode::from(0o755)).expect("mkdir");
            at = rustix::fs::openat(&at, name.as_str(), DIR_FLAGS, Mode::empty()).expect("open");
        }
        let deep = ImagePath::new(vec![name.as_str(); 30].join("/"));
        assert_eq!(
            fs.metadata(&deep).expect("stat past PATH_MAX").kind,
            NodeKind::Dir
        );
        let too_deep = ImagePath::new(vec!["d"; MAX_DEPTH + 2].join("/"));
        std::fs::create_dir_all(
            dir.path()
                .join(too_deep.as_os_str().to_str().expect("ascii")),
        )
        .expect("mkdir");
        let error = fs.metadata(&too_deep).expect_err("too deep");
        assert!(matches!(error.kind, FsErrorKind::TooDeep), "{error}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_auditing_machines_kernel_state_is_not_read() {
        let fs = HostFs::open(Path::new("/")).expect("open /");
        if fs.metadata(&ImagePath::new("proc/self/environ")).is_err() {
            return; // no procfs here
        }
        let error = read(&fs, "proc/self/environ").expect_err("procfs");
        assert!(
            matches!(error.kind, FsErrorKind::PseudoFs("procfs")),
            "{error}"
        );
    }
}
