//! The commands, from parsed arguments to a rendered report and an exit code.

mod scopes;

use std::io::IsTerminal;
use std::time::Instant;

use chrono::{DateTime, Utc};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use futures::StreamExt;

use crate::audit;
use crate::aws::{Aws, AwsOptions, ConfigError};
use clap::{CommandFactory, ValueEnum};

use crate::cli::{
    Cli, ClusterArgs, Command, FailOn, Format, ImageArgs, InspectArgs, MockCommand, PlanArgs,
};
use crate::collect::{self, CollectUsageError, Wanted, collect_images};
use crate::config::{self, Config};
use crate::context::{Context, Thresholds};
use crate::facts::{ClusterFacts, CollectError};
use crate::plan::{self, PlanError};
use crate::release::{Release, ReleaseParseError};
use crate::replay::{
    self as record, Faults, RecordError, RecordOptions, Recorder, ReplayServer, Scenario,
    ScenarioError,
};
use crate::report::TargetKind;
use crate::report::{self, Report, ReportedFinding, Stats, Target};
use crate::rootfs;
use crate::rules::{self, Severity};
use crate::validate::{self, InputError};

/// Anything that stops a run before a report: all exit with code 2.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Release(#[from] ReleaseParseError),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Collect(#[from] CollectUsageError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error("cannot serve on 127.0.0.1:{0}: {1}")]
    Serve(u16, std::io::Error),
    #[error(transparent)]
    Settings(#[from] config::ConfigError),
    #[error("cannot write the report to '{0}': {1}")]
    Output(std::path::PathBuf, std::io::Error),
    #[error("cannot write the generated text: {0}")]
    Generate(std::io::Error),
    #[error("unknown rule '{0}': `emr-ami-audit rules` lists them")]
    UnknownRule(String),
}

/// What to print and how to exit.
#[derive(Debug)]
pub struct Outcome {
    pub stdout: String,
    pub exit_code: u8,
}

pub async fn run(cli: &Cli) -> Result<Outcome, RunError> {
    let mut outcome = run_command(cli).await?;
    if let Some(path) = &cli.output {
        std::fs::write(path, &outcome.stdout).map_err(|e| RunError::Output(path.clone(), e))?;
        outcome.stdout.clear();
    }
    Ok(outcome)
}

async fn run_command(cli: &Cli) -> Result<Outcome, RunError> {
    match &cli.command {
        Command::Rules { rule } => return explain_rules(rule.as_deref(), cli.format),
        Command::Init { path } => {
            config::init(path)?;
            eprintln!("emr-ami-audit: wrote {}", path.display());
            return Ok(Outcome {
                stdout: String::new(),
                exit_code: 0,
            });
        }
        _ => {}
    }
    let config = config::load(cli.config.as_deref())?;
    let cli = &with_defaults(cli, &config);
    let today = now(cli)?.date_naive();
    if let Some(dir) = &cli.record {
        record::check_target(dir, cli.force)?;
    }
    let (mut report, session) = match &cli.command {
        Command::Rules { rule } => return explain_rules(rule.as_deref(), cli.format),
        // Handled before the configuration is read.
        Command::Init { .. } => {
            return Ok(Outcome {
                stdout: String::new(),
                exit_code: 0,
            });
        }
        Command::Mock(MockCommand::Serve {
            dir,
            port,
            latency_ms,
            fault_rate,
            seed,
        }) => {
            let faults = Faults {
                latency: std::time::Duration::from_millis(*latency_ms),
                rate: validate::fault_rate(*fault_rate)?,
                seed: *seed,
            };
            return serve(dir, *port, faults).await;
        }
        Command::Inspect(args) => return inspect(cli, args, &config),
        Command::Completions { shell } => {
            return generated(|out| {
                clap_complete::generate(*shell, &mut Cli::command(), "emr-ami-audit", out);
                Ok(())
            });
        }
        Command::Man => {
            return generated(|out| clap_mangen::Man::new(Cli::command()).render(out));
        }
        Command::Image(args) => scopes::audit(cli, Job::Image(args)).await?,
        Command::Cluster(args) => scopes::audit(cli, Job::Cluster(args)).await?,
        Command::Plan(args) => scopes::audit(cli, Job::Plan(args)).await?,
    };
    config.apply(&mut report, today);
    session.finish(cli, &mut report)?;
    Ok(Outcome {
        stdout: render(&report, cli),
        exit_code: exit_code(&report, cli.fail_on),
    })
}

