//! What every AWS call goes through: the run's deadline, the pace of its service, a slot of the run's
//! budget of calls in flight, its attempts (retries with backoff are made here, not in the SDK, so a call
//! sleeping through a backoff holds no slot), and the breaker of its operation in its scope.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response as HttpResponse;

use super::collect_error;
use super::pacing::{self, Pacers};
use crate::facts::CollectError;

/// AWS calls in flight for a whole run when no budget is given (`--concurrency`'s default).
pub const DEFAULT_BUDGET: usize = 16;

/// The longest wait between two attempts, as the SDKs' standard retry mode.
const MAX_BACKOFF: Duration = Duration::from_secs(20);

/// What bounds each call.
#[derive(Debug, Clone)]
pub(super) struct Gate {
    /// Calls in flight for the whole run (`--concurrency`): shared by every client of the run, across
    /// accounts and regions, and taken in turn (the semaphore is fair), so no scope starves another.
    pub(super) budget: Arc<tokio::sync::Semaphore>,
    /// The pace of each service in this account and region (slower after throttling).
    pub(super) pacers: Pacers,
    /// When the run must end (`--timeout`): calls still waiting then fail, later ones fail at once.
    pub(super) deadline: Option<tokio::time::Instant>,
    /// Attempts per call, retries included.
    pub(super) max_attempts: u32,
    /// The first backoff; each later one may be twice as long (full jitter, at most [`MAX_BACKOFF`]).
    pub(super) initial_backoff: Duration,
    /// Operations of this account and region that keep failing with a server error.
    pub(super) breaker: Arc<Breaker>,
}

impl Gate {
    pub(super) fn new(region: &str, max_attempts: u32, initial_backoff: Duration) -> Gate {
        Gate {
            budget: Arc::new(tokio::sync::Semaphore::new(DEFAULT_BUDGET)),
            pacers: Pacers::default(),
            deadline: None,
            max_attempts: max_attempts.max(1),
            initial_backoff,
            breaker: Arc::new(Breaker::new(region, max_attempts.max(1))),
        }
    }

    /// The answer to the request `send` makes (made again for each attempt), or the failure as a fact.
    ///
    /// Each attempt waits for its service's pace, then for a slot of the budget, held only while the
    /// request is in flight (and for its pace once more if the pace was cut meanwhile). A throttled,
    /// server-failed or dropped attempt is retried after a backoff (exponential with full jitter) up
    /// to `max_attempts`, without a slot, so retries never hold up unrelated calls. A call still
    /// waiting at the deadline fails with `DeadlineReached` (and one made after it fails at once), so
    /// the run reports what it has.
    pub(super) async fn ask<T, E, F, Fut>(
        &self,
        service: &str,
        action: &str,
        send: F,
    ) -> Result<T, CollectError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let late = || deadline_reached(service, action);
        let call = self.breaker.call(service, action);
        let mut attempt = 1;
        let error = loop {
            call.admitted(attempt, self.deadline).await?;
            // The pace first, so a call waiting its turn in a throttled service holds no slot of the
            // budget other scopes could use. Awaits in a row, not one future of them: the nesting of
            // async bodies is deep enough.
            let mut retaken = false;
            let permit = loop {
                let turn = before(self.deadline, self.pacers.wait(service, action))
                    .await
                    .ok_or_else(late)?;
                let permit = before(self.deadline, self.budget.acquire())
                    .await
                    .ok_or_else(late)?;
                // A turn given before a cut, spent waiting for a slot, is taken again at the new
                // pace: else every call waiting for a slot when throttling starts is sent at the old
                // pace (seen: 75 throttles in a second with 64 clusters waiting). Once an attempt: a
                // call whose wait for a slot outlasts the cuts would otherwise never be sent.
                if retaken || !turn.outdated() {
                    break permit;
                }
                retaken = true;
            };
            let answer = before(self.deadline, send()).await.ok_or_else(late)?;
            drop(permit);
            let error = match answer {
                Ok(output) => {
                    self.pacers.attempted(service, action, false);
                    call.answered();
                    return Ok(output);
                }
                Err(error) => collect_error(service, action, &error),
            };
            let kind = Kind::of(&error);
            // Only throttling and answers speak about the pace; a server error or a dropped connection
            // neither slows it nor speeds it up.
            if matches!(kind, Kind::Throttled | Kind::Answered) {
                self.pacers
                    .attempted(service, action, kind == Kind::Throttled);
            }
            match kind {
                Kind::ServerError => call.server_error(&error),
                Kind::Throttled | Kind::Answered => call.answered(),
                Kind::Transient => {}
            }
            if attempt >= self.max_attempts || !kind.retried() {
                break error;
            }
            let backoff = self.backoff(attempt);
            tracing::debug!(
                "{service}:{action}: {} on attempt {attempt}; retrying in {} ms",
                error.code,
                backoff.as_millis()
            );
            // Cut short if the operation is given up meanwhile: the next attempt is then refused.
            let backoff = async {
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = call.given_up() => {}
                }
            };
            before(self.deadline, backoff).await.ok_or_else(late)?;
            attempt += 1;
        };
        call.failed(&error);
        Err(gave_up(error, attempt))
    }

    /// How long to wait after failed attempt number `attempt`: full jitter over an exponential bound.
    fn backoff(&self, attempt: u32) -> Duration {
        let bound = self
            .initial_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(MAX_BACKOFF);
        bound.mul_f64(jitter())
    }
}

