//! EMR clusters: the ones named, or every cluster listed in the given states, each described.

use chrono::{DateTime, Utc};
use futures::StreamExt;

use super::prefetch::{Prefetched, prefetch};
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
/// order), the run's errors (the listing failed), and what was asked for their AMIs meanwhile.
pub struct DescribedClusters {
    pub described: Vec<DescribedCluster>,
    pub errors: Vec<String>,
    pub prefetched: Prefetched,
}

/// Clusters described at once for each call the run may have in flight (`--concurrency`): a cluster
/// whose call sleeps through a retry's backoff gives that call back to the budget but keeps its place
/// here, so with as many places as calls, 30% of requests faulted left most of the budget idle (bench
/// case b′: about 40 calls a second where 16 calls in flight at 50 ms allow 320; 34 s with four places
/// a call, against 87 s with one). Against a rate limit the clusters waiting all start with
/// DescribeCluster; the gate sends none of them at an outdated pace (`aws::gate`). The budget still
/// bounds the requests; a cluster waiting for it holds only its own small state.
const CLUSTERS_PER_CALL: usize = 4;

/// List (when no IDs were given) and describe, [`CLUSTERS_PER_CALL`] × `concurrency` clusters at a
/// time, each page's clusters as soon as it comes; and meanwhile describe the custom AMIs of the
/// clusters described ([`prefetch`]).
pub async fn describe_clusters(
    aws: &Aws,
    selection: ClusterSelection<'_>,
    concurrency: usize,
    progress: Progress,
) -> DescribedClusters {
    let named = (!selection.cluster_ids.is_empty()).then_some(selection.cluster_ids.len());
    let bar = progress.growing_bar("describing clusters", named);
    let (ids_to_describe, ids) = futures::channel::mpsc::unbounded::<String>();
    let (amis_found, amis) = futures::channel::mpsc::unbounded::<Vec<String>>();
    let listing = {
        let bar = bar.clone();
        async move {
            let mut listed = 0usize;
            let mut take = |page: Vec<String>| {
                listed += page.len();
                if let Some(bar) = &bar {
                    bar.inc_length(page.len() as u64);
                }
                for id in page {
                    // The receiver lives until every ID is described.
                    let _ = ids_to_describe.unbounded_send(id);
                }
            };
            if !selection.cluster_ids.is_empty() {
                take(selection.cluster_ids.to_vec());
                // Dropped here, not at the block's end: describing ends when its sender goes.
                drop(ids_to_describe);
                return None;
            }
            tracing::info!(
                "describing the clusters of {} as they are listed, {} at a time",
                aws.region(),
                CLUSTERS_PER_CALL * concurrency
            );
            let listing = aws
                .list_clusters_each(selection.states, selection.created_after, &mut take)
                .await;
            drop(ids_to_describe);
            let error = listing.err()?;
            // The clusters of the pages before the error are described and judged; the run error
            // says the list is incomplete.
            Some(match listed {
                0 => format!("not audited: the clusters could not be listed: {error}"),
                n => format!(
                    "not audited: the clusters could not all be listed (stopped after {n}): {error}"
                ),
            })
        }
    };
    // Unordered: a cluster whose calls sleep through retries holds no other back; the index puts the
    // report back in the order of the listing.
    let describing = async move {
        let described: Vec<(usize, DescribedCluster)> = ids
            .enumerate()
            .map(|(index, id)| async move {
                let facts = aws.describe_cluster(&id).await;
                (index, (id, facts))
            })
            .buffer_unordered(CLUSTERS_PER_CALL * concurrency)
            .inspect(|(_, (_, facts))| {
                if let Some(bar) = &bar {
                    bar.inc(1);
                }
                if let Ok(cluster) = facts {
                    // The receiver lives until the last cluster is described.
                    let _ = amis_found.unbounded_send(cluster.custom_amis());
                }
            })
            .collect()
            .await;
        // The prefetch ends when this sender goes.
        drop(amis_found);
        if let Some(bar) = &bar {
            bar.finish_and_clear();
        }
        described
    };
    let (error, mut described, prefetched) = tokio::join!(listing, describing, prefetch(aws, amis));
    tracing::info!("described {} clusters in {}", described.len(), aws.region());
    described.sort_by_key(|(index, _)| *index);
    DescribedClusters {
        described: described.into_iter().map(|(_, cluster)| cluster).collect(),
        errors: error.into_iter().collect(),
        prefetched,
    }
}
