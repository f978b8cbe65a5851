//! EMR: the instance types a release supports in the region.

use std::collections::BTreeSet;

use super::{Aws, collect_error};
use crate::facts::CollectError;

/// A bound on pages followed, so a server that keeps answering with a marker can't loop us forever.
const MAX_PAGES: usize = 1000;

impl Aws {
    /// ListSupportedInstanceTypes for `release`, every page.
    pub async fn supported_instance_types(
        &self,
        release: &str,
    ) -> Result<BTreeSet<String>, CollectError> {
        let mut types = BTreeSet::new();
        let mut marker: Option<String> = None;
        for _ in 0..MAX_PAGES {
            self.calls.record("emr", "ListSupportedInstanceTypes");
            let page = self
                .emr
                .list_supported_instance_types()
                .release_label(release)
                .set_marker(marker.take())
                .send()
                .await
                .map_err(|e| collect_error("emr", "ListSupportedInstanceTypes", &e))?;
            types.extend(
                page.supported_instance_types()
                    .iter()
                    .filter_map(|t| t.r#type().map(str::to_string)),
            );
            match page.marker() {
                Some(next) if !next.is_empty() => marker = Some(next.to_string()),
                _ => return Ok(types),
            }
        }
        Err(CollectError {
            service: "emr".into(),
            action: "ListSupportedInstanceTypes".into(),
            code: "TooManyPages".into(),
            message: format!("stopped after {MAX_PAGES} pages"),
        })
    }
}
