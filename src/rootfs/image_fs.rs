//! A read-only view of an image's filesystem, confined to the image: [`ImageFs`].
//!
//! Paths are inside the image, as bytes (names need not be UTF-8), relative to its root; a leading `/` means
//! the same. Every implementation resolves them as the image's own boot would: symbolic links are followed
//! inside the image (an absolute target starts again at the image's root, `..` stops there), never through
//! the machine that runs the audit.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// Symbolic links followed while resolving one path before giving up (Linux's own limit).
pub const MAX_LINKS: usize = 40;
/// Directories deep a path may go; deeper is a [`FsErrorKind::TooDeep`] error, not a silent skip.
pub const MAX_DEPTH: usize = 256;
/// Most entries one directory of an image read from its blocks may list: far more than any system
/// directory holds, few enough that a hostile one costs little memory. More is a corrupt filesystem.
pub const MAX_DIR_ENTRIES: usize = 1 << 18;

/// A read-only filesystem of an image. Implemented over a host directory ([`super::HostFs`]); designed so a
/// reader of an EBS snapshot's blocks can implement it too (no file descriptors or host paths in it).
pub trait ImageFs {
    /// What `path` is, following links in every component but the last (`lstat`).
    fn symlink_metadata(&self, path: &ImagePath) -> Result<Node, FsError>;
    /// What `path` is, following links in every component (`stat`).
    fn metadata(&self, path: &ImagePath) -> Result<Node, FsError>;
    /// The contents of the regular file at `path` (links followed), if it holds at most `cap` bytes.
    /// Anything else is an error and is not opened: a directory, FIFO, socket or device, or a file over
    /// `cap` (at most `cap + 1` bytes are ever read, whatever size the file claims).
    fn read_file(&self, path: &ImagePath, cap: u64) -> Result<Vec<u8>, FsError>;
    /// The entries of the directory at `path` (links followed), sorted by name, without `.` and `..`;
    /// each with what it is, not following a link (`lstat`), or why that could not be found.
    fn read_dir(&self, path: &ImagePath) -> Result<Vec<Entry>, FsError>;
    /// The target of the symbolic link at `path` (links followed in every component but the last), as
    /// stored: not resolved.
    fn read_link(&self, path: &ImagePath) -> Result<OsString, FsError>;
}

/// Put a symbolic link's target in front of the components still to resolve, as the kernel does; true
/// when it is absolute, which starts the walk again at the image's root (never the host's).
pub(super) fn follow_link(
    pending: &mut std::collections::VecDeque<OsString>,
    target: &[u8],
) -> bool {
    for component in target.split(|b| *b == b'/').rev() {
        if !component.is_empty() {
            pending.push_front(OsString::from_vec(component.to_vec()));
        }
    }
    target.starts_with(b"/")
}

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    File,
    Dir,
    Symlink,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
    Unknown,
}

impl fmt::Display for NodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NodeKind::File => "a regular file",
            NodeKind::Dir => "a directory",
            NodeKind::Symlink => "a symbolic link",
            NodeKind::Fifo => "a FIFO (named pipe)",
            NodeKind::Socket => "a socket",
            NodeKind::CharDevice => "a character device",
            NodeKind::BlockDevice => "a block device",
            NodeKind::Unknown => "a file of unknown type",
        })
    }
}

/// A path's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Node {
    pub kind: NodeKind,
    /// Apparent size in bytes (`st_size`): a sparse file counts in full.
    pub size: u64,
    /// The filesystem the node is on; a directory walk compares it to stay on one filesystem. An image
    /// read from a snapshot's blocks is one filesystem, so every node has the same.
    pub device: u64,
    /// The node's identity on its filesystem.
    pub inode: u64,
}

/// One directory entry.
#[derive(Debug)]
pub struct Entry {
    pub name: OsString,
    pub node: Result<Node, FsError>,
}

/// A path inside an image, relative to its root, as bytes. Displayed absolute (`/etc/passwd`), with bytes
/// that are not printable UTF-8 escaped (`\xff`, `\e`), so a hostile name can neither hide nor write
/// to a terminal.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ImagePath(Vec<u8>);

impl ImagePath {
    /// The image's root.
    pub fn root() -> Self {
        Self(Vec::new())
    }

    /// A path from `/`-separated components; leading, trailing and repeated `/` are ignored. `.` and `..`
    /// are kept: resolution gives them their meaning.
    pub fn new(path: impl AsRef<OsStr>) -> Self {
        let mut out = Self::root();
        for component in path.as_ref().as_bytes().split(|b| *b == b'/') {
            if !component.is_empty() {
                out = out.join(OsStr::from_bytes(component));
            }
        }
        out
    }

    /// This path with `name` (one component, no `/`) under it.
    pub fn join(&self, name: impl AsRef<OsStr>) -> Self {
        let name = name.as_ref().as_bytes();
        let mut bytes = Vec::with_capacity(self.0.len() + 1 + name.len());
        bytes.extend_from_slice(&self.0);
        if !bytes.is_empty() {
            bytes.push(b'/');
        }
        bytes.extend_from_slice(name);
        Self(bytes)
    }

    /// The components, in order (none for the root).
    pub fn components(&self) -> impl Iterator<Item = &OsStr> {
        self.0
            .split(|b| *b == b'/')
            .filter(|c| !c.is_empty())
            .map(OsStr::from_bytes)
    }

    /// How many components deep the path is.
    pub fn depth(&self) -> usize {
        self.components().count()
    }

