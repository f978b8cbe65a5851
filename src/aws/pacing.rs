//! Client-side pacing per account, region and service: a token bucket whose rate is unlimited until the
//! service throttles, then halved on each throttled attempt (at most once per [`DECREASE_INTERVAL`],
//! never under [`FLOOR`]) and raised additively on each successful one ([`INCREASE`] requests per second
//! per second), lifted altogether after [`RELEASE`] without a throttle. Unlike the SDK's adaptive mode
//! it starts unlimited and recovers within seconds, so a short run with one throttle does not stall.
//!
//! The arithmetic takes the time as an argument, so it is tested without sleeping.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_ec2::config::interceptors::AfterDeserializationInterceptorContextRef;
use aws_sdk_ec2::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ec2::error::BoxError;

/// The slowest pace: one request a second.
pub(super) const FLOOR: f64 = 1.0;
/// Requests per second added to the rate per second of successful attempts.
pub(super) const INCREASE: f64 = 10.0;
/// Throttles closer together than this halve the rate once: the calls in flight when the service
/// started throttling all come back throttled, and are one signal.
pub(super) const DECREASE_INTERVAL: Duration = Duration::from_secs(1);
/// Without a throttle for this long, the pace is unlimited again.
pub(super) const RELEASE: Duration = Duration::from_secs(5);
/// The rate assumed at the first throttle when fewer requests were measured.
const FIRST_THROTTLE_RATE: f64 = 20.0;

/// The pace of one service in one account and region.
#[derive(Debug)]
pub(super) struct Pacer {
    /// Requests per second; `None`: unlimited.
    rate: Option<f64>,
    /// Tokens in the bucket (negative: requests reserved ahead).
    tokens: f64,
    /// When the bucket was last refilled.
    refilled: Instant,
    /// When the rate was last raised (or halved).
    raised: Instant,
    /// The last throttle that halved the rate, and the last throttle seen.
    decreased: Option<Instant>,
    throttled: Option<Instant>,
    /// Requests sent in the current and the previous second, to know the rate sent at when the first
    /// throttle comes.
    window: (Instant, u32, u32),
}

impl Pacer {
    pub(super) fn new(now: Instant) -> Pacer {
        Pacer {
            rate: None,
            tokens: 0.0,
            refilled: now,
            raised: now,
            decreased: None,
            throttled: None,
            window: (now, 0, 0),
        }
    }

    /// The current rate (`None`: unlimited).
    #[cfg(test)]
    pub(super) fn rate(&self) -> Option<f64> {
        self.rate
    }

    /// Take a token for a request about to be sent at `now`: how long to wait before sending it.
    pub(super) fn reserve(&mut self, now: Instant) -> Duration {
        self.count(now);
        self.refill(now);
        let Some(rate) = self.rate else {
            return Duration::ZERO;
        };
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / rate)
        }
    }

    /// An attempt answered with a throttling error at `now`: halve the rate.
    pub(super) fn throttled(&mut self, now: Instant) {
        self.refill(now);
        self.throttled = Some(now);
        self.raised = now.max(self.raised);
        if self
            .decreased
            .is_some_and(|at| now.saturating_duration_since(at) < DECREASE_INTERVAL)
        {
            return;
        }
        self.decreased = Some(now);
        let base = self
            .rate
            .unwrap_or_else(|| self.measured().max(FIRST_THROTTLE_RATE));
        let rate = (base / 2.0).max(FLOOR);
        self.rate = Some(rate);
        // What was saved up goes: the requests after a throttle wait their turn.
        self.tokens = self.tokens.min(0.0);
    }

    /// An attempt answered at `now` without throttling: raise the rate a little.
    pub(super) fn answered(&mut self, now: Instant) {
        self.refill(now);
        let elapsed = now.saturating_duration_since(self.raised).as_secs_f64();
        self.raised = now.max(self.raised);
        if let Some(rate) = self.rate {
            self.rate = Some(rate + INCREASE * elapsed);
        }
    }

    /// Refill the bucket for the time since the last refill, and lift the limit after [`RELEASE`]
    /// without a throttle.
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.refilled = now.max(self.refilled);
        let Some(rate) = self.rate else {
            return;
        };
        if self
            .throttled
            .is_none_or(|at| now.saturating_duration_since(at) >= RELEASE)
        {
            self.rate = None;
            self.tokens = 0.0;
            return;
        }
        // A second's worth of requests may be saved up, at least one.
        self.tokens = (self.tokens + elapsed * rate).min(rate.max(1.0));
    }

    fn count(&mut self, now: Instant) {
        let (start, previous, current) = &mut self.window;
        let since = now.saturating_duration_since(*start);
        if since >= Duration::from_secs(2) {
            *start = now;
            *previous = 0;
            *current = 0;
        } else if since >= Duration::from_secs(1) {
            *start += Duration::from_secs(1);
            *previous = *current;
            *current = 0;
        }
        *current += 1;
    }

    /// Requests a second recently sent.
    fn measured(&self) -> f64 {
        f64::from(self.window.1.max(self.window.2))
    }
}

