//! Several accounts and regions in one run: which (account, region) scopes to audit, the roles assumed
//! to reach them, running the command in each, and one report from theirs.

use std::collections::BTreeMap;
use std::time::Instant;

use futures::StreamExt;

use super::session::Session;
use super::{RunError, audit_scope};
use crate::aws::{AssumedCredentials, Aws, PendingScope, RoleSpec};
use crate::invocation::{AuditJob, Invocation};
use crate::progress::Progress;
use crate::report::{Report, ScopeStats, Stats};

/// Accounts and regions worked on at once. Not what bounds the calls: the run's budget of calls in
/// flight (`--concurrency`) does, shared fairly by every scope; this only bounds the scopes (their
/// clients and reports) held in memory at once, and is large enough that the budget is always used.
const SCOPE_CONCURRENCY: usize = 64;

/// Accounts whose role is assumed (and identity and regions asked) at once; their calls count against
/// the budget like the others.
const ACCOUNT_CONCURRENCY: usize = 16;

/// One account and region to audit, with clients for it built when it starts.
struct Scope {
    /// The assumed account (`--accounts`); `None` for the caller's own.
    account: Option<String>,
    region: String,
    aws: PendingScope,
}

/// One account and region's report.
struct ScopeReport {
    account: Option<String>,
    region: String,
    report: Report,
}

/// `account 111111111111, eu-west-1`, or the region alone for the caller's own account.
fn label(account: Option<&str>, region: &str) -> String {
    match account {
        Some(id) => format!("account {id}, {region}"),
        None => region.to_string(),
    }
}

/// Run `job` in every account and region asked for: the caller's own account, or each of
/// `--accounts` through its assumed role; the first region, each of `--region`, or every region
/// enabled for the account (`--all-regions`). An account or region that fails is reported and the
/// others go on.
pub(super) async fn audit(
    invocation: &Invocation,
    job: &AuditJob,
) -> Result<(Report, Session), RunError> {
    let session = Session::connect(invocation).await?;
    if !invocation.aws.many_scopes() {
        let report = audit_scope(invocation, job, &session.aws).await?;
        return Ok((report, session));
    }
    let started = Instant::now();
    let mut errors = Vec::new();
    let identities = identities(invocation, &session.aws, &mut errors).await;
    let (scopes, setups) = futures::channel::mpsc::unbounded();
    // The accounts are set up concurrently, and each account's scopes start as soon as it is ready;
    // both are driven together, so a setup never waits on a scope.
    // Boxed: the nesting of async bodies is otherwise too deep for the compiler to lay out.
    let (mut accounts, parts) = tokio::join!(
        Box::pin(scopes_of_accounts(
            invocation,
            &session.aws,
            identities,
            scopes
        )),
        Box::pin(run_in_scopes(invocation, job, setups)),
    );
    let parts = parts?;
    accounts.sort_by_key(|(index, _)| *index);
    let mut run_calls = Vec::new();
    for (_, account) in accounts {
        errors.extend(account.errors);
        run_calls.extend(account.calls);
    }
    run_calls.push(session.aws.calls().snapshot());
    Ok((merge(parts, errors, run_calls, started), session))
}

/// The accounts to audit: the organization's (`--accounts org`, listed now; a failed listing goes into
/// `errors`), each of `--accounts`, or the caller's own (`None`).
async fn identities(
    invocation: &Invocation,
    base: &Aws,
    errors: &mut Vec<String>,
) -> Vec<Option<String>> {
    let settings = &invocation.aws;
    if let Some(organization) = &settings.organization {
        let listed = super::organization::accounts(organization, base, errors).await;
        listed.into_iter().map(Some).collect()
    } else if settings.accounts.is_empty() {
        vec![None]
    } else {
        settings.accounts.iter().cloned().map(Some).collect()
    }
}

/// What setting up one account gave: why it (or its regions) can't be audited, and the calls made to
/// find out.
#[derive(Default)]
struct AccountSetup {
    errors: Vec<String>,
    calls: Option<BTreeMap<String, u64>>,
}

/// Where in the report a scope goes: its account's index in the list, and its region's in the account's.
type ScopeIndex = (usize, usize);

/// Set up every account, [`ACCOUNT_CONCURRENCY`] at a time, sending each (account, region) pair to
/// audit into `scopes` as soon as its account is ready; returns each account's setup by its index.
async fn scopes_of_accounts(
    invocation: &Invocation,
    base: &Aws,
    identities: Vec<Option<String>>,
    scopes: futures::channel::mpsc::UnboundedSender<(ScopeIndex, Scope)>,
) -> Vec<(usize, AccountSetup)> {
    let scopes = &scopes;
    futures::stream::iter(identities.into_iter().enumerate())
        .map(|(index, account)| async move {
            let mut setup = AccountSetup::default();
            for (region_index, scope) in account_scopes(invocation, base, account, &mut setup)
                .await
                .into_iter()
                .enumerate()
            {
                // The receiver lives until every scope is audited.
                let _ = scopes.unbounded_send(((index, region_index), scope));
            }
            (index, setup)
        })
        .buffer_unordered(ACCOUNT_CONCURRENCY)
        .collect()
        .await
}

