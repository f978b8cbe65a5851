//! Reading an image's root filesystem (a mounted image, a chroot, or `/` inside an image build) into
//! [`ContentsFacts`], the facts the image-content rules (EA060–EA065) judge. No AWS call is involved.
//!
//! Everything is read through [`ImageFs`], confined to the image: links resolve inside it, only regular
//! files are opened, each under a size cap, and names are bytes. What cannot be read, or is refused, is a
//! run error in [`ContentsFacts::unreadable`], never a silent skip; only a path that is not there (or a
//! link that leads nowhere in the image) counts as absent.

pub mod disk;
mod ext4;
mod host;
mod image_fs;
mod open;
pub mod partition;
pub mod xfs;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub use ext4::Ext4Fs;
pub use host::HostFs;
pub use image_fs::{
    Entry, FsError, FsErrorKind, ImageFs, ImagePath, MAX_DEPTH, MAX_DIR_ENTRIES, MAX_LINKS, Node,
    NodeKind, escape,
};
pub use open::{open_root, separate_mounts};

use crate::facts::ContentsFacts;

/// The most a configuration file read here (passwd, group, os-release, resolv.conf, …) may hold: far more
/// than any real one, little enough that a hostile one costs nothing.
pub const CONFIG_CAP: u64 = 4 << 20;

/// Most directory entries one size walk (/tmp, /var or /emr) goes through: far more than any image
/// holds, few enough that a hostile one can't keep the walk going.
pub const MAX_WALK_ENTRIES: usize = 1 << 20;

/// Longest line of a file quoted in a finding.
const QUOTE_MAX: usize = 200;

/// The directories EMR moves to /mnt at startup.
pub const RELOCATED: [&str; 3] = ["tmp", "var", "emr"];

/// Paths EMR provisioning leaves on a node: an image that has them was taken from an EMR instance.
pub const EMR_ARTIFACTS: [&str; 10] = [
    "var/aws/emr",
    "usr/share/aws/emr",
    "emr/instance-controller",
    "usr/lib/instance-controller",
    "var/lib/instance-controller",
    "var/log/instance-controller",
    "etc/init.d/instance-controller",
    "etc/systemd/system/instance-controller.service",
    "usr/lib/systemd/system/instance-controller.service",
    "var/log/provision-node",
];

/// Where the SSM agent can be enabled at boot: systemd `wants` links (package and snap), SysV runlevel
/// links (Amazon Linux 1), and Upstart jobs (Amazon Linux 1).
const SSM_BOOT_LINKS: [&str; 6] = [
    "etc/systemd/system/multi-user.target.wants/amazon-ssm-agent.service",
    "etc/systemd/system/multi-user.target.wants/snap.amazon-ssm-agent.amazon-ssm-agent.service",
    "etc/rc.d/rc3.d",
    "etc/rc3.d",
    "etc/init/amazon-ssm-agent.conf",
    "etc/rc.d/rc5.d",
];

const SSM_INSTALLED: [&str; 4] = [
    "usr/bin/amazon-ssm-agent",
    "usr/lib/systemd/system/amazon-ssm-agent.service",
    "etc/systemd/system/amazon-ssm-agent.service",
    "snap/amazon-ssm-agent",
];

/// Files where `options rotate` can be set: resolv.conf itself, and what writes it (the DHCP client's
/// `RES_OPTIONS`, NetworkManager's `dns-options`).
const DNS_CONFIG: [&str; 5] = [
    "etc/resolv.conf",
    "etc/sysconfig/network",
    "etc/sysconfig/network-scripts/ifcfg-eth0",
    "etc/dhcp/dhclient.conf",
    "etc/NetworkManager/NetworkManager.conf",
];

/// Read what the content rules need from the directory `root` of this machine. Unreadable files are
/// noted, never fatal.
pub fn read(root: &Path) -> ContentsFacts {
    match HostFs::open(root) {
        Ok(fs) => read_image(&fs, root),
        Err(error) => ContentsFacts {
            root: root.to_path_buf(),
            unreadable: vec![format!("{}: {error}", root.display())],
            ..Default::default()
        },
    }
}

/// Read what the content rules need from an image's filesystem; `root` names it in the facts.
pub fn read_image(fs: &dyn ImageFs, root: &Path) -> ContentsFacts {
    let mut reader = Reader {
        fs,
        unreadable: Vec::new(),
    };
    let mut facts = ContentsFacts {
        root: root.to_path_buf(),
        ..Default::default()
    };
    facts.users = reader.names_in("etc/passwd");
    facts.groups = reader.names_in("etc/group");
    facts.ssm_installed = reader.existing(&SSM_INSTALLED);
    facts.ssm_enabled = reader.ssm_boot_links();
    facts.dns_rotate = reader.dns_rotate();
    for dir in RELOCATED {
        let path = ImagePath::new(dir);
        match fs.symlink_metadata(&path) {
            Ok(node) if node.kind == NodeKind::Dir => {
                let bytes = reader.tree_size(&path, node.device);
                facts.relocated_bytes.insert(format!("/{dir}"), bytes);
            }
            Ok(_) => {}
            Err(error) => reader.note_unless_absent(error),
        }
    }
    facts.os_release = reader.os_release();
    facts.kernels = reader.kernels();
    facts.emr_artifacts = reader.existing(&EMR_ARTIFACTS);
    // A separate /var (or /tmp, /usr, …) is another filesystem: read from a snapshot it is an empty mount
    // point, and a walk stays off it; either way what the rules read there must not pass as absent.
    reader.unreadable.extend(separate_mounts(fs));
    facts.unreadable = reader.unreadable;
    facts
}