/// EA063's default threshold.
const DEFAULT_MAX_RELOCATED: &str = "1GiB";

/// The command line with the config's defaults filled in where it left options out.
fn with_defaults(cli: &Cli, config: &Config) -> Cli {
    let d = &config.defaults;
    let mut cli = cli.clone();
    if cli.region.is_empty() && !cli.all_regions {
        cli.region = d.region.iter().cloned().collect();
    }
    if cli.max_age_days.is_none() {
        cli.max_age_days = d.max_age_days;
    }
    if cli.fail_on.is_none() {
        cli.fail_on = d
            .fail_on
            .as_deref()
            .and_then(|f| FailOn::from_str(f, true).ok());
    }
    let fill = |list: &mut Vec<String>, default: &[String]| {
        if list.is_empty() {
            *list = default.to_vec();
        }
    };
    match &mut cli.command {
        Command::Image(args) => {
            args.release = args.release.take().or(d.release.clone());
            fill(&mut args.instance_types, &d.instance_types);
            fill(&mut args.applications, &d.applications);
            args.account = args.account.take().or(d.account.clone());
            args.max_relocated = args.max_relocated.take().or(d.max_relocated.clone());
        }
        Command::Inspect(args) => {
            args.release = args.release.take().or(d.release.clone());
            args.max_relocated = args.max_relocated.take().or(d.max_relocated.clone());
        }
        Command::Plan(args) => args.account = args.account.take().or(d.account.clone()),
        _ => {}
    }
    cli
}

