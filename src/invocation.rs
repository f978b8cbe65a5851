//! The command line and the configuration file, resolved once into one checked, immutable value before
//! any network call or credential lookup (ripgrep's `HiArgs` is the model). Every command takes an
//! [`Invocation`]; nothing downstream reads or patches the parsed flags again, and the clock is read here
//! only, so rules and waiver expiry see the same `now`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use clap::ValueEnum;

use crate::cli::{Cli, Command, FailOn, Format, MockCommand};
use crate::config::{self, Config};
use crate::context::Thresholds;
use crate::input_file::{self, InputFileError};
use crate::plan::{self, PlanError};
use crate::release::{Release, ReleaseParseError, ReleasePattern};
use crate::replay::{self, Faults, RecordError};
use crate::rules::{self, Rule, Severity};
use crate::validate::{self, InputError};

/// EA063's default threshold.
const DEFAULT_MAX_RELOCATED: &str = "1GiB";

/// The states `cluster` lists by default: the ones whose instances are running.
const ACTIVE_STATES: [&str; 4] = ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"];

/// Why the command line or the configuration cannot make a run: all exit with code 2.
#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Release(#[from] ReleaseParseError),
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Record(#[from] RecordError),
    /// `--accounts @FILE`: not a regular file, too large, unreadable.
    #[error(transparent)]
    File(#[from] InputFileError),
    #[error("unknown rule '{0}': `emr-ami-audit rules` lists them")]
    UnknownRule(String),
}

/// One run, resolved.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub job: Job,
    pub report: ReportSettings,
    /// "Now" for the whole run: rules, waiver expiry and reports.
    pub now: DateTime<Utc>,
    pub thresholds: Thresholds,
    /// Severity overrides and waivers.
    pub config: Config,
    pub aws: AwsSettings,
    /// Whether progress may be drawn on a terminal (no `--no-progress`, no `-v`).
    pub progress: bool,
}

/// How the report is written and when the run fails.
#[derive(Debug, Clone)]
pub struct ReportSettings {
    pub format: Format,
    /// The lowest severity that makes the exit code 1; `None` for never.
    pub fail_on: Option<Severity>,
    /// `--output FILE` instead of stdout.
    pub output: Option<PathBuf>,
}

