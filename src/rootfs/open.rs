//! [`open_root`]: an image's root filesystem from its disk's blocks, whichever of the readable kinds it
//! is, with where on the disk it was found.

use std::sync::Arc;

use super::disk::Disk;
use super::ext4::Ext4Fs;
use super::image_fs::{ImageFs, ImagePath, NodeKind};
use super::partition::{FsKind, Located, root_candidates};
use super::xfs::XfsFs;

/// Find the root filesystem on `disk` ([`root_filesystem`]) and open it: XFS or ext2/3/4, by its
/// superblock's magic. Not `Send`: the ext reader shares its state through `Rc`, so open and read the
/// filesystem on one thread (the whole audit of it inside one `spawn_blocking`).
pub fn open_root(disk: Arc<dyn Disk>) -> Result<(Box<dyn ImageFs>, Located), String> {
    let mut candidates = root_candidates(disk)?.into_iter();
    let (fs_disk, located) = candidates.next().ok_or("no root filesystem")?;
    let first = (open(fs_disk, &located)?, located);
    if has_etc(first.0.as_ref()) {
        return Ok(first);
    }
    // Several Linux filesystems (a separate /var or /home, larger than the root): the root is the one
    // with an /etc. When none has, the first is read, and the missing files say so.
    for (fs_disk, located) in candidates {
        let fs = open(fs_disk, &located)?;
        if has_etc(fs.as_ref()) {
            return Ok((fs, located));
        }
    }
    Ok(first)
}

fn open(disk: Arc<dyn Disk>, located: &Located) -> Result<Box<dyn ImageFs>, String> {
    Ok(match located.kind {
        FsKind::Xfs => Box::new(XfsFs::open(disk).map_err(|e| format!("{located}: {e}"))?),
        FsKind::Ext => Box::new(Ext4Fs::open(disk).map_err(|e| format!("{located}: {e}"))?),
    })
}

fn has_etc(fs: &dyn ImageFs) -> bool {
    fs.symlink_metadata(&ImagePath::new("etc"))
        .is_ok_and(|node| node.kind == NodeKind::Dir)
}

