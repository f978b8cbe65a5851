//! Checks of user input before any call is made, each with a one-line message naming the bad value.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InputError {
    #[error("invalid AMI ID '{0}': expected ami- followed by 8 or 17 hex digits")]
    ImageId(String),
    #[error("invalid account ID '{0}': expected 12 digits")]
    Account(String),
    #[error(
        "invalid --role-arn '{0}': it must contain {{account}}, which stands for each account's ID"
    )]
    RoleArnTemplate(String),
    #[error(
        "--record records one account at a time: run it without --accounts, with that account's credentials"
    )]
    RecordManyAccounts,
    #[error("--accounts '{0}' names no account")]
    NoAccounts(String),
    #[error(
        "--accounts org lists the organization's accounts: give it alone, without account IDs (got '{0}')"
    )]
    OrgWithAccounts(String),
    #[error("--ou restricts --accounts org: give --accounts org with it")]
    OuWithoutOrg,
    #[error(
        "invalid organizational unit ID '{0}': expected ou- followed by 4 to 32 lower-case letters or digits, '-', and 8 to 32 more"
    )]
    OrganizationalUnit(String),
    #[error(
        "{0} to one region: give one --region (several regions and --all-regions are for `cluster` scans)"
    )]
    OneRegion(String),
    #[error("invalid instance type '{0}': expected FAMILY.SIZE, e.g. m5.xlarge")]
    InstanceType(String),
    #[error("invalid application name '{0}': expected letters, digits, '-' or '_'")]
    Application(String),
    #[error("invalid region '{0}': expected a region name such as us-east-1")]
    Region(String),
    #[error("invalid --now '{0}': expected an RFC 3339 time such as 2026-01-01T00:00:00Z")]
    Now(String),
    #[error(
        "invalid cluster ID '{0}': expected j- followed by 8 to 14 upper-case letters and digits"
    )]
    ClusterId(String),
    #[error("invalid cluster state '{0}': expected one of {STATES}")]
    ClusterState(String),
    #[error("invalid date '{0}': expected YYYY-MM-DD or an RFC 3339 time")]
    Date(String),
    #[error(
        "invalid size '{0}': expected a number of bytes with an optional unit (KiB, MiB, GiB, K, M, G)"
    )]
    Size(String),
    #[error("--rootfs checks one AMI's files: give exactly one AMI ID (got {0})")]
    RootfsWithManyImages(usize),
    #[error("--max-relocated {0}: only with --rootfs or --contents, which read the AMI's files")]
    RelocatedWithoutFiles(String),
    #[error("invalid snapshot ID '{0}': expected snap- followed by 8 or 17 hexadecimal digits")]
    SnapshotId(String),
    #[error("root filesystem '{0}' is not a directory")]
    Root(String),
    #[error("no EMR release: give --release emr-X.Y.Z, or release in the config's [defaults]")]
    MissingRelease,
    #[error(
        "invalid release pattern '{0}': expected all, or emr- followed by digits, dots and * (e.g. 'emr-6.*')"
    )]
    ReleasePattern(String),
    #[error("--release {0} (the release matrix) takes AMI IDs only: {1} is not supported with it")]
    MatrixWith(String, &'static str),
    #[error(
        "invalid duration '{0}': expected a whole number with a unit, s, m or h (e.g. 90s, 30m, 1h), from 1s to 24h"
    )]
    Duration(String),
    #[error("invalid fault rate '{0}': expected a number from 0 to 1")]
    FaultRate(String),
}

pub fn fault_rate(rate: f64) -> Result<f64, InputError> {
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(InputError::FaultRate(rate.to_string()))
    }
}

/// `500MiB` → (500, "MiB"): leading decimal digits and what follows them.
fn number_and_unit(text: &str) -> Option<(u64, &str)> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    Some((number.parse().ok()?, unit))
}

/// `90s`, `30m`, `1h` (a number alone is seconds), from one second to a day.
pub fn duration(text: &str) -> Result<std::time::Duration, InputError> {
    let err = || InputError::Duration(text.to_string());
    let (number, unit) = number_and_unit(text).ok_or_else(err)?;
    let factor = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(err()),
    };
    let seconds = number.checked_mul(factor).ok_or_else(err)?;
    if (1..=24 * 3600).contains(&seconds) {
        Ok(std::time::Duration::from_secs(seconds))
    } else {
        Err(err())
    }
}