/// What to do.
#[derive(Debug, Clone)]
pub enum Job {
    /// Against AWS (or a recording of it), in each account and region asked for.
    Audit(AuditJob),
    Inspect(InspectJob),
    /// The catalogue, or one rule.
    Rules(Option<&'static Rule>),
    /// The release table.
    Releases,
    Init(PathBuf),
    Completions(clap_complete::Shell),
    Man,
    MockServe {
        dir: PathBuf,
        port: u16,
        faults: Faults,
    },
}

/// The jobs that ask AWS.
#[derive(Debug, Clone)]
pub enum AuditJob {
    Image(ImageJob),
    Cluster(ClusterJob),
    Plan(PlanJob),
    /// `inspect snap-…`: one snapshot's files.
    Snapshot(SnapshotJob),
}

#[derive(Debug, Clone)]
pub struct SnapshotJob {
    pub snapshot_id: String,
    pub release: Release,
}

#[derive(Debug, Clone)]
pub struct ImageJob {
    /// In input order, once each.
    pub image_ids: Vec<String>,
    pub release: Release,
    pub instance_types: Vec<String>,
    pub applications: Vec<String>,
    /// The account that will launch the cluster, when not the caller's.
    pub account: Option<String>,
    /// `--rootfs`: the (single) AMI's files, a directory.
    pub rootfs: Option<PathBuf>,
    /// `--contents`: each AMI's files, read from its root snapshot.
    pub contents: bool,
    /// `--release all` or a glob: the release matrix over EMR's release labels (`release` unused).
    pub matrix: Option<ReleasePattern>,
}

#[derive(Debug, Clone)]
pub struct ClusterJob {
    /// Given cluster IDs, in input order, once each; empty: list the clusters.
    pub cluster_ids: Vec<String>,
    /// States to list, upper-case.
    pub states: Vec<String>,
    pub created_after: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct PlanJob {
    /// A regular file, read whole and checked here; read again after connecting, so that `AWS::Region`
    /// resolves to the run's region.
    pub file: PathBuf,
    pub parameters: BTreeMap<String, String>,
    pub account: Option<String>,
}

#[derive(Debug, Clone)]
pub struct InspectJob {
    pub root: PathBuf,
    pub release: Release,
}

/// Where the AWS answers come from, and which accounts and regions to ask.
#[derive(Debug, Clone)]
pub struct AwsSettings {
    /// Checked region names, in order, once each; empty: the configuration chain's.
    pub regions: Vec<String>,
    pub all_regions: bool,
    /// `--accounts`, checked and read (`@FILE`), in order, once each; empty with `--accounts org`.
    pub accounts: Vec<String>,
    /// `--accounts org`: the accounts are the organization's, listed at the start of the run.
    pub organization: Option<Organization>,
    /// `--role-arn`, with `{account}` still in it.
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
    pub role_session_name: String,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    pub replay: Option<ReplaySettings>,
    pub record: Option<RecordSettings>,
    pub max_attempts: u32,
    /// `--timeout`: how long the run's AWS calls may take in all.
    pub timeout: std::time::Duration,
    /// Calls in flight per scope.
    pub concurrency: usize,
}

impl AwsSettings {
    /// More than one account or region.
    pub fn many_scopes(&self) -> bool {
        !self.accounts.is_empty()
            || self.organization.is_some()
            || self.all_regions
            || self.regions.len() > 1
    }
}

/// `--accounts org`: which of the organization's accounts to audit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Organization {
    /// `--ou`, checked, in order, once each: only the accounts under these units (and their child
    /// units); empty: every account of the organization.
    pub ous: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ReplaySettings {
    pub dir: PathBuf,
    pub faults: Faults,
    /// `--replay-strict`: unused recordings are reported.
    pub strict: bool,
}

#[derive(Debug, Clone)]
pub struct RecordSettings {
    pub dir: PathBuf,
    pub force: bool,
    pub redact_account: bool,
}

impl Invocation {
    /// Merge the flags with the configuration file (flags win) and check every value. Reads files the
    /// user named (config, `--accounts @FILE`, the plan) and the clock; never the network or credentials.
    pub fn resolve(cli: &Cli) -> Result<Invocation, InvocationError> {
        let now = now(cli.now.as_deref())?;
        // Commands that need no configuration don't read it: `init` writes one, `rules` explains them,
        // `releases` prints the built-in table.
        let config = match &cli.command {
            Command::Init { .. } | Command::Rules { .. } | Command::Releases => Config::default(),
            _ => config::load(cli.config.as_deref())?,
        };
        let defaults = &config.defaults;
        let fail_on = cli.fail_on.or_else(|| {
            defaults
                .fail_on
                .as_deref()
                .and_then(|f| FailOn::from_str(f, true).ok())
        });
        let mut thresholds = Thresholds::default();
        if let Some(days) = cli.max_age_days.or(defaults.max_age_days) {
            thresholds.max_base_age_days = days;
        }
        let job = job(cli, &config, &mut thresholds)?;
        let aws = aws_settings(cli, &config, &job)?;
        // The matrix is one table for one account and region.
        if let Job::Audit(AuditJob::Image(ImageJob {
            matrix: Some(pattern),
            ..
        })) = &job
            && aws.many_scopes()
        {
            return Err(InputError::MatrixWith(
                pattern.as_str().to_string(),
                "more than one account or region",
            )
            .into());
        }
        // The matrix is a verdict per release, not findings: SARIF, JUnit, Markdown and ASFF have no
        // place for it, and printing the table under their name would break what reads them.
        if let Job::Audit(AuditJob::Image(ImageJob {
            matrix: Some(pattern),
            ..
        })) = &job
            && !matches!(cli.format, Format::Table | Format::Json)
        {
            return Err(InputError::MatrixWith(
                pattern.as_str().to_string(),
                "--format other than table or json",
            )
            .into());
        }
        Ok(Invocation {
            job,
            report: ReportSettings {
                format: cli.format,
                fail_on: threshold(fail_on),
                output: cli.output.clone(),
            },
            now,
            thresholds,
            config,
            aws,
            progress: !cli.no_progress && cli.verbose == 0,
        })
    }

