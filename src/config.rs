//! `emr-ami-audit.toml`: defaults for the command line, severity per rule, and waivers. Parsed, then
//! validated into [`Config`] with the line of every mistake. [`crate::sink`] applies its severities and
//! waivers to the findings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::Deserialize;
use toml::Spanned;

use crate::input_file::{self, InputFileError};
use crate::rules::{self, Severity};
use crate::validate;

/// Looked for in the current directory when `--config` is not given.
pub const FILE_NAME: &str = "emr-ami-audit.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Not a regular file, larger than [`input_file::CONFIG_CAP`], unreadable or not text.
    #[error(transparent)]
    Read(#[from] InputFileError),
    #[error("{path}:{line}: {message}")]
    Invalid {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{0} already exists: remove it first, or edit it")]
    Exists(PathBuf),
    #[error("cannot write '{0}': {1}")]
    Write(PathBuf, std::io::Error),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    severity: BTreeMap<String, Spanned<String>>,
    #[serde(default, rename = "waiver")]
    waivers: Vec<RawWaiver>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDefaults {
    release: Option<Spanned<String>>,
    instance_types: Option<Vec<Spanned<String>>>,
    applications: Option<Vec<Spanned<String>>>,
    region: Option<Spanned<String>>,
    account: Option<Spanned<String>>,
    max_relocated: Option<Spanned<String>>,
    max_age_days: Option<Spanned<i64>>,
    fail_on: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWaiver {
    rule: Spanned<String>,
    target: Spanned<String>,
    reason: Spanned<String>,
    /// `"2027-06-30"`, or the TOML date `2027-06-30`.
    expires: Option<Spanned<toml::Value>>,
}

/// Defaults for options the command line leaves out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Defaults {
    pub release: Option<String>,
    pub instance_types: Vec<String>,
    pub applications: Vec<String>,
    pub region: Option<String>,
    pub account: Option<String>,
    pub max_relocated: Option<String>,
    pub max_age_days: Option<u32>,
    pub fail_on: Option<String>,
}

/// A rule's severity as configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeverityOverride {
    Set(Severity),
    /// The rule's findings are dropped.
    Off,
}

/// A finding the team accepts, for a reason, maybe until a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiver {
    pub rule: String,
    /// A target ID, or a glob with `*` and `?` (`ami-0ea0*`, `j-*`).
    pub target: String,
    pub reason: String,
    pub expires: Option<NaiveDate>,
    pub line: usize,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    pub path: Option<PathBuf>,
    pub defaults: Defaults,
    pub severity: BTreeMap<String, SeverityOverride>,
    pub waivers: Vec<Waiver>,
}

/// `--config FILE`, else `./emr-ami-audit.toml` if there is one, else no configuration.
pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None => {
            let default = PathBuf::from(FILE_NAME);
            if !default.is_file() {
                return Ok(Config::default());
            }
            default
        }
    };
    let text = input_file::read_to_string(&path, "config", input_file::CONFIG_CAP)?;
    parse(&path, &text)
}

/// Where each line starts, found once, so that the line of every span is a binary search (a config
/// with thousands of waivers is not read quadratically).
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Lines {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines(starts)
    }

    /// The 1-based line of a byte offset.
    fn of(&self, offset: usize) -> usize {
        self.0.partition_point(|&start| start <= offset).max(1)
    }
}

