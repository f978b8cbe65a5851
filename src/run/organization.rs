//! `--accounts org`: the accounts to audit, listed from AWS Organizations with the caller's own
//! credentials: every account of the organization (ListAccounts), or those under the `--ou` units and,
//! recursively, their child units (ListAccountsForParent, ListOrganizationalUnitsForParent). Only
//! active accounts are audited; a suspended or closing one is skipped with a note on stderr.

use std::collections::{BTreeMap, BTreeSet};

use crate::aws::{Aws, OrgAccount};
use crate::invocation::Organization;
use crate::terminal::visible;

/// Organizational units walked at most under the `--ou` units, so a tree that never ends can't keep
/// the run listing (AWS allows five levels below the root, with up to 2,000 units per parent).
const MAX_UNITS: usize = 10_000;

/// The IDs of the active accounts to audit, in ID order, once each. What could not be listed goes into
/// `errors`: the whole organization (nothing to audit), or one unit (its accounts and child units).
pub(super) async fn accounts(
    organization: &Organization,
    base: &Aws,
    errors: &mut Vec<String>,
) -> Vec<String> {
    let listed = if organization.ous.is_empty() {
        match base.organization_accounts().await {
            Ok(accounts) => accounts,
            Err(error) => {
                errors.push(format!("organization: not audited: {error}"));
                return Vec::new();
            }
        }
    } else {
        under_units(&organization.ous, base, errors).await
    };
    let mut accounts: BTreeMap<String, OrgAccount> = BTreeMap::new();
    for account in listed {
        // The ID goes into the role ARN to assume: only what an account ID can be.
        if crate::validate::account(&account.id).is_err() {
            errors.push(format!(
                "organization: account '{}' not audited: not a 12-digit account ID",
                visible(&account.id)
            ));
            continue;
        }
        accounts.entry(account.id.clone()).or_insert(account);
    }
    accounts
        .into_values()
        .filter(|account| {
            if account.is_active() {
                return true;
            }
            let state = if account.state.is_empty() {
                "in no known state"
            } else {
                account.state.as_str()
            };
            let note = format!(
                "account {} ({}) skipped: it is {state}",
                account.id, account.name
            );
            tracing::info!("{}", visible(&note));
            eprintln!("emr-ami-audit: {}", visible(&note));
            false
        })
        .map(|account| account.id)
        .collect()
}

/// The accounts under each of `ous` and their child units, unit by unit (a unit listed twice is
/// walked once).
async fn under_units(ous: &[String], base: &Aws, errors: &mut Vec<String>) -> Vec<OrgAccount> {
    let mut accounts = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut pending: Vec<String> = ous.iter().rev().cloned().collect();
    while let Some(ou) = pending.pop() {
        if !seen.insert(ou.clone()) {
            continue;
        }
        if seen.len() > MAX_UNITS {
            errors.push(format!(
                "organizational unit {}: not audited: more than {MAX_UNITS} units under --ou",
                visible(&ou)
            ));
            break;
        }
        match base.accounts_in_ou(&ou).await {
            Ok(listed) => accounts.extend(listed),
            Err(error) => {
                errors.push(format!(
                    "organizational unit {}: not audited, nor its child units: {error}",
                    visible(&ou)
                ));
                continue;
            }
        }
        match base.child_ous(&ou).await {
            Ok(children) => pending.extend(children.into_iter().rev()),
            Err(error) => errors.push(format!(
                "organizational unit {}: its child units not audited: {error}",
                visible(&ou)
            )),
        }
    }
    accounts
}
