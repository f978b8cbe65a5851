//! The commands: resolve the invocation, run its job, judge the findings, render, exit.

mod cluster;
mod contents;
mod image;
mod inspect;
mod judging;
mod matrix;
mod organization;
mod outcome;
mod plan;
mod scopes;
mod session;
mod tools;

pub use outcome::{Outcome, exit_code};

use crate::aws::{Aws, ConfigError};
use crate::cli::Cli;
use crate::collect::CollectUsageError;
use crate::invocation::{AuditJob, ImageJob, Invocation, InvocationError, Job};
use crate::plan::PlanError;
use crate::replay::{RecordError, ScenarioError};
use crate::report::Report;
use crate::sink::Sink;

/// Anything that stops a run before a report: all exit with code 2.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Invocation(#[from] InvocationError),
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
    Settings(#[from] crate::config::ConfigError),
    #[error("cannot write the report to '{0}': {1}")]
    Output(std::path::PathBuf, std::io::Error),
    #[error("cannot write the generated text: {0}")]
    Generate(std::io::Error),
}

pub async fn run(cli: &Cli) -> Result<Outcome, RunError> {
    let invocation = Invocation::resolve(cli)?;
    let mut outcome = run_job(&invocation).await?;
    if let Some(path) = &invocation.report.output {
        std::fs::write(path, &outcome.stdout).map_err(|e| RunError::Output(path.clone(), e))?;
        outcome.stdout.clear();
    }
    Ok(outcome)
}

async fn run_job(invocation: &Invocation) -> Result<Outcome, RunError> {
    let report = match &invocation.job {
        Job::Rules(rule) => return Ok(tools::explain_rules(*rule, invocation.report.format)),
        Job::Releases => return Ok(tools::releases(invocation.report.format)),
        Job::Init(path) => return tools::init(path),
        Job::Completions(shell) => return tools::completions(*shell),
        Job::Man => return tools::man(),
        Job::MockServe { dir, port, faults } => return tools::serve(dir, *port, *faults).await,
        Job::Inspect(job) => inspect::inspect(invocation, job),
        // The release matrix answers across releases: a report of its own.
        Job::Audit(AuditJob::Image(
            job @ ImageJob {
                matrix: Some(pattern),
                ..
            },
        )) => return matrix::matrix(invocation, job, pattern).await,
        Job::Audit(job) => {
            let (report, session) = scopes::audit(invocation, job).await?;
            let mut report = judged(report, invocation);
            session.finish(invocation, &mut report)?;
            return Ok(outcome::of(&report, &invocation.report, invocation.now));
        }
    };
    Ok(outcome::of(
        &judged(report, invocation),
        &invocation.report,
        invocation.now,
    ))
}

/// The report after the configuration's severities and waivers.
fn judged(mut report: Report, invocation: &Invocation) -> Report {
    report.judge(Sink::new(&invocation.config, invocation.now.date_naive()));
    report
}

/// An AWS-backed job in one account and region.
async fn audit_scope(
    invocation: &Invocation,
    job: &AuditJob,
    aws: &Aws,
) -> Result<Report, RunError> {
    match job {
        AuditJob::Image(job) => image::image(invocation, job, aws).await,
        AuditJob::Cluster(job) => cluster::cluster(invocation, job, aws).await,
        AuditJob::Plan(job) => plan::plan(invocation, job, aws).await,
        AuditJob::Snapshot(job) => contents::snapshot(invocation, job, aws).await,
    }
}
