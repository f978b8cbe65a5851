//! STS: who is calling.

use super::Aws;
use crate::facts::CollectError;

impl Aws {
    /// The caller's account ID (GetCallerIdentity), asked once however many regions share the
    /// credentials (see [`Aws::pending`]).
    pub async fn caller_account(&self) -> Result<String, CollectError> {
        // Only an answer is kept: after a failure, the next region asks again.
        self.identity
            .get_or_try_init(|| self.ask_caller_account())
            .await
            .cloned()
    }

    async fn ask_caller_account(&self) -> Result<String, CollectError> {
        self.calls.record("sts", "GetCallerIdentity");
        let request = self.sts().get_caller_identity();
        let output = &self
            .gate
            .ask("sts", "GetCallerIdentity", || request.clone().send())
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
}
