//! The SDK client layer: the only code that touches `aws_sdk_*` types. It builds clients from the
//! standard AWS configuration chain (or points them at the replay server), makes the calls, counts
//! them, and converts every answer into crate-owned facts.

mod ancestry;
mod ebs;
mod ec2;
mod emr;
mod gate;
mod integrity;
mod kms;
mod network;
mod organizations;
mod pacing;
mod paging;
mod recording;
mod scope;
mod settling;
mod sts;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ec2::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::http::Response as HttpResponse;

pub use ancestry::SnapshotFacts;
pub use ebs::{BLOCK_SIZE, BlockList};
pub use ec2::{ImageBatch, InstanceTypeBatch};
pub use network::Lookup;
pub use organizations::OrgAccount;
pub use scope::{AssumedCredentials, PendingScope, RoleSpec};

use crate::facts::CollectError;
use crate::replay::Recorder;
pub use gate::DEFAULT_BUDGET;
use gate::Gate;
use integrity::{IntegrityInterceptor, MalformedResponse};
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
    /// Each service's client, built when first used: most of an organization's scopes only ever ask
    /// EMR for its clusters, and building clients they never use cost time and memory.
    clients: Arc<Clients>,
    region: String,
    calls: CallCounter,
    /// What the clients were built from, to derive clients for other regions and assumed roles.
    config: SdkConfig,
    recorder: Option<Recorder>,
    /// GetCallerIdentity's answer, shared by the clients of one account across regions.
    identity: Arc<tokio::sync::OnceCell<String>>,
    /// What bounds each call: the run's deadline and budget of calls in flight, the attempts per call,
    /// and this account and region's pace and breaker.
    gate: Gate,
}

impl Aws {
    /// Clients from the standard chain: environment, profile (`--profile`), `--region`, and
    /// `--endpoint-url` or `AWS_ENDPOINT_URL[_EBS|_EC2|_EMR|_KMS|_STS]`.
    pub async fn from_environment(options: &AwsOptions) -> Result<Aws, ConfigError> {
        // Standard retry's attempts and backoff (exponential with jitter on throttling, 5xx and connection
        // errors), applied by the gate (gate.rs) to the service clients and by the SDK to credential
        // providers. Not adaptive mode: its client-side rate limiter starts from the rate it has measured,
        // which for a short CLI run of a few calls means waiting seconds per call after one throttle (seen:
        // 20 s for five calls); pacing.rs paces instead.
        let retry = RetryConfig::standard().with_max_attempts(options.max_attempts.max(1));
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http_client())
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
            .http_client(http_client())
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
        let config_region = region.clone();
        Aws {
            clients: Arc::new(Clients {
                config: config.clone(),
                recorder: recorder.cloned(),
                ebs: Default::default(),
                ec2: Default::default(),
                emr: Default::default(),
                kms: Default::default(),
                sts: Default::default(),
            }),
            region,
            calls: CallCounter::default(),
            config: config.clone(),
            recorder: recorder.cloned(),
            identity: Arc::default(),
            gate: Gate::new(
                &config_region,
                config.retry_config().map(|r| r.max_attempts()).unwrap_or(1),
                config
                    .retry_config()
                    .map(|r| r.initial_backoff())
                    .unwrap_or(Duration::from_secs(1)),
            ),
        }
    }

    /// The same clients, giving up at `deadline`.
    pub fn with_deadline(mut self, deadline: tokio::time::Instant) -> Aws {
        self.gate.deadline = Some(deadline);
        self
    }

    /// The same clients, with `calls` AWS calls in flight at most, for the whole run: clients derived
    /// from these ([`scoped`](Self::scoped), [`in_region`](Self::in_region)) share the budget.
    pub fn with_budget(mut self, calls: usize) -> Aws {
        self.gate.budget = Arc::new(tokio::sync::Semaphore::new(calls.max(1)));
        self
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn calls(&self) -> &CallCounter {
        &self.calls
    }
}

/// The service clients of one account and region, each built on first use with the checks every answer
/// goes through (and the recorder, under `--record`).
#[derive(Debug)]
struct Clients {
    config: SdkConfig,
    recorder: Option<Recorder>,
    ebs: std::sync::OnceLock<aws_sdk_ebs::Client>,
    ec2: std::sync::OnceLock<aws_sdk_ec2::Client>,
    emr: std::sync::OnceLock<aws_sdk_emr::Client>,
    kms: std::sync::OnceLock<aws_sdk_kms::Client>,
    sts: std::sync::OnceLock<aws_sdk_sts::Client>,
}

/// `fn $name(&self) -> &$krate::Client`: the client, built on first use.
macro_rules! lazy_client {
    ($name:ident, $krate:ident) => {
        fn $name(&self) -> &$krate::Client {
            let clients = &*self.clients;
            clients.$name.get_or_init(|| {
                let mut builder = $krate::config::Builder::from(&clients.config)
                    .interceptor(IntegrityInterceptor)
                    .retry_config(one_attempt());
                if let Some(recorder) = &clients.recorder {
                    builder = builder.interceptor(RecordingInterceptor {
                        recorder: recorder.clone(),
                    });
                }
                $krate::Client::from_conf(builder.build())
            })
        }
    };
}

impl Aws {
    lazy_client!(ebs, aws_sdk_ebs);
    lazy_client!(ec2, aws_sdk_ec2);
    lazy_client!(emr, aws_sdk_emr);
    lazy_client!(kms, aws_sdk_kms);
    lazy_client!(sts, aws_sdk_sts);
}

