//! From collected facts to report targets: run the rules on each AMI, cluster and plan, each in its
//! own context.

use crate::context::Context;
use crate::facts::lineage;
use crate::facts::{ClusterFacts, CollectError, Collected, ImageEvidence, ImageLookup};
use crate::release::Release;
use crate::report::{ReportedFinding, Status, Target, TargetKind};
use crate::rules::{self, ClusterSubject, ImageSubject};

/// One AMI judged in `context`.
pub fn image_target(evidence: &ImageEvidence, collected: &Collected, context: &Context) -> Target {
    let mut target = Target::new(
        TargetKind::Image,
        evidence.image_id.clone(),
        context.region.clone(),
        context.summary(),
    );
    target.name = evidence.found().and_then(|i| i.name.clone());
    if let Some(image) = evidence.found() {
        target.base = Some(lineage::summary(evidence.lineage.as_ref(), image));
        target.lineage = evidence.lineage.clone();
    }
    if let ImageLookup::Failed(error) = &evidence.lookup {
        target.status = Status::NotAudited;
        target.error = Some(format!("not audited: {error}"));
        return target;
    }
    let subject = ImageSubject {
        evidence,
        region: &collected.region,
    };
    target.findings = rules::evaluate_image(&subject, context)
        .into_iter()
        .map(ReportedFinding::from_finding)
        .collect();
    target
}

/// A cluster (running, or planned) whose facts could not be collected.
pub fn failed_cluster_target(
    kind: TargetKind,
    id: &str,
    error: &CollectError,
    base: &Context,
) -> Target {
    let mut summary = base.summary();
    summary.release = None;
    let mut target = Target::new(kind, id.to_string(), base.region.clone(), summary);
    target.status = Status::NotAudited;
    target.error = Some(format!("not audited: {error}"));
    target
}

/// A cluster judged by the cluster rules, and each custom AMI it uses judged by the image rules in the
/// cluster's context: its release, the instance types that boot that AMI, its applications and account.
pub fn cluster_target(
    kind: TargetKind,
    cluster: &ClusterFacts,
    collected: &Collected,
    base: &Context,
) -> Target {
    let release = cluster.release_label.as_deref().map(str::parse::<Release>);
    let mut context = base.clone();
    context.instance_types = cluster.instance_types();
    context.applications = cluster.applications.clone();
    context.roles = crate::context::EmrRoles {
        service_role: cluster.service_role.clone(),
        instance_profile: cluster.instance_profile.clone(),
    };
    let mut summary = context.summary();
    summary.release = cluster.release_label.clone();
    let mut target = Target::new(
        kind,
        cluster.cluster_id.clone(),
        base.region.clone(),
        summary,
    );
    target.name = cluster.name.clone();
    let amis = cluster.custom_amis();
    // A plan whose AMI is only known at deploy time is not "on the default AMI": unknown, and EA056 says why.
    target.default_ami = match (amis.is_empty(), cluster.unresolved.is_empty()) {
        (false, _) => Some(false),
        (true, true) => Some(true),
        (true, false) => None,
    };
    let mut judge_images = true;
    match release {
        Some(Ok(release)) => {
            context.release = release;
            target.context = context.summary();
        }
        Some(Err(error)) => {
            target.status = Status::NotAudited;
            target.error = Some(format!("not audited: {error}"));
            return target;
        }
        // No release: nothing to judge on a default-AMI cluster, and for a plan EA056 names the gap.
        None if amis.is_empty() || !cluster.unresolved.is_empty() => judge_images = false,
        None => {
            target.status = Status::NotAudited;
            target.error = Some(
                "not audited: the cluster has no EMR release label (ReleaseLabel)".to_string(),
            );
            return target;
        }
    }

    let subject = ClusterSubject {
        cluster,
        images: &collected.images,
        region: &collected.region,
    };
    target.findings = rules::evaluate_cluster(&subject, &context)
        .into_iter()
        .map(ReportedFinding::from_finding)
        .collect();

    let mut images = Vec::new();
    for ami in amis.iter().filter(|_| judge_images) {
        let (used_by, instance_types) = usage(cluster, ami);
        let mut image_context = context.clone();
        image_context.instance_types = instance_types;
        let mut image = match collected.images.get(ami) {
            Some(evidence) => image_target(evidence, collected, &image_context),
            None => {
                let mut missing = Target::new(
                    TargetKind::Image,
                    ami.clone(),
                    context.region.clone(),
                    image_context.summary(),
                );
                missing.status = Status::NotAudited;
                missing.error = Some(format!("not audited: {ami} was not described"));
                missing
            }
        };
        image.used_by = Some(used_by);
        images.push(image);
    }
    target.images = Some(images);
    target
}

/// Where a cluster uses an AMI, and the instance types that boot it.
fn usage(cluster: &ClusterFacts, ami: &str) -> (Vec<String>, Vec<String>) {
    if cluster.custom_ami_id.as_deref() == Some(ami) {
        return (vec!["cluster-level".to_string()], cluster.instance_types());
    }
    let mut used_by = Vec::new();
    let mut types = Vec::new();
    for slot in cluster
        .instances
        .iter()
        .filter(|s| s.custom_ami_id.as_deref() == Some(ami))
    {
        used_by.push(format!("{} {}", slot.container, slot.instance_type));
        if !types.contains(&slot.instance_type) {
            types.push(slot.instance_type.clone());
        }
    }
    (used_by, types)
}
