//! The commands, from parsed arguments to a rendered report and an exit code.

use std::io::IsTerminal;
use std::time::Instant;

use chrono::{DateTime, Utc};
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

use crate::aws::{Aws, AwsOptions, ConfigError};
use crate::cli::{Cli, Command, FailOn, Format, ImageArgs};
use crate::collect::{CollectUsageError, collect_images};
use crate::context::Context;
use crate::facts::ImageLookup;
use crate::release::{Release, ReleaseParseError};
use crate::replay::{ReplayServer, Scenario, ScenarioError};
use crate::report::{self, Report, ReportedFinding, Stats, Status, Target, TargetKind};
use crate::rules::{self, ImageSubject, Severity};
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
    match &cli.command {
        Command::Rules { rule } => explain_rules(rule.as_deref(), cli.format),
        Command::Image(args) => image(cli, args).await,
    }
}

/// Clients for this run, and the replay server they talk to (kept alive as long as the clients).
async fn connect(cli: &Cli) -> Result<(Aws, Option<ReplayServer>), RunError> {
    if let Some(region) = &cli.region {
        validate::region(region)?;
    }
    if let Some(dir) = &cli.replay {
        let scenario = Scenario::load(dir)?;
        let server = ReplayServer::start(scenario).await;
        let region = cli
            .region
            .as_deref()
            .or(server.region())
            .unwrap_or("us-east-1");
        let aws = Aws::for_replay(&server.url(), region)?;
        return Ok((aws, Some(server)));
    }
    let options = AwsOptions {
        region: cli.region.clone(),
        profile: cli.profile.clone(),
        endpoint_url: cli.endpoint_url.clone(),
    };
    Ok((Aws::from_environment(&options).await?, None))
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

async fn image(cli: &Cli, args: &ImageArgs) -> Result<Outcome, RunError> {
    for id in &args.images {
        validate::image_id(id)?;
    }
    let release: Release = args.release.parse()?;
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

    let (aws, _server) = connect(cli).await?;
    let started = Instant::now();
    let collected = collect_images(
        &aws,
        &image_ids,
        &instance_types,
        &[release.to_string()],
        args.account.as_deref(),
    )
    .await?;

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
        now,
    };
    let targets = image_ids
        .iter()
        .filter_map(|id| collected.images.get(id))
        .map(|evidence| {
            let mut target = Target {
                kind: TargetKind::Image,
                id: evidence.image_id.clone(),
                name: evidence.found().and_then(|i| i.name.clone()),
                region: context.region.clone(),
                context: context.summary(),
                status: Status::Audited,
                error: None,
                findings: Vec::new(),
            };
            if let ImageLookup::Failed(error) = &evidence.lookup {
                target.status = Status::NotAudited;
                target.error = Some(format!("not audited: {error}"));
                return target;
            }
            let subject = ImageSubject {
                evidence,
                region: &collected.region,
            };
            target.findings = rules::evaluate_image(&subject, &context)
                .into_iter()
                .map(ReportedFinding::from_finding)
                .collect();
            target
        })
        .collect();
    let stats = Stats {
        api_calls: aws.calls().snapshot(),
        elapsed_ms: started.elapsed().as_millis() as u64,
    };
    let report = Report::new(targets, errors, stats);
    Ok(Outcome {
        stdout: render(&report, cli.format),
        exit_code: exit_code(&report, cli.fail_on),
    })
}

fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Json => report::render_json(report),
        Format::Table => {
            let terminal = std::io::stdout().is_terminal();
            let colour = terminal && std::env::var_os("NO_COLOR").is_none();
            report::render_table(report, colour, if terminal { None } else { Some(120) })
        }
    }
}

/// 3 when something was not audited, else 1 when a finding reaches `--fail-on`, else 0.
pub fn exit_code(report: &Report, fail_on: FailOn) -> u8 {
    if report.incomplete() {
        return 3;
    }
    let threshold = match fail_on {
        FailOn::Error => Some(Severity::Error),
        FailOn::Warning => Some(Severity::Warning),
        FailOn::Info => Some(Severity::Info),
        FailOn::Never => None,
    };
    match (report.worst(), threshold) {
        (Some(worst), Some(threshold)) if worst >= threshold => 1,
        _ => 0,
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
            Format::Table => {
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
                Format::Table => format!(
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
