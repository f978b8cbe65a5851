//! EMR release labels (`emr-6.15.0`): parsing and ordering, and [`TABLE`], the one place that says
//! what a release needs and supports. Rules ask the release (through [`Release::facts`] and the
//! helpers below, which only read the table); no rule compares version numbers itself.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// An EMR release label such as `emr-7.1.0`. Ordered by version number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Release {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

/// The Amazon Linux generation an EMR release is built on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum RequiredLinux {
    /// Amazon Linux (AL1): releases before 5.30.0.
    AmazonLinux1,
    /// Amazon Linux 2: 5.30.0 and later 5.x, and 6.x.
    AmazonLinux2,
    /// Amazon Linux 2023: 7.x.
    AmazonLinux2023,
}

/// How the root volume of a release's instances can be encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RootEncryption {
    /// No custom AMI, so no encrypted root volume of one's own (before 5.7.0).
    None,
    /// Only through an encrypted custom AMI (5.7.0 to 5.23.x).
    CustomAmiOnly,
    /// An encrypted custom AMI, or a security configuration's local disk encryption (5.24.0 on).
    CustomAmiOrSecurityConfiguration,
}

const CUSTOM_AMI_PAGE: &str =
    "https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-custom-ami.html";
const ROOT_VOLUME_PAGE: &str =
    "https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-custom-ami-root-volume-size.html";
const IMDS_PAGE: &str =
    "https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-create-security-configuration.html";
const INSTANCE_TYPES_PAGE: &str =
    "https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-supported-instance-types.html";
const LOCAL_DISK_PAGE: &str =
    "https://docs.aws.amazon.com/emr/latest/ManagementGuide/emr-data-encryption-options.html";

/// The pages every row rests on: generation and custom AMI support, root volume, IMDS, Graviton,
/// root-volume encryption.
const SOURCES: &[&str] = &[
    CUSTOM_AMI_PAGE,
    ROOT_VOLUME_PAGE,
    IMDS_PAGE,
    INSTANCE_TYPES_PAGE,
    LOCAL_DISK_PAGE,
];

/// What EMR documents for the releases `from` (inclusive) to `until` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReleaseRow {
    #[serde(serialize_with = "label")]
    pub from: Release,
    #[serde(serialize_with = "label")]
    pub until: Release,
    /// Whether the release takes a custom AMI at all.
    pub custom_ami: bool,
    pub linux: RequiredLinux,
    /// The kernel lines (`6.1`) an Amazon Linux base must use; empty when EMR documents no limit.
    pub kernel_lines: &'static [&'static str],
    /// The root volume EMR attaches when `EbsRootVolumeSize` is not set, and the smallest a custom
    /// AMI's root may be.
    pub default_root_gib: i32,
    /// Whether instances with IMDSv1 turned off (an AMI registered with `ImdsSupport v2.0`) start.
    pub imdsv2_only: bool,
    /// Whether any Graviton (arm64) instance type runs the release.
    pub graviton: bool,
    pub root_encryption: RootEncryption,
    /// The AWS pages the row's facts come from.
    pub sources: &'static [&'static str],
    /// What the row can't say for sure, or why it is split where it is.
    pub note: &'static str,
}

fn label<S: serde::Serializer>(release: &Release, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&release.label())
}

/// The largest root volume EMR accepts in `EbsRootVolumeSize`, in GiB ("You can adjust this up to
/// 100 GiB", Customizing the Amazon EBS root device volume).
pub const MAX_ROOT_VOLUME_GIB: i32 = 100;

/// The page that says so.
pub const ROOT_VOLUME_DOC: &str = ROOT_VOLUME_PAGE;

const fn r(major: u32, minor: u32, patch: u32) -> Release {
    Release::new(major, minor, patch)
}

const AL1: RequiredLinux = RequiredLinux::AmazonLinux1;
const AL2: RequiredLinux = RequiredLinux::AmazonLinux2;
const AL2023: RequiredLinux = RequiredLinux::AmazonLinux2023;
const ONLY_AMI: RootEncryption = RootEncryption::CustomAmiOnly;
const AMI_OR_CONFIG: RootEncryption = RootEncryption::CustomAmiOrSecurityConfiguration;

