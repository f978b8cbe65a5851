//! Client-side pacing per account, region and throttling bucket (a service, or an EMR action): a token
//! bucket whose rate is unlimited until the bucket is throttled, then cut on each throttled attempt
//! (at most once per [`DECREASE_INTERVAL`], never under [`FLOOR`]) to half the rate sent at, or to 90%
//! of what the service recently let through if that is more, and raised on each successful one by
//! [`INCREASE`] of itself per second (at least 1 request per second per second), lifted altogether
//! after [`RELEASE`] without a throttle. Cutting to what got through settles at a rate limit at once,
//! just under it, and the slow rise finds it again without a burst of refusals. Unlike the SDK's adaptive mode it starts unlimited and recovers within seconds,
//! so a short run with one throttle does not stall.
//!
//! Throttling that slowing down does not ease is not a rate limit: after a halving, if the first whole
//! span of attempts at the lower rate lost accepted requests in proportion while the throttled share stayed
//! (and stayed modest), the pace is lifted and that share is noise, which slows nothing until the
//! throttled share grows well past it ([`Pacer::judge`]).
//!
//! The arithmetic takes the time as an argument, so it is tested without sleeping.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The slowest pace: one request a second.
pub(super) const FLOOR: f64 = 1.0;
/// The share of itself the rate rises by per second of successful attempts.
pub(super) const INCREASE: f64 = 0.1;
/// What a cut keeps of the rate recently let through.
const KEEP: f64 = 0.9;
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
    /// Outcomes of the current span of [`SAMPLE`] attempts, and of the last whole one.
    outcomes: Outcomes,
    last_span: Option<Outcomes>,
    /// Set when the rate was halved: how the span before went, to compare with the first whole span
    /// at the lower rate.
    probe: Option<Probe>,
    /// The share of attempts throttled whatever the rate (see [`Pacer::judge`]); `None`: throttling is
    /// taken as a sign of going too fast.
    noise: Option<f64>,
}

/// Attempts answered in a span of time, and how many of them throttled.
#[derive(Debug, Clone, Copy)]
struct Outcomes {
    start: Instant,
    end: Instant,
    attempts: u32,
    throttled: u32,
}

impl Outcomes {
    fn new(start: Instant) -> Outcomes {
        Outcomes {
            start,
            end: start,
            attempts: 0,
            throttled: 0,
        }
    }

    /// Attempts accepted per second.
    fn accepted(&self) -> f64 {
        let span = self.end.saturating_duration_since(self.start).as_secs_f64();
        f64::from(self.attempts.saturating_sub(self.throttled)) / span.max(0.05)
    }

    fn throttled_share(&self) -> f64 {
        f64::from(self.throttled) / f64::from(self.attempts.max(1))
    }
}

/// The span before a halving.
#[derive(Debug, Clone, Copy)]
struct Probe {
    at: Instant,
    before: Outcomes,
}