/// An AWS-backed command, run once per account and region.
#[derive(Clone, Copy)]
enum Job<'a> {
    Image(&'a ImageArgs),
    Cluster(&'a ClusterArgs),
    Plan(&'a PlanArgs),
}

async fn run_job(cli: &Cli, job: Job<'_>, aws: &Aws) -> Result<Report, RunError> {
    match job {
        Job::Image(args) => image(cli, args, aws).await,
        Job::Cluster(args) => cluster(cli, args, aws).await,
        Job::Plan(args) => plan(cli, args, aws).await,
    }
}

/// A progress bar on stderr for a long step, drawn only on a terminal, never with `--no-progress` or
/// when logs (`-v`) share stderr.
fn progress(cli: &Cli, len: usize, step: &str) -> indicatif::ProgressBar {
    if !progress_wanted(cli, len) {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:30}] {pos}/{len} ({elapsed}, about {eta} left)",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(step.to_string());
    bar
}

/// Whether to draw progress for a step over `len` items.
fn progress_wanted(cli: &Cli, len: usize) -> bool {
    !cli.no_progress && cli.verbose == 0 && len > 1 && std::io::stderr().is_terminal()
}

/// A spinner on stderr while a step of unknown length runs (collecting and tracing AMIs), under the same
/// conditions as [`progress`]: a terminal, no `--no-progress`, no `-v`, and more than one target.
fn spinner(cli: &Cli, targets: usize, step: String) -> indicatif::ProgressBar {
    if !progress_wanted(cli, targets) {
        return indicatif::ProgressBar::hidden();
    }
    let spinner = indicatif::ProgressBar::new_spinner();
    spinner.set_message(step);
    spinner.enable_steady_tick(std::time::Duration::from_millis(120));
    spinner
}

/// The limits the options set for the AWS-backed commands.
fn thresholds(cli: &Cli) -> Thresholds {
    let mut thresholds = Thresholds::default();
    if let Some(days) = cli.max_age_days {
        thresholds.max_base_age_days = days;
    }
    thresholds
}

/// Text a generator writes (completions, man page) as the outcome.
fn generated(write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> Result<Outcome, RunError> {
    let mut out = Vec::new();
    write(&mut out).map_err(RunError::Generate)?;
    Ok(Outcome {
        stdout: String::from_utf8_lossy(&out).into_owned(),
        exit_code: 0,
    })
}

/// `inspect ROOT`: the image-content rules on a root filesystem.
fn inspect(cli: &Cli, args: &InspectArgs, config: &Config) -> Result<Outcome, RunError> {
    let release: Release = args
        .release
        .as_deref()
        .ok_or(InputError::MissingRelease)?
        .parse()?;
    let threshold = validate::size(
        args.max_relocated
            .as_deref()
            .unwrap_or(DEFAULT_MAX_RELOCATED),
    )?;
    let now = now(cli)?;
    if !args.root.is_dir() {
        return Err(InputError::Root(args.root.display().to_string()).into());
    }
    let started = Instant::now();
    let facts = rootfs::read(&args.root);
    let context = Context {
        release,
        instance_types: Vec::new(),
        applications: Vec::new(),
        launching_account: None,
        caller_account: None,
        region: String::new(),
        thresholds: Thresholds {
            relocated_bytes: threshold,
            ..Thresholds::default()
        },
        now,
    };
    let mut target = Target::new(
        TargetKind::Rootfs,
        args.root.display().to_string(),
        String::new(),
        context.summary(),
    );
    target.findings = rules::evaluate_contents(&facts, &context)
        .into_iter()
        .map(ReportedFinding::from_finding)
        .collect();
    let errors = facts
        .unreadable
        .iter()
        .map(|u| format!("could not read {u}"))
        .collect();
    let stats = Stats {
        api_calls: Default::default(),
        elapsed_ms: started.elapsed().as_millis() as u64,
        scopes: None,
    };
    let mut report = Report::new(vec![target], errors, stats);
    config.apply(&mut report, now.date_naive());
    Ok(Outcome {
        stdout: render(&report, cli),
        exit_code: exit_code(&report, cli.fail_on),
    })
}

/// The clients of a run, the replay server they talk to (alive as long as they are) and the recorder.
struct Session {
    aws: Aws,
    server: Option<ReplayServer>,
    recorder: Option<Recorder>,
}

impl Session {
    /// After the report: `--replay-strict` lists unused recordings; `--record` writes the recording.
    fn finish(self, cli: &Cli, report: &mut Report) -> Result<(), RunError> {
        if cli.replay_strict
            && let Some(server) = &self.server
        {
            report.errors.extend(
                server
                    .unused()
                    .into_iter()
                    .map(|e| format!("recording not used: {e}")),
            );
        }
        if let (Some(dir), Some(recorder)) = (&cli.record, &self.recorder) {
            let command: Vec<String> = std::env::args().skip(1).collect();
            let options = RecordOptions {
                description: format!(
                    "Recorded by emr-ami-audit {} in {}: emr-ami-audit {}",
                    env!("CARGO_PKG_VERSION"),
                    self.aws.region(),
                    command.join(" ")
                ),
                region: self.aws.region().to_string(),
                force: cli.force,
                redact_account: cli.redact_account,
            };
            recorder.write(dir, &options)?;
            eprintln!(
                "emr-ami-audit: recorded {} exchanges to {}",
                recorder.len(),
                dir.display()
            );
        }
        Ok(())
    }
}

/// Clients for this run: the replay server's, or the AWS configuration chain's (recording if asked).
async fn connect(cli: &Cli) -> Result<Session, RunError> {
    for region in &cli.region {
        validate::region(region)?;
    }
    if let Some(dir) = &cli.replay {
        let scenario = Scenario::load(dir)?;
        let faults = Faults {
            latency: std::time::Duration::from_millis(cli.replay_latency_ms),
            rate: validate::fault_rate(cli.replay_fault_rate)?,
            seed: cli.replay_seed,
        };
        let server = ReplayServer::start_with_faults(scenario, faults).await;
        let region = cli
            .region
            .first()
            .map(String::as_str)
            .or(server.region())
            .unwrap_or("us-east-1");
        let aws = Aws::for_replay(&server.url(), region, cli.max_attempts)?;
        return Ok(Session {
            aws,
            server: Some(server),
            recorder: None,
        });
    }
    let recorder = cli.record.as_ref().map(|_| Recorder::default());
    let options = AwsOptions {
        region: cli.region.first().cloned(),
        profile: cli.profile.clone(),
        endpoint_url: cli.endpoint_url.clone(),
        recorder: recorder.clone(),
        max_attempts: cli.max_attempts,
        // DescribeRegions is global in effect: any enabled region answers for all.
        fallback_region: cli.all_regions.then(|| "us-east-1".to_string()),
    };
    Ok(Session {
        aws: Aws::from_environment(&options).await?,
        server: None,
        recorder,
    })
}

/// `mock serve`: answer from a scenario on 127.0.0.1 until Ctrl-C.
async fn serve(dir: &std::path::Path, port: u16, faults: Faults) -> Result<Outcome, RunError> {
    let scenario = Scenario::load(dir)?;
    let count = scenario.exchanges.len();
    let server = ReplayServer::start_on_port(scenario, port, faults)
        .await
        .map_err(|e| RunError::Serve(port, e))?;
    eprintln!(
        "emr-ami-audit: serving {} ({count} recorded exchanges) on {}; Ctrl-C stops\n  export AWS_ENDPOINT_URL={}",
        dir.display(),
        server.url(),
        server.url()
    );
    tokio::signal::ctrl_c()
        .await
        .map_err(|e| RunError::Serve(port, e))?;
    let log = server.log();
    let matched = log.requests.iter().filter(|(_, m)| *m).count();
    eprintln!(
        "emr-ami-audit: stopped after {} requests ({matched} matched)",
        log.requests.len()
    );
    Ok(Outcome {
        stdout: String::new(),
        exit_code: 0,
    })
}

fn now(cli: &Cli) -> Result<DateTime<Utc>, InputError> {
    match &cli.now {
        None => Ok(Utc::now()),
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| InputError::Now(text.clone())),
    }
}

/// Input order, without repeats.
fn ordered_unique(items: &[String]) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    items
        .iter()
        .filter(|i| seen.insert(i.as_str()))
        .cloned()
        .collect()
}