/// A failure that was retried until no attempt was left says so (a denial after a dropped connection
/// does not: it is the answer, not the last try).
fn gave_up(mut error: CollectError, attempts: u32) -> CollectError {
    if attempts > 1 && Kind::of(&error).retried() {
        error.message = format!("{} (gave up after {attempts} attempts)", error.message);
    }
    error
}

/// What a failed attempt says about its operation, and whether it is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// HTTP 5xx that is not throttling: the operation may be broken.
    ServerError,
    /// Throttling: the operation works, the caller is too fast.
    Throttled,
    /// Dropped connections, timeouts, answers cut short: nothing known about the operation.
    Transient,
    /// Any other error (denied, not found, invalid): the operation answers; not tried again.
    Answered,
}

impl Kind {
    fn of(error: &CollectError) -> Kind {
        if pacing::THROTTLING.contains(&error.code.as_str()) || error.status == Some(429) {
            Kind::Throttled
        } else if error
            .status
            .is_some_and(|s| matches!(s, 500 | 502 | 503 | 504))
        {
            // What the SDKs' standard mode retries; a 501 is not going to change.
            Kind::ServerError
        } else if matches!(
            error.code.as_str(),
            // Not MalformedResponse: a whole answer that is not XML or JSON (a proxy's HTML page)
            // would come back the same five times.
            "ConnectionError"
                | "Timeout"
                | "InvalidResponse"
                | "RequestTimeout"
                | "RequestTimeoutException"
                | "PriorRequestNotComplete"
        ) {
            Kind::Transient
        } else {
            Kind::Answered
        }
    }

    /// The failures the SDKs' standard retry mode retries.
    fn retried(self) -> bool {
        self != Kind::Answered
    }
}

/// A number in [0, 1), different on each call: enough randomness for spreading retries.
fn jitter() -> f64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// `step`'s output, or `None` when `deadline` passes first.
pub(super) async fn before<F: std::future::Future>(
    deadline: Option<tokio::time::Instant>,
    step: F,
) -> Option<F::Output> {
    match deadline {
        None => Some(step.await),
        Some(deadline) => tokio::time::timeout_at(deadline, step).await.ok(),
    }
}

/// A call the run's deadline cut short (or never started).
fn deadline_reached(service: &str, action: &str) -> CollectError {
    CollectError {
        service: service.to_string(),
        action: action.to_string(),
        code: "DeadlineReached".to_string(),
        message: "deadline reached (--timeout)".to_string(),
        status: None,
    }
}

/// Calls of one operation that may try while it is in doubt, and calls in a row that may fail all
/// their attempts with the same server error, with no answer between, for the operation to be given up.
pub(super) const BREAKER_THRESHOLD: u32 = 3;

