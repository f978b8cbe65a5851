//! `image AMI…`: candidate AMIs for a release, instance types and applications.

use std::time::Instant;

use super::{RunError, judging};
use crate::audit;
use crate::aws::Aws;
use crate::collect::collect_images;
use crate::invocation::{ImageJob, Invocation};
use crate::progress::Progress;
use crate::report::{Report, ReportedFinding, Stats, Target};
use crate::rootfs;
use crate::rules;

pub(super) async fn image(
    invocation: &Invocation,
    job: &ImageJob,
    aws: &Aws,
) -> Result<Report, RunError> {
    let started = Instant::now();
    let image_ids = &job.image_ids;
    let spinner = Progress::new(invocation.progress).spinner(
        image_ids.len(),
        format!("auditing {} AMIs and their lineage", image_ids.len()),
    );
    let collected = collect_images(
        aws,
        image_ids,
        &job.instance_types,
        &[job.release.to_string()],
        job.account.as_deref(),
    )
    .await;
    spinner.finish_and_clear();
    let collected = collected?;

    let mut errors = Vec::new();
    let mut context = judging::context(
        invocation,
        aws,
        &collected,
        job.release,
        job.account.clone(),
        &mut errors,
    );
    context.instance_types = job.instance_types.clone();
    context.applications = job.applications.clone();
    let mut targets: Vec<Target> = image_ids
        .iter()
        .filter_map(|id| collected.images.get(id))
        .map(|evidence| audit::image_target(evidence, &collected, &context))
        .collect();
    // `--rootfs`: the same AMI's files, judged in the same context; one report for both.
    if let (Some(root), Some(target)) = (&job.rootfs, targets.first_mut()) {
        let facts = rootfs::read(root);
        target.findings.extend(
            rules::evaluate_contents(&facts, &context)
                .into_iter()
                .map(ReportedFinding::from_finding),
        );
        target
            .findings
            .sort_by_key(|f| (std::cmp::Reverse(f.severity), f.rule.clone()));
        errors.extend(
            facts
                .unreadable
                .iter()
                .map(|u| format!("could not read {u}")),
        );
    }
    let stats = Stats::since(started, aws.calls().snapshot());
    Ok(Report::new(targets, errors, stats))
}
