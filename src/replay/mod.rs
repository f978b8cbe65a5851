//! Offline mode: recorded AWS answers (`mocks/<scenario>/`) served on a loopback `wiremock` server, so
//! the real SDK clients run unchanged against them. See `mocks/README.md` for the format.

mod by_image;
mod faults;
mod params;
mod proxy;
mod record;
mod scenario;
mod server;
mod snapshots;

pub use faults::Faults;
pub use params::{RequestKey, canonical};
pub use record::{RecordError, RecordOptions, Recorder, check_target};
pub use scenario::{Exchange, ExchangeFile, Scenario, ScenarioError, ScenarioFile};
pub use server::{ReplayLog, ReplayServer, identify, identify_parts};
pub use snapshots::{
    BLOCK_SIZE, RecordedError, RecordedSnapshot, SnapshotIndex, SnapshotRecording, checksum,
};
