//! The HTML report: one self-contained page (inline CSS and SVG, no script, no fetch).

use super::report::DriftReport;

impl DriftReport {
    /// Renders the report as a self-contained HTML page.
    pub fn to_html(&self) -> String {
        String::new()
    }
}
