//! `--format json`: the `Report` as documented by `schema/report.schema.json`.

use super::Report;

pub fn render_json(report: &Report) -> String {
    // Serializing plain structs with string keys cannot fail; fall back to an empty object if it ever did.
    let mut text = serde_json::to_string_pretty(report).unwrap_or_else(|_| "{}".to_string());
    text.push('\n');
    text
}
