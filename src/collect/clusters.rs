//! EMR clusters: the ones named, or every cluster listed in the given states, each described.

use chrono::{DateTime, Utc};
use futures::StreamExt;

use crate::aws::Aws;
use crate::facts::{ClusterFacts, CollectError};
use crate::progress::Progress;

/// Which clusters to describe.
#[derive(Debug, Clone, Copy)]
pub struct ClusterSelection<'a> {
    /// Named clusters; empty: list them.
    pub cluster_ids: &'a [String],
    pub states: &'a [String],
    pub created_after: Option<DateTime<Utc>>,
}

/// One cluster's ID and its facts, or why they could not be collected.
pub type DescribedCluster = (String, Result<ClusterFacts, CollectError>);

/// The clusters selected, each with its facts or why they could not be collected (in selection
/// order), and the run's errors (the listing failed).
pub struct DescribedClusters {
    pub described: Vec<DescribedCluster>,
    pub errors: Vec<String>,
}

/// List (when no IDs were given) and describe, `concurrency` clusters at a time.
pub async fn describe_clusters(
    aws: &Aws,
    selection: ClusterSelection<'_>,
    concurrency: usize,
    progress: Progress,
) -> DescribedClusters {
    let mut errors = Vec::new();
    let ids = if selection.cluster_ids.is_empty() {
        match aws
            .list_clusters(selection.states, selection.created_after)
            .await
        {
            Ok(ids) => ids,
            Err(error) => {
                errors.push(format!(
                    "not audited: the clusters could not be listed: {error}"
                ));
                Vec::new()
            }
        }
    } else {
        selection.cluster_ids.to_vec()
    };
    tracing::info!(
        "describing {} clusters in {}, {} at a time",
        ids.len(),
        aws.region(),
        concurrency
    );
    let bar = progress.bar(ids.len(), "describing clusters");
    // Unordered: a cluster whose calls sleep through retries holds no other back; the index puts the
    // report back in the order of the listing.
    let mut described: Vec<(usize, DescribedCluster)> =
        futures::stream::iter(ids.into_iter().enumerate())
            .map(|(index, id)| async move {
                let facts = aws.describe_cluster(&id).await;
                (index, (id, facts))
            })
            .buffer_unordered(concurrency)
            .inspect(|_| bar.inc(1))
            .collect()
            .await;
    bar.finish_and_clear();
    described.sort_by_key(|(index, _)| *index);
    let described = described.into_iter().map(|(_, cluster)| cluster).collect();
    DescribedClusters { described, errors }
}
