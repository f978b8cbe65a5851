//! Reading an image's root filesystem (a mounted image, a chroot, or `/` inside an image build) into
//! [`ContentsFacts`], the facts the image-content rules (EA060–EA065) judge. No AWS call is involved.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::facts::ContentsFacts;

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

/// Read what the content rules need from `root`. Unreadable files are noted, never fatal.
pub fn read(root: &Path) -> ContentsFacts {
    let mut facts = ContentsFacts {
        root: root.to_path_buf(),
        ..Default::default()
    };
    facts.users = names_in(root, "etc/passwd", &mut facts.unreadable);
    facts.groups = names_in(root, "etc/group", &mut facts.unreadable);
    facts.ssm_installed = SSM_INSTALLED
        .iter()
        .filter(|p| exists(root, p))
        .map(|p| format!("/{p}"))
        .collect();
    facts.ssm_enabled = ssm_boot_links(root);
    facts.dns_rotate = dns_rotate(root, &mut facts.unreadable);
    for dir in RELOCATED {
        let path = root.join(dir);
        if let Ok(meta) = std::fs::symlink_metadata(&path)
            && meta.is_dir()
        {
            let bytes = tree_size(&path, meta.dev(), &mut facts.unreadable);
            facts.relocated_bytes.insert(format!("/{dir}"), bytes);
        }
    }
    facts.os_release = ["etc/os-release", "usr/lib/os-release"]
        .iter()
        .find_map(|p| std::fs::read_to_string(root.join(p)).ok())
        .map(|text| parse_os_release(&text));
    facts.kernels = kernels(root);
    facts.emr_artifacts = EMR_ARTIFACTS
        .iter()
        .filter(|p| exists(root, p))
        .map(|p| format!("/{p}"))
        .collect();
    facts
}

/// Whether a path exists in the image, without following a final symlink (a dangling `wants` link
/// still enables the unit in the running image, where its target exists).
fn exists(root: &Path, relative: &str) -> bool {
    std::fs::symlink_metadata(root.join(relative)).is_ok()
}

fn names_in(root: &Path, relative: &str, unreadable: &mut Vec<String>) -> Option<Vec<String>> {
    match std::fs::read_to_string(root.join(relative)) {
        Ok(text) => Some(
            text.lines()
                .filter(|l| !l.trim_start().starts_with('#'))
                .filter_map(|l| l.split(':').next())
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        Err(error) => {
            unreadable.push(format!("/{relative}: {error}"));
            None
        }
    }
}

fn ssm_boot_links(root: &Path) -> Vec<String> {
    let mut enabled = Vec::new();
    for link in SSM_BOOT_LINKS {
        let path = root.join(link);
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            // SysV runlevel directory: an `S??amazon-ssm-agent` link starts it.
            let Ok(entries) = std::fs::read_dir(&path) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().to_string();
                if name.starts_with('S') && name.ends_with("amazon-ssm-agent") {
                    enabled.push(format!("/{link}/{name}"));
                }
            }
        } else if link.ends_with(".conf") {
            // An Upstart job starts at boot unless a `.override` says `manual`.
            let manual = std::fs::read_to_string(root.join("etc/init/amazon-ssm-agent.override"))
                .is_ok_and(|t| t.lines().any(|l| l.trim() == "manual"));
            if !manual {
                enabled.push(format!("/{link}"));
            }
        } else {
            enabled.push(format!("/{link}"));
        }
    }
    enabled
}

fn dns_rotate(root: &Path, unreadable: &mut Vec<String>) -> Vec<String> {
    let mut files: Vec<String> = DNS_CONFIG.iter().map(|p| p.to_string()).collect();
    if let Ok(entries) = std::fs::read_dir(root.join("etc/NetworkManager/conf.d")) {
        for entry in entries.flatten() {
            files.push(format!(
                "etc/NetworkManager/conf.d/{}",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    let mut found = Vec::new();
    for relative in files {
        let text = match std::fs::read_to_string(root.join(&relative)) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => {
                unreadable.push(format!("/{relative}: {error}"));
                continue;
            }
        };
        for line in text.lines() {
            let trimmed = line.trim();
            if trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            let words: Vec<&str> = trimmed
                .split(|c: char| {
                    c.is_whitespace() || c == '"' || c == '\'' || c == '=' || c == ',' || c == ';'
                })
                .filter(|w| !w.is_empty())
                .collect();
            let sets_options = matches!(
                words.first(),
                Some(&"options") | Some(&"RES_OPTIONS") | Some(&"dns-options")
            );
            if sets_options && words.contains(&"rotate") {
                found.push(format!("/{relative}: {trimmed}"));
            }
        }
    }
    found
}

/// Bytes in regular files under `dir`: symlinks are not followed and other filesystems (mounts) are not
/// entered, so loops are impossible and the walk is bounded by the tree itself.
fn tree_size(dir: &Path, device: u64, unreadable: &mut Vec<String>) -> u64 {
    let mut total = 0u64;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let entries = match std::fs::read_dir(&current) {
            Ok(entries) => entries,
            Err(error) => {
                unreadable.push(format!("{}: {error}", current.display()));
                continue;
            }
        };
        for entry in entries.flatten() {
            let Ok(meta) = entry.path().symlink_metadata() else {
                continue;
            };
            if meta.dev() != device {
                continue;
            }
            if meta.is_dir() {
                pending.push(entry.path());
            } else if meta.is_file() {
                total = total.saturating_add(meta.len());
            }
        }
    }
    total
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

fn kernels(root: &Path) -> Vec<String> {
    let mut kernels = Vec::new();
    for (dir, prefix) in [
        ("lib/modules", ""),
        ("usr/lib/modules", ""),
        ("boot", "vmlinuz-"),
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().to_string();
            if let Some(version) = name.strip_prefix(prefix)
                && version.chars().next().is_some_and(|c| c.is_ascii_digit())
                && !kernels.contains(&version.to_string())
            {
                kernels.push(version.to_string());
            }
        }
    }
    kernels.sort();
    kernels
}
