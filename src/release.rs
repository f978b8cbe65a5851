//! EMR release labels (`emr-6.15.0`): parsing, ordering and the facts that depend on the release.

use std::fmt;
use std::str::FromStr;

/// An EMR release label such as `emr-7.1.0`. Ordered by version number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Release {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

/// The Amazon Linux generation an EMR release is built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequiredLinux {
    /// Amazon Linux (AL1): releases before 5.30.0.
    AmazonLinux1,
    /// Amazon Linux 2: 5.30.0 and later 5.x, and 6.x.
    AmazonLinux2,
    /// Amazon Linux 2023 with the 6.1 kernel line: 7.x.
    AmazonLinux2023,
}

/// The release lines this tool knows (emr-4.x to emr-7.x). A later line may need another Amazon Linux
/// generation or kernel: rules that depend on the line don't guess from the newest one they know.
pub const KNOWN_LINES: std::ops::RangeInclusive<u32> = 4..=7;

impl Release {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        Release {
            major,
            minor,
            patch,
        }
    }

    /// The label as EMR writes it.
    pub fn label(&self) -> String {
        self.to_string()
    }

    pub fn supports_custom_ami(&self) -> bool {
        *self >= Release::new(5, 7, 0)
    }

    /// Whether the release's line (its major version) is one this tool knows.
    pub fn is_known_line(&self) -> bool {
        KNOWN_LINES.contains(&self.major)
    }

    /// The Amazon Linux generation the release is built on; `None` for a line this tool doesn't know.
    pub fn required_linux(&self) -> Option<RequiredLinux> {
        match self.major {
            7 => Some(RequiredLinux::AmazonLinux2023),
            _ if !self.is_known_line() => None,
            _ if *self >= Release::new(5, 30, 0) => Some(RequiredLinux::AmazonLinux2),
            _ => Some(RequiredLinux::AmazonLinux1),
        }
    }

    /// Minimum root volume in GiB: 10 up to 6.9, 15 from 6.10 on.
    pub fn min_root_volume_gib(&self) -> i32 {
        if *self >= Release::new(6, 10, 0) {
            15
        } else {
            10
        }
    }

    /// Releases that work with instances whose IMDSv1 is turned off
    /// (EMR security configuration docs: 5.23.1, 5.27.1, 5.32.0+ and 6.2.0+).
    pub fn supports_imdsv2_only(&self) -> bool {
        *self == Release::new(5, 23, 1)
            || *self == Release::new(5, 27, 1)
            || (*self >= Release::new(5, 32, 0) && self.major == 5)
            || *self >= Release::new(6, 2, 0)
    }

    /// Whether any Graviton (arm64) instance type runs the release: 5.31.0 and later 5.x, 6.1.0 and
    /// later (EMR's supported instance types page); `None` for a line this tool doesn't know.
    pub fn supports_graviton(&self) -> Option<bool> {
        match self.major {
            _ if !self.is_known_line() => None,
            5 => Some(*self >= Release::new(5, 31, 0)),
            6 => Some(*self >= Release::new(6, 1, 0)),
            major => Some(major > 6),
        }
    }

    /// Before 5.24.0 an encrypted custom AMI was the only way to encrypt the root volume.
    pub fn has_local_disk_encryption(&self) -> bool {
        *self >= Release::new(5, 24, 0)
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "emr-{}.{}.{}", self.major, self.minor, self.patch)
    }
}

impl fmt::Display for RequiredLinux {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RequiredLinux::AmazonLinux1 => "Amazon Linux (AL1)",
            RequiredLinux::AmazonLinux2 => "Amazon Linux 2",
            RequiredLinux::AmazonLinux2023 => "Amazon Linux 2023",
        })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid EMR release label '{0}': expected emr-MAJOR.MINOR.PATCH, e.g. emr-7.1.0")]
pub struct ReleaseParseError(pub String);