/// `1GiB`, `500MiB`, `2G`, `1048576`.
pub fn size(text: &str) -> Result<u64, InputError> {
    let err = || InputError::Size(text.to_string());
    let (number, unit) = number_and_unit(text).ok_or_else(err)?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(err()),
    };
    number.checked_mul(factor).ok_or_else(err)
}

const STATES: &str =
    "STARTING, BOOTSTRAPPING, RUNNING, WAITING, TERMINATING, TERMINATED, TERMINATED_WITH_ERRORS";

pub fn cluster_id(id: &str) -> Result<(), InputError> {
    let rest = id.strip_prefix("j-").unwrap_or("");
    let ok = (8..=14).contains(&rest.len())
        && rest
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(InputError::ClusterId(id.to_string()))
    }
}

/// A cluster state, upper-cased (`running` → `RUNNING`).
pub fn cluster_state(state: &str) -> Result<String, InputError> {
    let upper = state.to_ascii_uppercase();
    if STATES.split(", ").any(|s| s == upper) {
        Ok(upper)
    } else {
        Err(InputError::ClusterState(state.to_string()))
    }
}

/// `2024-11-01` (midnight UTC) or an RFC 3339 time.
pub fn date(text: &str) -> Result<chrono::DateTime<chrono::Utc>, InputError> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .ok_or_else(|| InputError::Date(text.to_string()))
}

/// Whether `id` is a snapshot ID: `snap-` and 8 or 17 lower-case hex digits. Only these name the folders
/// of recorded snapshots, so one from an answer can't name a path.
pub fn is_snapshot_id(id: &str) -> bool {
    id.strip_prefix("snap-").is_some_and(|hex| {
        matches!(hex.len(), 8 | 17)
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

pub fn snapshot_id(id: &str) -> Result<(), InputError> {
    if is_snapshot_id(id) {
        Ok(())
    } else {
        Err(InputError::SnapshotId(id.to_string()))
    }
}

pub fn image_id(id: &str) -> Result<(), InputError> {
    let hex = id.strip_prefix("ami-").unwrap_or("");
    let ok = matches!(hex.len(), 8 | 17)
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if ok {
        Ok(())
    } else {
        Err(InputError::ImageId(id.to_string()))
    }
}

pub fn account(id: &str) -> Result<(), InputError> {
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(InputError::Account(id.to_string()))
    }
}

/// An organizational unit ID: `^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$` (the Organizations API's pattern).
pub fn organizational_unit(id: &str) -> Result<(), InputError> {
    let part = |p: &str, min: usize| {
        (min..=32).contains(&p.len())
            && p.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
    };
    let valid = id
        .strip_prefix("ou-")
        .and_then(|rest| rest.split_once('-'))
        .is_some_and(|(root, unit)| part(root, 4) && part(unit, 8));
    if valid {
        Ok(())
    } else {
        Err(InputError::OrganizationalUnit(id.to_string()))
    }
}

/// `m5.xlarge`, `m7i-flex.large`, `u-6tb1.metal`, `mac2-m2pro.metal`.
pub fn instance_type(name: &str) -> Result<(), InputError> {
    let valid_part = |p: &str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !p.starts_with('-')
            && !p.ends_with('-')
    };
    match name.split_once('.') {
        Some((family, size))
            if valid_part(family)
                && valid_part(size)
                && family.as_bytes()[0].is_ascii_lowercase() =>
        {
            Ok(())
        }
        _ => Err(InputError::InstanceType(name.to_string())),
    }
}

pub fn application(name: &str) -> Result<(), InputError> {
    if !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        Ok(())
    } else {
        Err(InputError::Application(name.to_string()))
    }
}

