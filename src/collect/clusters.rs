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

/// The clusters selected, each with its facts or why they could not be collected (in selection
/// order), and the run's errors (the listing failed).
pub struct DescribedClusters {
    pub described: Vec<(String, Result<ClusterFacts, CollectError>)>,
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
    let described = futures::stream::iter(ids)
        .map(|id| async move {
            let facts = aws.describe_cluster(&id).await;
            (id, facts)
        })
        .buffered(concurrency)
        .inspect(|_| bar.inc(1))
        .collect()
        .await;
    bar.finish_and_clear();
    DescribedClusters { described, errors }
}
