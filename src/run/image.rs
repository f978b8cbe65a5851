//! `image AMI…`: candidate AMIs for a release, instance types and applications.

use std::time::Instant;

use futures::StreamExt;

use super::{RunError, contents, judging};
use crate::audit;
use crate::aws::Aws;
use crate::collect::{self, collect_images};
use crate::context::Context;
use crate::facts::{Collected, ImageEvidence};
use crate::invocation::{ImageJob, Invocation};
use crate::progress::Progress;
use crate::report::{Report, Stats, Target};
use crate::rootfs;

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
        contents::judge(target, &rootfs::read(root), &context, &mut errors);
    }
    if job.contents {
        contents_of_images(aws, &mut targets, &collected, &context, &mut errors).await;
    }
    let stats = Stats::since(started, aws.calls().snapshot());
    Ok(Report::new(targets, errors, stats))
}

/// Snapshots read at once: each holds a cache of blocks, and the run's budget of calls bounds the rest.
const SNAPSHOT_CONCURRENCY: usize = 2;

/// `--contents`: each AMI's files from its root snapshot, judged in the AMI's context; a snapshot that
/// can't be read is a run error naming the AMI, and the others go on.
async fn contents_of_images(
    aws: &Aws,
    targets: &mut [Target],
    collected: &Collected,
    context: &Context,
    errors: &mut Vec<String>,
) {
    let snapshots: Vec<Result<String, String>> = targets
        .iter()
        .map(|target| root_snapshot(collected.images.get(&target.id)))
        .collect();
    let mut reads: Vec<_> = futures::stream::iter(snapshots.iter().enumerate())
        .filter_map(|(i, snapshot)| async move {
            let id = snapshot.as_ref().ok()?;
            Some(async move { (i, collect::read_snapshot(aws, id).await) })
        })
        .buffer_unordered(SNAPSHOT_CONCURRENCY)
        .collect()
        .await;
    reads.sort_by_key(|(i, _)| *i);
    let mut reads = reads.into_iter().peekable();
    for (i, (target, snapshot)) in targets.iter_mut().zip(&snapshots).enumerate() {
        if let Err(why) = snapshot {
            errors.push(format!("{}: contents not audited: {why}", target.id));
            continue;
        }
        let Some((_, (facts, read))) = reads.next_if(|(at, _)| *at == i) else {
            continue;
        };
        target.contents = Some(read);
        match facts {
            Ok(facts) => {
                contents::judge(target, &facts, context, errors);
            }
            Err(why) => errors.push(format!("{}: contents not audited: {why}", target.id)),
        }
    }
}

/// The root device's snapshot, or why there is none to read.
fn root_snapshot(evidence: Option<&ImageEvidence>) -> Result<String, String> {
    let image = evidence
        .and_then(ImageEvidence::found)
        .ok_or("the AMI was not found or could not be described")?;
    let device = image.root_device().ok_or_else(|| {
        format!(
            "its root device {} is not in its block device mapping",
            image.root_device_name.as_deref().unwrap_or("(none named)")
        )
    })?;
    let snapshot = device
        .ebs
        .as_ref()
        .and_then(|ebs| ebs.snapshot_id.as_deref())
        .ok_or("its root device has no EBS snapshot (an instance-store AMI)")?;
    if !crate::validate::is_snapshot_id(snapshot) {
        return Err(format!(
            "its root snapshot ID '{}' is not a snapshot ID",
            crate::terminal::visible(snapshot)
        ));
    }
    Ok(snapshot.to_string())
}
