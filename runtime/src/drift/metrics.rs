//! Gauge names of the drift module and their descriptions. Recording goes through the
//! `metrics` facade only; the binary that wants Prometheus installs the exporter.
//!
//! Labels are bounded: `feature` (a column of the schema) and `method` (a test name). No run
//! ids, file paths or values.

use metrics::{describe_gauge, gauge};

use super::report::DriftReport;

/// Drift score per feature and method (a p-value or a distance, see `method`).
pub const DRIFT_SCORE: &str = "oxflow_drift_score";
/// 1 when a feature drifted in the last check, else 0.
pub const DRIFT_DETECTED: &str = "oxflow_drift_detected";
/// Share of tested columns that drifted in the last check (0–1).
pub const SHARE_DRIFTED_COLUMNS: &str = "oxflow_drift_share_drifted_columns";
/// 1 when the last check found dataset drift, else 0.
pub const DATASET_DRIFT: &str = "oxflow_drift_dataset_drift";
/// Label of the column in per-feature gauges.
pub const LABEL_FEATURE: &str = "feature";
/// Label of the test in [`DRIFT_SCORE`].
pub const LABEL_METHOD: &str = "method";

/// Registers the descriptions of every drift gauge with the installed recorder.
///
/// ```
/// oxflow_runtime::drift::metrics::describe(); // a no-op without a recorder
/// ```
pub fn describe() {
    describe_gauge!(
        DRIFT_SCORE,
        "Drift score of a feature: a p-value (ks, chisquare, z) or a distance"
    );
    describe_gauge!(
        DRIFT_DETECTED,
        "1 if the feature drifted in the last drift check, else 0"
    );
    describe_gauge!(
        SHARE_DRIFTED_COLUMNS,
        "Share of tested columns that drifted in the last drift check"
    );
    describe_gauge!(
        DATASET_DRIFT,
        "1 if the last drift check found dataset drift, else 0"
    );
}

/// Sets the gauges from a report. [`crate::drift::detect`] calls it; call it again to
/// re-publish a stored report.
pub fn record(report: &DriftReport) {
    gauge!(SHARE_DRIFTED_COLUMNS).set(report.dataset.share_of_drifted_columns);
    gauge!(DATASET_DRIFT).set(if report.dataset.dataset_drift {
        1.0
    } else {
        0.0
    });
    for c in &report.columns {
        let Some(score) = c.score.filter(|s| s.is_finite()) else {
            continue;
        };
        gauge!(DRIFT_SCORE, LABEL_FEATURE => c.column.clone(), LABEL_METHOD => c.test.name())
            .set(score);
        gauge!(DRIFT_DETECTED, LABEL_FEATURE => c.column.clone()).set(if c.drift_detected {
            1.0
        } else {
            0.0
        });
    }
}