async fn image(cli: &Cli, args: &ImageArgs, aws: &Aws) -> Result<Report, RunError> {
    for id in &args.images {
        validate::image_id(id)?;
    }
    let release: Release = args
        .release
        .as_deref()
        .ok_or(InputError::MissingRelease)?
        .parse()?;
    for t in &args.instance_types {
        validate::instance_type(t)?;
    }
    for a in &args.applications {
        validate::application(a)?;
    }
    if let Some(account) = &args.account {
        validate::account(account)?;
    }
    let now = now(cli)?;
    let image_ids = ordered_unique(&args.images);
    let instance_types = ordered_unique(&args.instance_types);
    let relocated_bytes = validate::size(
        args.max_relocated
            .as_deref()
            .unwrap_or(DEFAULT_MAX_RELOCATED),
    )?;
    if let Some(root) = &args.rootfs {
        if image_ids.len() != 1 {
            return Err(InputError::RootfsWithManyImages(image_ids.len()).into());
        }
        if !root.is_dir() {
            return Err(InputError::Root(root.display().to_string()).into());
        }
    }

    let started = Instant::now();
    let spinner = spinner(
        cli,
        image_ids.len(),
        format!("auditing {} AMIs and their lineage", image_ids.len()),
    );
    let collected = collect_images(
        aws,
        &image_ids,
        &instance_types,
        &[release.to_string()],
        args.account.as_deref(),
    )
    .await;
    spinner.finish_and_clear();
    let collected = collected?;

    let caller = collected.caller_account.as_ref().ok().cloned();
    let mut errors = Vec::new();
    if let Err(error) = &collected.caller_account {
        errors.push(format!(
            "the caller's account is unknown, so ownership was not judged: {error}"
        ));
    }
    let context = Context {
        release,
        instance_types,
        applications: ordered_unique(&args.applications),
        launching_account: args.account.clone().or(caller.clone()),
        caller_account: caller,
        region: aws.region().to_string(),
        thresholds: thresholds(cli),
        now,
    };
    let mut targets: Vec<Target> = image_ids
        .iter()
        .filter_map(|id| collected.images.get(id))
        .map(|evidence| audit::image_target(evidence, &collected, &context))
        .collect();
    // `--rootfs`: the same AMI's files, judged in the same context; one report for both.
    if let (Some(root), Some(target)) = (&args.rootfs, targets.first_mut()) {
        let facts = rootfs::read(root);
        let mut context = context.clone();
        context.thresholds.relocated_bytes = relocated_bytes;
        target.findings.extend(
            rules::evaluate_contents(&facts, &context)
                .into_iter()
                .map(ReportedFinding::from_finding),
        );
        target
            .findings
            .sort_by_key(|f| (std::cmp::Reverse(f.severity), f.rule.clone()));
        errors.extend(
            facts
                .unreadable
                .iter()
                .map(|u| format!("could not read {u}")),
        );
    }
    let stats = Stats {
        api_calls: aws.calls().snapshot(),
        elapsed_ms: started.elapsed().as_millis() as u64,
        scopes: None,
    };
    let report = Report::new(targets, errors, stats);
    Ok(report)
}