/// Per operation of one account and region, whether it works.
///
/// An operation is *in doubt* until it has answered once in the scope, and again after
/// [`BREAKER_THRESHOLD`] server errors in a row. While in doubt, only [`BREAKER_THRESHOLD`] calls (the
/// probes) make attempts; the others wait. An answer (anything but a server error or a dropped
/// connection) clears the doubt and they go on. When the probes have all failed every attempt with
/// the same server error (or one has, among twice a call's attempts failing in a row), the operation is
/// *open*: not asked again in the scope, its waiting and later
/// calls fail at once saying why, and their targets fall back as for any failed call. So an operation
/// that fails every time costs [`BREAKER_THRESHOLD`] retry chains, side by side, whatever the number
/// of targets; and one bad request (a cluster whose listing fails) stops no other call.
#[derive(Debug, Default)]
pub(super) struct Breaker {
    region: String,
    /// Attempts per call: a streak of server errors twice as long, with a call among them that had
    /// them all, is more than bad luck.
    max_attempts: u32,
    operations: Mutex<BTreeMap<String, Operation>>,
    changed: tokio::sync::Notify,
    calls: AtomicU64,
}

#[derive(Debug, Default)]
struct Operation {
    /// It has answered in this scope.
    proven: bool,
    /// Server errors in a row (attempts of any call), and the last one's status and code.
    streak: u32,
    signature: String,
    /// Of those, the probes' attempts since the doubt began: what shows the fault lasts (errors of
    /// calls in flight together say little, they came back at once).
    probe_streak: u32,
    /// Calls that failed every attempt with a server error since the last answer.
    exhausted: u32,
    /// The calls making attempts while the operation is in doubt.
    probes: BTreeSet<u64>,
    /// Given up: the reason.
    open: Option<String>,
}

impl Operation {
    fn in_doubt(&self) -> bool {
        !self.proven || self.streak >= BREAKER_THRESHOLD
    }
}

impl Breaker {
    pub(super) fn new(region: &str, max_attempts: u32) -> Breaker {
        Breaker {
            region: region.to_string(),
            max_attempts,
            ..Breaker::default()
        }
    }

    fn call<'a>(&'a self, service: &'a str, action: &'a str) -> Call<'a> {
        Call {
            breaker: self,
            service,
            action,
            key: format!("{service}:{action}"),
            id: self.calls.fetch_add(1, Ordering::Relaxed),
            spent: AtomicBool::new(false),
        }
    }

    fn operations(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Operation>> {
        self.operations.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The operations given up in this scope, with why.
    #[cfg(test)]
    fn open(&self) -> Vec<String> {
        self.operations()
            .values()
            .filter_map(|op| op.open.clone())
            .collect()
    }
}

/// One call's part in its operation's breaker. Dropped (finished or cancelled), it gives up its place
/// among the probes, so no call waits for one that will never come back; unless it failed every
/// attempt with a server error: then its place stays taken until the operation answers, so an
/// operation that fails every time gets [`BREAKER_THRESHOLD`] probes in all, not a new one each time
/// one gives up.
struct Call<'a> {
    breaker: &'a Breaker,
    service: &'a str,
    action: &'a str,
    key: String,
    id: u64,
    spent: AtomicBool,
}

/// Whether a call may make an attempt now.
enum Admission {
    Go,
    Wait,
    Refused(String),
}

