//! Logging a drift report to a tracking run, so a drift check inside a `#[dag]` leaves its
//! evidence where the rest of the pipeline's records are.

use super::DriftReport;
use crate::tracking::{Metric, Run, now_ms};

/// Artifact path of the JSON report.
pub const REPORT_JSON: &str = "drift/report.json";
/// Artifact path of the HTML report.
pub const REPORT_HTML: &str = "drift/report.html";

impl DriftReport {
    /// Logs the report to `run`: every score and decision of [`DriftReport::to_metrics`] as
    /// metrics (one batch), the JSON and HTML reports as the artifacts [`REPORT_JSON`] and
    /// [`REPORT_HTML`], and the tag `oxflow.dataset_drift` (`true` or `false`).
    ///
    /// ```
    /// use oxflow_runtime::drift::{Column, Dataset, DriftOptions, detect};
    /// use oxflow_runtime::tracking::{FileStore, Run, RunOptions, TrackingStore};
    /// # let dir = tempfile::tempdir()?;
    /// let store = TrackingStore::from(FileStore::open(dir.path())?);
    /// let reference = Dataset::new(vec![Column::numerical("age", vec![30.0, 31.0, 29.0, 35.0])])?;
    /// let current = Dataset::new(vec![Column::numerical("age", vec![50.0, 52.0, 49.0, 55.0])])?;
    /// let report = detect(&reference, &current, &DriftOptions::default())?;
    /// let mut run = Run::start(&store, "monitoring", RunOptions::default())?;
    /// report.log_to(&mut run)?;
    /// assert!(store.read_artifact(run.id(), "drift/report.html").is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn log_to(&self, run: &mut Run) -> Result<(), crate::Error> {
        let now = now_ms();
        let metrics: Vec<Metric> = self
            .to_metrics()
            .into_iter()
            .map(|(key, value)| Metric {
                key,
                value,
                timestamp_ms: now,
                step: 0,
            })
            .collect();
        run.log_metrics(&metrics)?;
        run.log_text(REPORT_JSON, &self.to_json()?)?;
        run.log_text(REPORT_HTML, &self.to_html())?;
        run.set_tag(
            "oxflow.dataset_drift",
            if self.dataset.dataset_drift {
                "true"
            } else {
                "false"
            },
        )?;
        Ok(())
    }
}