/// Every release EMR has published, in contiguous, ordered ranges: a new row starts wherever one of
/// the facts changes. Release labels begin at emr-4.0.0; a release at or after the last row's
/// `until` is one this tool does not know (EA001 warns, and what depends on the release is not
/// judged rather than guessed from the newest row).
#[rustfmt::skip]
pub const TABLE: &[ReleaseRow] = &[
    row(r(4, 0, 0), r(5, 7, 0), false, AL1, 10, false, false, RootEncryption::None,
        "custom AMIs start at 5.7.0; nothing else is judged for these releases"),
    row(r(5, 7, 0), r(5, 23, 1), true, AL1, 10, false, false, ONLY_AMI, ""),
    row(r(5, 23, 1), r(5, 23, 2), true, AL1, 10, true, false, ONLY_AMI,
        "5.23.1 alone of 5.23.x supports IMDSv2-only instances"),
    row(r(5, 23, 2), r(5, 24, 0), true, AL1, 10, false, false, ONLY_AMI, ""),
    row(r(5, 24, 0), r(5, 27, 1), true, AL1, 10, false, false, AMI_OR_CONFIG, ""),
    row(r(5, 27, 1), r(5, 27, 2), true, AL1, 10, true, false, AMI_OR_CONFIG,
        "5.27.1 alone of 5.27.x supports IMDSv2-only instances"),
    row(r(5, 27, 2), r(5, 30, 0), true, AL1, 10, false, false, AMI_OR_CONFIG, ""),
    row(r(5, 30, 0), r(5, 31, 0), true, AL2, 10, false, false, AMI_OR_CONFIG, ""),
    row(r(5, 31, 0), r(5, 32, 0), true, AL2, 10, false, true, AMI_OR_CONFIG, ""),
    row(r(5, 32, 0), r(6, 0, 0), true, AL2, 10, true, true, AMI_OR_CONFIG, ""),
    row(r(6, 0, 0), r(6, 1, 0), true, AL2, 10, false, false, AMI_OR_CONFIG, ""),
    row(r(6, 1, 0), r(6, 2, 0), true, AL2, 10, false, true, AMI_OR_CONFIG, ""),
    row(r(6, 2, 0), r(6, 10, 0), true, AL2, 10, true, true, AMI_OR_CONFIG, ""),
    row(r(6, 10, 0), r(7, 0, 0), true, AL2, 15, true, true, AMI_OR_CONFIG, ""),
    ReleaseRow {
        kernel_lines: &["6.1"],
        ..row(r(7, 0, 0), r(8, 0, 0), true, AL2023, 15, true, true, AMI_OR_CONFIG,
            "AL2023 with the 6.1 kernel line: AWS documents provisioning failures with other kernels. \
             Amazon Linux 2023 now also ships 6.12 and 6.18 kernel AMIs; no AWS page found says a 7.x \
             release accepts them, so only 6.1 is accepted until one does")
    },
];

#[allow(clippy::too_many_arguments)]
const fn row(
    from: Release,
    until: Release,
    custom_ami: bool,
    linux: RequiredLinux,
    default_root_gib: i32,
    imdsv2_only: bool,
    graviton: bool,
    root_encryption: RootEncryption,
    note: &'static str,
) -> ReleaseRow {
    ReleaseRow {
        from,
        until,
        custom_ami,
        linux,
        kernel_lines: &[],
        default_root_gib,
        imdsv2_only,
        graviton,
        root_encryption,
        sources: SOURCES,
        note,
    }
}

/// The releases from which a fact holds again after not holding: each row's start where `holds` turns
/// true (for Graviton: emr-5.31.0 and emr-6.1.0). For messages that name the boundaries.
pub fn starts_of(holds: fn(&ReleaseRow) -> bool) -> Vec<Release> {
    let mut before = false;
    let mut starts = Vec::new();
    for row in TABLE {
        let now = holds(row);
        if now && !before {
            starts.push(row.from);
        }
        before = now;
    }
    starts
}