impl Call<'_> {
    /// Whether the call may make its attempt number `attempt`. While the operation is in doubt, probe
    /// places go to calls on their first attempt: a call already retrying (three bad requests, say)
    /// goes on with its own retries but does not speak for the operation.
    fn admission(&self, attempt: u32) -> Admission {
        let mut operations = self.breaker.operations();
        let op = operations.entry(self.key.clone()).or_default();
        if let Some(reason) = &op.open {
            return Admission::Refused(reason.clone());
        }
        if !op.in_doubt() || op.probes.contains(&self.id) || attempt > 1 {
            return Admission::Go;
        }
        if op.probes.len() < BREAKER_THRESHOLD as usize {
            op.probes.insert(self.id);
            return Admission::Go;
        }
        Admission::Wait
    }

    /// Wait until this call may make an attempt; the refusal when its operation was given up.
    async fn admitted(
        &self,
        attempt: u32,
        deadline: Option<tokio::time::Instant>,
    ) -> Result<(), CollectError> {
        loop {
            // Created before looking, so a change between the look and the wait is not missed
            // (`notify_waiters` reaches every `Notified` already created, polled or not).
            let changed = self.breaker.changed.notified();
            match self.admission(attempt) {
                Admission::Go => return Ok(()),
                Admission::Refused(message) => {
                    return Err(CollectError {
                        service: self.service.to_string(),
                        action: self.action.to_string(),
                        code: "OperationUnavailable".to_string(),
                        message,
                        status: None,
                    });
                }
                Admission::Wait => {
                    if before(deadline, changed).await.is_none() {
                        return Err(deadline_reached(self.service, self.action));
                    }
                }
            }
        }
    }

    /// The operation answered: it works.
    fn answered(&self) {
        let mut operations = self.breaker.operations();
        let op = operations.entry(self.key.clone()).or_default();
        let wake = op.in_doubt() || !op.probes.is_empty();
        op.proven = true;
        op.streak = 0;
        op.probe_streak = 0;
        op.exhausted = 0;
        op.probes.clear();
        drop(operations);
        if wake {
            self.breaker.changed.notify_waiters();
        }
    }

    /// An attempt failed with a server error.
    fn server_error(&self, error: &CollectError) {
        let signature = format!("HTTP {} {}", error.status.unwrap_or_default(), error.code);
        let mut operations = self.breaker.operations();
        let op = operations.entry(self.key.clone()).or_default();
        let was_in_doubt = op.in_doubt();
        if op.signature == signature {
            op.streak += 1;
        } else {
            op.streak = 1;
            op.probe_streak = 0;
            op.signature = signature;
        }
        if !was_in_doubt && op.in_doubt() {
            op.probe_streak = 0;
        }
        if op.in_doubt() && op.probes.contains(&self.id) {
            op.probe_streak += 1;
        }
        // A new kind of error can end the doubt (a streak starts again): the waiting calls go on.
        let cleared = was_in_doubt && !op.in_doubt();
        if cleared {
            op.probes.clear();
        }
        // Once a probe has had all its attempts, the streak that gives the operation up may end on
        // any probe's attempt: the others need not sleep through their backoffs to say so.
        let opened = self.give_up_if_shown(op);
        drop(operations);
        if cleared || opened {
            self.breaker.changed.notify_waiters();
        }
    }

    /// Give the operation up if its probes showed it fails every time: all of them failed every
    /// attempt, or one did while the others kept failing alongside it (twice a call's attempts of
    /// probes in a row, with no answer between, is the operation, not bad luck). Whether it did.
    fn give_up_if_shown(&self, op: &mut Operation) -> bool {
        let long_streak = op.probe_streak >= (2 * self.breaker.max_attempts).max(BREAKER_THRESHOLD);
        if op.open.is_some()
            || !(op.exhausted >= BREAKER_THRESHOLD || op.exhausted >= 1 && long_streak)
        {
            return false;
        }
        op.open = Some(format!(
            "{}:{} unavailable in {}: {}, {} attempts in a row",
            self.service, self.action, self.breaker.region, op.signature, op.probe_streak
        ));
        true
    }

    /// Until the operation is given up (never, if it works): a call sleeping through a backoff stops
    /// then, rather than waiting out a backoff to be refused.
    async fn given_up(&self) {
        loop {
            // Created before looking, as in `admitted`.
            let changed = self.breaker.changed.notified();
            let open = self
                .breaker
                .operations()
                .get(&self.key)
                .is_some_and(|op| op.open.is_some());
            if open {
                return;
            }
            changed.await;
        }
    }

    /// The call failed every attempt it had with `error`.
    fn failed(&self, error: &CollectError) {
        if Kind::of(error) != Kind::ServerError {
            return;
        }
        let mut operations = self.breaker.operations();
        let op = operations.entry(self.key.clone()).or_default();
        // Only probes speak for the operation.
        if !op.in_doubt() || op.open.is_some() || !op.probes.contains(&self.id) {
            return;
        }
        self.spent.store(true, Ordering::Relaxed);
        op.exhausted += 1;
        if self.give_up_if_shown(op) {
            drop(operations);
            // The calls waiting for the probes fail now.
            self.breaker.changed.notify_waiters();
        }
    }
}

