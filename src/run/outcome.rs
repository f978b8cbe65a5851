//! From a judged report to what is printed and the exit code.

use std::io::IsTerminal;

use chrono::{DateTime, Utc};

use crate::cli::Format;
use crate::invocation::ReportSettings;
use crate::report::{self, Report};
use crate::rules::Severity;
use crate::terminal::visible;

/// What to print and how to exit.
#[derive(Debug)]
pub struct Outcome {
    pub stdout: String,
    pub exit_code: u8,
}

impl Outcome {
    /// Text for stdout, and success.
    pub fn printed(stdout: String) -> Outcome {
        Outcome {
            stdout,
            exit_code: 0,
        }
    }
}

/// The report rendered in the asked format, and its exit code.
pub(super) fn of(report: &Report, settings: &ReportSettings, now: DateTime<Utc>) -> Outcome {
    Outcome {
        stdout: render(report, settings, now),
        exit_code: exit_code(report, settings.fail_on),
    }
}

fn render(report: &Report, settings: &ReportSettings, now: DateTime<Utc>) -> String {
    match settings.format {
        Format::Asff => {
            let asff = report::render_asff(report, now);
            // Security Hub needs an account and a region for every finding: say what could not go in.
            if !asff.left_out.is_empty() {
                eprintln!(
                    "emr-ami-audit: left out of the ASFF findings (no known AWS account or region): {}",
                    visible(&asff.left_out.join(", "))
                );
            }
            // Run-level problems (an account that could not be assumed, a cluster list refused)
            // have no resource to attach a finding to: ASFF has no place for them, so they go to
            // stderr, and the exit code (3) still says the audit is incomplete.
            for error in &report.errors {
                eprintln!(
                    "emr-ami-audit: not audited (not in the ASFF findings): {}",
                    visible(error)
                );
            }
            asff.text
        }
        Format::Json => report::render_json(report),
        Format::Sarif => report::render_sarif(report),
        Format::Markdown => report::render_markdown(report),
        Format::Junit => report::render_junit(report, settings.fail_on),
        Format::Table => {
            let terminal = std::io::stdout().is_terminal();
            let colour = terminal && std::env::var_os("NO_COLOR").is_none();
            report::render_table(report, colour, if terminal { None } else { Some(120) })
        }
    }
}

/// 3 when something was not audited, else 1 when a finding reaches `fail_on`, else 0.
pub fn exit_code(report: &Report, fail_on: Option<Severity>) -> u8 {
    if report.incomplete() {
        return 3;
    }
    match (report.worst(), fail_on) {
        (Some(worst), Some(threshold)) if worst >= threshold => 1,
        _ => 0,
    }
}