/// The (account, region) pairs to audit in one account. An account whose role can't be assumed, or
/// whose regions can't be listed, goes into `setup.errors`; the calls made to find out into
/// `setup.calls`.
async fn account_scopes(
    invocation: &Invocation,
    base: &Aws,
    account: Option<String>,
    setup: &mut AccountSetup,
) -> Vec<Scope> {
    let settings = &invocation.aws;
    let home_region = base.region().to_string();
    let errors = &mut setup.errors;
    let mut scopes = Vec::new();
    {
        let credentials = match &account {
            None => None,
            Some(id) => match assume(invocation, base, id).await {
                Ok(credentials) => Some(credentials),
                Err(error) => {
                    errors.push(format!("account {id}: not audited: {error}"));
                    return scopes;
                }
            },
        };
        // The account's own clients in the first region: who it is (asked once for all its regions) and,
        // for --all-regions, which regions it has. The base account's are the session's.
        let home = match &credentials {
            Some(_) => base.scoped(&home_region, credentials.clone()),
            None => base.clone(),
        };
        // Asked here, before the regions run concurrently, so the one call is counted for the run and
        // not for whichever region happens to ask first. A failure is not kept: each region asks again
        // and its report says what failed.
        let _ = home.caller_account().await;
        let listed = if settings.all_regions {
            Some(home.enabled_regions().await)
        } else {
            None
        };
        if credentials.is_some() {
            setup.calls = Some(home.calls().snapshot());
        }
        let regions = if let Some(listed) = listed {
            match listed {
                Ok(regions) => regions,
                Err(error) => {
                    errors.push(format!(
                        "{}: not audited: the regions could not be listed: {error}",
                        label(account.as_deref(), &home_region)
                    ));
                    return scopes;
                }
            }
        } else if settings.regions.is_empty() {
            vec![home_region.clone()]
        } else {
            settings.regions.clone()
        };
        for region in regions {
            let aws = base.pending(&region, credentials.clone(), &home);
            scopes.push(Scope {
                account: account.clone(),
                region,
                aws,
            });
        }
    }
    scopes
}

/// Assume `--role-arn` (with `{account}` replaced) in `account`.
async fn assume(
    invocation: &Invocation,
    base: &Aws,
    account: &str,
) -> Result<AssumedCredentials, crate::facts::CollectError> {
    let settings = &invocation.aws;
    let role = RoleSpec {
        role_arn: settings
            .role_arn
            .clone()
            .unwrap_or_default()
            .replace("{account}", account),
        external_id: settings.external_id.clone(),
        session_name: settings.role_session_name.clone(),
    };
    tracing::info!(
        "assuming {} for account {account}",
        crate::terminal::visible(&role.role_arn)
    );
    base.assume_role(&role).await
}

/// The command in each scope as it comes, many at a time (the budget of calls in flight is what bounds
/// them); the reports in a stable order. One progress bar counts the scopes; the per-cluster bars stay
/// off.
async fn run_in_scopes(
    invocation: &Invocation,
    job: &AuditJob,
    scopes: futures::channel::mpsc::UnboundedReceiver<(ScopeIndex, Scope)>,
) -> Result<Vec<ScopeReport>, RunError> {
    // The number of scopes is known once every account is set up; until then, an estimate (17 regions
    // for --all-regions), raised as scopes come.
    let settings = &invocation.aws;
    let regions = match settings.all_regions {
        true => 17,
        false => settings.regions.len().max(1),
    };
    let bar = Progress::new(invocation.progress).bar(
        settings.accounts.len().max(1) * regions,
        "auditing accounts and regions",
    );
    let quiet = &invocation.quiet();
    let mut received = 0u64;
    // Unordered, so a slow or retrying scope holds no finished one back; the index restores the order.
    let mut results: Vec<(ScopeIndex, Result<ScopeReport, RunError>)> = scopes
        .inspect(|_| {
            received += 1;
            if bar.length().is_some_and(|len| len < received) {
                bar.set_length(received);
            }
        })
        .map(|(index, scope)| async move {
            tracing::info!(
                "auditing {}",
                label(scope.account.as_deref(), &scope.region)
            );
            let aws = scope.aws.build();
            let report = audit_scope(quiet, job, &aws)
                .await
                .map(|report| ScopeReport {
                    account: scope.account,
                    region: scope.region,
                    report,
                });
            (index, report)
        })
        .buffer_unordered(SCOPE_CONCURRENCY)
        .inspect(|_| bar.inc(1))
        .collect()
        .await;
    bar.finish_and_clear();
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, result)| result).collect()
}

/// One report from the reports of each account and region: targets in order, errors labelled with
/// where they happened, calls summed (and kept per account and region in `stats.scopes`).
fn merge(
    parts: Vec<ScopeReport>,
    mut errors: Vec<String>,
    run_calls: Vec<BTreeMap<String, u64>>,
    started: Instant,
) -> Report {
    let mut targets = Vec::new();
    let mut calls: BTreeMap<String, u64> = BTreeMap::new();
    let mut add = |counts: &BTreeMap<String, u64>| {
        for (action, n) in counts {
            *calls.entry(action.clone()).or_default() += n;
        }
    };
    for counts in &run_calls {
        add(counts);
    }
    let mut scopes = Vec::new();
    for part in parts {
        let where_ = label(part.account.as_deref(), &part.region);
        errors.extend(part.report.errors.iter().map(|e| format!("{where_}: {e}")));
        add(&part.report.stats.api_calls);
        scopes.push(ScopeStats {
            account: part.account,
            region: part.region,
            api_calls: part.report.stats.api_calls,
        });
        targets.extend(part.report.targets);
    }
    let stats = Stats {
        api_calls: calls,
        elapsed_ms: started.elapsed().as_millis() as u64,
        scopes: Some(scopes),
    };
    Report::new(targets, errors, stats)
}
