//! The drift gauges (named in [`crate::telemetry`], with every other metric) and their
//! descriptions. Recording goes through the
//! `metrics` facade only; the binary that wants Prometheus installs the exporter.
//!
//! Labels are bounded: `feature` (a column of the schema) and `method` (a test name). No run
//! ids, file paths or values.

use metrics::{Label, describe_gauge, gauge};

use super::report::DriftReport;

pub use crate::telemetry::{
    DATASET_DRIFT, DRIFT_DETECTED, DRIFT_SCORE, LABEL_FEATURE, LABEL_METHOD, SHARE_DRIFTED_COLUMNS,
};

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
    record_labelled(report, &[]);
}

/// [`record`], with `labels` added to every gauge (a scoring server adds `model`).
pub(crate) fn record_labelled(report: &DriftReport, labels: &[Label]) {
    let with = |extra: &[Label]| -> Vec<Label> { labels.iter().chain(extra).cloned().collect() };
    let flag = |b: bool| if b { 1.0 } else { 0.0 };
    gauge!(SHARE_DRIFTED_COLUMNS, with(&[])).set(report.dataset.share_of_drifted_columns);
    gauge!(DATASET_DRIFT, with(&[])).set(flag(report.dataset.dataset_drift));
    for c in &report.columns {
        let feature = Label::new(LABEL_FEATURE, c.column.clone());
        if c.all_missing {
            gauge!(DRIFT_DETECTED, with(std::slice::from_ref(&feature))).set(1.0);
        }
        let Some(score) = c.score.filter(|s| s.is_finite()) else {
            continue;
        };
        let method = Label::new(LABEL_METHOD, c.test.name());
        gauge!(DRIFT_SCORE, with(&[feature.clone(), method])).set(score);
        gauge!(DRIFT_DETECTED, with(&[feature])).set(flag(c.drift_detected));
    }
}
