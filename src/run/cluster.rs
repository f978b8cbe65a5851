//! `cluster [ID…]`: running clusters and the custom AMIs they use; also the shared judging of clusters,
//! running or planned.

use std::time::Instant;

use super::{RunError, judging};
use crate::audit;
use crate::aws::Aws;
use crate::collect::{self, ClusterSelection, CollectUsageError, Prefetched, Wanted};
use crate::facts::{ClusterFacts, CollectError};
use crate::invocation::{ClusterJob, Invocation};
use crate::progress::Progress;
use crate::release::Release;
use crate::report::{Report, Stats, TargetKind};

pub(super) async fn cluster(
    invocation: &Invocation,
    job: &ClusterJob,
    aws: &Aws,
) -> Result<Report, RunError> {
    let started = Instant::now();
    let progress = Progress::new(invocation.progress);
    let selection = ClusterSelection {
        cluster_ids: &job.cluster_ids,
        states: &job.states,
        created_after: job.created_after,
    };
    let clusters =
        collect::describe_clusters(aws, selection, invocation.aws.concurrency, progress).await;
    let batch = ClusterBatch {
        kind: TargetKind::Cluster,
        described: &clusters.described,
        launching_account: None,
        started,
    };
    let spinner = progress.spinner(
        clusters.described.len(),
        "auditing the clusters' AMIs and their lineage".to_string(),
    );
    let report = audit_clusters(invocation, aws, batch, clusters.errors, clusters.prefetched).await;
    spinner.finish_and_clear();
    report
}

/// Clusters (running or planned) to judge together.
pub(super) struct ClusterBatch<'a> {
    pub(super) kind: TargetKind,
    /// Each cluster's ID and its facts, or why they could not be collected.
    pub(super) described: &'a [(String, Result<ClusterFacts, CollectError>)],
    pub(super) launching_account: Option<String>,
    pub(super) started: Instant,
}

/// Collect what the clusters' custom AMIs need, once for all of them (apart from what was `prefetched`
/// while they were described), and judge each cluster.
pub(super) async fn audit_clusters(
    invocation: &Invocation,
    aws: &Aws,
    batch: ClusterBatch<'_>,
    mut errors: Vec<String>,
    prefetched: Prefetched,
) -> Result<Report, RunError> {
    let ClusterBatch {
        kind,
        described,
        launching_account,
        started,
    } = batch;
    // Only clusters on custom AMIs need image, instance-type and network facts.
    let custom: Vec<&ClusterFacts> = described
        .iter()
        .filter_map(|(_, c)| c.as_ref().ok())
        .filter(|c| !c.custom_amis().is_empty())
        .collect();
    let wanted = Wanted {
        image_ids: custom.iter().flat_map(|c| c.custom_amis()).collect(),
        instance_types: custom.iter().flat_map(|c| c.instance_types()).collect(),
        releases: custom
            .iter()
            .filter_map(|c| c.release_label.clone())
            .collect(),
        subnet_ids: custom.iter().flat_map(|c| c.subnet_ids.clone()).collect(),
        launching_account: launching_account.clone(),
    };
    let collected = collect::collect(aws, &wanted, prefetched).await;
    // An instance type that does not exist is the author's mistake in a plan, but only a fact of a
    // running cluster (reported by EA020 for it).
    if kind == TargetKind::Plan
        && let Some(invalid) = collected.invalid_instance_types.first()
    {
        return Err(CollectUsageError::InvalidInstanceType(invalid.clone()).into());
    }
    let base = judging::context(
        invocation,
        aws,
        &collected,
        // Replaced by each cluster's own release.
        Release::new(0, 0, 0),
        launching_account,
        &mut errors,
    );
    let targets = described
        .iter()
        .map(|(id, facts)| match facts {
            Ok(cluster) => audit::cluster_target(kind, cluster, &collected, &base),
            Err(error) => audit::failed_cluster_target(kind, id, error, &base),
        })
        .collect();
    let stats = Stats::since(started, aws.calls().snapshot());
    Ok(Report::new(targets, errors, stats))
}
