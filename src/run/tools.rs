//! The commands that audit nothing: the rule catalogue, the release table, `init`, completions, the man page, and
//! `mock serve`.

use clap::CommandFactory;

use super::{Outcome, RunError};
use crate::cli::{Cli, Format};
use crate::config;
use crate::release::table as release_table;
use crate::replay::{Faults, ReplayServer, Scenario};
use crate::rules::Rule;
use crate::rules::catalogue::{self, Style};
use crate::terminal::visible;

/// `rules [RULE]`: the catalogue, or one rule explained.
pub(super) fn explain_rules(rule: Option<&'static Rule>, format: Format) -> Outcome {
    // The catalogue is for people in every format but JSON and Markdown (what the README shows).
    let style = match format {
        Format::Json => Style::Json,
        Format::Markdown => Style::Markdown,
        Format::Table | Format::Sarif | Format::Junit | Format::Asff => Style::Text,
    };
    Outcome::printed(match rule {
        None => catalogue::list(style),
        Some(rule) => catalogue::one(rule, style),
    })
}

/// `releases`: the release table, for people (every format but JSON) or as JSON.
pub(super) fn releases(format: Format) -> Outcome {
    Outcome::printed(match format {
        Format::Json => release_table::json(),
        Format::Table | Format::Sarif | Format::Junit | Format::Markdown | Format::Asff => {
            release_table::text()
        }
    })
}

/// `init`: a commented configuration to start from.
pub(super) fn init(path: &std::path::Path) -> Result<Outcome, RunError> {
    config::init(path)?;
    eprintln!(
        "emr-ami-audit: wrote {}",
        visible(&path.display().to_string())
    );
    Ok(Outcome::printed(String::new()))
}

pub(super) fn completions(shell: clap_complete::Shell) -> Result<Outcome, RunError> {
    generated(|out| {
        clap_complete::generate(shell, &mut Cli::command(), "emr-ami-audit", out);
        Ok(())
    })
}

pub(super) fn man() -> Result<Outcome, RunError> {
    generated(|out| clap_mangen::Man::new(Cli::command()).render(out))
}

/// Text a generator writes (completions, man page) as the outcome.
fn generated(write: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> Result<Outcome, RunError> {
    let mut out = Vec::new();
    write(&mut out).map_err(RunError::Generate)?;
    Ok(Outcome::printed(String::from_utf8_lossy(&out).into_owned()))
}

/// `mock serve`: answer from a scenario on 127.0.0.1 until Ctrl-C.
pub(super) async fn serve(
    dir: &std::path::Path,
    port: u16,
    faults: Faults,
) -> Result<Outcome, RunError> {
    let scenario = Scenario::load(dir)?;
    let count = scenario.exchanges.len();
    let server = ReplayServer::start_on_port(scenario, port, faults)
        .await
        .map_err(|e| RunError::Serve(port, e))?;
    eprintln!(
        "emr-ami-audit: serving {} ({count} recorded exchanges) on {}; Ctrl-C stops\n  export AWS_ENDPOINT_URL={}",
        visible(&dir.display().to_string()),
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
    Ok(Outcome::printed(String::new()))
}