/// Attempts in a span, the unit throttling is judged by: fewer say too little (at 10 attempts, one
/// throttle more or less is a share of 10%), and a span of time would hold too few at a low rate.
const SAMPLE: u32 = 20;
/// How much more than its noise the throttled share must be for throttling to mean "too fast" again.
const NOISE_MARGIN: f64 = 0.1;
/// A throttled share above this is never taken as noise: slowing down is then the only sane answer
/// (and a limit's burst can make the span before a halving look better than the limit).
const NOISE_CEILING: f64 = 0.4;

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
            outcomes: Outcomes::new(now),
            last_span: None,
            probe: None,
            noise: None,
        }
    }

    /// The share of attempts found to be throttled whatever the rate, if it was found so.
    #[cfg(test)]
    pub(super) fn noise(&self) -> Option<f64> {
        self.noise
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
        self.tally(now, true);
        self.refill(now);
        self.throttled = Some(now);
        self.raised = now.max(self.raised);
        if self
            .decreased
            .is_some_and(|at| now.saturating_duration_since(at) < DECREASE_INTERVAL)
        {
            return;
        }
        let share = self.recent(now).map(|(_, share)| share);
        // Throttling found not to depend on the rate slows nothing, unless it grows well past its noise.
        if let Some(noise) = self.noise {
            if share.is_none_or(|share| share <= noise + NOISE_MARGIN) {
                return;
            }
            self.noise = None;
        }
        // A halving being judged is not piled on, unless most attempts are throttled.
        if self.probe.is_some() && share.is_none_or(|share| share <= NOISE_CEILING) {
            return;
        }
        self.decreased = Some(now);
        if self.probe.is_none()
            && let Some(before) = self.last_span
        {
            self.probe = Some(Probe { at: now, before });
        }
        let base = self
            .rate
            .unwrap_or_else(|| self.measured(now).max(FIRST_THROTTLE_RATE));
        // Mostly throttled: what the service let through is the rate it allows; a halving at a time
        // would take seconds of refusals to get there.
        let rate = match self.recent(now) {
            Some((accepted_rate, share)) if share > 0.5 => KEEP * accepted_rate,
            Some((accepted_rate, _)) => (KEEP * accepted_rate).clamp(base / 2.0, base.max(1.0)),
            None => base / 2.0,
        };
        self.rate = Some(rate.max(FLOOR));
        tracing::debug!("throttled: pace {:.1} requests/s", rate.max(FLOOR));
        // What was saved up goes: the requests after a throttle wait their turn.
        self.tokens = self.tokens.min(0.0);
    }

    /// An attempt answered at `now` without throttling: raise the rate a little.
    pub(super) fn answered(&mut self, now: Instant) {
        self.tally(now, false);
        self.refill(now);
        let elapsed = now.saturating_duration_since(self.raised).as_secs_f64();
        self.raised = now.max(self.raised);
        if let Some(rate) = self.rate {
            self.rate = Some(rate + (INCREASE * rate).max(FLOOR) * elapsed);
        }
    }

    /// Refill the bucket for the time since the last refill, and lift the limit after [`RELEASE`]
    /// without a throttle.
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.refilled = now.max(self.refilled);
        if self
            .throttled
            .is_none_or(|at| now.saturating_duration_since(at) >= RELEASE)
        {
            // Quiet for a while: unlimited, and what was learnt about noise is forgotten.
            self.rate = None;
            self.tokens = 0.0;
            self.noise = None;
            self.probe = None;
            return;
        }
        let Some(rate) = self.rate else {
            return;
        };
        // A second's worth of requests may be saved up, at least one.
        self.tokens = (self.tokens + elapsed * rate).min(rate.max(1.0));
    }

    /// Count an attempt's outcome in its span; at each whole span, judge the last halving.
    fn tally(&mut self, now: Instant, throttled: bool) {
        self.outcomes.attempts += 1;
        self.outcomes.throttled += u32::from(throttled);
        self.outcomes.end = now.max(self.outcomes.end);
        if self.outcomes.attempts >= SAMPLE {
            let finished = self.outcomes;
            self.outcomes = Outcomes::new(now);
            self.last_span = Some(finished);
            self.judge(finished);
        }
    }

    /// After a halving, the first whole span at the lower rate tells a rate limit from throttling that
    /// has nothing to do with the rate (a shared account's limits spent by others, an overloaded
    /// service, a fault injector). Over a limit, slowing down leaves the accepted requests as they were
    /// (the limit) or makes throttles rare; otherwise it loses accepted requests in proportion and the
    /// throttled share stays. Then the pace goes back to unlimited and that share is taken as noise.
    fn judge(&mut self, after: Outcomes) {
        let Some(probe) = self.probe else {
            return;
        };
        if after.start < probe.at {
            return;
        }
        self.probe = None;
        let before = probe.before;
        tracing::debug!(
            "judging a halving: before {}/{} throttled, after {}/{}",
            before.throttled,
            before.attempts,
            after.throttled,
            after.attempts
        );
        if before.throttled == 0 {
            return;
        }
        let accepted_lost = after.accepted() <= 0.65 * before.accepted();
        let throttles_stayed = after.throttled_share() >= 0.5 * before.throttled_share();
        let modest = after.throttled_share().max(before.throttled_share()) <= NOISE_CEILING;
        if accepted_lost && throttles_stayed && modest {
            tracing::debug!(
                "throttling of {:.0}% does not ease when slowing down: not a rate limit",
                100.0 * after.throttled_share()
            );
            self.noise = Some(after.throttled_share().max(before.throttled_share()));
            self.rate = None;
            self.tokens = 0.0;
        }
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

    /// Requests a second recently sent: the last whole second's, or the current one's so far (at least
    /// 50 ms of it, so the first few requests of a run are not taken for a slow rate).
    fn measured(&self, now: Instant) -> f64 {
        let (start, previous, current) = self.window;
        let elapsed = now.saturating_duration_since(start).as_secs_f64();
        f64::from(previous).max(f64::from(current) / elapsed.clamp(0.05, 1.0))
    }

    /// Over the last span and this one so far (with enough attempts to say): attempts accepted per
    /// second, and the share throttled.
    fn recent(&self, now: Instant) -> Option<(f64, f64)> {
        let current = self.outcomes;
        let mut span = now
            .saturating_duration_since(current.start)
            .as_secs_f64()
            .max(0.05);
        let (mut attempts, mut throttled) = (current.attempts, current.throttled);
        if let Some(last) = self.last_span {
            span += last.end.saturating_duration_since(last.start).as_secs_f64();
            attempts += last.attempts;
            throttled += last.throttled;
        }
        (attempts >= SAMPLE).then(|| {
            (
                f64::from(attempts.saturating_sub(throttled)) / span,
                f64::from(throttled) / f64::from(attempts),
            )
        })
    }
}

