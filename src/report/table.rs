//! `--format table`: one block per target for people, colour only on a terminal.

use std::fmt::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, Color, ContentArrangement, Table};

use super::{Report, Status};
use crate::rules::Severity;

pub fn render_table(report: &Report, colour: bool, width: Option<u16>) -> String {
    let mut out = String::new();
    for error in &report.errors {
        let _ = writeln!(out, "run error: {error}");
    }
    if !report.errors.is_empty() {
        out.push('\n');
    }
    for target in &report.targets {
        let name = target
            .name
            .as_deref()
            .map(|n| format!("  {n}"))
            .unwrap_or_default();
        let mut context = vec![target.region.clone(), target.context.release.clone()];
        if !target.context.instance_types.is_empty() {
            context.push(target.context.instance_types.join(", "));
        }
        if let Some(account) = &target.context.account {
            context.push(format!("account {account}"));
        }
        let _ = writeln!(out, "{}{name}  ({})", target.id, context.join(" · "));
        match target.status {
            Status::NotAudited => {
                let _ = writeln!(
                    out,
                    "  not audited: {}",
                    target.error.as_deref().unwrap_or("unknown error")
                );
            }
            Status::Audited if target.findings.is_empty() => {
                let _ = writeln!(out, "  no findings");
            }
            Status::Audited => {
                let mut table = Table::new();
                table.load_preset(UTF8_FULL_CONDENSED);
                table.set_content_arrangement(ContentArrangement::Dynamic);
                if let Some(width) = width {
                    table.set_width(width);
                }
                if !colour {
                    table.force_no_tty();
                }
                table.set_header(["Severity", "Rule", "Name", "Message"]);
                for finding in &target.findings {
                    let mut severity = Cell::new(finding.severity.as_str());
                    if colour {
                        severity = severity.fg(match finding.severity {
                            Severity::Error => Color::Red,
                            Severity::Warning => Color::Yellow,
                            Severity::Info => Color::Blue,
                        });
                    }
                    table.add_row(vec![
                        severity,
                        Cell::new(&finding.rule),
                        Cell::new(&finding.name),
                        Cell::new(&finding.message),
                    ]);
                }
                let _ = writeln!(out, "{table}");
            }
        }
        out.push('\n');
    }
    let s = &report.summary;
    let calls: u64 = report.stats.api_calls.values().sum();
    let _ = writeln!(
        out,
        "{} target{}: {} audited, {} not audited · {} error{}, {} warning{}, {} info · {calls} API call{} in {:.1} s",
        s.targets_audited + s.targets_not_audited,
        plural(s.targets_audited + s.targets_not_audited),
        s.targets_audited,
        s.targets_not_audited,
        s.error,
        plural(s.error),
        s.warning,
        plural(s.warning),
        s.info,
        plural(calls as usize),
        report.stats.elapsed_ms as f64 / 1000.0,
    );
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
