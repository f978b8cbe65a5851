//! STS: who is calling.

use super::{Answer, Aws};
use crate::facts::CollectError;

impl Aws {
    /// The caller's account ID (GetCallerIdentity), asked once however many regions share the
    /// credentials (see [`Aws::with_identity_of`]).
    pub async fn caller_account(&self) -> Result<String, CollectError> {
        // Only an answer is kept: after a failure, the next region asks again.
        self.identity
            .get_or_try_init(|| self.ask_caller_account())
            .await
            .cloned()
    }

    async fn ask_caller_account(&self) -> Result<String, CollectError> {
        self.calls.record("sts", "GetCallerIdentity");
        let output = self
            .sts
            .get_caller_identity()
            .send()
            .within(&self.gate, "sts", "GetCallerIdentity")
            .await?;
        output
            .account()
            .map(str::to_string)
            .ok_or_else(|| CollectError {
                service: "sts".into(),
                action: "GetCallerIdentity".into(),
                code: "MissingAccount".into(),
                message: "the answer named no account".into(),
                status: None,
            })
    }

    /// These clients, answering [`caller_account`](Self::caller_account) from `other`'s answer: the same
    /// credentials in another region are the same account.
    pub fn with_identity_of(mut self, other: &Aws) -> Aws {
        self.identity = std::sync::Arc::clone(&other.identity);
        self
    }
}
