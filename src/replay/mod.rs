//! Offline mode: recorded AWS answers (`mocks/<scenario>/`) served on a loopback `wiremock` server, so
//! the real SDK clients run unchanged against them. See `mocks/README.md` for the format.

mod params;
mod scenario;
mod server;

pub use params::{RequestKey, canonical};
pub use scenario::{Exchange, Scenario, ScenarioError};
pub use server::{ReplayLog, ReplayServer, identify};
