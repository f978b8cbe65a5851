//! The image-content rules on files read from a directory or a snapshot, and `inspect snap-…`.

use std::time::Instant;

use super::RunError;
use crate::aws::Aws;
use crate::collect;
use crate::context::Context;
use crate::facts::ContentsFacts;
use crate::invocation::{Invocation, SnapshotJob};
use crate::report::{Report, ReportedFinding, Stats, Target, TargetKind};
use crate::rules;

/// The content findings of `facts` join `target`'s; what could not be read is a run error each, naming
/// the AMI when the target is one.
pub(super) fn judge(
    target: &mut Target,
    facts: &ContentsFacts,
    context: &Context,
    errors: &mut Vec<String>,
) {
    target.findings.extend(
        rules::evaluate_contents(facts, context)
            .into_iter()
            .map(ReportedFinding::from_finding),
    );
    target
        .findings
        .sort_by_key(|f| (std::cmp::Reverse(f.severity), f.rule.clone()));
    // Several AMIs in one report: each error says whose file it is.
    let whose = match target.kind {
        TargetKind::Image => format!("{}: ", target.id),
        _ => String::new(),
    };
    errors.extend(
        facts
            .unreadable
            .iter()
            .map(|u| format!("{whose}could not read {u}")),
    );
}

/// `inspect snap-…`: the content rules on one snapshot's files.
pub(super) async fn snapshot(
    invocation: &Invocation,
    job: &SnapshotJob,
    aws: &Aws,
) -> Result<Report, RunError> {
    let started = Instant::now();
    let context = Context::new(
        job.release,
        aws.region(),
        invocation.now,
        invocation.thresholds,
        None,
        None,
    );
    let mut target = Target::new(
        TargetKind::Rootfs,
        job.snapshot_id.clone(),
        aws.region().to_string(),
        context.summary(),
    );
    let mut errors = Vec::new();
    let (facts, read) = collect::read_snapshot(aws, &job.snapshot_id).await;
    target.contents = Some(read);
    match facts {
        Ok(facts) => judge(&mut target, &facts, &context, &mut errors),
        Err(why) => errors.push(format!("{}: contents not audited: {why}", job.snapshot_id)),
    }
    let stats = Stats::since(started, aws.calls().snapshot());
    Ok(Report::new(vec![target], errors, stats))
}
