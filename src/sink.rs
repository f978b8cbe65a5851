//! Between the rules and the report: the one place the user's severity overrides and waivers act on
//! findings (cargo-deny's diagnostic sink is the model). It owns what they produce — the reported
//! finding, its suppression, and what became of each waiver — so the report only renders them.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use crate::config::{Config, SeverityOverride, glob_match};
use crate::rules::{Finding, Severity};

/// A finding with the registry's words about its rule (the finding's own rule: never blank), as the
/// sink let it through.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReportedFinding {
    pub rule: String,
    pub name: String,
    pub severity: Severity,
    pub message: String,
    pub evidence: BTreeMap<String, String>,
    pub remediation: String,
    pub doc_url: String,
    /// Set when a waiver of the configuration accepts the finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suppressed: Option<Suppression>,
}

impl ReportedFinding {
    pub fn from_finding(finding: Finding) -> Self {
        let rule = finding.rule;
        ReportedFinding {
            rule: rule.id.to_string(),
            name: rule.name.to_string(),
            severity: finding.severity,
            message: finding.message,
            evidence: finding.evidence,
            remediation: rule.remediation.to_string(),
            doc_url: rule.doc_url.to_string(),
            suppressed: None,
        }
    }
}

/// A waived finding keeps its place in JSON and SARIF, marked with this.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Suppression {
    pub reason: String,
    pub expires: Option<String>,
}

/// What became of a waiver in a run, for the report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WaiverOutcome {
    pub rule: String,
    pub target: String,
    pub reason: String,
    pub expires: Option<String>,
    /// `applied`, `expired` (it matched, but no longer waives) or `unmatched`.
    pub status: WaiverStatus,
    /// Findings it matched.
    pub matched: usize,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum WaiverStatus {
    Applied,
    Expired,
    Unmatched,
}

/// Applies one configuration's severities and waivers, as of one day, and counts what each waiver did.
pub struct Sink<'a> {
    config: &'a Config,
    today: NaiveDate,
    outcomes: Vec<WaiverOutcome>,
}

impl<'a> Sink<'a> {
    pub fn new(config: &'a Config, today: NaiveDate) -> Sink<'a> {
        let outcomes = config
            .waivers
            .iter()
            .map(|w| WaiverOutcome {
                rule: w.rule.clone(),
                target: w.target.clone(),
                reason: w.reason.clone(),
                expires: w.expires.map(|d| d.to_string()),
                status: WaiverStatus::Unmatched,
                matched: 0,
            })
            .collect();
        Sink {
            config,
            today,
            outcomes,
        }
    }

    /// The findings of one target: rules set `off` dropped, severities overridden, waived findings
    /// marked, findings under an expired waiver told so.
    pub fn judge(&mut self, target_id: &str, findings: &mut Vec<ReportedFinding>) {
        let config = self.config;
        findings.retain(|f| config.severity.get(&f.rule) != Some(&SeverityOverride::Off));
        for finding in findings.iter_mut() {
            if let Some(SeverityOverride::Set(severity)) = config.severity.get(&finding.rule) {
                finding.severity = *severity;
            }
            let Some((index, waiver)) = config
                .waivers
                .iter()
                .enumerate()
                .find(|(_, w)| w.rule == finding.rule && glob_match(&w.target, target_id))
            else {
                continue;
            };
            let outcome = &mut self.outcomes[index];
            outcome.matched += 1;
            match waiver.expires {
                Some(expires) if expires < self.today => {
                    outcome.status = WaiverStatus::Expired;
                    finding.message = format!(
                        "{} (the waiver of line {} expired on {expires}: {})",
                        finding.message, waiver.line, waiver.reason
                    );
                }
                _ => {
                    outcome.status = WaiverStatus::Applied;
                    finding.suppressed = Some(Suppression {
                        reason: waiver.reason.clone(),
                        expires: waiver.expires.map(|d| d.to_string()),
                    });
                }
            }
        }
    }

    /// What each waiver did; `None` when the configuration has none.
    pub fn outcomes(self) -> Option<Vec<WaiverOutcome>> {
        (!self.config.waivers.is_empty()).then_some(self.outcomes)
    }
}