/// The first release the table does not cover.
pub fn table_end() -> Release {
    TABLE.last().map(|row| row.until).unwrap_or(r(0, 0, 0))
}

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

    /// The table's row for the release; `None` before the first row (no such release label) or at or
    /// after the table's end (a release this tool doesn't know).
    pub fn facts(&self) -> Option<&'static ReleaseRow> {
        TABLE
            .iter()
            .find(|row| row.from <= *self && *self < row.until)
    }

    /// Whether the release is past the table: a newer release than this tool knows.
    pub fn is_beyond_table(&self) -> bool {
        *self >= table_end()
    }

    pub fn supports_custom_ami(&self) -> Option<bool> {
        self.facts().map(|row| row.custom_ami)
    }

    /// The Amazon Linux generation the release is built on; `None` for a release the table doesn't
    /// have.
    pub fn required_linux(&self) -> Option<RequiredLinux> {
        self.facts().map(|row| row.linux)
    }

    /// The kernel lines an Amazon Linux base must use; `Some(&[])` when EMR documents no limit.
    pub fn kernel_lines(&self) -> Option<&'static [&'static str]> {
        self.facts().map(|row| row.kernel_lines)
    }

    /// Default (and minimum) root volume in GiB: 10 up to 6.9, 15 from 6.10 on.
    pub fn default_root_volume_gib(&self) -> Option<i32> {
        self.facts().map(|row| row.default_root_gib)
    }

    /// Whether instances whose IMDSv1 is turned off start (EMR security configuration docs).
    pub fn supports_imdsv2_only(&self) -> Option<bool> {
        self.facts().map(|row| row.imdsv2_only)
    }

    /// Whether any Graviton (arm64) instance type runs the release.
    pub fn supports_graviton(&self) -> Option<bool> {
        self.facts().map(|row| row.graviton)
    }

    /// Whether a security configuration can encrypt the root volume (else only an encrypted AMI can).
    pub fn has_local_disk_encryption(&self) -> Option<bool> {
        self.facts()
            .map(|row| row.root_encryption == RootEncryption::CustomAmiOrSecurityConfiguration)
    }
}

impl fmt::Display for RootEncryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RootEncryption::None => "none (no custom AMI)",
            RootEncryption::CustomAmiOnly => "encrypted custom AMI only",
            RootEncryption::CustomAmiOrSecurityConfiguration => {
                "encrypted custom AMI or security configuration"
            }
        })
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

/// `--release all` or a glob (`emr-6.*`): which of EMR's release labels the release matrix judges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleasePattern(String);

impl ReleasePattern {
    /// Whether `--release` was given a pattern rather than one label.
    pub fn is_pattern(text: &str) -> bool {
        text == "all" || text.contains('*')
    }

    /// `all` is `emr-*`; else `emr-` then digits, dots and `*` only, with at least one `*`.
    pub fn parse(text: &str) -> Option<ReleasePattern> {
        if text == "all" {
            return Some(ReleasePattern("emr-*".into()));
        }
        let rest = text.strip_prefix("emr-")?;
        let valid = text.len() <= 24
            && rest.contains('*')
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'*');
        valid.then(|| ReleasePattern(text.to_string()))
    }

    /// Whether `label` matches (`*` stands for any run of characters, also none).
    pub fn matches(&self, label: &str) -> bool {
        glob(self.0.as_bytes(), label.as_bytes())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Glob match with `*` only, iteratively (no recursion to blow up on `***…`).
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|b| *b == b'*')
}

/// The release table rendered for `emr-ami-audit releases`: a table for people, and JSON.
pub mod table {
    use comfy_table::presets::UTF8_FULL_CONDENSED;
    use comfy_table::{ContentArrangement, Table};

    use super::{RootEncryption, TABLE};

