//! The context the rules judge one account and region in.

use crate::aws::Aws;
use crate::context::Context;
use crate::facts::Collected;
use crate::invocation::Invocation;
use crate::release::Release;

/// The context of this scope: the caller's account as collected (when it could not be read, the run
/// says so in `errors`, and ownership is not judged), and the launching account given or else the
/// caller's.
pub(super) fn context(
    invocation: &Invocation,
    aws: &Aws,
    collected: &Collected,
    release: Release,
    launching_account: Option<String>,
    errors: &mut Vec<String>,
) -> Context {
    if let Err(error) = &collected.caller_account {
        errors.push(format!(
            "the caller's account is unknown, so ownership was not judged: {error}"
        ));
    }
    Context::new(
        release,
        aws.region(),
        invocation.now,
        invocation.thresholds,
        collected.caller_account.as_ref().ok().cloned(),
        launching_account,
    )
}