/// The states `cluster` lists by default: the ones whose instances are running.
const ACTIVE_STATES: [&str; 4] = ["STARTING", "BOOTSTRAPPING", "RUNNING", "WAITING"];

async fn cluster(cli: &Cli, args: &ClusterArgs, aws: &Aws) -> Result<Report, RunError> {
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
    let now = now(cli)?;

    let started = Instant::now();
    let mut errors = Vec::new();
    let ids = if args.clusters.is_empty() {
        match aws.list_clusters(&states, created_after).await {
            Ok(ids) => ids,
            Err(error) => {
                errors.push(format!(
                    "not audited: the clusters could not be listed: {error}"
                ));
                Vec::new()
            }
        }
    } else {
        ordered_unique(&args.clusters)
    };
    tracing::info!(
        "describing {} clusters in {}, {} at a time",
        ids.len(),
        aws.region(),
        cli.concurrency
    );
    let bar = progress(cli, ids.len(), "describing clusters");
    let described: Vec<(String, Result<ClusterFacts, CollectError>)> = futures::stream::iter(ids)
        .map(|id| {
            let aws = &aws;
            async move {
                let facts = aws.describe_cluster(&id).await;
                (id, facts)
            }
        })
        .buffered(usize::from(cli.concurrency))
        .inspect(|_| bar.inc(1))
        .collect()
        .await;
    bar.finish_and_clear();
    let batch = ClusterBatch {
        kind: TargetKind::Cluster,
        described: &described,
        launching_account: None,
        now,
        thresholds: thresholds(cli),
        started,
    };
    let spinner = spinner(
        cli,
        described.len(),
        "auditing the clusters' AMIs and their lineage".to_string(),
    );
    let report = audit_clusters(aws, batch, errors).await;
    spinner.finish_and_clear();
    let report = report?;
    Ok(report)
}

async fn plan(cli: &Cli, args: &PlanArgs, aws: &Aws) -> Result<Report, RunError> {
    let parameters = plan::parameters(&args.parameters)?;
    if let Some(account) = &args.account {
        validate::account(account)?;
    }
    let now = now(cli)?;
    // Read after connecting: `AWS::Region` in a template resolves to the region of the run.
    let clusters = plan::load(&args.file, &parameters, aws.region())?;
    let started = Instant::now();
    let described: Vec<(String, Result<ClusterFacts, CollectError>)> = clusters
        .into_iter()
        .map(|c| (c.cluster_id.clone(), Ok(c)))
        .collect();
    let batch = ClusterBatch {
        kind: TargetKind::Plan,
        described: &described,
        launching_account: args.account.clone(),
        now,
        thresholds: thresholds(cli),
        started,
    };
    let spinner = spinner(
        cli,
        described.len(),
        format!(
            "auditing {} planned clusters and their AMIs",
            described.len()
        ),
    );
    let report = audit_clusters(aws, batch, Vec::new()).await;
    spinner.finish_and_clear();
    report
}

/// Clusters (running or planned) to judge together.
struct ClusterBatch<'a> {
    kind: TargetKind,
    /// Each cluster's ID and its facts, or why they could not be collected.
    described: &'a [(String, Result<ClusterFacts, CollectError>)],
    launching_account: Option<String>,
    now: DateTime<Utc>,
    thresholds: Thresholds,
    started: Instant,
}

