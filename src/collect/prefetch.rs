//! The custom AMIs of a cluster scan, asked for while the clusters are still being described: so the
//! image phase overlaps the cluster phase, and a cluster whose calls sleep through their retries holds
//! no image back (before, every image waited for the last cluster).
//!
//! At the same number of calls as asking at the end: DescribeImages goes out only in full batches of
//! [`BATCH`] while clusters come in, and once for the rest when they stop, so n AMIs cost ⌈n / 100⌉
//! batches either way. Each AMI found has its GetImageAncestry asked at once, the first alone (a caller
//! without the permission costs one call, as in the tracer), then [`ANCESTRY_CONCURRENCY`] at a time.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use futures::stream::FuturesUnordered;
use futures::{Stream, StreamExt};

use super::trace::{ANCESTRY_CONCURRENCY, Ancestries, api_unavailable};
use super::{BATCH, BATCH_CONCURRENCY, lookups};
use crate::aws::Aws;
use crate::facts::ImageLookup;

/// What was asked for ahead of the image phase: DescribeImages' word on each AMI, and
/// GetImageAncestry's answers.
#[derive(Debug, Default)]
pub struct Prefetched {
    pub(super) images: BTreeMap<String, ImageLookup>,
    pub(super) ancestry: Ancestries,
}

/// Whether GetImageAncestry may be asked: not yet known until the first answer comes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ancestry {
    Unasked,
    Probing,
    Open,
    /// Denied or not supported: asking for other AMIs is pointless.
    Closed,
}

/// Describe (and ask the ancestry of) every AMI `amis` yields, in lists as clusters are described,
/// until it ends.
pub async fn prefetch(aws: &Aws, amis: impl Stream<Item = Vec<String>>) -> Prefetched {
    let mut amis = std::pin::pin!(amis.fuse());
    let mut prefetched = Prefetched::default();
    let mut seen = BTreeSet::new();
    let mut unbatched: Vec<String> = Vec::new();
    let mut batches_waiting: VecDeque<Vec<String>> = VecDeque::new();
    let mut batches = FuturesUnordered::new();
    let mut ancestry = Ancestry::Unasked;
    let mut ancestry_waiting: VecDeque<String> = VecDeque::new();
    let mut ancestries = FuturesUnordered::new();
    let mut input_open = true;
    loop {
        // Start what may start: full batches (all of the rest once the input ends), and the
        // ancestries of AMIs found.
        if !input_open && !unbatched.is_empty() {
            batches_waiting.push_back(std::mem::take(&mut unbatched));
        }
        while batches.len() < BATCH_CONCURRENCY
            && let Some(batch) = batches_waiting.pop_front()
        {
            batches.push(async move {
                let answer = aws.describe_images(&batch).await;
                (batch, answer)
            });
        }
        let room = match ancestry {
            Ancestry::Unasked => 1,
            Ancestry::Open => ANCESTRY_CONCURRENCY.saturating_sub(ancestries.len()),
            Ancestry::Probing | Ancestry::Closed => 0,
        };
        for id in ancestry_waiting.drain(..room.min(ancestry_waiting.len())) {
            if ancestry == Ancestry::Unasked {
                ancestry = Ancestry::Probing;
            }
            ancestries.push(async move {
                let answer = aws.image_ancestry(&id).await;
                (id, answer)
            });
        }
        if !input_open && batches.is_empty() && ancestries.is_empty() {
            // Ancestries still waiting here belong to a closed API: the tracer notes why.
            return prefetched;
        }
        tokio::select! {
            ids = amis.next(), if input_open => match ids {
                Some(ids) => {
                    for id in ids {
                        if seen.insert(id.clone()) {
                            unbatched.push(id);
                        }
                    }
                    while unbatched.len() >= BATCH {
                        let rest = unbatched.split_off(BATCH);
                        batches_waiting.push_back(std::mem::replace(&mut unbatched, rest));
                    }
                }
                None => input_open = false,
            },
            Some((batch, answer)) = batches.next(), if !batches.is_empty() => {
                for (id, lookup) in lookups(&batch, answer) {
                    if matches!(lookup, ImageLookup::Found(_)) && ancestry != Ancestry::Closed {
                        ancestry_waiting.push_back(id.clone());
                    }
                    prefetched.images.insert(id, lookup);
                }
            },
            Some((id, answer)) = ancestries.next(), if !ancestries.is_empty() => {
                if ancestry == Ancestry::Probing {
                    let unavailable = answer.as_ref().err().is_some_and(api_unavailable);
                    ancestry = if unavailable { Ancestry::Closed } else { Ancestry::Open };
                    if unavailable {
                        ancestry_waiting.clear();
                    }
                }
                prefetched.ancestry.insert(id, answer);
            },
        }
    }
}