struct Reader<'a> {
    fs: &'a dyn ImageFs,
    unreadable: Vec<String>,
}

impl Reader<'_> {
    fn note(&mut self, error: FsError) {
        self.unreadable.push(error.to_string());
    }

    /// A path that is not there is no error; anything else that stops a read is.
    fn note_unless_absent(&mut self, error: FsError) {
        if !error.is_absent() {
            self.note(error);
        }
    }

    /// Which of `paths` exist in the image, without following a final link (a dangling `wants` link still
    /// enables the unit in the running image, where its target exists).
    fn existing(&mut self, paths: &[&str]) -> Vec<String> {
        let mut found = Vec::new();
        for path in paths {
            let path = ImagePath::new(path);
            match self.fs.symlink_metadata(&path) {
                Ok(_) => found.push(path.to_string()),
                Err(error) => self.note_unless_absent(error),
            }
        }
        found
    }

    /// A configuration file's text (bytes that are not UTF-8 replaced); `None` when absent or unreadable
    /// (noted).
    fn text(&mut self, path: &ImagePath) -> Option<String> {
        match self.fs.read_file(path, CONFIG_CAP) {
            Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            Err(error) => {
                self.note_unless_absent(error);
                None
            }
        }
    }

    /// A directory's entries; none when absent, or unreadable (noted).
    fn entries(&mut self, path: &ImagePath) -> Vec<Entry> {
        match self.fs.read_dir(path) {
            Ok(entries) => entries,
            Err(error) => {
                self.note_unless_absent(error);
                Vec::new()
            }
        }
    }

    /// The account (or group) names in a passwd-like file; `None` when it could not be read, missing
    /// included (noted: every image has them).
    fn names_in(&mut self, path: &str) -> Option<Vec<String>> {
        match self.fs.read_file(&ImagePath::new(path), CONFIG_CAP) {
            Ok(bytes) => Some(
                String::from_utf8_lossy(&bytes)
                    .lines()
                    .filter(|l| !l.trim_start().starts_with('#'))
                    .filter_map(|l| l.split(':').next())
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(|n| escape(n.as_bytes()))
                    .collect(),
            ),
            Err(error) => {
                self.note(error);
                None
            }
        }
    }

    fn ssm_boot_links(&mut self) -> Vec<String> {
        let mut enabled = Vec::new();
        let mut runlevel_dirs = BTreeSet::new();
        for link in SSM_BOOT_LINKS {
            let path = ImagePath::new(link);
            match self.fs.symlink_metadata(&path) {
                Ok(_) => {}
                Err(error) => {
                    self.note_unless_absent(error);
                    continue;
                }
            }
            let followed = self.fs.metadata(&path);
            if let Ok(dir) = followed.as_ref()
                && dir.kind == NodeKind::Dir
            {
                // SysV runlevel directory (or a link to one, as /etc/rc3.d is on Amazon Linux 1, listed
                // once): an `S??amazon-ssm-agent` link starts it.
                if !runlevel_dirs.insert((dir.device, dir.inode)) {
                    continue;
                }
                for entry in self.entries(&path) {
                    let name = entry.name.as_bytes();
                    if name.starts_with(b"S") && name.ends_with(b"amazon-ssm-agent") {
                        enabled.push(path.join(&entry.name).to_string());
                    }
                }
            } else if link.ends_with(".conf") {
                // An Upstart job starts at boot unless a `.override` says `manual`.
                let manual = self
                    .text(&ImagePath::new("etc/init/amazon-ssm-agent.override"))
                    .is_some_and(|t| t.lines().any(|l| l.trim() == "manual"));
                if !manual {
                    enabled.push(path.to_string());
                }
            } else {
                enabled.push(path.to_string());
            }
        }
        enabled
    }

    fn dns_rotate(&mut self) -> Vec<String> {
        let mut files: Vec<ImagePath> = DNS_CONFIG.iter().map(ImagePath::new).collect();
        let conf_d = ImagePath::new("etc/NetworkManager/conf.d");
        for entry in self.entries(&conf_d) {
            files.push(conf_d.join(&entry.name));
        }
        let mut found = Vec::new();
        for path in files {
            let Some(text) = self.text(&path) else {
                continue;
            };
            for line in text.lines() {
                let trimmed = line.trim();
                if trimmed.starts_with('#') || trimmed.starts_with(';') {
                    continue;
                }
                let words: Vec<&str> = trimmed
                    .split(|c: char| {
                        c.is_whitespace()
                            || c == '"'
                            || c == '\''
                            || c == '='
                            || c == ','
                            || c == ';'
                    })
                    .filter(|w| !w.is_empty())
                    .collect();
                let sets_options = matches!(
                    words.first(),
                    Some(&"options") | Some(&"RES_OPTIONS") | Some(&"dns-options")
                );
                if sets_options && words.contains(&"rotate") {
                    found.push(format!("{path}: {}", quote(trimmed)));
                }
            }
        }
        found
    }

    /// Bytes in regular files under `dir`, by apparent size (`st_size`, as `du --apparent-size`): a sparse
    /// file counts in full, since EMR's copy to /mnt moves that many bytes. Symlinks are not followed,
    /// other filesystems (mounts) are not entered, each directory is entered once (an image's structures
    /// can link one in several places), and the walk stops after [`MAX_WALK_ENTRIES`] entries;
    /// directories more than [`MAX_DEPTH`] deep are not entered. Each limit reached is said.
    fn tree_size(&mut self, dir: &ImagePath, device: u64) -> u64 {
        let mut total = 0u64;
        let mut too_deep: Option<(ImagePath, usize)> = None;
        let mut pending = vec![dir.clone()];
        // A hostile image can link one directory in many places (2^40 paths from 40 levels of two links
        // each): each directory is entered once, and the walk stops after MAX_WALK_ENTRIES entries.
        let mut entered: BTreeSet<(u64, u64)> = BTreeSet::new();
        let mut seen = 0usize;
        while let Some(current) = pending.pop() {
            if seen > MAX_WALK_ENTRIES {
                self.unreadable.push(format!(
                    "{dir}: more than {MAX_WALK_ENTRIES} entries; stopped counting its size there"
                ));
                break;
            }
            if current.depth() > MAX_DEPTH {
                too_deep.get_or_insert((current, 0)).1 += 1;
                continue;
            }
            let entries = match self.fs.read_dir(&current) {
                Ok(entries) => entries,
                Err(error) => {
                    self.note(error);
                    continue;
                }
            };
            seen = seen.saturating_add(entries.len());
            for entry in entries {
                let node = match entry.node {
                    Ok(node) => node,
                    // Gone since it was listed: nothing to count.
                    Err(error) if error.is_absent() => continue,
                    Err(error) => {
                        self.note(error);
                        continue;
                    }
                };
                if node.device != device {
                    continue;
                }
                match node.kind {
                    NodeKind::Dir if !entered.insert((node.device, node.inode)) => {
                        self.unreadable.push(format!(
                            "{}: a directory already counted under {dir} (linked in two places, or a \
                             loop); counted once",
                            current.join(&entry.name)
                        ));
                    }
                    NodeKind::Dir => pending.push(current.join(&entry.name)),
                    NodeKind::File => total = total.saturating_add(node.size),
                    _ => {}
                }
            }
        }
        if let Some((first, count)) = too_deep {
            let mut message = FsError::new(&first, FsErrorKind::TooDeep).to_string();
            message.push_str(&format!(
                "; {count} such director{} under {dir} not counted in its size",
                if count == 1 { "y" } else { "ies" }
            ));
            self.unreadable.push(message);
        }
        total
    }

    /// `/etc/os-release`, or `/usr/lib/os-release` only when the former does not exist (os-release(5)).
    fn os_release(&mut self) -> Option<BTreeMap<String, String>> {
        for path in ["etc/os-release", "usr/lib/os-release"] {
            match self.fs.read_file(&ImagePath::new(path), CONFIG_CAP) {
                Ok(bytes) => return Some(parse_os_release(&String::from_utf8_lossy(&bytes))),
                Err(error) if error.is_absent() => continue,
                Err(error) => {
                    self.note(error);
                    return None;
                }
            }
        }
        None
    }

    fn kernels(&mut self) -> Vec<String> {
        let mut kernels = Vec::new();
        for (dir, prefix) in [
            ("lib/modules", ""),
            ("usr/lib/modules", ""),
            ("boot", "vmlinuz-"),
        ] {
            for entry in self.entries(&ImagePath::new(dir)) {
                if let Some(version) = entry.name.as_bytes().strip_prefix(prefix.as_bytes())
                    && version.first().is_some_and(u8::is_ascii_digit)
                {
                    let version = escape(version);
                    if !kernels.contains(&version) {
                        kernels.push(version);
                    }
                }
            }
        }
        kernels.sort();
        kernels
    }
}

/// A line of a file as quoted in a finding: control characters escaped, at most [`QUOTE_MAX`] characters.
fn quote(line: &str) -> String {
    let escaped = escape(line.as_bytes());
    if escaped.chars().count() <= QUOTE_MAX {
        return escaped;
    }
    let cut: String = escaped.chars().take(QUOTE_MAX).collect();
    format!("{cut}…")
}

fn parse_os_release(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| {
            (
                k.trim().to_string(),
                v.trim().trim_matches('"').trim_matches('\'').to_string(),
            )
        })
        .collect()
}