impl FromStr for Release {
    type Err = ReleaseParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ReleaseParseError(s.to_string());
        let version = s.strip_prefix("emr-").ok_or_else(err)?;
        let parts: Vec<&str> = version.split('.').collect();
        if parts.len() != 3 {
            return Err(err());
        }
        let mut numbers = [0u32; 3];
        for (slot, part) in numbers.iter_mut().zip(&parts) {
            // Only plain decimal digits: `u32::from_str` would also take a leading `+`; and no leading
            // zeros, which EMR never writes (`emr-07.1.0` would otherwise read as emr-7.1.0).
            if part.is_empty()
                || part.len() > 4
                || !part.bytes().all(|b| b.is_ascii_digit())
                || (part.len() > 1 && part.starts_with('0'))
            {
                return Err(err());
            }
            *slot = part.parse().map_err(|_| err())?;
        }
        Ok(Release::new(numbers[0], numbers[1], numbers[2]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Release {
        s.parse().expect("valid label")
    }

    #[test]
    fn parses_and_orders_labels() {
        assert_eq!(r("emr-6.15.0"), Release::new(6, 15, 0));
        assert!(r("emr-6.10.0") > r("emr-6.9.1"));
        assert!(r("emr-5.30.0") > r("emr-5.29.0"));
        assert_eq!(r("emr-7.1.0").to_string(), "emr-7.1.0");
    }

    #[test]
    fn rejects_malformed_labels() {
        for bad in [
            "6.15.0",
            "emr-6.15",
            "emr-6.x.0",
            "emr-6.15.0.1",
            "emr--1.0.0",
            "emr-+6.1.0",
            "EMR-6.1.0",
            "emr-07.1.0",
            "emr-7.01.0",
            "emr-7.1.00",
            "",
        ] {
            assert!(bad.parse::<Release>().is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn linux_generation_by_release() {
        let linux = |label: &str| r(label).required_linux();
        assert_eq!(linux("emr-5.29.0"), Some(RequiredLinux::AmazonLinux1));
        assert_eq!(linux("emr-5.30.0"), Some(RequiredLinux::AmazonLinux2));
        assert_eq!(linux("emr-6.15.0"), Some(RequiredLinux::AmazonLinux2));
        assert_eq!(linux("emr-7.0.0"), Some(RequiredLinux::AmazonLinux2023));
        assert_eq!(linux("emr-7.12.0"), Some(RequiredLinux::AmazonLinux2023));
        // A line the tool doesn't know is not judged as the newest one it knows.
        assert_eq!(linux("emr-8.0.0"), None);
        assert_eq!(linux("emr-9.1.0"), None);
        assert!(!r("emr-8.0.0").is_known_line());
        assert!(r("emr-4.9.0").is_known_line());
    }

    #[test]
    fn imdsv2_support_by_release() {
        for ok in [
            "emr-5.23.1",
            "emr-5.27.1",
            "emr-5.32.0",
            "emr-5.36.2",
            "emr-6.2.0",
            "emr-7.1.0",
        ] {
            assert!(r(ok).supports_imdsv2_only(), "{ok}");
        }
        for no in [
            "emr-5.23.0",
            "emr-5.27.0",
            "emr-5.31.0",
            "emr-6.0.0",
            "emr-6.1.1",
        ] {
            assert!(!r(no).supports_imdsv2_only(), "{no}");
        }
    }

    #[test]
    fn graviton_support_by_release() {
        for yes in [
            "emr-5.31.0",
            "emr-5.36.2",
            "emr-6.1.0",
            "emr-6.15.0",
            "emr-7.0.0",
        ] {
            assert_eq!(r(yes).supports_graviton(), Some(true), "{yes}");
        }
        for no in ["emr-5.30.1", "emr-6.0.0", "emr-4.9.0"] {
            assert_eq!(r(no).supports_graviton(), Some(false), "{no}");
        }
        assert_eq!(r("emr-8.0.0").supports_graviton(), None);
    }

    #[test]
    fn root_volume_minimum_by_release() {
        assert_eq!(r("emr-6.9.0").min_root_volume_gib(), 10);
        assert_eq!(r("emr-6.10.0").min_root_volume_gib(), 15);
        assert_eq!(r("emr-7.1.0").min_root_volume_gib(), 15);
    }
}
