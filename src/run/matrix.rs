//! `image AMI… --release all` (or a glob, `emr-6.*`): which EMR releases each AMI can serve. EMR's
//! release labels are listed once (ListReleaseLabels, every page); each AMI is described and traced
//! once; each release is then a pure evaluation of the image rules in that release's context, judged
//! by the configuration (severities, waivers) like any report. A release is served when no error
//! finding is left; the others name the rules that block them.

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use super::session::Session;
use super::{Outcome, RunError, judged, judging};
use crate::audit;
use crate::cli::Format;
use crate::collect::collect_images;
use crate::invocation::{ImageJob, Invocation};
use crate::release::{Release, ReleasePattern};
use crate::report::{Report, Stats, Status, Target};
use crate::rules::Severity;
use crate::terminal::visible;

/// One release's verdict for one AMI.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Verdict {
    pub release: String,
    pub serves: bool,
    /// The rules with an error finding (not waived), in rule order.
    pub blocking: Vec<String>,
}

/// One AMI across the releases.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Row {
    pub image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `None` when the AMI could be audited; else why not (no verdicts then).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub not_audited: Option<String>,
    pub releases: Vec<Verdict>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Matrix {
    pub pattern: String,
    pub region: String,
    pub images: Vec<Row>,
    pub errors: Vec<String>,
    pub stats: Stats,
}

pub(super) async fn matrix(
    invocation: &Invocation,
    job: &ImageJob,
    pattern: &ReleasePattern,
) -> Result<Outcome, RunError> {
    let started = Instant::now();
    let session = Session::connect(invocation).await?;
    let aws = &session.aws;
    let (labels, collected) = tokio::join!(
        aws.release_labels(),
        collect_images(aws, &job.image_ids, &[], &[], job.account.as_deref())
    );
    let collected = collected?;
    let mut errors = Vec::new();
    let labels = labels.unwrap_or_else(|error| {
        errors.push(format!("the release labels could not be listed: {error}"));
        Vec::new()
    });
    let mut releases: Vec<Release> = Vec::new();
    for label in labels.iter().filter(|l| pattern.matches(l)) {
        match label.parse::<Release>() {
            Ok(release) => releases.push(release),
            // A label EMR lists that isn't emr-X.Y.Z: said, not guessed at.
            Err(_) => errors.push(format!(
                "release label '{}' is not emr-X.Y.Z; left out",
                visible(label)
            )),
        }
    }
    releases.sort();
    releases.dedup();
    if releases.is_empty() && errors.is_empty() {
        errors.push(format!(
            "no release label EMR lists matches '{}'",
            pattern.as_str()
        ));
    }
    let mut base = judging::context(
        invocation,
        aws,
        &collected,
        Release::new(0, 0, 0),
        job.account.clone(),
        &mut errors,
    );
    base.applications = job.applications.clone();
    // Every (AMI, release) as a target of one report, so the configuration judges them as usual.
    let mut targets: Vec<(usize, Release, Target)> = Vec::new();
    for (index, id) in job.image_ids.iter().enumerate() {
        let Some(evidence) = collected.images.get(id) else {
            continue;
        };
        for release in &releases {
            let mut context = base.clone();
            context.release = *release;
            targets.push((
                index,
                *release,
                audit::image_target(evidence, &collected, &context),
            ));
        }
    }
    let keys: Vec<(usize, Release)> = targets.iter().map(|(i, r, _)| (*i, *r)).collect();
    let report = Report::new(
        targets.into_iter().map(|(_, _, t)| t).collect(),
        errors,
        Stats::since(started, aws.calls().snapshot()),
    );
    let mut report = judged(report, invocation);
    let mut rows: BTreeMap<usize, Row> = BTreeMap::new();
    for ((index, release), target) in keys.into_iter().zip(&report.targets) {
        let row = rows.entry(index).or_insert_with(|| Row {
            image: target.id.clone(),
            name: target.name.clone(),
            not_audited: None,
            releases: Vec::new(),
        });
        if target.status == Status::NotAudited {
            row.not_audited = Some(target.error.clone().unwrap_or_default());
            continue;
        }
        let mut blocking: Vec<String> = target
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error && f.suppressed.is_none())
            .map(|f| f.rule.clone())
            .collect();
        blocking.sort();
        blocking.dedup();
        row.releases.push(Verdict {
            release: release.label(),
            serves: blocking.is_empty(),
            blocking,
        });
    }
    let incomplete = report.incomplete() || rows.values().any(|r| r.not_audited.is_some());
    // Before the matrix is made: `--replay-strict` adds the recordings left unused to the errors.
    session.finish(invocation, &mut report)?;
    let matrix = Matrix {
        pattern: pattern.as_str().to_string(),
        region: base.region.clone(),
        images: rows.into_values().collect(),
        errors: report.errors.clone(),
        stats: report.stats.clone(),
    };
    let stdout = match invocation.report.format {
        Format::Json => serde_json::to_string_pretty(&matrix).unwrap_or_default() + "\n",
        // The other formats are refused before any request (invocation.rs).
        Format::Table | Format::Sarif | Format::Junit | Format::Markdown | Format::Asff => {
            text(&matrix)
        }
    };
    // The matrix answers a question rather than judging one launch: 3 when something could not be
    // audited or listed, else 0.
    Ok(Outcome {
        stdout,
        exit_code: if incomplete || !matrix.errors.is_empty() {
            3
        } else {
            0
        },
    })
}

/// Per AMI, per release line: the releases served (as ranges of consecutive releases), and the
/// blocked ones grouped by the rules that block them.
pub fn text(matrix: &Matrix) -> String {
    let mut out = format!(
        "Release matrix for {} in {}\n",
        matrix.pattern,
        visible(&matrix.region)
    );
    for row in &matrix.images {
        out.push('\n');
        match &row.name {
            Some(name) => out.push_str(&format!("{} ({})\n", row.image, visible(name))),
            None => out.push_str(&format!("{}\n", row.image)),
        }
        if let Some(why) = &row.not_audited {
            // The reason already reads "not audited: …".
            out.push_str(&format!("  {}\n", visible(why)));
            continue;
        }
        let served = row.releases.iter().filter(|v| v.serves).count();
        out.push_str(&format!(
            "  serves {served} of {} releases\n",
            row.releases.len()
        ));
        // Release lines in order, each with its verdicts in release order.
        let mut lines: BTreeMap<u32, Vec<&Verdict>> = BTreeMap::new();
        for verdict in &row.releases {
            if let Ok(release) = verdict.release.parse::<Release>() {
                lines.entry(release.major).or_default().push(verdict);
            }
        }
        for (major, verdicts) in lines.iter().rev() {
            let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
            for verdict in verdicts {
                let key = if verdict.serves {
                    "serves".to_string()
                } else {
                    format!("blocked by {}", verdict.blocking.join(", "))
                };
                match groups.last_mut() {
                    Some((last, members)) if *last == key => members.push(&verdict.release),
                    _ => groups.push((key, vec![&verdict.release])),
                }
            }
            for (key, members) in groups {
                let span = match (members.first(), members.last()) {
                    (Some(first), Some(last)) if first == last => first.to_string(),
                    (Some(first), Some(last)) => {
                        format!("{first} … {last} ({} releases)", members.len())
                    }
                    _ => continue,
                };
                out.push_str(&format!("  emr-{major}.x  {key}: {span}\n"));
            }
        }
    }
    for error in &matrix.errors {
        out.push_str(&format!("\nerror: {}\n", visible(error)));
    }
    out
}
