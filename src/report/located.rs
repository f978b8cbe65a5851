//! Targets with their place in the report (top-level, or nested in a cluster or plan), for the formats
//! that name nested AMIs by their parent (SARIF, JUnit, Markdown).

use super::{Target, TargetKind};

/// A target of the report with where it sits: top-level, or nested in a cluster or plan.
pub(super) struct Located<'a> {
    pub target: &'a Target,
    /// The target it is nested in, if any.
    pub parent: Option<&'a Target>,
    /// The top-level target it belongs to (itself when top-level).
    pub root: &'a Target,
    /// `<parent id>/<id>` for a nested target, else the ID.
    pub qualified: String,
}

/// Every target, each followed by its nested ones.
pub(super) fn located(targets: &[Target]) -> Vec<Located<'_>> {
    let mut all = Vec::new();
    for target in targets {
        walk(&mut all, target, target, None);
    }
    all
}

fn walk<'a>(
    all: &mut Vec<Located<'a>>,
    target: &'a Target,
    root: &'a Target,
    parent: Option<(&'a Target, &str)>,
) {
    let qualified = match parent {
        Some((_, parent_qualified)) => format!("{parent_qualified}/{}", target.id),
        None => target.id.clone(),
    };
    all.push(Located {
        target,
        parent: parent.map(|(p, _)| p),
        root,
        qualified: qualified.clone(),
    });
    for image in target.images.iter().flatten() {
        walk(all, image, root, Some((target, qualified.as_str())));
    }
}

/// `image`, `cluster` or `plan`: the kind as the JSON report spells it.
pub(super) fn kind_name(kind: TargetKind) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