/// The service clients make one attempt per request: retries are made by [`Gate::ask`], which frees
/// the call's slot of the budget while it waits, paces each attempt, and feeds the breaker. (The SDK's
/// own retries would hold the slot through their backoff, and draw on a retry quota that runs dry in a
/// long throttled scan.) The loaded configuration keeps its retry settings: the attempts and first
/// backoff the gate uses, and the retries of credential providers (AssumeRole).
fn one_attempt() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(1)
}

/// One HTTP client for every client of the run, in every account and region: its connection pool
/// and TLS setup are shared. Without one in the configuration, each SDK client builds its own default
/// (root certificates, a pool, its own connections): an organization's scan built 1,000 of them for
/// the accounts' AssumeRole clients alone, 105 of its 164 MB at the peak. The same stack as the SDK's
/// default: hyper 1 with rustls on aws-lc, and the proxy from the environment (`HTTPS_PROXY`,
/// `NO_PROXY`).
fn http_client() -> SharedHttpClient {
    use aws_smithy_http_client::proxy::ProxyConfig;
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    use aws_smithy_http_client::{Builder, ConnectorBuilder};
    Builder::new().build_with_connector_fn(|settings, components| {
        let mut connector =
            ConnectorBuilder::default().tls_provider(Provider::Rustls(CryptoMode::AwsLc));
        connector.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            connector.set_sleep_impl(components.sleep_impl());
        }
        connector.set_proxy_config(Some(ProxyConfig::from_env()));
        connector.build()
    })
}

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(30))
        .operation_timeout(Duration::from_secs(120))
        .build()
}

/// Longest error message kept from an answer: enough for any AWS message, not for a page of HTML.
const MESSAGE_LIMIT: usize = 300;

/// An SDK error as a fact, in one line: the AWS error code and message when AWS sent them, else what
/// kind of failure it was, with the HTTP status. Never the raw body or the SDK's debug dump.
fn collect_error<E>(service: &str, action: &str, error: &SdkError<E, HttpResponse>) -> CollectError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let malformed = source_of::<MalformedResponse>(error);
    let too_large = source_of::<http_body_util::LengthLimitError>(error).is_some();
    let status = error.raw_response().map(|r| r.status().as_u16());
    // A 2xx answer the SDK could not make sense of: as broken as a truncated one.
    let unparsed = error.code().is_none()
        && matches!(
            error,
            SdkError::ServiceError(_) | SdkError::ResponseError(_)
        )
        && error
            .raw_response()
            .is_some_and(|r| r.status().is_success());
    let code = match (error.code(), malformed) {
        _ if too_large => "ResponseTooLarge".to_string(),
        (_, Some(_)) => "MalformedResponse".to_string(),
        (None, None) if unparsed => "MalformedResponse".to_string(),
        (Some(code), None) => code.to_string(),
        (None, None) => match error {
            SdkError::DispatchFailure(_) => "ConnectionError",
            SdkError::TimeoutError(_) => "Timeout",
            SdkError::ResponseError(_) => "InvalidResponse",
            SdkError::ConstructionFailure(_) => "InvalidRequest",
            SdkError::ServiceError(_) => "UnknownError",
            _ => "UnknownError",
        }
        .to_string(),
    };
    let message = match (malformed, error.message(), error) {
        _ if too_large => format!(
            "the answer to {service}:{action} is larger than {} MiB; not read",
            integrity::MAX_ANSWER_BYTES >> 20
        ),
        (Some(malformed), _, _) => format!(
            "malformed response to {service}:{action} (HTTP {}, {} bytes)",
            malformed.status, malformed.bytes
        ),
        (None, Some(message), _) => message.to_string(),
        (None, None, _) if unparsed => format!(
            "malformed response to {service}:{action} (HTTP {}, {} bytes)",
            status.unwrap_or_default(),
            error
                .raw_response()
                .and_then(|r| r.body().bytes())
                .map(<[u8]>::len)
                .unwrap_or_default()
        ),
        (None, None, SdkError::TimeoutError(_)) => "no answer in time".to_string(),
        (None, None, SdkError::DispatchFailure(failure)) => {
            if failure.is_timeout() {
                "connection timed out".to_string()
            } else if failure.is_io() {
                "connection failed".to_string()
            } else {
                "the request could not be sent".to_string()
            }
        }
        (None, None, SdkError::ResponseError(_)) => match error.raw_response() {
            Some(raw) => format!(
                "the answer could not be read (HTTP {}, {} bytes)",
                raw.status().as_u16(),
                raw.body().bytes().map(<[u8]>::len).unwrap_or_default()
            ),
            None => "the answer could not be read".to_string(),
        },
        (None, None, _) => match error.raw_response() {
            Some(raw) => format!(
                "HTTP {} with no AWS error in the answer ({} bytes)",
                raw.status().as_u16(),
                raw.body().bytes().map(<[u8]>::len).unwrap_or_default()
            ),
            None => "the call failed without an answer".to_string(),
        },
    };
    CollectError {
        service: service.to_string(),
        action: action.to_string(),
        // A malformed answer's message says its status already.
        status: status.filter(|_| code != "MalformedResponse"),
        code: one_line(&code, 100),
        message: one_line(&message, MESSAGE_LIMIT),
    }
}

/// The first error of type `T` in the chain of `error`'s sources.
fn source_of<'a, T: std::error::Error + 'static>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

/// `text` on one line (every run of whitespace and control characters one space), cut to `limit`
/// characters with an ellipsis.
fn one_line(text: &str, limit: usize) -> String {
    let mut out = String::new();
    let mut chars = 0;
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() || c.is_control() {
            space = !out.is_empty();
            continue;
        }
        if chars >= limit {
            out.push('…');
            return out;
        }
        if space {
            out.push(' ');
            chars += 1;
            space = false;
        }
        out.push(c);
        chars += 1;
    }
    out
}