    pub fn as_os_str(&self) -> &OsStr {
        OsStr::from_bytes(&self.0)
    }

    pub fn into_os_string(self) -> OsString {
        OsString::from_vec(self.0)
    }
}

impl From<&str> for ImagePath {
    fn from(path: &str) -> Self {
        Self::new(path)
    }
}

/// Longest path shown in full; longer ones keep their start and end around an elision.
const DISPLAY_MAX: usize = 400;

impl fmt::Display for ImagePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = format!("/{}", escape(&self.0));
        let chars: Vec<char> = shown.chars().collect();
        if chars.len() <= DISPLAY_MAX {
            return f.write_str(&shown);
        }
        let head: String = chars[..DISPLAY_MAX / 2].iter().collect();
        let tail: String = chars[chars.len() - DISPLAY_MAX / 2..].iter().collect();
        write!(
            f,
            "{head}…({} characters)…{tail}",
            chars.len() - DISPLAY_MAX
        )
    }
}

impl fmt::Debug for ImagePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ImagePath({self})")
    }
}

/// Bytes as text: printable UTF-8 as is, `\` doubled (a name can't pass for an escape), control
/// characters as the terminal shows them ([`crate::terminal::visible`]) and bytes that are not UTF-8 as
/// `\xNN`.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                c => crate::terminal::push_visible(&mut out, c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Why a path could not be read.
#[derive(Debug)]
pub struct FsError {
    /// The path asked for.
    pub path: ImagePath,
    /// Where resolving it led, when links took it elsewhere.
    pub resolved: Option<ImagePath>,
    pub kind: FsErrorKind,
}

#[derive(Debug)]
pub enum FsErrorKind {
    NotFound,
    /// A component on the way is not a directory.
    NotADirectory,
    /// Not what was asked for (a FIFO, socket or device where a regular file was): refused without opening it.
    WrongKind {
        found: NodeKind,
        wanted: NodeKind,
    },
    /// Over the read cap: `size` when the file says so, `None` when it only showed while reading.
    TooLarge {
        size: Option<u64>,
        cap: u64,
    },
    /// More than [`MAX_LINKS`] links to follow: a loop, or a chain too long to be meant.
    LinkLoop,
    /// More than [`MAX_DEPTH`] directories deep.
    TooDeep,
    /// On a kernel-generated filesystem of the auditing machine (procfs, sysfs, …), not image content.
    PseudoFs(&'static str),
    /// The file changed between being checked and being opened.
    Changed,
    /// The image's own structures are inconsistent (a filesystem read from a snapshot's blocks): what, in
    /// a few words, without quoting raw bytes.
    Corrupt(String),
    Io(std::io::Error),
}

impl FsError {
    pub fn new(path: &ImagePath, kind: FsErrorKind) -> Self {
        Self {
            path: path.clone(),
            resolved: None,
            kind,
        }
    }

    /// Whether the path simply is not there: not found, or a component on the way is not a directory
    /// (as `stat` would say of a path that does not exist).
    pub fn is_absent(&self) -> bool {
        matches!(
            self.kind,
            FsErrorKind::NotFound | FsErrorKind::NotADirectory
        )
    }
}

impl fmt::Display for FsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path)?;
        if let Some(resolved) = self.resolved.as_ref().filter(|r| **r != self.path) {
            write!(f, " (resolved in the image to {resolved})")?;
        }
        match &self.kind {
            FsErrorKind::NotFound => write!(f, ": not found"),
            FsErrorKind::NotADirectory => write!(f, ": a component of the path is not a directory"),
            FsErrorKind::WrongKind { found, wanted } => {
                write!(f, ": is {found}, not {wanted}; not opened")
            }
            FsErrorKind::TooLarge {
                size: Some(size),
                cap,
            } => write!(
                f,
                ": {size} bytes, over the {} read cap; not read",
                bytes(*cap)
            ),
            FsErrorKind::TooLarge { size: None, cap } => {
                write!(f, ": more than the {} read cap; not read", bytes(*cap))
            }
            FsErrorKind::LinkLoop => write!(
                f,
                ": more than {MAX_LINKS} symbolic links to follow (a link loop); not resolved"
            ),
            FsErrorKind::TooDeep => {
                write!(f, ": more than {MAX_DEPTH} directories deep; not read")
            }
            FsErrorKind::PseudoFs(fs) => write!(
                f,
                ": on the auditing machine's {fs} (kernel state, not image content); not read"
            ),
            FsErrorKind::Changed => write!(f, ": changed while being read; not read"),
            FsErrorKind::Corrupt(what) => write!(f, ": corrupt filesystem: {what}"),
            FsErrorKind::Io(error) => write!(f, ": {error}"),
        }
    }
}

impl std::error::Error for FsError {}

fn bytes(n: u64) -> String {
    if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{} MiB", n >> 20)
    } else {
        format!("{n}-byte")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_bytes_and_display_escaped() {
        let p = ImagePath::new("/etc//NetworkManager/conf.d/")
            .join(OsStr::from_bytes(b"\xff\x1b.conf"));
        assert_eq!(p.depth(), 4);
        assert_eq!(p.to_string(), "/etc/NetworkManager/conf.d/\\xff\\e.conf");
        assert_eq!(ImagePath::root().to_string(), "/");
        let long = ImagePath::new("d/".repeat(300));
        let shown = long.to_string();
        assert!(
            shown.len() < 500 && shown.contains("…(200 characters)…"),
            "{shown}"
        );
    }
}
