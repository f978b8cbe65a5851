//! `--format markdown`: a compact report for pull-request comments (GitHub-flavoured Markdown).

use std::cmp::Reverse;
use std::fmt::Write;

use super::located::kind_name;
use super::{Report, ReportedFinding, Status, Target};
use crate::rules::Severity;
use crate::sink::WaiverStatus;
use crate::terminal::visible;

pub fn render_markdown(report: &Report) -> String {
    let mut out = String::from("### emr-ami-audit\n\n");
    summary(&mut out, report);
    if !report.errors.is_empty() {
        out.push_str("\nRun errors:\n\n");
        for error in &report.errors {
            let _ = writeln!(out, "- {}", inline(error));
        }
    }
    waivers(&mut out, report);
    for target in &report.targets {
        out.push('\n');
        section(&mut out, target);
    }
    out
}

fn summary(out: &mut String, report: &Report) {
    let s = &report.summary;
    let waived = match s.suppressed {
        0 => String::new(),
        n => format!(" · {n} waived"),
    };
    let nested = match s.images_not_audited {
        0 => String::new(),
        n => format!(" ({n} of their AMIs not audited)"),
    };
    let _ = writeln!(
        out,
        "{} error{} · {} warning{} · {} info{waived} — {} target{} audited, {} not audited{nested}",
        badge(Severity::Error, s.error),
        plural(s.error),
        badge(Severity::Warning, s.warning),
        plural(s.warning),
        badge(Severity::Info, s.info),
        s.targets_audited,
        plural(s.targets_audited),
        s.targets_not_audited,
    );
}

/// Waivers that waived nothing: expired, or matching no finding.
fn waivers(out: &mut String, report: &Report) {
    let mut first = true;
    for waiver in report.waivers.iter().flatten() {
        let note = match waiver.status {
            WaiverStatus::Applied => continue,
            WaiverStatus::Expired => "expired: it no longer waives",
            WaiverStatus::Unmatched => "matched no finding",
        };
        if first {
            out.push_str("\nWaivers:\n\n");
            first = false;
        }
        let _ = writeln!(
            out,
            "- {} on {}: {note} ({})",
            inline(&waiver.rule),
            code(&waiver.target),
            inline(&waiver.reason)
        );
    }
}

fn section(out: &mut String, target: &Target) {
    let name = target
        .name
        .as_deref()
        .map(|n| format!(" {}", inline(n)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "#### {} {}{name}",
        kind_name(target.kind),
        code(&target.id)
    );
    let mut context = Vec::new();
    if !target.region.is_empty() {
        context.push(inline(&target.region));
    }
    context.extend(target.context.release.as_deref().map(inline));
    if !target.context.instance_types.is_empty() {
        context.push(inline(&target.context.instance_types.join(", ")));
    }
    if let Some(account) = &target.context.account {
        context.push(format!("account {}", inline(account)));
    }
    if let Some(base) = &target.base {
        context.push(format!("base: {}", inline(base)));
    }
    if let Some(read) = &target.contents {
        context.push(format!("contents: {}", inline(&super::contents_line(read))));
    }
    let _ = writeln!(out, "{}\n", context.join(" · "));

    if target.status == Status::NotAudited {
        let _ = writeln!(out, "Not audited: {}", reason(target));
        return;
    }
    if target.default_ami == Some(true) {
        out.push_str("EMR default AMI: no custom AMI to check. ");
    }
    let images = target.images.as_deref().unwrap_or_default();
    for image in images {
        let _ = write!(out, "- {}", code(&image.id));
        if let Some(name) = &image.name {
            let _ = write!(out, " {}", inline(name));
        }
        if let Some(used_by) = &image.used_by {
            let _ = write!(out, " ← {}", inline(&used_by.join("; ")));
        }
        if let Some(base) = &image.base {
            let _ = write!(out, " — base: {}", inline(base));
        }
        if image.status == Status::NotAudited {
            let _ = write!(out, " — not audited: {}", reason(image));
        }
        out.push('\n');
    }
    if !images.is_empty() {
        out.push('\n');
    }

    let all: Vec<(&ReportedFinding, String)> = target
        .findings
        .iter()
        .map(|f| (f, kind_name(target.kind)))
        .chain(images.iter().flat_map(|image| {
            image
                .findings
                .iter()
                .map(move |f| (f, code(&image.id).replace('|', "\\|")))
        }))
        .collect();
    let total = all.len();
    let mut rows: Vec<(&ReportedFinding, String)> = all
        .into_iter()
        .filter(|(finding, _)| finding.suppressed.is_none())
        .collect();
    let waived = match total - rows.len() {
        0 => String::new(),
        n => format!(" {n} waived."),
    };
    if rows.is_empty() {
        let _ = writeln!(out, "No findings.{waived}");
        return;
    }
    // Most severe first; the sort is stable, so the target's own rows lead ties.
    rows.sort_by_key(|(finding, _)| Reverse(finding.severity));
    out.push_str("| Severity | Rule | Where | Message |\n|---|---|---|---|\n");
    for (finding, place) in rows {
        let rule = if finding.doc_url.is_empty() {
            inline(&finding.rule)
        } else {
            format!("[{}]({})", inline(&finding.rule), finding.doc_url)
        };
        let _ = writeln!(
            out,
            "| {} | {rule} | {place} | {} |",
            severity(finding.severity),
            inline(&finding.message)
        );
    }
    if !waived.is_empty() {
        let _ = writeln!(out, "\n{}", waived.trim_start());
    }
}

fn severity(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "🔴 error",
        Severity::Warning => "🟡 warning",
        Severity::Info => "🔵 info",
    }
}

/// A count with its severity's colour, bold when not zero.
fn badge(severity: Severity, count: usize) -> String {
    let dot = match severity {
        Severity::Error => "🔴",
        Severity::Warning => "🟡",
        Severity::Info => "🔵",
    };
    match count {
        0 => format!("{dot} 0"),
        n => format!("{dot} **{n}**"),
    }
}

fn reason(target: &Target) -> String {
    let error = target.error.as_deref().unwrap_or("unknown error");
    inline(error.strip_prefix("not audited: ").unwrap_or(error))
}

/// Text that Markdown must not interpret: punctuation that could start emphasis, code, links or
/// HTML (and `|`, which splits table cells) is backslash-escaped; line breaks become spaces; other
/// control characters are shown, not obeyed.
fn inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' => {
                out.push('\\');
                out.push(c);
            }
            '\r' | '\n' => out.push(' '),
            _ => out.push(c),
        }
    }
    visible(&out).into_owned()
}

/// A code span, with a longer fence if the text holds a backtick.
fn code(text: &str) -> String {
    let text = visible(text);
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_the_table_or_start_markup() {
        assert_eq!(inline("a|b <c> *d*\nx_y"), "a\\|b \\<c\\> \\*d\\* x\\_y");
        assert_eq!(code("ami-1"), "`ami-1`");
        assert_eq!(code("a`b"), "`` a`b ``");
    }
}
