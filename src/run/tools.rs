//! The commands that audit nothing: the rule catalogue, `init`, completions, the man page, and
//! `mock serve`.

use clap::CommandFactory;
use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};

use super::{Outcome, RunError};
use crate::cli::{Cli, Format};
use crate::config;
use crate::replay::{Faults, ReplayServer, Scenario};
use crate::rules::{self, Rule};

/// `rules [RULE]`: the catalogue, or one rule explained.
pub(super) fn explain_rules(rule: Option<&'static Rule>, format: Format) -> Outcome {
    let stdout = match rule {
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
        Some(rule) => match format {
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
        },
    };
    Outcome::printed(stdout)
}

fn rule_json(rule: &Rule) -> serde_json::Value {
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

/// `init`: a commented configuration to start from.
pub(super) fn init(path: &std::path::Path) -> Result<Outcome, RunError> {
    config::init(path)?;
    eprintln!("emr-ami-audit: wrote {}", path.display());
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
    Ok(Outcome::printed(String::new()))
}
