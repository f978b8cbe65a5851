//! Client-side pacing per account, region and throttling bucket (a service, or an EMR action): a token
//! bucket whose rate is unlimited until the bucket is throttled.
//!
//! The first throttle cuts the rate to half the rate sent at, or to 90% of what the service recently
//! let through if that is more (straight to 90% of it when most attempts were throttled). A throttle
//! while paced measures the limit: a service's token bucket is empty at each throttle, so the requests
//! accepted between the last cut and this throttle, over that time, are the rate it allows, its burst
//! left out. The rate is cut to [`KEEP`] of that (at most once per [`DECREASE_INTERVAL`], a quarter of
//! it right after the first cut while most attempts are still throttled, never under [`FLOOR`], and
//! not more than halved unless most attempts since the last cut were throttled).
//!
//! Successful attempts raise the rate. With no limit measured (a lone throttle) by [`INCREASE`] of
//! itself per second, at least 1 request per second per second, and the pace is lifted after
//! [`RELEASE`] without a throttle, so a short run with one throttle does not stall. With a limit
//! measured, by 2% of it per second, 0.5% once two measures agree within 10%: the rate spends tens of
//! seconds just under the limit and crosses it slowly, so only a throttle or two finds it again. A
//! fixed time without a throttle lifts nothing then (at a steady pace under the limit there are none);
//! the rise speeds up to [`INCREASE`] of itself once 20% past the limit, and when the rate reaches
//! twice the limit without a throttle the limit is forgotten (measured low in a burst's throttling, or
//! gone): the rate goes on rising and is lifted after [`RELEASE`] without a throttle.
//!
//! Throttling that slowing down does not ease is not a rate limit: after a cut that slowed what was
//! sent by a fifth or more, if the first whole span of attempts at the lower rate lost accepted
//! requests nearer in proportion than not at all while the throttled share stayed (and stayed at most
//! half), the pace is lifted and that share is noise, which slows nothing until the throttled share
//! grows past it by more than chance would ([`Pacer::judge`]). Cuts that each slow sending by less
//! than a fifth are not judged so; there the measures tell: a limit is found where it was, so when the
//! limit measured falls by a tenth or more at two cuts in a row (one, when at most a fifth of at least
//! 40 attempts since the pace was unlimited were throttled), the pace is lifted and that share is
//! noise. (A server error or a cut connection is neither a throttle nor an answer here: the gate does
//! not report it.)
//!
//! The arithmetic takes the time as an argument, so it is tested without sleeping, and a simulation of
//! the gate's workers against a rate limit and against random throttling runs in the tests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The slowest pace: one request a second.
pub(super) const FLOOR: f64 = 1.0;
/// The share of itself the rate rises by per second of successful attempts while no limit is known
/// (after a lone throttle), and past a known limit once the rate is well beyond it.
pub(super) const INCREASE: f64 = 0.1;
/// The share of a measured limit the rate rises by per second of successful attempts while near it:
/// slow, as a token bucket refilled while under the limit takes about as long to drain over it, and
/// the longer that cycle, the fewer throttles in all.
const APPROACH: f64 = 0.02;
/// The same once two measures of the limit agree within [`SETTLED`]: slower still, as the limit is
/// known; not from the first measure, which may be off after a burst.
const SETTLED_APPROACH: f64 = 0.005;
const SETTLED: f64 = 0.1;
/// How far past a known limit the rate must be, without a throttle, before it rises by [`INCREASE`].
const BEYOND: f64 = 1.2;
/// How far past a known limit the rate must climb, without a throttle, for the limit to be forgotten
/// (and the pace lifted [`RELEASE`] later without a throttle).
const LIFT: f64 = 2.0;
/// What a cut keeps of the rate the service was measured to let through.
const KEEP: f64 = 0.9;
/// Throttles closer together than this cut the rate once: the calls in flight when the service
/// started throttling all come back throttled, and are one signal.
pub(super) const DECREASE_INTERVAL: Duration = Duration::from_secs(1);
/// Without a throttle for this long after a lone throttle, or after a limit was forgotten (no limit
/// known), the pace is unlimited again.
pub(super) const RELEASE: Duration = Duration::from_secs(5);
/// Measures of a limit in a row each lower than the last (by more than [`SETTLED`]) that make the
/// throttling noise.
const FALLS_THEN_NOISE: u32 = 2;
/// A throttled share at most this is light: one fall of the measured limit makes it noise.
const LIGHT: f64 = 0.2;
/// Answers since the last cut needed to measure what the service lets through.
const MIN_ANSWERS: u32 = 4;
/// The rate assumed at the first throttle when fewer requests were measured.
const FIRST_THROTTLE_RATE: f64 = 20.0;

