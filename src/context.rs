//! What the rules judge against, besides the facts: the release, instance types, applications,
//! accounts, region and the clock. Everything a rule needs from outside comes in through here.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::release::Release;

#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    pub release: Release,
    /// The instance types that will boot the image.
    pub instance_types: Vec<String>,
    /// EMR applications, as given (`Spark`, `Oozie`, …). Empty means unknown.
    pub applications: Vec<String>,
    /// The account that will launch the cluster.
    pub launching_account: Option<String>,
    /// The account whose credentials made the calls.
    pub caller_account: Option<String>,
    /// The EMR service role and instance profile the image boots under (a cluster's or a plan's;
    /// unknown in an image audit).
    pub roles: EmrRoles,
    pub region: String,
    pub thresholds: Thresholds,
    /// "Now" for every time comparison: rules never read the clock.
    pub now: DateTime<Utc>,
}

/// The roles EMR uses for a cluster, as the cluster names them: a name or an ARN.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EmrRoles {
    pub service_role: Option<String>,
    pub instance_profile: Option<String>,
}

/// Limits the user can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// EA063: bytes under /tmp, /var and /emr together.
    pub relocated_bytes: u64,
    /// EA042: days after which a base image is stale.
    pub max_base_age_days: u32,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            relocated_bytes: 1024 * 1024 * 1024,
            max_base_age_days: 90,
        }
    }
}

/// The part of the context a report shows for each target.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ContextSummary {
    /// `None` when the release could not be known (a cluster that could not be described).
    pub release: Option<String>,
    pub instance_types: Vec<String>,
    pub applications: Vec<String>,
    pub account: Option<String>,
}

impl Context {
    /// The context of one account and region: no instance types or applications yet, the launching
    /// account the given one or else the caller's.
    pub fn new(
        release: Release,
        region: &str,
        now: DateTime<Utc>,
        thresholds: Thresholds,
        caller_account: Option<String>,
        launching_account: Option<String>,
    ) -> Context {
        Context {
            release,
            instance_types: Vec::new(),
            applications: Vec::new(),
            launching_account: launching_account.or(caller_account.clone()),
            caller_account,
            roles: EmrRoles::default(),
            region: region.to_string(),
            thresholds,
            now,
        }
    }

    pub fn summary(&self) -> ContextSummary {
        ContextSummary {
            release: Some(self.release.to_string()),
            instance_types: self.instance_types.clone(),
            applications: self.applications.clone(),
            account: self.launching_account.clone(),
        }
    }
}
