//! Clients for other accounts and regions: AssumeRole credentials (assumed once per account, refreshed
//! before they expire) and the regions enabled for an account (DescribeRegions).

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_config::Region;
use aws_config::sts::AssumeRoleProvider;
use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{self, ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_ec2::error::DisplayErrorContext;
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use super::{Aws, CallCounter};
use crate::facts::CollectError;

/// The role to assume in each account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleSpec {
    pub role_arn: String,
    pub external_id: Option<String>,
    pub session_name: String,
}

/// The credentials of an assumed role, to build clients for that account with (opaque outside `aws`).
#[derive(Debug, Clone)]
pub struct AssumedCredentials(SharedCredentialsProvider);

/// Credentials are renewed this long before they expire.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// AssumeRole credentials, kept until shortly before they expire: the role is assumed once per account
/// for a run, and again only when a long scan outlives the session.
#[derive(Debug)]
struct AssumedRole {
    inner: AssumeRoleProvider,
    cached: Mutex<Option<Credentials>>,
    calls: CallCounter,
    /// The run's budget of calls in flight: AssumeRole is a call like the others.
    budget: std::sync::Arc<tokio::sync::Semaphore>,
}

impl AssumedRole {
    fn fresh(&self) -> Option<Credentials> {
        let cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        cached
            .as_ref()
            .filter(|c| still_fresh(c.expiry(), SystemTime::now()))
            .cloned()
    }

    /// Assume the role again. `in_budget`: take a slot of the budget for the call, as when the account
    /// is set up; not when the SDK asks for credentials in the middle of a request, which already holds
    /// its slot (waiting for a second one could wait on itself).
    async fn renew(&self, in_budget: bool) -> provider::Result {
        self.calls.record("sts", "AssumeRole");
        let credentials = {
            let _permit = match in_budget {
                true => self.budget.acquire().await.ok(),
                false => None,
            };
            self.inner.provide_credentials().await?
        };
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some(credentials.clone());
        Ok(credentials)
    }
}

/// Whether credentials expiring at `expiry` (never, when `None`) may still be used at `now`.
fn still_fresh(expiry: Option<SystemTime>, now: SystemTime) -> bool {
    expiry.is_none_or(|expiry| expiry > now + REFRESH_MARGIN)
}

impl ProvideCredentials for AssumedRole {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            match self.fresh() {
                Some(credentials) => Ok(credentials),
                None => self.renew(false).await,
            }
        })
    }
}

/// STS's own code and message when it answered, else the credential error's text.
fn assume_role_error(role_arn: &str, error: &CredentialsError) -> CollectError {
    type AssumeRoleSdkError = SdkError<AssumeRoleError, HttpResponse>;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(sts) = current.downcast_ref::<AssumeRoleSdkError>() {
            return CollectError {
                service: "sts".into(),
                action: "AssumeRole".into(),
                code: sts.code().unwrap_or("AssumeRoleFailed").to_string(),
                message: format!("{role_arn}: {}", sts.message().unwrap_or_default()),
                status: None,
            };
        }
        source = current.source();
    }
    CollectError {
        service: "sts".into(),
        action: "AssumeRole".into(),
        code: "AssumeRoleFailed".into(),
        message: format!("{role_arn}: {}", DisplayErrorContext(error)),
        status: None,
    }
}

impl Aws {
    /// Clients like these, in `region` and (when given) with other credentials; calls are counted apart.
    pub fn scoped(&self, region: &str, credentials: Option<AssumedCredentials>) -> Aws {
        let mut config = self
            .config
            .clone()
            .into_builder()
            .region(Region::new(region.to_string()));
        if let Some(AssumedCredentials(credentials)) = credentials {
            config = config.credentials_provider(credentials);
        }
        let mut aws = Aws::build(&config.build(), region.to_string(), self.recorder.as_ref());
        // The deadline and the budget of calls in flight are the run's; the pace and the breaker are the
        // new scope's own.
        aws.gate.budget = std::sync::Arc::clone(&self.gate.budget);
        match self.gate.deadline {
            Some(deadline) => aws.with_deadline(deadline),
            None => aws,
        }
    }

    /// What [`scoped`](Self::scoped) would build, without building it yet: an organization's thousands
    /// of account × region scopes wait their turn as a few hundred bytes each, not as three SDK clients.
    /// The scope answers [`caller_account`](Self::caller_account) from `home`'s answer (the same
    /// credentials in another region are the same account).
    pub fn pending(
        &self,
        region: &str,
        credentials: Option<AssumedCredentials>,
        home: &Aws,
    ) -> PendingScope {
        PendingScope {
            base: self.clone(),
            region: region.to_string(),
            credentials,
            identity: std::sync::Arc::clone(&home.identity),
        }
    }

    /// The same account's clients in another region (a parent image copied from there), counting
    /// their calls with these and sharing who the caller is.
    pub fn in_region(&self, region: &str) -> Aws {
        if region == self.region {
            return self.clone();
        }
        Aws {
            calls: self.calls.clone(),
            identity: std::sync::Arc::clone(&self.identity),
            ..self.scoped(region, None)
        }
    }

    /// Assume `role` with these clients' credentials, once: the answer (or the refusal) comes now, not
    /// at the first call that needs it.
    pub async fn assume_role(&self, role: &RoleSpec) -> Result<AssumedCredentials, CollectError> {
        let mut builder = AssumeRoleProvider::builder(role.role_arn.clone())
            .session_name(role.session_name.clone())
            .configure(&self.config);
        if let Some(external_id) = &role.external_id {
            builder = builder.external_id(external_id.clone());
        }
        let assumed = AssumedRole {
            inner: builder.build().await,
            cached: Mutex::new(None),
            calls: self.calls.clone(),
            budget: std::sync::Arc::clone(&self.gate.budget),
        };
        assumed
            .renew(true)
            .await
            .map_err(|error| assume_role_error(&role.role_arn, &error))?;
        Ok(AssumedCredentials(SharedCredentialsProvider::new(assumed)))
    }

    /// The regions enabled for the account (DescribeRegions leaves out opt-in regions not opted in).
    pub async fn enabled_regions(&self) -> Result<Vec<String>, CollectError> {
        self.calls.record("ec2", "DescribeRegions");
        let request = self.ec2().describe_regions();
        let output = &self
            .gate
            .ask("ec2", "DescribeRegions", || request.clone().send())
            .await?;
        let mut regions: Vec<String> = output
            .regions()
            .iter()
            .filter(|r| r.opt_in_status() != Some("not-opted-in"))
            .filter_map(|r| r.region_name().map(str::to_string))
            .collect();
        regions.sort();
        regions.dedup();
        Ok(regions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_renewed_five_minutes_before_they_expire() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        assert!(still_fresh(None, now));
        assert!(still_fresh(Some(now + Duration::from_secs(3600)), now));
        assert!(still_fresh(Some(now + Duration::from_secs(301)), now));
        assert!(!still_fresh(Some(now + Duration::from_secs(300)), now));
        assert!(!still_fresh(Some(now - Duration::from_secs(1)), now));
    }
}

/// Clients for one account and region, to be built when their turn comes ([`Aws::pending`]).
#[derive(Debug, Clone)]
pub struct PendingScope {
    base: Aws,
    region: String,
    credentials: Option<AssumedCredentials>,
    identity: std::sync::Arc<tokio::sync::OnceCell<String>>,
}

impl PendingScope {
    /// The clients.
    pub fn build(self) -> Aws {
        let mut aws = self.base.scoped(&self.region, self.credentials);
        aws.identity = self.identity;
        aws
    }
}