    fn yes_no(value: bool) -> &'static str {
        if value { "yes" } else { "no" }
    }

    /// One line per row, then the sources and notes (too long for a cell) numbered below it.
    pub fn text() -> String {
        let mut table = Table::new();
        table.load_preset(UTF8_FULL_CONDENSED);
        table.set_content_arrangement(ContentArrangement::Dynamic);
        table.set_header([
            "Releases",
            "Custom AMI",
            "Amazon Linux",
            "Kernels",
            "Default root",
            "IMDSv2-only",
            "Graviton",
            "Root encryption",
            "Note",
        ]);
        let mut notes = Vec::new();
        for row in TABLE {
            let note = if row.note.is_empty() {
                String::new()
            } else {
                notes.push(row.note);
                format!("[{}]", notes.len())
            };
            let encryption = match row.root_encryption {
                RootEncryption::None => "-",
                RootEncryption::CustomAmiOnly => "AMI only",
                RootEncryption::CustomAmiOrSecurityConfiguration => "AMI or security config",
            };
            table.add_row(vec![
                format!("{} – before {}", row.from, row.until),
                yes_no(row.custom_ami).to_string(),
                row.linux.to_string(),
                if row.kernel_lines.is_empty() {
                    "any".to_string()
                } else {
                    row.kernel_lines.join(", ")
                },
                format!("{} GiB", row.default_root_gib),
                yes_no(row.imdsv2_only).to_string(),
                yes_no(row.graviton).to_string(),
                encryption.to_string(),
                note,
            ]);
        }
        let mut out = format!("{table}\n");
        for (n, note) in notes.iter().enumerate() {
            out.push_str(&format!("[{}] {note}\n", n + 1));
        }
        out.push_str(&format!(
            "Largest root volume EMR takes (EbsRootVolumeSize): {} GiB.\nReleases from {} on are not in the table: EA001 warns and what depends on the release is not judged.\nSources (every row):\n",
            super::MAX_ROOT_VOLUME_GIB,
            super::table_end()
        ));
        let mut sources: Vec<&str> = Vec::new();
        for source in TABLE.iter().flat_map(|row| row.sources.iter().copied()) {
            if !sources.contains(&source) {
                sources.push(source);
            }
        }
        for source in sources {
            out.push_str(&format!("  {source}\n"));
        }
        out
    }

    /// Every row with every field, as a pretty-printed JSON array.
    pub fn json() -> String {
        serde_json::to_string_pretty(TABLE).unwrap_or_default() + "\n"
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
        assert!(r("emr-8.0.0").is_beyond_table());
        assert!(!r("emr-7.12.0").is_beyond_table());
        assert!(r("emr-4.9.0").facts().is_some());
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
            assert_eq!(r(ok).supports_imdsv2_only(), Some(true), "{ok}");
        }
        for no in [
            "emr-5.23.0",
            "emr-5.27.0",
            "emr-5.23.2",
            "emr-5.27.2",
            "emr-5.31.0",
            "emr-6.0.0",
            "emr-6.1.1",
        ] {
            assert_eq!(r(no).supports_imdsv2_only(), Some(false), "{no}");
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
        assert_eq!(r("emr-6.9.0").default_root_volume_gib(), Some(10));
        assert_eq!(r("emr-6.10.0").default_root_volume_gib(), Some(15));
        assert_eq!(r("emr-7.1.0").default_root_volume_gib(), Some(15));
        assert_eq!(r("emr-8.0.0").default_root_volume_gib(), None);
    }

    #[test]
    fn custom_ami_and_encryption_by_release() {
        assert_eq!(r("emr-5.6.0").supports_custom_ami(), Some(false));
        assert_eq!(r("emr-5.7.0").supports_custom_ami(), Some(true));
        assert_eq!(r("emr-3.0.0").supports_custom_ami(), None);
        assert_eq!(r("emr-5.23.0").has_local_disk_encryption(), Some(false));
        assert_eq!(r("emr-5.24.0").has_local_disk_encryption(), Some(true));
    }

    #[test]
    fn kernel_lines_by_release() {
        assert_eq!(r("emr-7.0.0").kernel_lines(), Some(&["6.1"][..]));
        assert_eq!(r("emr-7.12.0").kernel_lines(), Some(&["6.1"][..]));
        assert_eq!(r("emr-6.15.0").kernel_lines(), Some(&[][..]));
        assert_eq!(r("emr-8.0.0").kernel_lines(), None);
    }

    /// The rows follow each other with no gap or overlap, each cites its pages, and the table ends
    /// where the releases this tool knows end.
    #[test]
    fn release_patterns() {
        let all = ReleasePattern::parse("all").expect("all");
        assert!(all.matches("emr-7.1.0") && all.matches("emr-5.7.0"));
        let six = ReleasePattern::parse("emr-6.*").expect("emr-6.*");
        assert!(six.matches("emr-6.15.0") && six.matches("emr-6.1.0"));
        assert!(!six.matches("emr-7.1.0") && !six.matches("emr-16.0.0"));
        let tens = ReleasePattern::parse("emr-6.1*.0").expect("emr-6.1*.0");
        assert!(
            tens.matches("emr-6.10.0") && tens.matches("emr-6.1.0") && !tens.matches("emr-6.2.0")
        );
        for bad in ["emr-6.15.0", "6.*", "emr-a*", "emr-6.*;", "", "emr-6.*/x"] {
            assert_eq!(ReleasePattern::parse(bad), None, "{bad}");
        }
        assert!(ReleasePattern::is_pattern("all") && ReleasePattern::is_pattern("emr-6.*"));
        assert!(!ReleasePattern::is_pattern("emr-6.15.0"));
    }

    #[test]
    fn boundaries_of_a_fact() {
        assert_eq!(
            starts_of(|row| row.graviton),
            [r("emr-5.31.0"), r("emr-6.1.0")]
        );
    }

    #[test]
    fn table_is_contiguous_and_cited() {
        for pair in TABLE.windows(2) {
            assert_eq!(pair[0].until, pair[1].from, "{:?}", pair[1]);
        }
        for row in TABLE {
            assert!(row.from < row.until, "{row:?}");
            assert!(!row.sources.is_empty(), "{row:?}");
            assert!(
                row.sources
                    .iter()
                    .all(|s| s.starts_with("https://docs.aws.amazon.com/"))
            );
        }
        assert_eq!(table_end(), r("emr-8.0.0"));
    }
}