/// A waiver's `expires`: a `YYYY-MM-DD` string or a TOML date (no time, no offset).
fn expiry_date(value: &toml::Value) -> Option<NaiveDate> {
    match value {
        toml::Value::String(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d").ok(),
        toml::Value::Datetime(toml::value::Datetime {
            date: Some(date),
            time: None,
            offset: None,
        }) => NaiveDate::from_ymd_opt(
            i32::from(date.year),
            u32::from(date.month),
            u32::from(date.day),
        ),
        _ => None,
    }
}

pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let lines = Lines::new(text);
    let invalid = |span: std::ops::Range<usize>, message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        line: lines.of(span.start),
        message,
    };
    let raw: RawConfig = toml::from_str(text)
        .map_err(|e| invalid(e.span().unwrap_or(0..0), e.message().to_string()))?;

    let mut config = Config {
        path: Some(path.to_path_buf()),
        ..Default::default()
    };
    let d = raw.defaults;
    if let Some(release) = d.release {
        // The default applies to plans and inspections too, which judge one release: the matrix is
        // asked for on the command line.
        if crate::release::ReleasePattern::is_pattern(release.get_ref()) {
            return Err(invalid(
                release.span(),
                format!(
                    "release '{}' is a release matrix: give it as --release on the command line; \
                     the default must be one release label, e.g. emr-7.1.0",
                    crate::terminal::visible(release.get_ref())
                ),
            ));
        }
        release
            .get_ref()
            .parse::<crate::release::Release>()
            .map_err(|e| invalid(release.span(), e.to_string()))?;
        config.defaults.release = Some(release.into_inner());
    }
    for t in d.instance_types.unwrap_or_default() {
        validate::instance_type(t.get_ref()).map_err(|e| invalid(t.span(), e.to_string()))?;
        config.defaults.instance_types.push(t.into_inner());
    }
    for a in d.applications.unwrap_or_default() {
        validate::application(a.get_ref()).map_err(|e| invalid(a.span(), e.to_string()))?;
        config.defaults.applications.push(a.into_inner());
    }
    if let Some(region) = d.region {
        validate::region(region.get_ref()).map_err(|e| invalid(region.span(), e.to_string()))?;
        config.defaults.region = Some(region.into_inner());
    }
    if let Some(account) = d.account {
        validate::account(account.get_ref()).map_err(|e| invalid(account.span(), e.to_string()))?;
        config.defaults.account = Some(account.into_inner());
    }
    if let Some(size) = d.max_relocated {
        validate::size(size.get_ref()).map_err(|e| invalid(size.span(), e.to_string()))?;
        config.defaults.max_relocated = Some(size.into_inner());
    }
    if let Some(days) = d.max_age_days {
        let value = *days.get_ref();
        let valid = u32::try_from(value).ok().filter(|d| (1..=3650).contains(d));
        let valid = valid.ok_or_else(|| {
            invalid(
                days.span(),
                format!("max_age_days {value} is not a number of days from 1 to 3650"),
            )
        })?;
        config.defaults.max_age_days = Some(valid);
    }
    if let Some(fail_on) = d.fail_on {
        if !["error", "warning", "info", "never"].contains(&fail_on.get_ref().as_str()) {
            return Err(invalid(
                fail_on.span(),
                format!(
                    "invalid fail_on '{}': expected error, warning, info or never",
                    fail_on.get_ref()
                ),
            ));
        }
        config.defaults.fail_on = Some(fail_on.into_inner());
    }
    // In the order of the file, so that a rule set twice (`EA013` and `ea013`, or its ID and its name) is
    // named on its second line.
    let mut severity: Vec<(String, Spanned<String>)> = raw.severity.into_iter().collect();
    severity.sort_by_key(|(_, level)| level.span().start);
    let mut set_on: BTreeMap<&'static str, (String, usize)> = BTreeMap::new();
    for (rule, level) in severity {
        let Some(found) = rules::find(&rule) else {
            return Err(invalid(
                level.span(),
                format!("unknown rule '{rule}' in [severity]"),
            ));
        };
        let parsed = match level.get_ref().as_str() {
            "error" => SeverityOverride::Set(Severity::Error),
            "warning" => SeverityOverride::Set(Severity::Warning),
            "info" => SeverityOverride::Set(Severity::Info),
            "off" => SeverityOverride::Off,
            other => {
                return Err(invalid(
                    level.span(),
                    format!(
                        "invalid severity '{other}' for {rule}: expected error, warning, info or off"
                    ),
                ));
            }
        };
        let line = lines.of(level.span().start);
        if let Some((first, first_line)) = set_on.get(found.id) {
            return Err(invalid(
                level.span(),
                format!(
                    "[severity] sets {} twice: '{rule}' here and '{first}' on line {first_line}",
                    found.id
                ),
            ));
        }
        set_on.insert(found.id, (rule.clone(), line));
        config.severity.insert(found.id.to_string(), parsed);
    }
    for waiver in raw.waivers {
        let line = lines.of(waiver.rule.span().start);
        let Some(rule) = rules::find(waiver.rule.get_ref()) else {
            return Err(invalid(
                waiver.rule.span(),
                format!("unknown rule '{}' in a waiver", waiver.rule.get_ref()),
            ));
        };
        if waiver.target.get_ref().trim().is_empty() {
            return Err(invalid(
                waiver.target.span(),
                "a waiver's target must name a target ID or glob".into(),
            ));
        }
        if waiver.reason.get_ref().trim().is_empty() {
            return Err(invalid(
                waiver.reason.span(),
                "a waiver needs a reason".into(),
            ));
        }
        let expires = match &waiver.expires {
            None => None,
            Some(date) => Some(expiry_date(date.get_ref()).ok_or_else(|| {
                let shown = match date.get_ref() {
                    toml::Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                invalid(
                    date.span(),
                    format!("invalid expires '{shown}': expected a date, YYYY-MM-DD"),
                )
            })?),
        };
        config.waivers.push(Waiver {
            rule: rule.id.to_string(),
            target: waiver.target.into_inner(),
            reason: waiver.reason.into_inner(),
            expires,
            line,
        });
    }
    Ok(config)
}

/// `*` matches any run of characters, `?` any one.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// `emr-ami-audit init`: a commented starting point.
pub const TEMPLATE: &str = r#"# emr-ami-audit configuration. Command-line options win over these defaults.
# Every key is optional; delete what you don't need.

[defaults]
# release = "emr-7.1.0"                      # --release
# instance_types = ["m5.xlarge", "m6g.xlarge"] # --instance-type
# applications = ["Spark", "Hive"]            # --application
# region = "us-east-1"                        # --region
# account = "123456789012"                    # --account: the account that launches the clusters
# max_relocated = "1GiB"                      # --max-relocated (EA063)
# max_age_days = 90                           # --max-age-days: when a base image is stale (EA042)
# fail_on = "error"                           # --fail-on: error, warning, info or never