/// Paths the content rules read that the image's `/etc/fstab` mounts from another filesystem: those
/// read as empty mount points here, so each is said, never taken as absent. The root, the EFI system
/// partition, swap and kernel or memory filesystems (`tmpfs`, `proc`, …, empty in an image anyway) are
/// not.
pub fn separate_mounts(fs: &dyn ImageFs) -> Vec<String> {
    let Ok(fstab) = fs.read_file(&ImagePath::new("etc/fstab"), super::CONFIG_CAP) else {
        return Vec::new();
    };
    String::from_utf8_lossy(&fstab)
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (device, mount, kind) = (*fields.first()?, *fields.get(1)?, *fields.get(2)?);
            let kernel = matches!(
                kind,
                "swap" | "tmpfs" | "proc" | "sysfs" | "devpts" | "devtmpfs" | "efivarfs" | "ramfs"
            );
            (mount.starts_with('/') && !matches!(mount, "/" | "/boot/efi") && !kernel).then(|| {
                format!(
                    "/etc/fstab mounts {} on {} ({}): another filesystem, not read; what the rules \
                     read under {} is not audited",
                    super::escape(device.as_bytes()),
                    super::escape(mount.as_bytes()),
                    super::escape(kind.as_bytes()),
                    super::escape(mount.as_bytes()),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Path, PathBuf};

    use proptest::prelude::*;

    use super::super::disk::SparseDisk;
    use super::super::image_fs::{FsErrorKind, ImagePath, NodeKind};
    use super::*;

    fn ebs(snapshot: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("mocks/contents/ebs")
            .join(snapshot)
    }

    fn disk(snapshot: &str) -> Arc<SparseDisk> {
        Arc::new(SparseDisk::load_recorded(&ebs(snapshot)).expect("load"))
    }

    fn p(path: &str) -> ImagePath {
        ImagePath::new(path)
    }

    #[test]
    fn each_recorded_image_is_found_where_it_was_put() {
        for (snapshot, expected) in [
            (
                "snap-0a12023c1ea400001",
                "GPT partition 1 (Linux filesystem, named \"Linux\"), XFS, 8.0 GiB at 12 MiB",
            ),
            (
                "snap-0a12023ba0d000002",
                "GPT partition 1 (Linux filesystem, named \"Linux\"), XFS, 8.0 GiB at 12 MiB",
            ),
            (
                "snap-0a1ba0d0e40000003",
                "MBR partition 1 (Linux), ext2/3/4, 2.0 GiB at 1 MiB",
            ),
            (
                "snap-0c1ea4e4000000004",
                "whole disk (no partition table), ext2/3/4, 1.0 GiB",
            ),
            (
                "snap-0c1ea4e3000000005",
                "whole disk (no partition table), ext2/3/4, 1.0 GiB",
            ),
        ] {
            let (_, located) =
                super::super::partition::root_filesystem(disk(snapshot)).expect(snapshot);
            assert_eq!(located.description, expected, "{snapshot}");
        }
    }

    /// What every image with the violations planted holds, whichever filesystem it is on.
    fn planted(fs: &dyn ImageFs, os_release: &str, big: (&str, u64), fifo: &str) {
        let text = |path: &str| {
            String::from_utf8(fs.read_file(&p(path), 1 << 20).expect(path)).expect("utf-8")
        };
        assert!(text("etc/os-release").contains(os_release));
        assert!(
            text("etc/passwd")
                .lines()
                .any(|l| l.starts_with("hadoop:") || l.starts_with("spark:"))
        );
        let node = fs.symlink_metadata(&p(big.0)).expect(big.0);
        assert_eq!((node.kind, node.size), (NodeKind::File, big.1));
        let error = fs.read_file(&p(fifo), 1 << 20).expect_err(fifo);
        assert!(
            matches!(
                error.kind,
                FsErrorKind::WrongKind {
                    found: NodeKind::Fifo,
                    ..
                }
            ),
            "{error}"
        );
        let shadow = text("etc/shadow");
        assert_eq!(text("etc/escape"), shadow);
        let error = fs.metadata(&p("etc/loop-a")).expect_err("loop");
        assert!(matches!(error.kind, FsErrorKind::LinkLoop), "{error}");
    }

    #[test]
    fn the_al1_image_holds_what_was_planted() {
        let (fs, _) = open_root(disk("snap-0a1ba0d0e40000003")).expect("open");
        planted(
            fs.as_ref(),
            "VERSION_ID=\"2018.03\"",
            ("var/log/big.log", 5 << 30 >> 2),
            "tmp/fifo",
        );
        let rc3: Vec<_> = fs
            .read_dir(&p("etc/rc3.d"))
            .expect("rc3.d")
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(rc3, ["S50amazon-ssm-agent", "S55sshd"]);
        assert!(text_of(fs.as_ref(), "etc/sysconfig/network").contains("RES_OPTIONS=\"rotate"));
        for artifact in [
            "var/log/provision-node",
            "etc/init.d/instance-controller",
            "var/aws/emr",
        ] {
            fs.symlink_metadata(&p(artifact)).expect(artifact);
        }
        let kernels: Vec<_> = fs
            .read_dir(&p("lib/modules"))
            .expect("modules")
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(kernels, ["4.14.355-196.617.amzn1.x86_64"]);
    }

    fn text_of(fs: &dyn ImageFs, path: &str) -> String {
        String::from_utf8_lossy(&fs.read_file(&p(path), 1 << 20).expect(path)).into_owned()
    }

    /// The XFS images, once the XFS reader is there (with the stub, opening them is the stub's error).
    #[test]
    fn the_al2023_images_hold_what_was_planted() {
        match open_root(disk("snap-0a12023ba0d000002")) {
            Err(error) => panic!("{error}"),
            Ok((fs, _)) => {
                let fs = fs.as_ref();
                planted(
                    fs,
                    "VERSION_ID=\"2\"",
                    ("var/cache/dnf/packages.tar", 3 << 30 >> 1),
                    "etc/sysconfig/network-scripts/ifcfg-eth0",
                );
                assert_eq!(
                    fs.symlink_metadata(&p("tmp/scratch.bin"))
                        .expect("tmp")
                        .size,
                    64 << 20
                );
                let conf_d: Vec<_> = fs
                    .read_dir(&p("etc/NetworkManager/conf.d"))
                    .expect("conf.d")
                    .into_iter()
                    .map(|e| e.name)
                    .collect();
                assert_eq!(
                    conf_d,
                    // Sorted by bytes: ESC (0x1b) before '9'.
                    [
                        OsStr::from_bytes(b"\x1b[31mred.conf"),
                        OsStr::new("90-dns.conf"),
                    ]
                );
                let link = "etc/systemd/system/multi-user.target.wants/amazon-ssm-agent.service";
                assert_eq!(
                    fs.symlink_metadata(&p(link)).expect(link).kind,
                    NodeKind::Symlink
                );
                for artifact in [
                    "var/aws/emr",
                    "usr/lib/instance-controller",
                    "usr/share/aws/emr",
                ] {
                    fs.symlink_metadata(&p(artifact)).expect(artifact);
                }
            }
        }
        match open_root(disk("snap-0a12023c1ea400001")) {
            Err(error) => panic!("{error}"),
            Ok((fs, _)) => {
                let fs = fs.as_ref();
                assert!(text_of(fs, "etc/os-release").contains("VERSION_ID=\"2023\""));
                let wants = "etc/systemd/system/multi-user.target.wants/amazon-ssm-agent.service";
                assert!(
                    fs.symlink_metadata(&p(wants))
                        .expect_err("not enabled")
                        .is_absent()
                );
                assert!(
                    fs.metadata(&p("etc/resolv.conf"))
                        .expect_err("dangling")
                        .is_absent()
                );
            }
        }
    }

    /// A disk with some bytes changed.
    struct Mutated {
        disk: Arc<SparseDisk>,
        changes: Vec<(u64, u8)>,
    }

    impl Disk for Mutated {
        fn size(&self) -> u64 {
            self.disk.size()
        }

        fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
            self.disk.read_at(offset, buf)?;
            for (at, xor) in &self.changes {
                if let Some(i) = at.checked_sub(offset).filter(|i| *i < buf.len() as u64) {
                    buf[i as usize] ^= xor;
                }
            }
            Ok(())
        }
    }

    /// The recorded blocks of a snapshot: (first byte, bytes held), where its metadata is.
    fn recorded(snapshot: &str) -> Vec<(u64, u64)> {
        let mut blocks: Vec<(u64, u64)> = std::fs::read_dir(ebs(snapshot))
            .expect("dir")
            .filter_map(|e| {
                let path = e.expect("entry").path();
                let index: u64 = path.file_stem()?.to_str()?.parse().ok()?;
                Some((index * 512 * 1024, std::fs::metadata(&path).ok()?.len()))
            })
            .collect();
        blocks.sort();
        blocks
    }

    /// Open, list and read a little, walking at most a few hundred entries; the point is that it ends.
    fn exercise(fs: &dyn ImageFs) {
        let _ = fs.read_file(&p("etc/passwd"), 1 << 20);
        let _ = fs.read_file(&p("etc/escape"), 1 << 20);
        let _ = fs.metadata(&p("etc/rc3.d/S50amazon-ssm-agent"));
        let _ = fs.read_link(&p("etc/loop-a"));
        let mut pending = vec![ImagePath::root()];
        let mut budget = 300usize;
        while let Some(dir) = pending.pop() {
            let Ok(entries) = fs.read_dir(&dir) else {
                continue;
            };
            for entry in entries {
                budget = budget.saturating_sub(1);
                if budget == 0 {
                    return;
                }
                let path = dir.join(&entry.name);
                match entry.node.map(|n| n.kind) {
                    Ok(NodeKind::Dir) if path.depth() < 8 => pending.push(path),
                    Ok(NodeKind::File) => {
                        let _ = fs.read_file(&path, 1 << 16);
                    }
                    Ok(NodeKind::Symlink) => {
                        let _ = fs.metadata(&path);
                    }
                    _ => {}
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        /// Changed bytes in the partition table and the ext4 metadata never panic or hang reading.
        #[test]
        fn corrupted_images_are_read_without_panicking(
            ext3 in any::<bool>(),
            picks in prop::collection::vec(
                (any::<prop::sample::Index>(), any::<prop::sample::Index>(), 1u8..=255),
                1..48,
            ),
            table_bytes in prop::collection::vec((0u64..17408, 1u8..=255), 0..8),
            fs_head in prop::collection::vec((0u64..(1 << 19), 1u8..=255), 0..16),
        ) {
            // The AL1 image (ext4 with metadata checksums, on an MBR) or the bare ext3 one (no
            // checksums: changed bytes reach the parsing itself).
            let snapshot = if ext3 { "snap-0c1ea4e3000000005" } else { "snap-0a1ba0d0e40000003" };
            let blocks = recorded(snapshot);
            let mut changes: Vec<(u64, u8)> = table_bytes;
            // The filesystem's first 512 KiB: superblock, group descriptors, the first inodes.
            let fs_start = if ext3 { 0 } else { 1 << 20 };
            changes.extend(fs_head.into_iter().map(|(at, xor)| (fs_start + at, xor)));
            for (block, within, xor) in picks {
                let (start, len) = blocks[block.index(blocks.len())];
                changes.push((start + within.index(len.max(1) as usize) as u64, xor));
            }
            let disk = Arc::new(Mutated { disk: disk(snapshot), changes });
            if let Ok((fs, _)) = open_root(disk) {
                exercise(fs.as_ref());
            }
        }
    }

    #[test]
    fn filesystems_fstab_mounts_elsewhere_are_said_not_taken_as_absent() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("etc")).expect("mkdir");
        std::fs::write(
            dir.path().join("etc/fstab"),
            "# a CIS-style layout\nUUID=r / xfs defaults 0 0\nUUID=e /boot/efi vfat defaults 0 2\n\
             UUID=v /var xfs defaults,nodev 0 0\ntmpfs /tmp tmpfs defaults 0 0\n/dev/xvdb none swap sw 0 0\n\
             LABEL=\x1bh /home ext4 defaults 0 0\n",
        )
        .expect("fstab");
        let fs = crate::rootfs::HostFs::open(dir.path()).expect("open");
        let said = separate_mounts(&fs);
        assert_eq!(said.len(), 2, "{said:?}");
        assert!(
            said[0].starts_with("/etc/fstab mounts UUID=v on /var (xfs)"),
            "{said:?}"
        );
        assert!(said[1].contains("LABEL=\\eh on /home"), "{said:?}");
        // Without an fstab, nothing to say.
        let empty = tempfile::tempdir().expect("temp dir");
        let fs = crate::rootfs::HostFs::open(empty.path()).expect("open");
        assert!(separate_mounts(&fs).is_empty());
    }
}