    /// The same run, never drawing progress (each account and region of a multi-scope run).
    pub fn quiet(&self) -> Invocation {
        Invocation {
            progress: false,
            ..self.clone()
        }
    }
}

/// The command's own values, with the configuration's defaults where the flags left them out.
fn job(cli: &Cli, config: &Config, thresholds: &mut Thresholds) -> Result<Job, InvocationError> {
    let d = &config.defaults;
    let or_default = |given: &[String], default: &[String]| {
        if given.is_empty() {
            default.to_vec()
        } else {
            given.to_vec()
        }
    };
    let release = |given: &Option<String>| -> Result<Release, InvocationError> {
        Ok(given
            .as_deref()
            .or(d.release.as_deref())
            .ok_or(InputError::MissingRelease)?
            .parse()?)
    };
    let relocated = |given: &Option<String>| {
        validate::size(
            given
                .as_deref()
                .or(d.max_relocated.as_deref())
                .unwrap_or(DEFAULT_MAX_RELOCATED),
        )
    };
    let account = |given: &Option<String>| -> Result<Option<String>, InputError> {
        let account = given.clone().or(d.account.clone());
        if let Some(account) = &account {
            validate::account(account)?;
        }
        Ok(account)
    };
    Ok(match &cli.command {
        Command::Image(args) => {
            for id in &args.images {
                validate::image_id(id)?;
            }
            let instance_types =
                ordered_unique(&or_default(&args.instance_types, &d.instance_types));
            for t in &instance_types {
                validate::instance_type(t)?;
            }
            // `all` or a glob: the release matrix, judged per release on what is collected once.
            let given = args.release.as_deref().or(d.release.as_deref());
            let (release, matrix) = match given {
                Some(text) if ReleasePattern::is_pattern(text) => {
                    let pattern = ReleasePattern::parse(text)
                        .ok_or_else(|| InputError::ReleasePattern(text.to_string()))?;
                    // Instance types would need ListSupportedInstanceTypes per release, and --rootfs
                    // is one release's check: not part of the matrix.
                    if !instance_types.is_empty() {
                        return Err(
                            InputError::MatrixWith(text.to_string(), "--instance-type").into()
                        );
                    }
                    if args.rootfs.is_some() {
                        return Err(InputError::MatrixWith(text.to_string(), "--rootfs").into());
                    }
                    if args.contents {
                        return Err(InputError::MatrixWith(text.to_string(), "--contents").into());
                    }
                    (Release::new(0, 0, 0), Some(pattern))
                }
                _ => (release(&args.release)?, None),
            };
            let applications = ordered_unique(&or_default(&args.applications, &d.applications));
            for a in &applications {
                validate::application(a)?;
            }
            let account = account(&args.account)?;
            let image_ids = ordered_unique(&args.images);
            if let Some(root) = &args.rootfs {
                if image_ids.len() != 1 {
                    return Err(InputError::RootfsWithManyImages(image_ids.len()).into());
                }
                directory(root)?;
            }
            if args.rootfs.is_some() || args.contents {
                thresholds.relocated_bytes = relocated(&args.max_relocated)?;
            } else if let Some(size) = &args.max_relocated {
                return Err(InputError::RelocatedWithoutFiles(size.clone()).into());
            }
            Job::Audit(AuditJob::Image(ImageJob {
                image_ids,
                release,
                instance_types,
                applications,
                account,
                rootfs: args.rootfs.clone(),
                contents: args.contents,
                matrix,
            }))
        }
        Command::Cluster(args) => {
            for id in &args.clusters {
                validate::cluster_id(id)?;
            }
            let states = if args.states.is_empty() {
                ACTIVE_STATES.map(String::from).to_vec()
            } else {
                args.states
                    .iter()
                    .map(|s| validate::cluster_state(s))
                    .collect::<Result<Vec<_>, _>>()?
            };
            let created_after = args
                .created_after
                .as_deref()
                .map(validate::date)
                .transpose()?;
            Job::Audit(AuditJob::Cluster(ClusterJob {
                cluster_ids: ordered_unique(&args.clusters),
                states,
                created_after,
            }))
        }
        Command::Plan(args) => {
            let parameters = plan::parameters(&args.parameters)?;
            let account = account(&args.account)?;
            plan::check_file(&args.file, &parameters)?;
            Job::Audit(AuditJob::Plan(PlanJob {
                file: args.file.clone(),
                parameters,
                account,
            }))
        }
        Command::Inspect(args) => {
            let release = release(&args.release)?;
            thresholds.relocated_bytes = relocated(&args.max_relocated)?;
            // An AMI or snapshot ID: its files, read through the EBS direct APIs. A path (`./ami-…`, or a
            // directory of that name) stays a path.
            let id = args
                .root
                .to_str()
                .filter(|text| !text.contains('/') && !args.root.is_dir());
            match id {
                Some(id) if id.starts_with("ami-") => {
                    validate::image_id(id)?;
                    for t in &d.instance_types {
                        validate::instance_type(t)?;
                    }
                    return Ok(Job::Audit(AuditJob::Image(ImageJob {
                        image_ids: vec![id.to_string()],
                        release,
                        instance_types: ordered_unique(&d.instance_types),
                        applications: ordered_unique(&d.applications),
                        account: account(&None)?,
                        rootfs: None,
                        contents: true,
                        matrix: None,
                    })));
                }
                Some(id) if id.starts_with("snap-") => {
                    validate::snapshot_id(id)?;
                    return Ok(Job::Audit(AuditJob::Snapshot(SnapshotJob {
                        snapshot_id: id.to_string(),
                        release,
                    })));
                }
                _ => {}
            }
            directory(&args.root)?;
            Job::Inspect(InspectJob {
                root: args.root.clone(),
                release,
            })
        }
        Command::Rules { rule } => match rule {
            None => Job::Rules(None),
            Some(key) => Job::Rules(Some(
                rules::find(key).ok_or_else(|| InvocationError::UnknownRule(key.clone()))?,
            )),
        },
        Command::Releases => Job::Releases,
        Command::Init { path } => Job::Init(path.clone()),
        Command::Completions { shell } => Job::Completions(*shell),
        Command::Man => Job::Man,
        Command::Mock(MockCommand::Serve {
            dir,
            port,
            latency_ms,
            fault_rate,
            seed,
        }) => Job::MockServe {
            dir: dir.clone(),
            port: *port,
            faults: Faults {
                latency: std::time::Duration::from_millis(*latency_ms),
                rate: validate::fault_rate(*fault_rate)?,
                seed: *seed,
            },
        },
    })
}

/// Regions, accounts, roles and the source of answers, checked together with the job they serve.
fn aws_settings(cli: &Cli, config: &Config, job: &Job) -> Result<AwsSettings, InvocationError> {
    let regions = if cli.region.is_empty() && !cli.all_regions {
        config.defaults.region.iter().cloned().collect()
    } else {
        ordered_unique(&cli.region)
    };
    for region in &regions {
        validate::region(region)?;
    }
    let (accounts, organization) = accounts_or_organization(&cli.accounts, &cli.ou)?;
    let settings = AwsSettings {
        regions,
        all_regions: cli.all_regions,
        accounts,
        organization,
        role_arn: cli.role_arn.clone(),
        external_id: cli.external_id.clone(),
        role_session_name: cli.role_session_name.clone(),
        profile: cli.profile.clone(),
        endpoint_url: cli.endpoint_url.clone(),
        replay: match &cli.replay {
            None => None,
            Some(dir) => Some(ReplaySettings {
                dir: dir.clone(),
                faults: Faults {
                    latency: std::time::Duration::from_millis(cli.replay_latency_ms),
                    rate: validate::fault_rate(cli.replay_fault_rate)?,
                    seed: cli.replay_seed,
                },
                strict: cli.replay_strict,
            }),
        },
        record: cli.record.as_ref().map(|dir| RecordSettings {
            dir: dir.clone(),
            force: cli.force,
            redact_account: cli.redact_account,
        }),
        max_attempts: cli.max_attempts,
        timeout: validate::duration(&cli.timeout)?,
        concurrency: usize::from(cli.concurrency),
    };
    let Job::Audit(job) = job else {
        return Ok(settings);
    };
    if let Some(arn) = &settings.role_arn
        && !arn.contains("{account}")
    {
        return Err(InputError::RoleArnTemplate(arn.clone()).into());
    }
    if let Some(record) = &settings.record {
        if !settings.accounts.is_empty() || settings.organization.is_some() {
            return Err(InputError::RecordManyAccounts.into());
        }
        replay::check_target(&record.dir, record.force)?;
    }
    // AMI IDs, cluster IDs and launch plans belong to one region; only scans span several.
    if settings.all_regions || settings.regions.len() > 1 {
        let one_region = match job {
            AuditJob::Image(_) => Some("AMI IDs belong"),
            AuditJob::Plan(_) => Some("a launch plan belongs"),
            AuditJob::Snapshot(_) => Some("a snapshot ID belongs"),
            AuditJob::Cluster(cluster) if !cluster.cluster_ids.is_empty() => {
                Some("cluster IDs belong")
            }
            AuditJob::Cluster(_) => None,
        };
        if let Some(what) = one_region {
            return Err(InputError::OneRegion(what.to_string()).into());
        }
    }
    Ok(settings)
}

/// The value of `--accounts` that stands for the organization's accounts.
const ORGANIZATION: &str = "org";

/// `--accounts org` (alone) with its `--ou` units, or the account IDs of `--accounts`; `--ou` without
/// `--accounts org` is refused.
fn accounts_or_organization(
    values: &[String],
    ous: &[String],
) -> Result<(Vec<String>, Option<Organization>), InvocationError> {
    if !values.iter().any(|v| v.trim() == ORGANIZATION) {
        if !ous.is_empty() {
            return Err(InputError::OuWithoutOrg.into());
        }
        return Ok((accounts(values)?, None));
    }
    if let Some(other) = values.iter().find(|v| v.trim() != ORGANIZATION) {
        return Err(InputError::OrgWithAccounts(other.clone()).into());
    }
    let ous: Vec<String> = ous.iter().map(|ou| ou.trim().to_string()).collect();
    for ou in &ous {
        validate::organizational_unit(ou)?;
    }
    Ok((
        Vec::new(),
        Some(Organization {
            ous: ordered_unique(&ous),
        }),
    ))
}

/// The accounts of `--accounts` (IDs, or `@FILE` with IDs separated by commas, spaces or lines and
/// `#` comments; a regular file within [`input_file::CONFIG_CAP`]), validated, in order, once each.
fn accounts(values: &[String]) -> Result<Vec<String>, InvocationError> {
    let mut accounts = Vec::new();
    for value in values {
        let listed: Vec<String> = match value.strip_prefix('@') {
            Some(path) => {
                let text = input_file::read_to_string(
                    Path::new(path),
                    "accounts file",
                    input_file::CONFIG_CAP,
                )?;
                text.lines()
                    .map(|line| line.split('#').next().unwrap_or_default())
                    .flat_map(|line| line.split([',', ' ', '\t']))
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .map(str::to_string)
                    .collect()
            }
            None => vec![value.trim().to_string()],
        };
        if listed.is_empty() {
            return Err(InputError::NoAccounts(value.clone()).into());
        }
        for account in listed {
            validate::account(&account)?;
            if !accounts.contains(&account) {
                accounts.push(account);
            }
        }
    }
    Ok(accounts)
}

/// A root filesystem must be a directory.
fn directory(root: &Path) -> Result<(), InputError> {
    if root.is_dir() {
        Ok(())
    } else {
        Err(InputError::Root(root.display().to_string()))
    }
}

/// `--now`, or the clock: read once per run.
fn now(given: Option<&str>) -> Result<DateTime<Utc>, InputError> {
    match given {
        None => Ok(Utc::now()),
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| InputError::Now(text.to_string())),
    }
}

/// The lowest severity that fails the run (`--fail-on`, default error); `None` for never.
fn threshold(fail_on: Option<FailOn>) -> Option<Severity> {
    match fail_on.unwrap_or(FailOn::Error) {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Info => Some(Severity::Info),
        FailOn::Never => None,
    }
}

/// Input order, without repeats.
pub fn ordered_unique(items: &[String]) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    items
        .iter()
        .filter(|i| seen.insert(i.as_str()))
        .cloned()
        .collect()
}
