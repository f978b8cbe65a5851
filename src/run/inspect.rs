//! `inspect ROOT`: the image-content rules on a root filesystem.

use std::time::Instant;

use crate::context::Context;
use crate::invocation::{InspectJob, Invocation};
use crate::report::{Report, Stats, Target, TargetKind};
use crate::rootfs;

pub(super) fn inspect(invocation: &Invocation, job: &InspectJob) -> Report {
    let started = Instant::now();
    let facts = rootfs::read(&job.root);
    let context = Context::new(
        job.release,
        "",
        invocation.now,
        invocation.thresholds,
        None,
        None,
    );
    let mut target = Target::new(
        TargetKind::Rootfs,
        job.root.display().to_string(),
        String::new(),
        context.summary(),
    );
    let mut errors = Vec::new();
    super::contents::judge(&mut target, &facts, &context, &mut errors);
    Report::new(
        vec![target],
        errors,
        Stats::since(started, Default::default()),
    )
}
