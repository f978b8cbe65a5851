//! KMS: who manages the key of an encrypted root snapshot, and its policy and grants (EA033).

use aws_sdk_kms::types::KeyManagerType;

use super::Aws;
use super::paging::{Page, every_page};
use crate::facts::{CollectError, KeyGrant, KeyManager};

/// The only key policy name KMS has.
const POLICY_NAME: &str = "default";

impl Aws {
    /// DescribeKey: whether AWS or the customer manages the key.
    pub async fn key_manager(&self, key_id: &str) -> Result<KeyManager, CollectError> {
        self.calls.record("kms", "DescribeKey");
        let request = self.kms().describe_key().key_id(key_id);
        let output = &self
            .gate
            .ask("kms", "DescribeKey", || request.clone().send())
            .await?;
        match output.key_metadata().and_then(|m| m.key_manager()) {
            Some(KeyManagerType::Aws) => Ok(KeyManager::Aws),
            Some(KeyManagerType::Customer) => Ok(KeyManager::Customer),
            Some(other) => Ok(KeyManager::Other(other.as_str().to_string())),
            None => Err(CollectError {
                service: "kms".into(),
                action: "DescribeKey".into(),
                code: "EmptyAnswer".into(),
                message: format!("the answer named no KeyManager for {key_id}"),
                status: None,
            }),
        }
    }

    /// GetKeyPolicy `default`: the policy document as JSON text.
    pub async fn key_policy(&self, key_id: &str) -> Result<String, CollectError> {
        self.calls.record("kms", "GetKeyPolicy");
        let request = self
            .kms()
            .get_key_policy()
            .key_id(key_id)
            .policy_name(POLICY_NAME);
        let output = &self
            .gate
            .ask("kms", "GetKeyPolicy", || request.clone().send())
            .await?;
        output
            .policy()
            .map(str::to_string)
            .ok_or_else(|| CollectError {
                service: "kms".into(),
                action: "GetKeyPolicy".into(),
                code: "EmptyAnswer".into(),
                message: format!("the answer held no policy for {key_id}"),
                status: None,
            })
    }

    /// ListGrants, every page.
    pub async fn key_grants(&self, key_id: &str) -> Result<Vec<KeyGrant>, CollectError> {
        every_page(&self.calls, "kms", "ListGrants", |marker| async move {
            let request = self.kms().list_grants().key_id(key_id).set_marker(marker);
            let page = &self
                .gate
                .ask("kms", "ListGrants", || request.clone().send())
                .await?;
            let grants = page.grants().iter().filter_map(|grant| {
                Some(KeyGrant {
                    grantee: grant.grantee_principal()?.to_string(),
                    operations: grant
                        .operations()
                        .iter()
                        .map(|o| o.as_str().to_string())
                        .collect(),
                })
            });
            // KMS says `Truncated` and gives `NextMarker`; a marker without `Truncated` is not followed.
            let next = page.next_marker().filter(|_| page.truncated());
            Ok(Page::new(grants, next))
        })
        .await
    }
}