impl Drop for Call<'_> {
    fn drop(&mut self) {
        if self.spent.load(Ordering::Relaxed) {
            return;
        }
        let mut operations = self.breaker.operations();
        let left = operations
            .get_mut(&self.key)
            .is_some_and(|op| op.probes.remove(&self.id));
        drop(operations);
        if left {
            self.breaker.changed.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error() -> CollectError {
        CollectError {
            service: "ec2".into(),
            action: "GetImageAncestry".into(),
            code: "InternalError".into(),
            message: "boom".into(),
            status: Some(500),
        }
    }

    fn go(call: &Call<'_>) -> bool {
        matches!(call.admission(1), Admission::Go)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_call_that_waited_for_a_slot_through_a_cut_takes_its_turn_again() {
        use aws_sdk_emr::operation::describe_cluster::DescribeClusterError;
        let gate = Gate {
            budget: Arc::new(tokio::sync::Semaphore::new(1)),
            ..Gate::new("us-east-1", 1, Duration::from_millis(10))
        };
        let held = Arc::clone(&gate.budget)
            .acquire_owned()
            .await
            .expect("the only slot");
        let sent = Arc::new(std::sync::Mutex::new(None));
        let call = {
            let (gate, sent) = (gate.clone(), Arc::clone(&sent));
            tokio::spawn(async move {
                gate.ask("emr", "DescribeCluster", || {
                    let sent = Arc::clone(&sent);
                    async move {
                        *sent.lock().expect("lock") = Some(std::time::Instant::now());
                        Ok::<(), SdkError<DescribeClusterError, HttpResponse>>(())
                    }
                })
                .await
            })
        };
        // The call has its turn (the pace is unlimited), then waits for the slot.
        let pacer = gate.pacers.of("emr", "DescribeCluster");
        let turn_taken = async {
            while pacer.lock().expect("lock").turns_lately() == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(10), turn_taken)
            .await
            .expect("the call takes its turn");
        gate.pacers.attempted("emr", "DescribeCluster", true);
        let rate = pacer
            .lock()
            .expect("lock")
            .rate()
            .expect("paced after a throttle");
        let released = std::time::Instant::now();
        drop(held);
        call.await.expect("joins").expect("answered");
        let at = sent.lock().expect("lock").expect("sent");
        // Sent at the new pace, not at once on the turn given before the cut.
        let waited = at.saturating_duration_since(released);
        assert!(
            waited >= Duration::from_secs_f64(0.5 / rate),
            "sent {waited:?} after the slot came, at a pace of {rate:.1} a second"
        );
    }

    #[test]
    fn an_operation_in_doubt_lets_three_calls_try_and_the_rest_wait() {
        let breaker = Breaker::new("us-east-1", 5);
        let calls: Vec<Call<'_>> = (0..5)
            .map(|_| breaker.call("ec2", "GetImageAncestry"))
            .collect();
        let admitted: Vec<bool> = calls.iter().map(go).collect();
        assert_eq!(admitted, [true, true, true, false, false]);
        // One answer and the operation is proven: everyone goes.
        calls[1].answered();
        assert!(calls.iter().all(go));
    }

    /// Once one probe has failed every attempt, the streak can end on another probe's attempt: the
    /// operation is given up then, and a probe sleeping through its backoff hears of it at once.
    #[tokio::test]
    async fn a_long_streak_gives_up_without_waiting_for_the_other_probes_backoffs() {
        let breaker = Breaker::new("us-east-1", 5);
        let first = breaker.call("ec2", "GetImageAncestry");
        assert!(go(&first));
        for _ in 0..5 {
            first.server_error(&server_error());
        }
        first.failed(&server_error());
        let second = breaker.call("ec2", "GetImageAncestry");
        let third = breaker.call("ec2", "GetImageAncestry");
        assert!(go(&second) && go(&third));
        for _ in 0..4 {
            second.server_error(&server_error());
        }
        assert!(breaker.open().is_empty(), "nine in a row: not yet");
        assert!(go(&third), "the third probe is one");
        // The third probe waits in its backoff while the second's tenth error in a row comes.
        let tenth = async {
            tokio::task::yield_now().await;
            second.server_error(&server_error());
        };
        let both = async { tokio::join!(third.given_up(), tenth) };
        // Instant when it works; the bound only turns a lost wake-up into a failure, with room for
        // a busy machine.
        tokio::time::timeout(Duration::from_secs(10), both)
            .await
            .expect("a call in its backoff hears the operation was given up");
        assert_eq!(
            breaker.open(),
            [
                "ec2:GetImageAncestry unavailable in us-east-1: HTTP 500 InternalError, 10 attempts in a row"
            ]
        );
    }

    #[test]
    fn probes_failing_every_attempt_open_it_and_later_calls_are_refused() {
        let breaker = Breaker::new("us-east-1", 5);
        for probe in 0..2 {
            let call = breaker.call("ec2", "GetImageAncestry");
            assert!(go(&call));
            for _ in 0..5 {
                call.server_error(&server_error());
            }
            call.failed(&server_error());
            assert_eq!(breaker.open().len(), probe, "open after the second");
        }
        assert_eq!(
            breaker.open(),
            // The second probe's last attempt makes ten in a row, with a call that had them all.
            [
                "ec2:GetImageAncestry unavailable in us-east-1: HTTP 500 InternalError, 10 attempts in a row"
            ]
        );
        let later = breaker.call("ec2", "GetImageAncestry");
        assert!(matches!(later.admission(1), Admission::Refused(_)));
        // Other operations are not affected.
        assert!(go(&breaker.call("ec2", "DescribeImages")));
    }

    #[test]
    fn a_probe_that_failed_every_attempt_keeps_its_place_until_the_operation_answers() {
        let breaker = Breaker::new("us-east-1", 5);
        let probes: Vec<Call<'_>> = (0..3).map(|_| breaker.call("ec2", "X")).collect();
        assert!(probes.iter().all(go));
        probes[0].server_error(&server_error());
        probes[0].failed(&server_error());
        let mut probes = probes;
        drop(probes.remove(0));
        let waiting = breaker.call("ec2", "X");
        let admitted = go(&waiting);
        assert!(
            !admitted,
            "the spent probe's place is not given to another call"
        );
        assert!(breaker.open().is_empty(), "one call in a row is not three");
    }

    #[test]
    fn one_bad_request_among_answered_ones_opens_nothing() {
        let breaker = Breaker::new("us-east-1", 5);
        let bad = breaker.call("emr", "ListInstanceGroups");
        assert!(go(&bad));
        bad.server_error(&server_error());
        // Others answer meanwhile.
        for _ in 0..10 {
            let good = breaker.call("emr", "ListInstanceGroups");
            assert!(go(&good));
            good.answered();
        }
        for _ in 0..4 {
            bad.server_error(&server_error());
        }
        bad.failed(&server_error());
        assert!(breaker.open().is_empty());
        assert!(go(&breaker.call("emr", "ListInstanceGroups")));
    }

    #[test]
    fn a_proven_operation_is_in_doubt_again_after_three_server_errors_in_a_row() {
        let breaker = Breaker::new("us-east-1", 5);
        let first = breaker.call("ec2", "DescribeImages");
        first.answered();
        let calls: Vec<Call<'_>> = (0..5)
            .map(|_| breaker.call("ec2", "DescribeImages"))
            .collect();
        for call in &calls[..2] {
            call.server_error(&server_error());
        }
        assert!(calls.iter().all(go), "two in a row: not in doubt");
        calls[2].server_error(&server_error());
        let admitted: Vec<bool> = calls.iter().map(go).collect();
        assert_eq!(admitted.iter().filter(|a| **a).count(), 3, "{admitted:?}");
    }

    #[test]
    fn a_probe_that_goes_away_makes_room_for_a_waiting_call() {
        let breaker = Breaker::new("us-east-1", 5);
        let probes: Vec<Call<'_>> = (0..3).map(|_| breaker.call("emr", "X")).collect();
        assert!(probes.iter().all(go));
        let waiting = breaker.call("emr", "X");
        assert!(!go(&waiting));
        drop(probes);
        assert!(go(&waiting));
    }

    #[test]
    fn throttling_and_dropped_connections_are_retried_but_denials_are_not() {
        let mut error = server_error();
        assert_eq!(Kind::of(&error), Kind::ServerError);
        error.code = "RequestLimitExceeded".into();
        error.status = Some(503);
        assert_eq!(Kind::of(&error), Kind::Throttled, "EC2 throttles with 503");
        error.code = "ConnectionError".into();
        error.status = None;
        assert_eq!(Kind::of(&error), Kind::Transient);
        error.code = "UnauthorizedOperation".into();
        error.status = Some(403);
        assert_eq!(Kind::of(&error), Kind::Answered);
        assert!(!Kind::Answered.retried());
        assert!(Kind::Throttled.retried() && Kind::Transient.retried());
    }

    #[test]
    fn backoffs_grow_exponentially_with_jitter_and_are_capped() {
        let gate = Gate::new("us-east-1", 10, Duration::from_millis(100));
        for attempt in 1..=12 {
            let bound = Duration::from_millis(100)
                .saturating_mul(1 << (attempt - 1))
                .min(MAX_BACKOFF);
            let backoff = gate.backoff(attempt);
            assert!(backoff < bound || bound.is_zero(), "{attempt}: {backoff:?}");
        }
        let spread: BTreeSet<Duration> = (0..20).map(|_| gate.backoff(5)).collect();
        assert!(spread.len() > 10, "jittered: {spread:?}");
    }

    #[test]
    fn a_new_kind_of_server_error_ends_the_doubt_and_wakes_the_waiting() {
        let breaker = Breaker::new("us-east-1", 5);
        breaker.call("ec2", "X").answered();
        let calls: Vec<Call<'_>> = (0..5).map(|_| breaker.call("ec2", "X")).collect();
        for call in &calls[..3] {
            call.server_error(&server_error());
        }
        let admitted: Vec<bool> = calls.iter().map(go).collect();
        assert_eq!(admitted.iter().filter(|a| **a).count(), 3, "in doubt");
        let mut other = server_error();
        other.code = "ServiceUnavailable".into();
        other.status = Some(503);
        calls[0].server_error(&other);
        assert!(calls.iter().all(go), "a streak of one: no doubt");
    }

    #[test]
    fn retries_go_on_in_doubt_but_only_probes_open_the_operation() {
        let breaker = Breaker::new("us-east-1", 5);
        breaker.call("ec2", "X").answered();
        // Three calls in flight fail together: in doubt.
        let retrying: Vec<Call<'_>> = (0..3).map(|_| breaker.call("ec2", "X")).collect();
        for call in &retrying {
            call.server_error(&server_error());
        }
        // Their retries go on without taking the probes' places…
        assert!(
            retrying
                .iter()
                .all(|c| matches!(c.admission(2), Admission::Go))
        );
        let fresh: Vec<Call<'_>> = (0..3).map(|_| breaker.call("ec2", "X")).collect();
        assert!(fresh.iter().all(go), "the probe places are free");
        // …and their giving up opens nothing.
        for call in &retrying {
            call.failed(&server_error());
        }
        assert!(breaker.open().is_empty());
    }

    #[test]
    fn only_the_usual_server_errors_are_retried() {
        let mut error = server_error();
        error.status = Some(501);
        error.code = "NotImplemented".into();
        assert_eq!(Kind::of(&error), Kind::Answered);
        error.status = Some(200);
        error.code = "MalformedResponse".into();
        assert!(!Kind::of(&error).retried());
    }
}