/// The pace of one service in one account and region.
#[derive(Debug)]
pub(super) struct Pacer {
    /// Requests per second; `None`: unlimited.
    rate: Option<f64>,
    /// The rate the service was found to allow, once throttling came back at a limited pace.
    limit: Option<f64>,
    /// The limit was measured twice alike: the rate approaches it more gently.
    settled: bool,
    /// Measures of the limit in a row each lower than the one before by more than [`SETTLED`].
    falls: u32,
    /// Cuts so far: a request given a turn before the latest cut takes another.
    cuts: u64,
    /// Attempts, and throttled ones, while paced since the pace was last unlimited (the throttle that
    /// ended that counted): the share of throttling that [`FALLS_THEN_NOISE`] takes for noise, over
    /// more attempts than a span or two.
    episode: (u32, u32),
    /// Attempts answered without throttling, and throttled, since the last cut.
    since_cut: (u32, u32),
    /// Tokens in the bucket (negative: requests reserved ahead).
    tokens: f64,
    /// When the bucket was last refilled.
    refilled: Instant,
    /// When the rate was last raised (or cut).
    raised: Instant,
    /// The last throttle that cut the rate, and the last throttle seen (or when a limit was forgotten,
    /// from which [`RELEASE`] counts).
    decreased: Option<Instant>,
    throttled: Option<Instant>,
    /// Requests sent in the current and the previous second, to know the rate sent at when the first
    /// throttle comes.
    window: (Instant, u32, u32),
    /// Outcomes of the current span of [`SAMPLE`] attempts, and of the last whole one.
    outcomes: Outcomes,
    last_span: Option<Outcomes>,
    /// Set when the rate was cut: how the span before went, to compare with the first whole span
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

    /// Attempts sent per second.
    fn sent(&self) -> f64 {
        let span = self.end.saturating_duration_since(self.start).as_secs_f64();
        f64::from(self.attempts) / span.max(0.05)
    }

    fn throttled_share(&self) -> f64 {
        f64::from(self.throttled) / f64::from(self.attempts.max(1))
    }
}

/// The span before a cut.
#[derive(Debug, Clone, Copy)]
struct Probe {
    at: Instant,
    before: Outcomes,
}

/// How much a cut must slow what is sent for the span after it to tell a limit from noise. Noise that
/// makes smaller cuts (a cut is to [`KEEP`] of what got through, so at a tenth throttled, to about
/// 0.81 of what was sent) is left to [`FALLS_THEN_NOISE`].
const SLOWED_ENOUGH: f64 = 0.8;

/// Attempts in a span, the unit throttling is judged by: fewer say too little (at 10 attempts, one
/// throttle more or less is a share of 10%), and a span of time would hold too few at a low rate.
const SAMPLE: u32 = 20;
/// How much more than its noise the throttled share must be for throttling to mean "too fast" again.
const NOISE_MARGIN: f64 = 0.1;
/// A throttled share above this is never taken as noise: slowing down is then the only sane answer
/// (and a limit's burst can make the span before a cut look better than the limit).
const NOISE_CEILING: f64 = 0.5;