/// Collect what the clusters' custom AMIs need, once for all of them, and judge each cluster.
async fn audit_clusters(
    aws: &Aws,
    batch: ClusterBatch<'_>,
    mut errors: Vec<String>,
) -> Result<Report, RunError> {
    let ClusterBatch {
        kind,
        described,
        launching_account,
        now,
        thresholds,
        started,
    } = batch;
    // Only clusters on custom AMIs need image, instance-type and network facts.
    let custom: Vec<&ClusterFacts> = described
        .iter()
        .filter_map(|(_, c)| c.as_ref().ok())
        .filter(|c| !c.custom_amis().is_empty())
        .collect();
    let wanted = Wanted {
        image_ids: custom.iter().flat_map(|c| c.custom_amis()).collect(),
        instance_types: custom.iter().flat_map(|c| c.instance_types()).collect(),
        releases: custom
            .iter()
            .filter_map(|c| c.release_label.clone())
            .collect(),
        subnet_ids: custom.iter().flat_map(|c| c.subnet_ids.clone()).collect(),
        launching_account: launching_account.clone(),
    };
    let collected = collect::collect(aws, &wanted).await;
    // An instance type that does not exist is the author's mistake in a plan, but only a fact of a
    // running cluster (reported by EA020 for it).
    if kind == TargetKind::Plan
        && let Some(invalid) = collected.invalid_instance_types.first()
    {
        return Err(CollectUsageError::InvalidInstanceType(invalid.clone()).into());
    }
    let caller = collected.caller_account.as_ref().ok().cloned();
    if let Err(error) = &collected.caller_account {
        errors.push(format!(
            "the caller's account is unknown, so ownership was not judged: {error}"
        ));
    }
    let base = Context {
        // Replaced by each cluster's own release.
        release: Release::new(0, 0, 0),
        instance_types: Vec::new(),
        applications: Vec::new(),
        launching_account: launching_account.or(caller.clone()),
        caller_account: caller,
        region: aws.region().to_string(),
        thresholds,
        now,
    };
    let targets = described
        .iter()
        .map(|(id, facts)| match facts {
            Ok(cluster) => audit::cluster_target(kind, cluster, &collected, &base),
            Err(error) => audit::failed_cluster_target(kind, id, error, &base),
        })
        .collect();
    let stats = Stats {
        api_calls: aws.calls().snapshot(),
        elapsed_ms: started.elapsed().as_millis() as u64,
        scopes: None,
    };
    Ok(Report::new(targets, errors, stats))
}

fn render(report: &Report, cli: &Cli) -> String {
    match cli.format {
        Format::Json => report::render_json(report),
        Format::Sarif => report::render_sarif(report),
        Format::Markdown => report::render_markdown(report),
        Format::Junit => report::render_junit(report, threshold(cli.fail_on)),
        Format::Table => {
            let terminal = std::io::stdout().is_terminal();
            let colour = terminal && std::env::var_os("NO_COLOR").is_none();
            report::render_table(report, colour, if terminal { None } else { Some(120) })
        }
    }
}

/// 3 when something was not audited, else 1 when a finding reaches `--fail-on`, else 0.
pub fn exit_code(report: &Report, fail_on: Option<FailOn>) -> u8 {
    if report.incomplete() {
        return 3;
    }
    match (report.worst(), threshold(fail_on)) {
        (Some(worst), Some(threshold)) if worst >= threshold => 1,
        _ => 0,
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

fn explain_rules(key: Option<&str>, format: Format) -> Result<Outcome, RunError> {
    let stdout = match key {
        None => match format {
            Format::Json => {
                let list: Vec<serde_json::Value> =
                    rules::registry().iter().map(rule_json).collect();
                serde_json::to_string_pretty(&list).unwrap_or_default() + "\n"
            }
            // The catalogue is for people in every other format.
            Format::Table | Format::Sarif | Format::Junit | Format::Markdown => {
                let mut table = Table::new();
                table.load_preset(UTF8_FULL_CONDENSED);
                table.set_content_arrangement(ContentArrangement::Dynamic);
                table.set_header(["ID", "Name", "Severity", "Title"]);
                for rule in rules::registry() {
                    table.add_row(vec![rule.id, rule.name, rule.severity.as_str(), rule.title]);
                }
                format!("{table}\n")
            }
        },
        Some(key) => {
            let rule = rules::find(key).ok_or_else(|| RunError::UnknownRule(key.to_string()))?;
            match format {
                Format::Json => {
                    serde_json::to_string_pretty(&rule_json(rule)).unwrap_or_default() + "\n"
                }
                Format::Table | Format::Sarif | Format::Junit | Format::Markdown => format!(
                    "{} {} ({})\n{}\n\nWhy: {}\n\nRemediation: {}\n\nSource: {}\nDocs: {}\n",
                    rule.id,
                    rule.name,
                    rule.severity,
                    rule.title,
                    rule.explanation,
                    rule.remediation,
                    rule.source,
                    rule.doc_url
                ),
            }
        }
    };
    Ok(Outcome {
        stdout,
        exit_code: 0,
    })
}

fn rule_json(rule: &rules::Rule) -> serde_json::Value {
    serde_json::json!({
        "id": rule.id,
        "name": rule.name,
        "severity": rule.severity,
        "title": rule.title,
        "explanation": rule.explanation,
        "remediation": rule.remediation,
        "source": rule.source,
        "doc_url": rule.doc_url,
    })
}
