//! `--format junit`: JUnit XML for CI test reports. One test suite per target, nested AMIs
//! included; one test case per registry rule that applies to the target. A case fails when one of
//! its findings reaches the threshold (`--fail-on`) and is not waived; a target that could not be
//! audited is one erroring case.

use std::fmt::Write;

use super::located::{Located, kind_name, located};
use super::{Report, ReportedFinding, Status, TargetKind};
use crate::rules::{self, Check, Severity};

struct Suite {
    name: String,
    /// Where the target is: region and account, as JUnit suite properties.
    properties: Vec<(&'static str, String)>,
    cases: Vec<Case>,
}

struct Case {
    classname: String,
    name: String,
    outcome: Outcome,
    /// Findings below the threshold.
    system_out: String,
}

enum Outcome {
    Passed,
    Failed {
        message: String,
        severity: Severity,
        body: String,
    },
    Error {
        message: String,
    },
}

impl Suite {
    fn failures(&self) -> usize {
        self.cases
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Failed { .. }))
            .count()
    }

    fn errors(&self) -> usize {
        self.cases
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Error { .. }))
            .count()
    }
}

pub fn render_junit(report: &Report, threshold: Option<Severity>) -> String {
    let mut suites: Vec<Suite> = located(&report.targets)
        .iter()
        .map(|entry| suite(entry, threshold))
        .collect();
    if !report.errors.is_empty() {
        suites.push(Suite {
            name: "run".to_string(),
            properties: Vec::new(),
            cases: report
                .errors
                .iter()
                .enumerate()
                .map(|(i, error)| Case {
                    classname: "emr-ami-audit".to_string(),
                    name: format!("run error {}", i + 1),
                    outcome: Outcome::Error {
                        message: error.clone(),
                    },
                    system_out: String::new(),
                })
                .collect(),
        });
    }

    let tests: usize = suites.iter().map(|s| s.cases.len()).sum();
    let failures: usize = suites.iter().map(Suite::failures).sum();
    let errors: usize = suites.iter().map(Suite::errors).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let seconds = report.stats.elapsed_ms as f64 / 1000.0;
    let _ = writeln!(
        out,
        "<testsuites name=\"emr-ami-audit\" tests=\"{tests}\" failures=\"{failures}\" \
         errors=\"{errors}\" time=\"{seconds:.3}\">"
    );
    for suite in &suites {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\">",
            attr(&suite.name),
            suite.cases.len(),
            suite.failures(),
            suite.errors()
        );
        if !suite.properties.is_empty() {
            out.push_str("    <properties>\n");
            for (name, value) in &suite.properties {
                let _ = writeln!(
                    out,
                    "      <property name=\"{name}\" value=\"{}\"/>",
                    attr(value)
                );
            }
            out.push_str("    </properties>\n");
        }
        for case in &suite.cases {
            write_case(&mut out, case);
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn suite(entry: &Located<'_>, threshold: Option<Severity>) -> Suite {
    let target = entry.target;
    let name = match entry.parent {
        Some(parent) => format!("{} {} in {}", kind_name(target.kind), target.id, parent.id),
        None => format!("{} {}", kind_name(target.kind), target.id),
    };
    let mut properties = Vec::new();
    if !target.region.is_empty() {
        properties.push(("region", target.region.clone()));
    }
    if let Some(account) = &target.context.account {
        properties.push(("account", account.clone()));
    }
    if target.status == Status::NotAudited {
        let case = Case {
            classname: entry.qualified.clone(),
            name: "not-audited".to_string(),
            outcome: Outcome::Error {
                message: target
                    .error
                    .clone()
                    .unwrap_or_else(|| "not audited".to_string()),
            },
            system_out: String::new(),
        };
        return Suite {
            name,
            properties,
            cases: vec![case],
        };
    }

    // The registry's rules for this kind of target, then any other rule a finding names (so that no
    // finding goes unreported).
    let mut cases: Vec<(&str, &str)> = rules::registry()
        .iter()
        .filter(|rule| match target.kind {
            TargetKind::Image => matches!(rule.check, Check::Image(_)),
            TargetKind::Cluster | TargetKind::Plan => matches!(rule.check, Check::Cluster(_)),
            TargetKind::Rootfs => matches!(rule.check, Check::Contents(_)),
        })
        .map(|rule| (rule.id, rule.name))
        .collect();
    for finding in &target.findings {
        if !cases.iter().any(|(id, _)| *id == finding.rule) {
            cases.push((finding.rule.as_str(), finding.name.as_str()));
        }
    }

    let cases = cases
        .into_iter()
        .map(|(id, rule_name)| {
            let findings: Vec<&ReportedFinding> =
                target.findings.iter().filter(|f| f.rule == id).collect();
            case(&entry.qualified, id, rule_name, &findings, threshold)
        })
        .collect();
    Suite {
        name,
        properties,
        cases,
    }
}

fn case(
    classname: &str,
    id: &str,
    rule_name: &str,
    findings: &[&ReportedFinding],
    threshold: Option<Severity>,
) -> Case {
    // A waived finding never fails.
    let (failing, passing): (Vec<&ReportedFinding>, Vec<&ReportedFinding>) = findings
        .iter()
        .copied()
        .partition(|f| f.suppressed.is_none() && threshold.is_some_and(|t| f.severity >= t));
    let mut system_out = String::new();
    for finding in &passing {
        describe(&mut system_out, finding);
    }
    let outcome = match failing.iter().map(|f| f.severity).max() {
        None => Outcome::Passed,
        Some(severity) => {
            let mut body = String::new();
            for finding in &failing {
                describe(&mut body, finding);
            }
            if let Some(first) = failing.first() {
                let _ = writeln!(body, "Remediation: {}", first.remediation);
                if !first.doc_url.is_empty() {
                    let _ = writeln!(body, "See {}", first.doc_url);
                }
            }
            let message = failing
                .iter()
                .map(|f| f.message.as_str())
                .collect::<Vec<_>>()
                .join("; ");
            Outcome::Failed {
                message,
                severity,
                body,
            }
        }
    };
    Case {
        classname: classname.to_string(),
        name: format!("{id} {rule_name}"),
        outcome,
        system_out,
    }
}

/// `severity: message` (after `waived (reason)` if so), then the evidence, one `key: value` a line.
fn describe(out: &mut String, finding: &ReportedFinding) {
    if let Some(waiver) = &finding.suppressed {
        let _ = write!(out, "waived ({}) ", waiver.reason);
    }
    let _ = writeln!(out, "{}: {}", finding.severity, finding.message);
    for (key, value) in &finding.evidence {
        let _ = writeln!(out, "  {key}: {value}");
    }
}

fn write_case(out: &mut String, case: &Case) {
    let _ = write!(
        out,
        "    <testcase classname=\"{}\" name=\"{}\"",
        attr(&case.classname),
        attr(&case.name)
    );
    if matches!(case.outcome, Outcome::Passed) && case.system_out.is_empty() {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    match &case.outcome {
        Outcome::Passed => {}
        Outcome::Failed {
            message,
            severity,
            body,
        } => {
            let _ = writeln!(
                out,
                "      <failure message=\"{}\" type=\"{severity}\">{}</failure>",
                attr(message),
                text(body)
            );
        }
        Outcome::Error { message } => {
            let _ = writeln!(out, "      <error message=\"{}\"/>", attr(message));
        }
    }
    if !case.system_out.is_empty() {
        let _ = writeln!(
            out,
            "      <system-out>{}</system-out>",
            text(&case.system_out)
        );
    }
    out.push_str("    </testcase>\n");
}

/// Character data: the five XML escapes, and characters XML 1.0 can't hold replaced by U+FFFD.
fn text(raw: &str) -> String {
    escape(raw, false)
}

/// An attribute value: like [`text`], with tabs and line breaks as character references so that
/// they survive attribute-value normalization.
fn attr(raw: &str) -> String {
    escape(raw, true)
}

fn escape(raw: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' if attribute => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            '\t' | '\n' | '\r' => out.push(c),
            '\u{0}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => out.push('\u{fffd}'),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_characters_xml_cannot_hold() {
        assert_eq!(
            text("a < b & \"c\" 'd' > e"),
            "a &lt; b &amp; &quot;c&quot; &apos;d&apos; &gt; e"
        );
        assert_eq!(text("line\nnext\u{1}"), "line\nnext\u{fffd}");
        assert_eq!(attr("line\nnext\ttab"), "line&#10;next&#9;tab");
    }
}