impl Pacer {
    pub(super) fn new(now: Instant) -> Pacer {
        Pacer {
            rate: None,
            limit: None,
            settled: false,
            falls: 0,
            cuts: 0,
            episode: (0, 0),
            since_cut: (0, 0),
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

    /// Turns given this second and the one before: a test's way to know a request had its turn.
    #[cfg(test)]
    pub(super) fn turns_lately(&self) -> u32 {
        self.window.1 + self.window.2
    }

    /// Cuts so far: a request whose wait ([`Pacer::reserve`]) began before a cut waits again.
    pub(super) fn cuts(&self) -> u64 {
        self.cuts
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

    /// An attempt answered with a throttling error at `now`: cut the rate (see the module's doc).
    pub(super) fn throttled(&mut self, now: Instant) {
        self.tally(now, true);
        self.refill(now);
        self.throttled = Some(now);
        self.raised = now.max(self.raised);
        self.since_cut.1 = self.since_cut.1.saturating_add(1);
        if let Some(at) = self.decreased {
            let since = now.saturating_duration_since(at);
            // Right after the first cut, a pace still far too fast (most attempts since throttled)
            // is cut again sooner: the bucket a burst found empty stays so.
            let early = self.limit.is_none()
                && self.rate.is_some()
                && since >= DECREASE_INTERVAL / 4
                && self.since_cut.1 > self.since_cut.0;
            if since < DECREASE_INTERVAL && !early {
                return;
            }
        }
        let recent = self.recent(now);
        let share = recent.map(|(_, share, _)| share);
        // Throttling found not to depend on the rate slows nothing, unless it grows well past its
        // noise: by more than chance would make it over that many attempts (three standard
        // deviations), so a noisy span does not undo the judgement.
        if let Some(noise) = self.noise {
            let chance = |attempts: u32| 3.0 * (noise * (1.0 - noise) / f64::from(attempts)).sqrt();
            if recent.is_none_or(|(_, share, attempts)| {
                share <= noise + NOISE_MARGIN.max(chance(attempts))
            }) {
                return;
            }
            self.noise = None;
        }
        // A cut being judged is not piled on, unless most attempts are throttled.
        if self.probe.is_some() && share.is_none_or(|share| share <= NOISE_CEILING) {
            return;
        }
        if self.probe.is_none()
            && let Some(before) = self.last_span
        {
            self.probe = Some(Probe { at: now, before });
        }
        let rate = match (self.rate, self.decreased) {
            // Paced since the last cut, with a few answers since: a token bucket was empty at that
            // throttle and is at this one, so what got through in between is the rate it allows,
            // bursts left out. Not more than halved at once unless most were throttled, as what got
            // through is also less than the pace when fewer requests were made.
            (Some(rate), Some(cut)) if self.since_cut.0 + self.since_cut.1 >= MIN_ANSWERS => {
                let span = now.saturating_duration_since(cut).as_secs_f64().max(0.05);
                let allowed = (f64::from(self.since_cut.0) / span).max(FLOOR);
                self.settled = self
                    .limit
                    .is_some_and(|limit| (allowed - limit).abs() <= SETTLED * limit);
                let fell = self
                    .limit
                    .is_some_and(|limit| allowed < (1.0 - SETTLED) * limit);
                self.falls = if fell { self.falls + 1 } else { 0 };
                self.limit = Some(allowed);
                let mostly_throttled = self.since_cut.1 > self.since_cut.0;
                // A limit stays put: measured again after a cut, it is found where it was. Throttling
                // that finds it lower each time, a tenth or more, is the pace's own shadow (what gets
                // through is a share of whatever is sent): with server errors and cut connections
                // among the faults, each cut slows sending by a tenth only, too little for the
                // judgement of the next whole span to tell.
                let (attempts, throttled) = self.episode;
                let share = f64::from(throttled) / f64::from(attempts.max(1));
                // Light throttling over many attempts needs only one such fall: a limit's
                // first measures can fall after its burst, but its burst throttles heavily.
                let light = share <= LIGHT && attempts >= 2 * SAMPLE;
                if (self.falls >= FALLS_THEN_NOISE || (self.falls >= 1 && light))
                    && !mostly_throttled
                    && attempts >= SAMPLE
                    && share <= NOISE_CEILING
                {
                    tracing::debug!(
                        "throttling of {:.0}% measured a limit lower at each cut: not a rate limit",
                        100.0 * share
                    );
                    self.lift();
                    self.noise = Some(share);
                    return;
                }
                let floor = if mostly_throttled { 0.0 } else { rate / 2.0 };
                (KEEP * allowed).max(floor).min(rate)
            }
            _ => {
                let base = self
                    .rate
                    .unwrap_or_else(|| self.measured(now).max(FIRST_THROTTLE_RATE));
                // Mostly throttled: what the service let through is the rate it allows; a halving at
                // a time would take seconds of refusals to get there.
                match recent {
                    Some((accepted_rate, share, _)) if share > 0.5 => KEEP * accepted_rate,
                    Some((accepted_rate, _, _)) => {
                        (KEEP * accepted_rate).clamp(base / 2.0, base.max(1.0))
                    }
                    None => base / 2.0,
                }
            }
        };
        let rate = rate.max(FLOOR);
        let lower = self.rate.is_none_or(|old| rate < old);
        if self.rate.is_none() {
            // The episode starts with this throttle.
            self.episode = (1, 1);
        }
        self.decreased = Some(now);
        self.since_cut = (0, 0);
        self.rate = Some(rate);
        tracing::debug!("throttled: pace {rate:.1} requests/s");
        if lower {
            // What was saved up goes, and so do the turns given out at the old rate: the requests
            // waiting for them take a turn again ([`Pacers::wait`], [`Turn::outdated`]), at this rate.
            // Kept, a run with many requests waiting went on sending at the old rate for as long as
            // its queue lasted.
            self.tokens = 0.0;
            self.cuts += 1;
        } else {
            self.tokens = self.tokens.min(0.0);
        }
    }

    /// An attempt answered at `now` without throttling: raise the rate a little, and forget a measured
    /// limit once well past it.
    pub(super) fn answered(&mut self, now: Instant) {
        self.tally(now, false);
        self.since_cut.0 = self.since_cut.0.saturating_add(1);
        self.refill(now);
        let elapsed = now.saturating_duration_since(self.raised).as_secs_f64();
        self.raised = now.max(self.raised);
        let Some(rate) = self.rate else {
            return;
        };
        let step = match self.limit {
            None => (INCREASE * rate).max(FLOOR),
            Some(limit) if rate < BEYOND * limit => self.approach() * limit,
            Some(limit) => (INCREASE * rate).max(self.approach() * limit),
        };
        let rate = rate + step * elapsed;
        self.rate = Some(rate);
        if self.limit.is_some_and(|limit| rate >= LIFT * limit) {
            // Twice the limit without a throttle: it was measured low (in the throttling of a burst)
            // or went away. Forgotten; the rate goes on rising and is lifted after [`RELEASE`]
            // without a throttle, so a limit still there is met at a climbing pace, not by every
            // request waiting for the pace sent at once (seen: 65 throttles in 3 s).
            self.limit = None;
            self.settled = false;
            self.falls = 0;
            self.throttled = Some(now);
        }
    }

    /// Refill the bucket for the time since the last refill, and lift the limit after [`RELEASE`]
    /// without a throttle when no limit was measured.
    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.refilled = now.max(self.refilled);
        if self.limit.is_none()
            && self
                .throttled
                .is_none_or(|at| now.saturating_duration_since(at) >= RELEASE)
        {
            self.lift();
            return;
        }
        let Some(rate) = self.rate else {
            return;
        };
        // A second's worth of requests may be saved up, at least one.
        self.tokens = (self.tokens + elapsed * rate).min(rate.max(1.0));
    }

    /// The share of the limit the rate rises by per second near it.
    fn approach(&self) -> f64 {
        if self.settled {
            SETTLED_APPROACH
        } else {
            APPROACH
        }
    }

    /// Unlimited again, and what was learnt about noise is forgotten.
    fn lift(&mut self) {
        self.rate = None;
        self.limit = None;
        self.settled = false;
        self.falls = 0;
        self.episode = (0, 0);
        self.tokens = 0.0;
        self.noise = None;
        self.probe = None;
    }

    /// Count an attempt's outcome in its span; at each whole span, judge the last cut.
    fn tally(&mut self, now: Instant, throttled: bool) {
        if self.rate.is_some() {
            self.episode.0 += 1;
            self.episode.1 += u32::from(throttled);
        }
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

    /// After a cut that slowed what was sent, the first whole span at the lower rate tells a rate limit from throttling that
    /// has nothing to do with the rate (a shared account's limits spent by others, an overloaded
    /// service, a fault injector). Over a limit, slowing down leaves the accepted requests as they were
    /// (the limit) or makes throttles rare; otherwise it loses accepted requests in proportion and the
    /// throttled share stays. Then the pace goes back to unlimited and the share throttled over both
    /// spans is taken as noise.
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
            "judging a cut: before {}/{} throttled, after {}/{}",
            before.throttled,
            before.attempts,
            after.throttled,
            after.attempts
        );
        if before.throttled == 0 {
            return;
        }
        // The experiment: sending slower. If the cut did not slow what was sent, it says nothing.
        let slowed = after.sent() / before.sent().max(f64::MIN_POSITIVE);
        if slowed > SLOWED_ENOUGH {
            return;
        }
        // Accepted requests fell closer to in proportion to what was sent than to not at all.
        let accepted_lost = after.accepted() <= before.accepted() * (1.0 + slowed) / 2.0;
        let throttles_stayed = after.throttled_share() >= 0.5 * before.throttled_share();
        let both = f64::from(before.throttled + after.throttled)
            / f64::from((before.attempts + after.attempts).max(1));
        let modest = both <= NOISE_CEILING;
        if accepted_lost && throttles_stayed && modest {
            tracing::debug!(
                "throttling of {:.0}% does not ease when slowing down: not a rate limit",
                100.0 * after.throttled_share()
            );
            self.lift();
            self.noise = Some(both);
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
    fn recent(&self, now: Instant) -> Option<(f64, f64, u32)> {
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
                attempts,
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
    pub(super) fn of(&self, service: &str, action: &str) -> Arc<Mutex<Pacer>> {
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

    /// Wait for the pace of `service:action`'s bucket before sending a request; again if the pace
    /// was cut meanwhile, as the turn was given at the old rate. The turn, to ask later whether the
    /// pace was cut since ([`Turn::outdated`]).
    pub(super) async fn wait(&self, service: &str, action: &str) -> Turn {
        let pacer = self.of(service, action);
        loop {
            let (wait, cuts) = {
                let mut pacer = lock(&pacer);
                (pacer.reserve(Instant::now()), pacer.cuts())
            };
            if !wait.is_zero() {
                tracing::debug!("pacing {service}:{action}: waiting {} ms", wait.as_millis());
                tokio::time::sleep(wait).await;
            }
            if wait.is_zero() || lock(&pacer).cuts() == cuts {
                return Turn { pacer, cuts };
            }
        }
    }

    /// An attempt of `service:action` was throttled (`true`) or answered otherwise.
    pub(super) fn attempted(&self, service: &str, action: &str, throttled: bool) {
        let pacer = self.of(service, action);
        let mut pacer = lock(&pacer);
        // The pacer's own log lines (cuts, judgements) name their bucket.
        let _bucket = tracing::debug_span!("pacer", %service, %action).entered();
        if throttled {
            pacer.throttled(Instant::now());
        } else {
            pacer.answered(Instant::now());
        }
    }
}

/// A request's turn at its bucket's pace.
pub(super) struct Turn {
    pacer: Arc<Mutex<Pacer>>,
    cuts: u64,
}

impl Turn {
    /// The pace was cut since this turn was given.
    pub(super) fn outdated(&self) -> bool {
        lock(&self.pacer).cuts() != self.cuts
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
    fn twice_a_measured_limit_forgets_it_and_climbs_before_lifting() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(t0);
        // 200 a second against 5 accepted a second: a limit of about 5 measured.
        let t = traffic(&mut pacer, t0, 2, 200, |n| n % 200 >= 5);
        let limit = pacer.limit.expect("a limit measured");
        assert!((3.0..=7.0).contains(&limit), "{limit}");
        // Then answers only, ten a second: the rate climbs past the limit; at twice it the limit is
        // forgotten but the pace stays, still climbing, until RELEASE passes without a throttle.
        let mut t = t;
        let mut forgotten = None;
        for _ in 0..600 {
            t += ms(100);
            pacer.answered(t);
            if forgotten.is_none() && pacer.limit.is_none() {
                let rate = pacer
                    .rate()
                    .expect("still paced when the limit is forgotten");
                assert!(rate >= LIFT * limit, "{rate} vs {limit}");
                forgotten = Some((t, rate));
                break;
            }
        }
        let (at, rate) = forgotten.expect("the limit forgotten within a minute");
        pacer.answered(at + RELEASE - ms(100));
        let later = pacer.rate().expect("not lifted before RELEASE");
        assert!(later > rate, "{later} vs {rate}");
        pacer.answered(at + RELEASE);
        assert_eq!(
            pacer.rate(),
            None,
            "lifted after RELEASE without a throttle"
        );
    }

    #[tokio::test]
    async fn a_turn_given_before_a_cut_is_outdated_and_one_after_is_not() {
        let pacers = Pacers::default();
        let turn = pacers.wait("emr", "DescribeCluster").await;
        let other = pacers.wait("emr", "ListInstanceGroups").await;
        assert!(!turn.outdated());
        pacers.attempted("emr", "DescribeCluster", true);
        assert!(turn.outdated(), "the pace was cut since the turn");
        assert!(!other.outdated(), "another bucket's cut is not this one's");
        let again = pacers.wait("emr", "DescribeCluster").await;
        assert!(!again.outdated());
    }

    /// Requests sent as soon as the pace lets, at most `per_second` a second, for `seconds` from
    /// `start`, each throttled when `throttle` says (given when it is answered): a closed loop, as the
    /// gate's callers are.
    fn paced_traffic(
        pacer: &mut Pacer,
        start: Instant,
        seconds: u64,
        per_second: u64,
        mut throttle: impl FnMut(Instant) -> bool,
    ) -> Instant {
        let mut t = start;
        while t < start + Duration::from_secs(seconds) {
            t += pacer.reserve(t).max(ms(1000 / per_second));
            if throttle(t) {
                pacer.throttled(t);
            } else {
                pacer.answered(t);
            }
        }
        t
    }

    #[test]
    fn a_limit_measured_lower_at_each_cut_is_noise() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(t0);
        // A limit of 20 a second (a token bucket, burst 20), found.
        let mut bucket = (20.0f64, t0);
        let t = paced_traffic(&mut pacer, t0, 20, 200, |t| {
            let (tokens, last) = &mut bucket;
            *tokens = (*tokens + 20.0 * (t - *last).as_secs_f64()).min(20.0);
            *last = t;
            let throttled = *tokens < 1.0;
            if !throttled {
                *tokens -= 1.0;
            }
            throttled
        });
        let limit = pacer.limit.expect("a limit measured");
        assert!((15.0..=25.0).contains(&limit), "{limit}");
        // Then a tenth of the requests throttled whatever the pace: each cut keeps a tenth less than
        // was sent, too little for the span after it to tell (`judge`), and each measure of the limit
        // comes out lower than the last.
        let mut n = 0;
        let mut lowest = f64::INFINITY;
        let mut t = t;
        for _ in 0..30 {
            t = paced_traffic(&mut pacer, t, 1, 200, |_| {
                n += 1;
                n % 10 == 0
            });
            lowest = lowest.min(pacer.rate().unwrap_or(f64::INFINITY));
        }
        assert_eq!(pacer.rate(), None, "lifted: the limit fell at each cut");
        let noise = pacer.noise().expect("noise measured");
        assert!((noise - 0.1).abs() < 0.05, "{noise}");
        assert!(
            lowest >= 0.5 * limit,
            "the pace was dragged down to {lowest:.1} from a limit of {limit:.1}"
        );
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

    // ---- Discrete-event simulation of the gate's use of a pacer ----

    /// xorshift64*: a tiny seeded generator, so every run of the simulation is the same.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            let x = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
            // The top 53 bits as a fraction in [0, 1).
            (x >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// What the simulated server does with a request arriving at some time.
    enum Server {
        /// A token bucket: `rate` tokens a second, at most `burst`.
        Bucket { rate: f64, burst: f64 },
        /// Each attempt throttled with this probability, whatever the rate.
        Random(f64),
        /// Each attempt throttled with the first probability, or failing otherwise (a server error or
        /// a cut connection, retried but no sign of going too fast) with the second.
        Faults(f64, f64),
        /// Only the attempt arriving with this number (from 0) throttled.
        Once(u32),
    }

    #[derive(Debug, Default)]
    struct Run {
        calls: u32,
        failed: u32,
        attempts: u32,
        throttled: u32,
        /// When the last call ended, in seconds.
        seconds: f64,
        /// When each throttled attempt was answered, in seconds.
        throttles: Vec<f64>,
        /// When each call ended, in seconds, in order.
        ends: Vec<f64>,
    }

    impl Run {
        fn throttled_share(&self) -> f64 {
            f64::from(self.throttled) / f64::from(self.attempts)
        }
        fn call_rate(&self) -> f64 {
            f64::from(self.calls) / self.seconds
        }
        /// When nine calls in ten had ended: the pace of the bulk, not the luck of the last retry
        /// chain (up to 10 attempts, backoffs of up to 20 s).
        fn nine_tenths(&self) -> f64 {
            self.ends[self.ends.len() * 9 / 10]
        }
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Answer {
        Accepted,
        Throttled,
        Failed,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Step {
        /// A worker takes a token for its next attempt.
        Reserve,
        /// Its wait for the pace is over; it began when the pace had been cut so many times.
        Woken(u64),
        /// The attempt reaches the server.
        Arrive,
        /// The answer comes back: accepted, throttled, or failed otherwise.
        Answer(Answer),
    }

    /// [`WORKERS`] closed-loop workers make `calls` calls between them, as the gate does: reserve,
    /// wait, a 50 ms request (judged by the server half-way), and a throttled attempt retried after a
    /// jittered exponential backoff, up to `max_attempts`. `pacer: false` sends without waiting.
    fn simulate(server: Server, pacer: bool, calls: u32, max_attempts: u32, seed: u64) -> Run {
        simulate_demand(server, pacer, calls, max_attempts, seed, 0)
    }

    /// Workers in the simulation: the calls in flight of a default run.
    const WORKERS: usize = 16;

    /// The same with each worker waiting `gap_ms` between its calls: a phase of a run that asks for
    /// few calls, whatever the pace allows.
    fn simulate_demand(
        server: Server,
        pacer: bool,
        calls: u32,
        max_attempts: u32,
        seed: u64,
        gap_ms: u64,
    ) -> Run {
        use std::cmp::Reverse;
        use std::collections::BinaryHeap;
        let t0 = Instant::now();
        let at = |nanos: u64| t0 + Duration::from_nanos(nanos);
        let mut rng = Rng(seed.max(1));
        let mut pace = Pacer::new(t0);
        let (mut tokens, mut filled) = match server {
            Server::Bucket { burst, .. } => (burst, 0u64),
            Server::Random(_) | Server::Faults(..) | Server::Once(_) => (0.0, 0),
        };
        let mut run = Run::default();
        let mut started = 0u32;
        let mut arrived = 0u32;
        // Per worker: the attempt number of its current call.
        let mut attempt = [0u32; WORKERS];
        let mut events = BinaryHeap::new();
        let mut seq = 0u64;
        for (w, first) in attempt.iter_mut().enumerate() {
            if started < calls {
                started += 1;
                *first = 1;
                events.push(Reverse((0u64, seq, w, Step::Reserve)));
                seq += 1;
            }
        }
        while let Some(Reverse((now, _, w, step))) = events.pop() {
            let next = match step {
                Step::Reserve => {
                    let wait = if pacer {
                        pace.reserve(at(now))
                    } else {
                        Duration::ZERO
                    };
                    if wait.is_zero() {
                        Some((now + 25_000_000, Step::Arrive))
                    } else {
                        Some((now + wait.as_nanos() as u64, Step::Woken(pace.cuts())))
                    }
                }
                // As the gate does: a turn given before a cut is taken again.
                Step::Woken(cuts) if cuts != pace.cuts() => Some((now, Step::Reserve)),
                Step::Woken(_) => Some((now + 25_000_000, Step::Arrive)),
                Step::Arrive => {
                    let throttled = match server {
                        Server::Bucket { rate, burst } => {
                            tokens = (tokens + (now - filled) as f64 * 1e-9 * rate).min(burst);
                            filled = now;
                            if tokens >= 1.0 {
                                tokens -= 1.0;
                                false
                            } else {
                                true
                            }
                        }
                        Server::Random(p) => rng.next() < p,
                        Server::Faults(throttled, failed) => {
                            let draw = rng.next();
                            if draw >= throttled && draw < throttled + failed {
                                let answer = Step::Answer(Answer::Failed);
                                events.push(Reverse((now + 25_000_000, seq, w, answer)));
                                seq += 1;
                                continue;
                            }
                            draw < throttled
                        }
                        Server::Once(n) => {
                            arrived += 1;
                            arrived == n + 1
                        }
                    };
                    let answer = if throttled {
                        Answer::Throttled
                    } else {
                        Answer::Accepted
                    };
                    Some((now + 25_000_000, Step::Answer(answer)))
                }
                Step::Answer(answer) => {
                    let throttled = answer == Answer::Throttled;
                    let retried = answer != Answer::Accepted;
                    run.attempts += 1;
                    run.throttled += u32::from(throttled);
                    if throttled {
                        run.throttles.push(now as f64 * 1e-9);
                    }
                    // As the gate does: a server error or a cut connection says nothing about the
                    // pace.
                    if pacer && answer != Answer::Failed {
                        if throttled {
                            pace.throttled(at(now));
                        } else {
                            pace.answered(at(now));
                        }
                    }
                    if retried && attempt[w] < max_attempts {
                        let bound = (1u64 << (attempt[w] - 1)).min(20) as f64;
                        attempt[w] += 1;
                        let backoff = (rng.next() * bound * 1e9) as u64;
                        Some((now + backoff, Step::Reserve))
                    } else {
                        run.calls += 1;
                        run.failed += u32::from(retried);
                        run.seconds = now as f64 * 1e-9;
                        run.ends.push(run.seconds);
                        (started < calls).then(|| {
                            started += 1;
                            attempt[w] = 1;
                            (now + gap_ms * 1_000_000, Step::Reserve)
                        })
                    }
                }
            };
            if let Some((time, step)) = next {
                events.push(Reverse((time, seq, w, step)));
                seq += 1;
            }
        }
        run
    }

    const LIMIT: Server = Server::Bucket {
        rate: 10.0,
        burst: 20.0,
    };

    /// Accepted requests a second over a run, the limit's initial burst left out.
    fn sustained(run: &Run) -> f64 {
        (f64::from(run.attempts - run.throttled) - 20.0) / run.seconds
    }

    #[test]
    fn simulated_rate_limit_is_found_with_few_throttles() {
        let mut shares = 0.0;
        for seed in 1..=10 {
            let run = simulate(LIMIT, true, 1000, 5, seed);
            println!(
                "seed {seed}: {:.1}% throttled, {:.2} accepted/s, {} failed, {:.1} s",
                100.0 * run.throttled_share(),
                sustained(&run),
                run.failed,
                run.seconds
            );
            assert!(run.throttled_share() < 0.05, "seed {seed}: {run:?}");
            assert!(sustained(&run) >= 0.85 * 10.0, "seed {seed}: {run:?}");
            assert_eq!(run.failed, 0, "seed {seed}");
            shares += run.throttled_share() / 10.0;
        }
        // About 2.7% (15% before the limit was measured between throttles and approached gently).
        assert!(shares < 0.035, "{shares}");
    }

    #[test]
    fn simulated_burst_at_the_start_settles_within_seconds() {
        for seed in 1..=10 {
            let run = simulate(LIMIT, true, 1000, 5, seed);
            // The calls in flight when the bucket ran dry, and their retries, are throttled; after
            // the first seconds, throttles are a few per probe of the limit.
            let late = run.throttles.iter().filter(|&&t| t > 3.0).count();
            let early = run.throttles.len() - late;
            println!("seed {seed}: {early} throttles in the first 3 s, {late} after");
            assert!(early <= 35, "seed {seed}: {early}");
            assert!(late <= 20, "seed {seed}: {late}");
        }
    }

    /// Calls a second against `server` with the pacer and without, averaged over 10 seeds.
    fn throughput(server: impl Fn() -> Server, calls: u32, max_attempts: u32) -> (f64, f64) {
        let (mut paced, mut unpaced) = (0.0, 0.0);
        for seed in 1..=10 {
            paced += simulate(server(), true, calls, max_attempts, seed).call_rate() / 10.0;
            unpaced += simulate(server(), false, calls, max_attempts, seed).call_rate() / 10.0;
        }
        println!("{paced:.1} calls/s paced, {unpaced:.1} unpaced");
        (paced, unpaced)
    }

    #[test]
    fn simulated_random_throttling_keeps_most_of_the_throughput() {
        let (paced, unpaced) = throughput(|| Server::Random(0.3), 1000, 5);
        // About 92% (44% before the noise judgement compared sending rates).
        assert!(paced >= 0.8 * unpaced, "{paced} vs {unpaced}");
    }

    #[test]
    fn simulated_faults_mostly_not_throttling_keep_most_of_the_throughput() {
        // Case (b′) of the scan benchmark: 30% of attempts fail at random, a third of them throttled;
        // the others (server errors, cut connections) are retried but not reported to the pacer.
        let (paced, unpaced) = throughput(|| Server::Faults(0.1, 0.2), 2000, 10);
        assert!(paced >= 0.8 * unpaced, "{paced} vs {unpaced}");
    }

    #[test]
    fn simulated_few_calls_with_random_faults_are_not_slowed_down() {
        // A phase asking for fewer calls than its callers could make (each waits 500 ms between
        // calls), 30% of attempts failing, a third of them throttled: each cut measures a limit lower
        // than the last, which must not drag the pace down throttle after throttle.
        let (mut paced, mut unpaced) = (0.0, 0.0);
        for seed in 1..=10 {
            let run = |pacer| simulate_demand(Server::Faults(0.1, 0.2), pacer, 200, 10, seed, 500);
            let (p, u) = (run(true).nine_tenths(), run(false).nine_tenths());
            println!("seed {seed}: {p:.1} s paced, {u:.1} s unpaced");
            paced += p;
            unpaced += u;
        }
        println!(
            "{:.1} s paced, {:.1} s unpaced",
            paced / 10.0,
            unpaced / 10.0
        );
        assert!(paced <= 1.15 * unpaced, "{paced} vs {unpaced}");
    }

    #[test]
    fn simulated_single_throttle_costs_about_a_second() {
        let once = simulate(Server::Once(40), true, 5000, 5, 1);
        let clean = simulate(Server::Random(0.0), true, 5000, 5, 1);
        println!("{:.2} s against {:.2} s", once.seconds, clean.seconds);
        assert!(once.seconds <= clean.seconds + 3.0, "{once:?}");
    }
}