/// The pacers of one account and region, one per throttling bucket: EC2 and STS throttle an account's
/// requests per service (EC2's non-mutating actions share one bucket), EMR per action (DescribeCluster
/// and ListInstanceGroups have limits of their own), so a throttled EMR action slows no other; the EBS
/// direct APIs limit ListSnapshotBlocks and GetSnapshotBlock apart.
#[derive(Debug, Clone, Default)]
pub(super) struct Pacers(Arc<Mutex<BTreeMap<String, Arc<Mutex<Pacer>>>>>);

impl Pacers {
    fn of(&self, service: &str, action: &str) -> Arc<Mutex<Pacer>> {
        let bucket = match service {
            "emr" | "ebs" => format!("{service}:{action}"),
            _ => service.to_string(),
        };
        let mut pacers = self.0.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(
            pacers
                .entry(bucket)
                .or_insert_with(|| Arc::new(Mutex::new(Pacer::new(Instant::now())))),
        )
    }

    /// Wait for the pace of `service:action`'s bucket before sending a request.
    pub(super) async fn wait(&self, service: &str, action: &str) {
        let wait = lock(&self.of(service, action)).reserve(Instant::now());
        if !wait.is_zero() {
            tracing::debug!("pacing {service}:{action}: waiting {} ms", wait.as_millis());
            tokio::time::sleep(wait).await;
        }
    }

