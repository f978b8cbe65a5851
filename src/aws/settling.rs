//! A batched Describe call that EC2 refuses because some of the IDs asked for don't exist
//! (`InvalidAMIID.NotFound`, `InvalidDhcpOptionID.NotFound`, …) settles those IDs as missing and asks
//! again for the rest, one by one if the error names none of them: one unknown ID never fails its
//! neighbours. Every batched lookup by ID goes through here.

use std::collections::{BTreeSet, VecDeque};
use std::future::Future;

use crate::facts::CollectError;

/// What a batch settled to: the answers, and each ID EC2 refused with the error that said so.
pub(super) struct Settled<T> {
    pub found: Vec<T>,
    pub missing: Vec<(String, CollectError)>,
}

/// Ask for `ids` with `ask`, settling IDs an `unknown` error names (IDs start with `prefix`). Any other
/// error fails the batch.
pub(super) async fn settle_unknown<T, F, Fut>(
    ids: &[String],
    prefix: &str,
    unknown: fn(&str) -> bool,
    mut ask: F,
) -> Result<Settled<T>, CollectError>
where
    F: FnMut(Vec<String>) -> Fut,
    Fut: Future<Output = Result<Vec<T>, CollectError>>,
{
    let mut settled = Settled {
        found: Vec::new(),
        missing: Vec::new(),
    };
    let mut pending: VecDeque<Vec<String>> = VecDeque::from([ids.to_vec()]);
    // Each round settles at least one ID, so this many rounds always suffice.
    let mut budget = 2 * ids.len() + 2;
    while let Some(group) = pending.pop_front() {
        if group.is_empty() {
            continue;
        }
        budget = budget.saturating_sub(1);
        match ask(group.clone()).await {
            Ok(found) => settled.found.extend(found),
            Err(error) if !unknown(&error.code) => return Err(error),
            Err(error) if budget == 0 => {
                return Err(CollectError {
                    code: "TooManyRetries".into(),
                    message: "EC2 kept naming IDs that were not in the request".into(),
                    status: None,
                    ..error
                });
            }
            Err(error) => {
                let named = ids_in(&error.message, prefix);
                let (gone, rest): (Vec<String>, Vec<String>) =
                    group.iter().cloned().partition(|id| named.contains(id));
                if !gone.is_empty() {
                    settled
                        .missing
                        .extend(gone.into_iter().map(|id| (id, error.clone())));
                    pending.push_front(rest);
                } else if group.len() == 1 {
                    settled.missing.push((group[0].clone(), error));
                } else {
                    // The message named none of them: ask one by one.
                    pending.extend(group.into_iter().map(|id| vec![id]));
                }
            }
        }
    }
    Ok(settled)
}

/// IDs with `prefix` named in an EC2 error message, e.g. "The image id '[ami-0abc…]' does not exist".
pub(super) fn ids_in(message: &str, prefix: &str) -> BTreeSet<String> {
    message
        .match_indices(prefix)
        .map(|(at, _)| {
            let hex: String = message[at + prefix.len()..]
                .chars()
                .take_while(|c| c.is_ascii_hexdigit())
                .collect();
            format!("{prefix}{hex}")
        })
        .collect()
}

/// The `Invalid…ID.NotFound` codes of subnets, VPCs and DHCP options sets.
pub(super) fn is_id_not_found(code: &str) -> bool {
    code.starts_with("Invalid") && code.ends_with(".NotFound")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_read_from_error_messages() {
        let ids = ids_in(
            "The image ids '[ami-0ea0000000000dead, ami-12345678]' do not exist",
            "ami-",
        );
        assert_eq!(
            ids.into_iter().collect::<Vec<_>>(),
            ["ami-0ea0000000000dead", "ami-12345678"]
        );
        assert_eq!(
            ids_in(
                "The dhcpOption ID 'dopt-0deaddeaddeaddead' does not exist",
                "dopt-"
            )
            .into_iter()
            .collect::<Vec<_>>(),
            ["dopt-0deaddeaddeaddead"]
        );
        assert!(ids_in("nothing here", "ami-").is_empty());
        assert!(is_id_not_found("InvalidDhcpOptionID.NotFound"));
        assert!(is_id_not_found("InvalidSubnetID.NotFound"));
        assert!(!is_id_not_found("UnauthorizedOperation"));
    }
}