/// The pacers of one account and region, one per service.
#[derive(Debug, Clone)]
pub(super) struct Pacers {
    pub(super) ec2: Arc<Mutex<Pacer>>,
    pub(super) emr: Arc<Mutex<Pacer>>,
    pub(super) sts: Arc<Mutex<Pacer>>,
}

impl Default for Pacers {
    fn default() -> Pacers {
        let now = Instant::now();
        let pacer = || Arc::new(Mutex::new(Pacer::new(now)));
        Pacers {
            ec2: pacer(),
            emr: pacer(),
            sts: pacer(),
        }
    }
}

impl Pacers {
    pub(super) fn of(&self, service: &str) -> &Arc<Mutex<Pacer>> {
        match service {
            "emr" => &self.emr,
            "sts" => &self.sts,
            _ => &self.ec2,
        }
    }

    /// Wait for `service`'s pace before sending a request.
    pub(super) async fn wait(&self, service: &str) {
        let wait = lock(self.of(service)).reserve(Instant::now());
        if !wait.is_zero() {
            tracing::debug!("pacing {service}: waiting {} ms", wait.as_millis());
            tokio::time::sleep(wait).await;
        }
    }
}

fn lock(pacer: &Mutex<Pacer>) -> std::sync::MutexGuard<'_, Pacer> {
    pacer.lock().unwrap_or_else(|e| e.into_inner())
}

/// Error codes AWS throttles with.
pub(super) const THROTTLING: [&str; 8] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "SlowDown",
];

/// Whether an answer is a throttling error: its `x-amzn-errortype` header, or its XML `<Code>` or JSON
/// `__type`, names a throttling code (HTTP 429 always is).
fn is_throttling(status: u16, errortype: Option<&str>, body: &[u8]) -> bool {
    if status == 429 {
        return true;
    }
    if (200..300).contains(&status) {
        return false;
    }
    let named = |code: &str| THROTTLING.contains(&code.split(':').next().unwrap_or(code).trim());
    if errortype.is_some_and(named) {
        return true;
    }
    let text = String::from_utf8_lossy(&body[..body.len().min(4096)]);
    THROTTLING.iter().any(|code| {
        text.contains(&format!("<Code>{code}</Code>"))
            || text.contains(&format!("\"__type\":\"{code}\""))
            || text.contains(&format!("#{code}\""))
    })
}

/// Tells a service's pacer how each attempt was answered (the SDK retries inside a call, so each
/// throttled attempt is seen here, not only the call's last).
#[derive(Debug, Clone)]
pub(super) struct PacingInterceptor {
    pub(super) pacer: Arc<Mutex<Pacer>>,
}

impl Intercept for PacingInterceptor {
    fn name(&self) -> &'static str {
        "emr-ami-audit-pacing"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let response = context.response();
        let status = response.status().as_u16();
        let errortype = response.headers().get("x-amzn-errortype");
        let body = response.body().bytes().unwrap_or_default();
        let now = Instant::now();
        let mut pacer = lock(&self.pacer);
        if is_throttling(status, errortype, body) {
            pacer.throttled(now);
        } else {
            pacer.answered(now);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn unlimited_until_the_first_throttle() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(t0);
        for i in 0..1000 {
            assert_eq!(pacer.reserve(t0 + ms(i)), Duration::ZERO);
        }
        assert_eq!(pacer.rate(), None);
    }

