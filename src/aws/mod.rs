//! The SDK client layer: the only code that touches `aws_sdk_*` types. It builds clients from the
//! standard AWS configuration chain (or points them at the replay server), makes the calls, counts
//! them, and converts every answer into crate-owned facts.

mod ancestry;
mod ec2;
mod emr;
mod network;
mod paging;
mod recording;
mod scope;
mod sts;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

pub use ec2::{ImageBatch, InstanceTypeBatch};
pub use scope::{AssumedCredentials, RoleSpec};

use crate::facts::CollectError;
use crate::replay::Recorder;
use recording::RecordingInterceptor;

/// Where the clients send their requests.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
    /// Record every exchange (`--record`).
    pub recorder: Option<Recorder>,
    /// Attempts per call, retries included.
    pub max_attempts: u32,
    /// The region when neither the options nor the configuration chain name one (`--all-regions` asks
    /// DescribeRegions somewhere).
    pub fallback_region: Option<String>,
}

/// Why clients could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "no AWS region: give --region, or set AWS_REGION or a region in the AWS config profile"
    )]
    NoRegion,
}

/// Calls made per `service:Action`, for the report's `stats`.
#[derive(Debug, Clone, Default)]
pub struct CallCounter(Arc<Mutex<BTreeMap<String, u64>>>);

impl CallCounter {
    fn record(&self, service: &str, action: &str) {
        tracing::debug!("calling {service}:{action}");
        // A poisoned lock only means another task panicked mid-increment; the counts are still usable.
        let mut calls = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *calls.entry(format!("{service}:{action}")).or_default() += 1;
    }

    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The clients of one account and region.
#[derive(Debug, Clone)]
pub struct Aws {
    ec2: aws_sdk_ec2::Client,
    emr: aws_sdk_emr::Client,
    sts: aws_sdk_sts::Client,
    region: String,
    calls: CallCounter,
    /// What the clients were built from, to derive clients for other regions and assumed roles.
    config: SdkConfig,
    recorder: Option<Recorder>,
    /// GetCallerIdentity's answer, shared by the clients of one account across regions.
    identity: Arc<tokio::sync::OnceCell<String>>,
}

impl Aws {
    /// Clients from the standard chain: environment, profile (`--profile`), `--region`, and
    /// `--endpoint-url` or `AWS_ENDPOINT_URL[_EC2|_EMR|_STS]`.
    pub async fn from_environment(options: &AwsOptions) -> Result<Aws, ConfigError> {
        // Standard retry: exponential backoff with jitter on throttling (EC2 RequestLimitExceeded, EMR
        // ThrottlingException), 5xx and connection errors. Not adaptive mode: its client-side rate limiter
        // starts from the rate it has measured, which for a short CLI run of a few calls means waiting
        // seconds per call after one throttle (seen: 20 s for five calls).
        let retry = RetryConfig::standard().with_max_attempts(options.max_attempts.max(1));
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(timeouts())
            .retry_config(retry);
        if let Some(region) = &options.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(profile) = &options.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let mut config = loader.load().await;
        if config.region().is_none()
            && let Some(fallback) = &options.fallback_region
        {
            config = config
                .into_builder()
                .region(Region::new(fallback.clone()))
                .build();
        }
        Self::from_config(&config, options.recorder.as_ref())
    }

    /// Clients for the loopback replay server: static dummy credentials and no lookups of the
    /// environment, profiles or instance metadata, so a replay is the same on every machine.
    pub fn for_replay(
        endpoint_url: &str,
        region: &str,
        max_attempts: u32,
    ) -> Result<Aws, ConfigError> {
        let credentials =
            Credentials::new("REPLAYACCESSKEY", "replay-secret-key", None, None, "replay");
        let config = SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_string()))
            .credentials_provider(SharedCredentialsProvider::new(credentials))
            .endpoint_url(endpoint_url)
            // Recorded throttling answers are retried like live ones, without live back-off times.
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(max_attempts.max(1))
                    .with_initial_backoff(Duration::from_millis(10)),
            )
            .timeout_config(timeouts())
            // AssumeRole credentials (multi-account runs) are cached against this clock.
            .time_source(aws_smithy_async::time::SystemTimeSource::new())
            .build();
        Self::from_config(&config, None)
    }

    /// Service configs built from the loaded `SdkConfig`, so `AWS_ENDPOINT_URL_*` are honoured.
    fn from_config(config: &SdkConfig, recorder: Option<&Recorder>) -> Result<Aws, ConfigError> {
        let region = config.region().ok_or(ConfigError::NoRegion)?.to_string();
        Ok(Self::build(config, region, recorder))
    }

    /// Clients in `region` (which `config` names) with their own call count and identity.
    fn build(config: &SdkConfig, region: String, recorder: Option<&Recorder>) -> Aws {
        let mut ec2 = aws_sdk_ec2::config::Builder::from(config);
        let mut emr = aws_sdk_emr::config::Builder::from(config);
        let mut sts = aws_sdk_sts::config::Builder::from(config);
        if let Some(recorder) = recorder {
            let interceptor = || RecordingInterceptor {
                recorder: recorder.clone(),
            };
            ec2 = ec2.interceptor(interceptor());
            emr = emr.interceptor(interceptor());
            sts = sts.interceptor(interceptor());
        }
        Aws {
            ec2: aws_sdk_ec2::Client::from_conf(ec2.build()),
            emr: aws_sdk_emr::Client::from_conf(emr.build()),
            sts: aws_sdk_sts::Client::from_conf(sts.build()),
            region,
            calls: CallCounter::default(),
            config: config.clone(),
            recorder: recorder.cloned(),
            identity: Arc::default(),
        }
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn calls(&self) -> &CallCounter {
        &self.calls
    }
}

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(30))
        .operation_timeout(Duration::from_secs(120))
        .build()
}

/// An SDK error as a fact: the AWS error code when AWS sent one, else what kind of failure it was.
fn collect_error<E, R>(service: &str, action: &str, error: &SdkError<E, R>) -> CollectError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let code = error.code().map(str::to_string).unwrap_or_else(|| {
        match error {
            SdkError::DispatchFailure(_) => "ConnectionError",
            SdkError::TimeoutError(_) => "Timeout",
            SdkError::ResponseError(_) => "InvalidResponse",
            SdkError::ConstructionFailure(_) => "InvalidRequest",
            _ => "UnknownError",
        }
        .to_string()
    });
    let message = error
        .message()
        .map(str::to_string)
        .unwrap_or_else(|| DisplayErrorContext(error).to_string());
    CollectError {
        service: service.to_string(),
        action: action.to_string(),
        code,
        message,
    }
}
