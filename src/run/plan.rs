//! `plan FILE`: a cluster launch request or CloudFormation template, before it is made.

use std::time::Instant;

use super::RunError;
use super::cluster::{ClusterBatch, audit_clusters};
use crate::aws::Aws;
use crate::collect::Prefetched;
use crate::facts::{ClusterFacts, CollectError};
use crate::invocation::{Invocation, PlanJob};
use crate::plan;
use crate::progress::Progress;
use crate::report::{Report, TargetKind};

pub(super) async fn plan(
    invocation: &Invocation,
    job: &PlanJob,
    aws: &Aws,
) -> Result<Report, RunError> {
    // Read after connecting: `AWS::Region` in a template resolves to the region of the run.
    let clusters = plan::load(&job.file, &job.parameters, aws.region())?;
    let started = Instant::now();
    let described: Vec<(String, Result<ClusterFacts, CollectError>)> = clusters
        .into_iter()
        .map(|c| (c.cluster_id.clone(), Ok(c)))
        .collect();
    let batch = ClusterBatch {
        kind: TargetKind::Plan,
        described: &described,
        launching_account: job.account.clone(),
        started,
    };
    let spinner = Progress::new(invocation.progress).spinner(
        described.len(),
        format!(
            "auditing {} planned clusters and their AMIs",
            described.len()
        ),
    );
    let report = audit_clusters(invocation, aws, batch, Vec::new(), Prefetched::default()).await;
    spinner.finish_and_clear();
    report
}
