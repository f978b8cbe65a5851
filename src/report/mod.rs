//! One `Report` value, rendered by every format from the same data and the same rule registry.

mod asff;
mod json;
mod junit;
mod located;
mod markdown;
mod sarif;
mod table;

use std::collections::BTreeMap;

use serde::Serialize;

pub use asff::{Asff, render_asff, severity_label as asff_severity_label};
pub use json::render_json;
pub use junit::render_junit;
pub use markdown::render_markdown;
pub use sarif::render_sarif;
pub use table::render_table;

use crate::context::ContextSummary;
use crate::facts::{Lineage, SnapshotRead};
use crate::rules::Severity;
use crate::sink::Sink;
pub use crate::sink::{ReportedFinding, Suppression, WaiverOutcome, WaiverStatus};

/// Version of the JSON report's schema (`schema/report.schema.json`); bumped on incompatible changes.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub schema_version: u32,
    pub tool: Tool,
    pub summary: Summary,
    /// Problems of the run as a whole (the caller's identity could not be read, …).
    pub errors: Vec<String>,
    pub targets: Vec<Target>,
    /// What each waiver of the configuration did (only when there are waivers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waivers: Option<Vec<WaiverOutcome>>,
    pub stats: Stats,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Summary {
    pub error: usize,
    pub warning: usize,
    pub info: usize,
    pub targets_audited: usize,
    pub targets_not_audited: usize,
    /// AMIs nested in cluster and plan targets that could not be audited.
    pub images_not_audited: usize,
    /// Findings a waiver accepts: not counted above, and never failing the run.
    pub suppressed: usize,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Image,
    Cluster,
    Plan,
    /// An image's root filesystem (`inspect`).
    Rootfs,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Audited,
    NotAudited,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Target {
    pub kind: TargetKind,
    pub id: String,
    /// The AMI's name, when EC2 gave one.
    pub name: Option<String>,
    pub region: String,
    pub context: ContextSummary,
    pub status: Status,
    pub error: Option<String>,
    pub findings: Vec<ReportedFinding>,
    /// Nested image targets: where an image is used (`cluster-level`, or a group/fleet and its
    /// instance types).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub used_by: Option<Vec<String>>,
    /// Clusters and plans: whether every instance boots the EMR default AMI (no custom AMI at all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_ami: Option<bool>,
    /// Clusters and plans: the audit of each custom AMI in the cluster's context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<Target>>,
    /// Images: the base in one line (what it is and how it is known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// Images: the chain back to the base, each link with where it came from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lineage: Option<Lineage>,
    /// Images (`--contents`) and snapshots (`inspect snap-…`): what reading the root snapshot took.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contents: Option<SnapshotRead>,
}

impl Target {
    pub fn new(kind: TargetKind, id: String, region: String, context: ContextSummary) -> Target {
        Target {
            kind,
            id,
            name: None,
            region,
            context,
            status: Status::Audited,
            error: None,
            findings: Vec::new(),
            used_by: None,
            default_ami: None,
            images: None,
            base: None,
            lineage: None,
            contents: None,
        }
    }

    /// This target and its nested image targets.
    pub fn with_nested(&self) -> Vec<&Target> {
        let mut all = vec![self];
        for image in self.images.iter().flatten() {
            all.extend(image.with_nested());
        }
        all
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Stats {
    /// Calls per `service:Action`.
    pub api_calls: BTreeMap<String, u64>,
    pub elapsed_ms: u64,
    /// Runs over several accounts or regions: the calls made in each.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<ScopeStats>>,
}

impl Stats {
    /// The calls counted, and the time since `started`.
    pub fn since(started: std::time::Instant, api_calls: BTreeMap<String, u64>) -> Stats {
        Stats {
            api_calls,
            elapsed_ms: started.elapsed().as_millis() as u64,
            scopes: None,
        }
    }
}

/// The calls made in one account and region.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ScopeStats {
    /// The assumed account (`--accounts`); absent for the caller's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    pub region: String,
    pub api_calls: BTreeMap<String, u64>,
}

fn judge_target(target: &mut Target, sink: &mut Sink<'_>) {
    sink.judge(&target.id, &mut target.findings);
    for image in target.images.iter_mut().flatten() {
        judge_target(image, sink);
    }
}

impl Report {
    pub fn new(targets: Vec<Target>, errors: Vec<String>, stats: Stats) -> Report {
        let mut report = Report {
            schema_version: SCHEMA_VERSION,
            tool: Tool {
                name: env!("CARGO_PKG_NAME"),
                version: env!("CARGO_PKG_VERSION"),
            },
            summary: Summary::default(),
            errors,
            targets,
            waivers: None,
            stats,
        };
        report.summarize();
        report
    }

    /// Let the sink judge every finding (nested targets' too), then count again.
    pub fn judge(&mut self, mut sink: Sink<'_>) {
        for target in &mut self.targets {
            judge_target(target, &mut sink);
        }
        self.waivers = sink.outcomes();
        self.summarize();
    }

    /// Count findings by severity (waived ones apart) and targets by status.
    pub fn summarize(&mut self) {
        let mut summary = Summary::default();
        for target in &self.targets {
            match target.status {
                Status::Audited => summary.targets_audited += 1,
                Status::NotAudited => summary.targets_not_audited += 1,
            }
        }
        for target in self.targets.iter().flat_map(Target::with_nested) {
            if target.kind == TargetKind::Image
                && target.status == Status::NotAudited
                && target.used_by.is_some()
            {
                summary.images_not_audited += 1;
            }
            for finding in &target.findings {
                if finding.suppressed.is_some() {
                    summary.suppressed += 1;
                    continue;
                }
                match finding.severity {
                    Severity::Error => summary.error += 1,
                    Severity::Warning => summary.warning += 1,
                    Severity::Info => summary.info += 1,
                }
            }
        }
        self.summary = summary;
    }

    /// Whether anything could not be audited (exit code 3), a cluster's AMI included.
    pub fn incomplete(&self) -> bool {
        !self.errors.is_empty()
            || self
                .targets
                .iter()
                .flat_map(Target::with_nested)
                .any(|t| t.status == Status::NotAudited)
    }

    /// The most severe finding, if any.
    pub fn worst(&self) -> Option<Severity> {
        self.targets
            .iter()
            .flat_map(Target::with_nested)
            .flat_map(|t| &t.findings)
            .filter(|f| f.suppressed.is_none())
            .map(|f| f.severity)
            .max()
    }
}

/// One line on what reading a root snapshot took, for the table and Markdown reports.
pub fn contents_line(read: &SnapshotRead) -> String {
    if read.error.is_some() && read.blocks_fetched == 0 {
        return format!("{}: not read (see the run errors)", read.snapshot_id);
    }
    let mut line = format!(
        "{} of {} written blocks read ({:.1} MiB) in {:.1} s, {} listing call{}, about ${:.5}",
        read.blocks_fetched,
        read.blocks_listed,
        read.bytes_fetched as f64 / (1u64 << 20) as f64,
        read.elapsed_ms as f64 / 1000.0,
        read.list_calls,
        if read.list_calls == 1 { "" } else { "s" },
        read.estimated_cost_usd,
    );
    line = match &read.filesystem {
        Some(fs) => format!("{} ({fs}): {line}", read.snapshot_id),
        None => format!("{}: {line}", read.snapshot_id),
    };
    if read.error.is_some() {
        line.push_str("; its files could not be read (see the run errors)");
    }
    line
}
