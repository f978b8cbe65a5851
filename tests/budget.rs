//! `--concurrency N` is the number of AWS calls in flight for the whole run, across accounts and regions:
//! three accounts (roles assumed) in two regions, against the multi-account scenario served with a fixed
//! latency, and the server counts the requests it has in hand at once.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use emr_ami_audit::replay::{Faults, ReplayServer, Scenario};

const LATENCY: Duration = Duration::from_millis(150);

/// A matcher that matches nothing and notes when each request arrived (so the scenario answers it).
#[derive(Clone, Default)]
struct Arrivals(Arc<Mutex<Vec<Instant>>>);

impl wiremock::Match for Arrivals {
    fn matches(&self, _: &wiremock::Request) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Instant::now());
        false
    }
}

impl Arrivals {
    /// The most requests that arrived within one window shorter than the latency: every answer leaves
    /// the server `LATENCY` after its request arrived, so a client keeping at most N calls in flight
    /// can't send more than N in such a window.
    fn most_in_flight(&self) -> usize {
        let mut times = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        times.sort();
        let window = LATENCY.mul_f64(0.9);
        (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|t| **t - times[i] < window)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    fn count(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

async fn scan(concurrency: &str) -> (Arrivals, serde_json::Value) {
    let scenario =
        Scenario::load(&repo().join("mocks/multi-account")).expect("shipped scenario loads");
    let server = ReplayServer::start_with_faults(
        scenario,
        Faults {
            latency: LATENCY,
            rate: 0.0,
            seed: 0,
        },
    )
    .await;
    let arrivals = Arrivals::default();
    wiremock::Mock::given(arrivals.clone())
        .respond_with(wiremock::ResponseTemplate::new(500))
        .with_priority(1)
        .mount(server.mock_server())
        .await;
    let args = [
        "--format",
        "json",
        "--concurrency",
        concurrency,
        "--accounts",
        "111111111111,222222222222,333333333333",
        "--role-arn",
        "arn:aws:iam::{account}:role/emr-ami-audit",
        "--external-id",
        "audit-2026",
        "--region",
        "us-east-1,eu-west-1",
        "cluster",
    ]
    .map(String::from)
    .to_vec();
    let run = run_live(server.url(), args).await;
    let report = parse_report(&run);
    assert_eq!(
        run.code, 3,
        "as in the replay: one account and one region fail"
    );
    assert_eq!(report["targets"].as_array().map(Vec::len), Some(3));
    (arrivals, report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_of_calls_in_flight_holds_across_accounts_and_regions() {
    let (arrivals, _) = scan("2").await;
    assert!(arrivals.count() > 20, "{} requests", arrivals.count());
    // Per scope, as before, would be up to 4 scopes × 2.
    assert_eq!(
        arrivals.most_in_flight(),
        2,
        "the budget, and all of it used"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_and_regions_share_a_larger_budget() {
    let (arrivals, _) = scan("16").await;
    let most = arrivals.most_in_flight();
    assert!(
        (3..=16).contains(&most),
        "{most} in flight: accounts and regions are worked on together, within the budget"
    );
}