# Severity per rule: error, warning, info, or off (drop the rule's findings).
[severity]
# EA033 = "off"
# EA055 = "warning"

# Waivers: accept a rule's findings on a target (an ID, or a glob with * and ?), for a reason,
# optionally until a date. Waived findings stay in JSON and SARIF, marked suppressed; an expired waiver
# stops waiving and says so; a waiver that matches nothing is reported.
# [[waiver]]
# rule = "EA031"
# target = "ami-0ea00000000000012"
# reason = "Published on purpose: the public demo image"
# expires = "2027-06-30"                    # or the TOML date 2027-06-30
"#;

/// Write the template to `path`, never over an existing file.
pub fn init(path: &Path) -> Result<(), ConfigError> {
    if path.exists() {
        return Err(ConfigError::Exists(path.to_path_buf()));
    }
    std::fs::write(path, TEMPLATE).map_err(|e| ConfigError::Write(path.to_path_buf(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> Result<Config, ConfigError> {
        parse(Path::new("emr-ami-audit.toml"), text)
    }

    #[test]
    fn the_template_parses_and_configures_nothing() {
        let config = parsed(TEMPLATE).expect("template parses");
        assert_eq!(config.defaults, Defaults::default());
        assert!(config.severity.is_empty() && config.waivers.is_empty());
    }

    #[test]
    fn a_full_config() {
        let config = parsed(
            "[defaults]\nrelease = \"emr-7.1.0\"\ninstance_types = [\"m5.xlarge\"]\n\n[severity]\nEA033 = \"off\"\nea055 = \"warning\"\n\n\
             [[waiver]]\nrule = \"EA031\"\ntarget = \"ami-0ea0*\"\nreason = \"public demo\"\nexpires = \"2027-01-31\"\n",
        )
        .expect("parses");
        assert_eq!(config.defaults.release.as_deref(), Some("emr-7.1.0"));
        assert_eq!(config.severity["EA033"], SeverityOverride::Off);
        assert_eq!(
            config.severity["EA055"],
            SeverityOverride::Set(Severity::Warning)
        );
        assert_eq!(config.waivers[0].line, 10);
        assert_eq!(
            config.waivers[0].expires,
            NaiveDate::from_ymd_opt(2027, 1, 31)
        );
    }

    #[test]
    fn mistakes_name_their_line() {
        let cases = [
            (
                "[defaults]\nrelease = \"7.1.0\"\n",
                "emr-ami-audit.toml:2: invalid EMR release label '7.1.0'",
            ),
            (
                "[defaults]\n\nrelease = \"all\"\n",
                "emr-ami-audit.toml:3: release 'all' is a release matrix: give it as --release",
            ),
            (
                "[severity]\nEA999 = \"off\"\n",
                "emr-ami-audit.toml:2: unknown rule 'EA999'",
            ),
            (
                "[severity]\nEA033 = \"loud\"\n",
                "emr-ami-audit.toml:2: invalid severity 'loud'",
            ),
            (
                "\n[[waiver]]\nrule = \"EA031\"\ntarget = \"ami-1\"\nreason = \"\"\n",
                "emr-ami-audit.toml:5: a waiver needs a reason",
            ),
            (
                "[[waiver]]\nrule = \"EA031\"\ntarget = \"ami-1\"\n",
                "emr-ami-audit.toml:1: missing field `reason`",
            ),
            (
                "[[waiver]]\nrule = \"EA031\"\ntarget = \"x\"\nreason = \"r\"\nexpires = \"soon\"\n",
                "emr-ami-audit.toml:5: invalid expires 'soon'",
            ),
            (
                "[defaults]\nreleas = \"emr-7.1.0\"\n",
                "emr-ami-audit.toml:2: unknown field `releas`",
            ),
            ("[defaults\n", "emr-ami-audit.toml:1:"),
        ];
        for (text, expected) in cases {
            let error = parsed(text).expect_err(text).to_string();
            assert!(
                error.starts_with(expected),
                "{error} should start with {expected}"
            );
            assert_eq!(error.lines().count(), 1, "one line: {error}");
        }
    }

    #[test]
    fn lines_of_offsets() {
        let lines = Lines::new("a\nbc\n\nd");
        let found: Vec<usize> = (0..8).map(|offset| lines.of(offset)).collect();
        assert_eq!(found, [1, 1, 2, 2, 2, 3, 4, 4]);
        assert_eq!(Lines::new("").of(0), 1);
    }

    #[test]
    fn globs() {
        assert!(glob_match("ami-0ea0*", "ami-0ea00000000000012"));
        assert!(glob_match("j-?CLEAN*", "j-1CLEANETL0001"));
        assert!(glob_match("*", "anything"));
        assert!(!glob_match("ami-0ea0*", "ami-0c100000000000001"));
        assert!(!glob_match("j-1", "j-12"));
    }
}