/// `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`.
pub fn region(name: &str) -> Result<(), InputError> {
    let parts: Vec<&str> = name.split('-').collect();
    let ok = parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(InputError::Region(name.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_ids_are_checked_before_naming_anything() {
        assert!(is_snapshot_id("snap-0123456789abcdef0"));
        assert!(is_snapshot_id("snap-01234567"));
        assert!(!is_snapshot_id("snap-../../etc"));
        assert!(!is_snapshot_id("snap-0123456789abcdef"));
        assert!(!is_snapshot_id("snap-0123456789ABCDEF0"));
        assert!(!is_snapshot_id("vol-01234567"));
        assert!(snapshot_id("snap-xyz").is_err());
    }

    #[test]
    fn image_ids() {
        assert!(image_id("ami-12345678").is_ok());
        assert!(image_id("ami-0abcdef1234567890").is_ok());
        for bad in [
            "ami-1234567",
            "ami-0ABCDEF1234567890",
            "ami-xyz",
            "i-12345678",
            "ami-123456789",
            "",
        ] {
            assert_eq!(image_id(bad), Err(InputError::ImageId(bad.into())));
        }
    }

    #[test]
    fn durations() {
        assert_eq!(duration("90s"), Ok(std::time::Duration::from_secs(90)));
        assert_eq!(duration("30m"), Ok(std::time::Duration::from_secs(1800)));
        assert_eq!(duration("1h"), Ok(std::time::Duration::from_secs(3600)));
        assert_eq!(duration("5"), Ok(std::time::Duration::from_secs(5)));
        for bad in [
            "",
            "0s",
            "1.5m",
            "2d",
            "25h",
            "m",
            "-1s",
            "99999999999999999999h",
        ] {
            assert!(duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(size("1GiB"), Ok(1 << 30));
        assert_eq!(size("500MiB"), Ok(500 << 20));
        assert_eq!(size("2G"), Ok(2 << 30));
        assert_eq!(size("1024"), Ok(1024));
        for bad in ["", "GiB", "1.5GiB", "10 parsecs", "-1"] {
            assert!(size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cluster_ids_states_dates() {
        assert!(cluster_id("j-1CLEANETL0001").is_ok());
        assert!(cluster_id("j-ABCDEFGH").is_ok());
        for bad in [
            "j-abcdefgh",
            "j-ABC",
            "j-ABCDEFGHIJKLMNO",
            "i-ABCDEFGH",
            "j-ABCD-EFGH",
        ] {
            assert!(cluster_id(bad).is_err(), "{bad}");
        }
        assert_eq!(cluster_state("running"), Ok("RUNNING".to_string()));
        assert!(cluster_state("ACTIVE").is_err());
        assert!(date("2024-11-01").is_ok());
        assert!(date("2024-11-01T10:00:00Z").is_ok());
        assert!(date("yesterday").is_err());
    }

    #[test]
    fn organizational_units_follow_the_api_pattern() {
        for ok in [
            "ou-ab12-prod0001",
            "ou-0a1b-00000000",
            "ou-abcdefghijklmnopqrstuvwxyz012345-abcdefghijklmnopqrstuvwxyz012345",
        ] {
            assert!(organizational_unit(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ou-abc-prod0001",
            "ou-ab12-prod001",
            "ou-AB12-prod0001",
            "ou-ab12-prod_0001",
            "ou-ab12prod0001",
            "r-ab12",
            "ou-ab12-prod0001-x",
            "ou-abcdefghijklmnopqrstuvwxyz0123456-prod0001",
            "",
        ] {
            assert!(organizational_unit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn accounts_instance_types_regions() {
        assert!(account("111122223333").is_ok());
        assert!(account("11112222333").is_err());
        assert!(account("11112222333a").is_err());
        for ok in [
            "m5.xlarge",
            "m7i-flex.large",
            "u-6tb1.metal",
            "c6gd.16xlarge",
        ] {
            assert!(instance_type(ok).is_ok(), "{ok}");
        }
        for bad in [
            "m5",
            "M5.xlarge",
            "m5.",
            ".xlarge",
            "m5.x large",
            "m5.xlarge.big",
        ] {
            assert!(instance_type(bad).is_err(), "{bad}");
        }
        for ok in ["us-east-1", "us-gov-west-1", "ap-southeast-4"] {
            assert!(region(ok).is_ok(), "{ok}");
        }
        for bad in ["us-east", "US-EAST-1", "useast1", "us-east-1a"] {
            assert!(region(bad).is_err(), "{bad}");
        }
    }
}
