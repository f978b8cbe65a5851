//! `--format table`: one block per target for people, colour only on a terminal.

use std::fmt::Write;

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{Cell, Color, ContentArrangement, Table};

use super::{Report, ReportedFinding, Status, Target};
use crate::rules::Severity;
use crate::sink::WaiverStatus;
use crate::terminal::visible;

struct Style {
    colour: bool,
    width: Option<u16>,
}

pub fn render_table(report: &Report, colour: bool, width: Option<u16>) -> String {
    let style = Style { colour, width };
    let mut out = String::new();
    for error in &report.errors {
        let _ = writeln!(out, "run error: {}", visible(error));
    }
    if !report.errors.is_empty() {
        out.push('\n');
    }
    for target in &report.targets {
        heading(&mut out, target);
        match &target.images {
            None => image_block(&mut out, target, &style),
            Some(images) => cluster_block(&mut out, target, images, &style),
        }
        out.push('\n');
    }
    summary(&mut out, report);
    out
}

fn heading(out: &mut String, target: &Target) {
    let name = target
        .name
        .as_deref()
        .map(|n| format!("  {n}"))
        .unwrap_or_default();
    let mut context = vec![target.region.clone()];
    context.extend(target.context.release.clone());
    if !target.context.instance_types.is_empty() {
        context.push(target.context.instance_types.join(", "));
    }
    if let Some(account) = &target.context.account {
        context.push(format!("account {account}"));
    }
    let _ = writeln!(
        out,
        "{}",
        visible(&format!("{}{name}  ({})", target.id, context.join(" · ")))
    );
}

fn image_block(out: &mut String, target: &Target, style: &Style) {
    if let Some(base) = &target.base {
        let _ = writeln!(out, "  base: {}", visible(base));
    }
    if let Some(read) = &target.contents {
        let _ = writeln!(out, "  contents: {}", visible(&super::contents_line(read)));
    }
    match target.status {
        Status::NotAudited => {
            let _ = writeln!(out, "  not audited: {}", strip(target.error.as_deref()));
        }
        Status::Audited if target.findings.iter().all(|f| f.suppressed.is_some()) => {
            let _ = writeln!(out, "  no findings");
        }
        Status::Audited => {
            let rows = target
                .findings
                .iter()
                .filter(|f| f.suppressed.is_none())
                .map(|f| (f, f.name.as_str()));
            let _ = writeln!(
                out,
                "{}",
                table(["Severity", "Rule", "Name", "Message"], rows, style)
            );
        }
    }
}

fn cluster_block(out: &mut String, target: &Target, images: &[Target], style: &Style) {
    if target.status == Status::NotAudited {
        let _ = writeln!(out, "  not audited: {}", strip(target.error.as_deref()));
        return;
    }
    if target.default_ami == Some(true) {
        let _ = writeln!(out, "  EMR default AMI: no custom AMI to check");
    }
    for image in images {
        let name = image
            .name
            .as_deref()
            .map(|n| format!("  {n}"))
            .unwrap_or_default();
        let used_by = image.used_by.as_deref().unwrap_or_default().join("; ");
        let _ = writeln!(
            out,
            "  {}",
            visible(&format!("{}{name}  ← {used_by}", image.id))
        );
        if let Some(base) = &image.base {
            let _ = writeln!(out, "    base: {}", visible(base));
        }
        if image.status == Status::NotAudited {
            let _ = writeln!(out, "    not audited: {}", strip(image.error.as_deref()));
        }
    }
    let mut rows: Vec<(&ReportedFinding, &str)> = target
        .findings
        .iter()
        .map(|f| (f, "cluster"))
        .chain(
            images
                .iter()
                .flat_map(|i| i.findings.iter().map(move |f| (f, i.id.as_str()))),
        )
        .collect();
    // Most severe first across the cluster and its AMIs; the sort is stable, so cluster rows lead ties.
    rows.sort_by_key(|(finding, _)| std::cmp::Reverse(finding.severity));
    if rows.is_empty() {
        let _ = writeln!(out, "  no findings");
    } else {
        let _ = writeln!(
            out,
            "{}",
            table(
                ["Severity", "Rule", "Where", "Message"],
                rows.into_iter(),
                style
            )
        );
    }
}

fn table<'a>(
    header: [&str; 4],
    rows: impl Iterator<Item = (&'a ReportedFinding, &'a str)>,
    style: &Style,
) -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED);
    table.set_content_arrangement(ContentArrangement::Dynamic);
    if let Some(width) = style.width {
        table.set_width(width);
    }
    if !style.colour {
        table.force_no_tty();
    }
    table.set_header(header);
    for (finding, third) in rows {
        let mut severity = Cell::new(finding.severity.as_str());
        if style.colour {
            severity = severity.fg(match finding.severity {
                Severity::Error => Color::Red,
                Severity::Warning => Color::Yellow,
                Severity::Info => Color::Blue,
            });
        }
        table.add_row(vec![
            severity,
            Cell::new(&finding.rule),
            Cell::new(visible(third)),
            Cell::new(visible(&finding.message)),
        ]);
    }
    table
}

fn strip(error: Option<&str>) -> std::borrow::Cow<'_, str> {
    let error = error.unwrap_or("unknown error");
    visible(error.strip_prefix("not audited: ").unwrap_or(error))
}

fn summary(out: &mut String, report: &Report) {
    for waiver in report.waivers.iter().flatten() {
        let note = match waiver.status {
            WaiverStatus::Applied => continue,
            WaiverStatus::Expired => "expired: it no longer waives",
            WaiverStatus::Unmatched => "matched no finding",
        };
        let _ = writeln!(
            out,
            "waiver of {} on {}: {note} ({})",
            waiver.rule,
            visible(&waiver.target),
            visible(&waiver.reason)
        );
    }
    let s = &report.summary;
    let calls: u64 = report.stats.api_calls.values().sum();
    let targets = report.targets.len();
    let waived = match s.suppressed {
        0 => String::new(),
        n => format!(", {n} waived"),
    };
    let nested = match s.images_not_audited {
        0 => String::new(),
        n => format!(" ({n} of their AMIs not audited)"),
    };
    let _ = writeln!(
        out,
        "{targets} target{}: {} audited, {} not audited{nested} · {} error{}, {} warning{}, {} info{waived} · {calls} API call{} in {:.1} s",
        plural(targets),
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
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
