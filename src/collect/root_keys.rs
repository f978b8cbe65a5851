//! The KMS keys of encrypted root snapshots (EA033): DescribeSnapshots for the root snapshots of the
//! caller's own encrypted images (batched), then each distinct key once: DescribeKey, and for a
//! customer managed key of the caller's account its policy and grants.

use std::collections::BTreeMap;

use futures::StreamExt;

use super::BATCH;
use crate::aws::Aws;
use crate::facts::kms::arn_account;
use crate::facts::{ImageFacts, KeyFacts, KeyManager, RootKey};

/// Keys read at once (three calls each at most, within the run's budget).
const KEY_CONCURRENCY: usize = 4;

/// The root key of every image of `images` whose root snapshot is encrypted and that the caller owns,
/// into `into` by image ID. Other images keep [`RootKey::NotFetched`]: EA033 says why from the facts.
pub async fn collect(
    aws: &Aws,
    images: &BTreeMap<String, ImageFacts>,
    caller: Option<&str>,
    into: &mut BTreeMap<String, RootKey>,
) {
    let Some(caller) = caller else {
        return;
    };
    // Image → its root snapshot, for the images whose snapshot the caller can see.
    let wanted: BTreeMap<&str, String> = images
        .iter()
        .filter(|(_, image)| image.owner_id.as_deref() == Some(caller))
        .filter_map(|(id, image)| {
            let ebs = image.root_device()?.ebs.as_ref()?;
            (ebs.encrypted == Some(true)).then_some((id.as_str(), ebs.snapshot_id.clone()?))
        })
        .collect();
    if wanted.is_empty() {
        return;
    }
    let mut snapshot_ids: Vec<String> = wanted.values().cloned().collect();
    snapshot_ids.sort();
    snapshot_ids.dedup();
    let mut keys_of: BTreeMap<String, Result<Option<String>, crate::facts::CollectError>> =
        BTreeMap::new();
    for chunk in snapshot_ids.chunks(BATCH) {
        match aws.snapshots(chunk).await {
            Ok(found) => {
                for snapshot in found {
                    keys_of.insert(snapshot.snapshot_id, Ok(snapshot.kms_key_id));
                }
            }
            Err(error) => {
                for id in chunk {
                    keys_of.insert(id.clone(), Err(error.clone()));
                }
            }
        }
    }
    let mut key_ids: Vec<String> = keys_of
        .values()
        .filter_map(|k| k.as_ref().ok().cloned().flatten())
        .collect();
    key_ids.sort();
    key_ids.dedup();
    let keys: BTreeMap<String, KeyFacts> = futures::stream::iter(key_ids)
        .map(|key_id| async move { (key_id.clone(), read_key(aws, key_id, caller).await) })
        .buffer_unordered(KEY_CONCURRENCY)
        .collect()
        .await;
    for (image, snapshot) in wanted {
        let key = match keys_of.get(&snapshot) {
            Some(Ok(Some(key_id))) => keys
                .get(key_id)
                .map(|k| RootKey::Key(Box::new(k.clone())))
                .unwrap_or_else(|| RootKey::Unlisted(snapshot.clone())),
            Some(Err(error)) => RootKey::Failed(error.clone()),
            Some(Ok(None)) | None => RootKey::Unlisted(snapshot.clone()),
        };
        into.insert(image.to_string(), key);
    }
}

/// DescribeKey, then for a customer managed key of the caller's own account its policy and grants
/// (GetKeyPolicy only works in the key's account; ListGrants of another account's key needs that
/// account's permission, so neither is tried across accounts: EA033 says so).
async fn read_key(aws: &Aws, key_id: String, caller: &str) -> KeyFacts {
    let manager = aws.key_manager(&key_id).await;
    let own_customer_key =
        manager == Ok(KeyManager::Customer) && arn_account(&key_id) == Some(caller);
    let (policy, grants) = if own_customer_key {
        let (policy, grants) = tokio::join!(aws.key_policy(&key_id), aws.key_grants(&key_id));
        (Some(policy), Some(grants))
    } else {
        (None, None)
    };
    KeyFacts {
        key_id,
        manager,
        policy,
        grants,
    }
}