    #[test]
    fn a_throttle_halves_the_rate_sent_at_and_requests_then_wait_their_turn() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(t0);
        // 100 requests in the first second.
        for i in 0..100 {
            pacer.reserve(t0 + ms(i * 10));
        }
        let t = t0 + ms(1000);
        pacer.throttled(t);
        assert_eq!(pacer.rate(), Some(50.0));
        // The bucket is empty: each request waits 1/50 s more than the one before.
        assert_eq!(pacer.reserve(t), ms(20));
        assert_eq!(pacer.reserve(t), ms(40));
        assert_eq!(pacer.reserve(t), ms(60));
    }

    #[test]
    fn throttles_of_one_burst_halve_once_and_later_ones_again_down_to_the_floor() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(t0);
        pacer.reserve(t0);
        pacer.throttled(t0);
        assert_eq!(pacer.rate(), Some(FIRST_THROTTLE_RATE / 2.0));
        // Eight calls in flight came back throttled together: one halving.
        for i in 1..8 {
            pacer.throttled(t0 + ms(i));
        }
        assert_eq!(pacer.rate(), Some(10.0));
        let mut t = t0;
        for _ in 0..10 {
            t += DECREASE_INTERVAL;
            pacer.throttled(t);
        }
        assert_eq!(pacer.rate(), Some(FLOOR), "never under the floor");
    }

    #[test]
    fn the_rate_rises_additively_and_is_lifted_seconds_after_the_last_throttle() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(t0);
        pacer.throttled(t0);
        let t = t0 + DECREASE_INTERVAL;
        pacer.throttled(t);
        pacer.throttled(t + DECREASE_INTERVAL);
        let t = t + DECREASE_INTERVAL;
        assert_eq!(pacer.rate(), Some(2.5));
        // Two seconds of answers: + INCREASE a second.
        pacer.answered(t + ms(1000));
        pacer.answered(t + ms(2000));
        let rate = pacer.rate().expect("still limited");
        assert!((rate - (2.5 + 2.0 * INCREASE)).abs() < 1e-9, "{rate}");
        // RELEASE after the last throttle, no limit at all.
        pacer.answered(t + RELEASE);
        assert_eq!(pacer.rate(), None);
        assert_eq!(pacer.reserve(t + RELEASE), Duration::ZERO);
    }

    #[test]
    fn tokens_saved_up_are_at_most_a_seconds_worth() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(t0);
        pacer.throttled(t0);
        pacer.throttled(t0 + DECREASE_INTERVAL);
        // Rate 5; after 3 s idle, 5 tokens saved up, not 15.
        let t = t0 + DECREASE_INTERVAL + ms(3000);
        let mut free = 0;
        while pacer.reserve(t).is_zero() {
            free += 1;
        }
        let rate = pacer.rate().expect("limited");
        assert!(free as f64 <= rate.ceil(), "{free} free at rate {rate}");
    }

    #[test]
    fn throttling_answers_are_told_from_others() {
        let ec2 = b"<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors></Response>";
        assert!(is_throttling(503, None, ec2));
        let emr = br#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#;
        assert!(is_throttling(400, None, emr));
        assert!(is_throttling(
            400,
            Some("ThrottlingException:http://internal"),
            b""
        ));
        let sts = b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code></Error></ErrorResponse>";
        assert!(is_throttling(400, None, sts));
        assert!(is_throttling(429, None, b""));
        let denied = b"<Response><Errors><Error><Code>UnauthorizedOperation</Code></Error></Errors></Response>";
        assert!(!is_throttling(403, None, denied));
        assert!(!is_throttling(500, None, b"<Code>InternalError</Code>"));
        assert!(!is_throttling(200, None, b"<Code>Throttling</Code>"));
    }
}