    /// An attempt of `service:action` was throttled (`true`) or answered otherwise.
    pub(super) fn attempted(&self, service: &str, action: &str, throttled: bool) {
        let pacer = self.of(service, action);
        let mut pacer = lock(&pacer);
        if throttled {
            pacer.throttled(Instant::now());
        } else {
            pacer.answered(Instant::now());
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
    fn the_rate_rises_and_is_lifted_seconds_after_the_last_throttle() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(t0);
        pacer.throttled(t0);
        let t = t0 + DECREASE_INTERVAL;
        pacer.throttled(t);
        pacer.throttled(t + DECREASE_INTERVAL);
        let t = t + DECREASE_INTERVAL;
        assert_eq!(pacer.rate(), Some(2.5));
        // Two seconds of answers: + INCREASE of the rate a second, at least 1.
        pacer.answered(t + ms(1000));
        pacer.answered(t + ms(2000));
        let rate = pacer.rate().expect("still limited");
        assert!((rate - 4.5).abs() < 1e-9, "{rate}");
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

    /// `per_second` attempts a second for `seconds` from `start`, each throttled when `throttle` says.
    fn traffic(
        pacer: &mut Pacer,
        start: Instant,
        seconds: u64,
        per_second: u64,
        mut throttle: impl FnMut(u64) -> bool,
    ) -> Instant {
        let step = 1000 / per_second;
        let mut t = start;
        for n in 0..seconds * per_second {
            t = start + ms(n * step);
            if throttle(n) {
                pacer.throttled(t);
            } else {
                pacer.answered(t);
            }
        }
        t
    }

    #[test]
    fn throttling_that_stays_when_slowing_down_is_noise_and_the_pace_is_lifted() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(t0);
        // 200 a second, every tenth throttled: the first throttles halve the rate.
        let t = traffic(&mut pacer, t0, 2, 200, |n| n % 10 == 9);
        // At the lower rate, still every tenth throttled and the accepted ones halve too.
        let t = traffic(&mut pacer, t + ms(5), 3, 100, |n| n % 10 == 9);
        assert_eq!(pacer.rate(), None, "lifted: slowing down did not help");
        let noise = pacer.noise().expect("noise measured");
        assert!((noise - 0.1).abs() < 0.02, "{noise}");
        // More of the same changes nothing.
        traffic(&mut pacer, t + ms(5), 2, 200, |n| n % 10 == 9);
        assert_eq!(pacer.rate(), None);
    }

    #[test]
    fn a_rate_limit_keeps_the_pace_down() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(t0);
        // 200 a second against a limit of 20: everything past the 20th of each second throttled.
        let t = traffic(&mut pacer, t0, 2, 200, |n| n % 200 >= 20);
        // Slower, the limit still lets 20 through: the accepted requests did not drop.
        traffic(&mut pacer, t + ms(5), 2, 50, |n| n % 50 >= 20);
        assert!(pacer.rate().is_some(), "still paced");
        assert_eq!(pacer.noise(), None);
    }

    #[test]
    fn noise_that_grows_past_its_margin_slows_down_again() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(t0);
        let t = traffic(&mut pacer, t0, 2, 200, |n| n % 10 == 9);
        let t = traffic(&mut pacer, t + ms(5), 3, 100, |n| n % 10 == 9);
        assert_eq!(pacer.rate(), None);
        // Now half of them throttled: well past the noise.
        traffic(&mut pacer, t + ms(5), 2, 200, |n| n % 2 == 1);
        assert!(pacer.rate().is_some(), "slowed down again");
    }

    #[test]
    fn heavy_throttling_is_never_noise() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(t0);
        // A limit with a burst: 300 a second, 30 accepted the first seconds, then 10 at the lower rate.
        let t = traffic(&mut pacer, t0, 2, 300, |n| n % 300 >= 30);
        traffic(&mut pacer, t + ms(5), 2, 150, |n| n % 150 >= 10);
        assert!(pacer.rate().is_some(), "still paced");
        assert_eq!(pacer.noise(), None);
    }

    #[test]
    fn mostly_throttled_goes_straight_to_the_rate_let_through() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(t0);
        // 300 a second against a limit of 20 a second: after the first whole second, the rate is about
        // what got through, not 300 halved a second at a time.
        traffic(&mut pacer, t0, 2, 300, |n| n % 300 >= 20);
        let rate = pacer.rate().expect("paced");
        assert!(rate <= 40.0, "{rate}");
    }

    #[test]
    fn the_first_throttle_halves_the_rate_sent_at_not_an_early_guess() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(t0);
        // 300 a second for 100 ms, then one throttle.
        for n in 0..30 {
            pacer.reserve(t0 + Duration::from_micros(n * 3333));
        }
        pacer.throttled(t0 + ms(100));
        let rate = pacer.rate().expect("paced");
        assert!((140.0..=160.0).contains(&rate), "{rate}");
    }
}
