//! STS: who is calling.

use super::{Aws, collect_error};
use crate::facts::CollectError;

impl Aws {
    /// The caller's account ID (GetCallerIdentity).
    pub async fn caller_account(&self) -> Result<String, CollectError> {
        self.calls.record("sts", "GetCallerIdentity");
        let output = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| collect_error("sts", "GetCallerIdentity", &e))?;
        output
            .account()
            .map(str::to_string)
            .ok_or_else(|| CollectError {
                service: "sts".into(),
                action: "GetCallerIdentity".into(),
                code: "MissingAccount".into(),
                message: "the answer named no account".into(),
            })
    }
}
