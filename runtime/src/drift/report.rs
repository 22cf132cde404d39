//! The result of a drift check: plain data with a stable JSON schema, metrics for a tracking
//! run, and the HTML page (see [`DriftReport::to_html`]).

use serde::{Deserialize, Serialize};

use super::data::ColumnKind;
use super::error::DriftError;
use super::stattest::StatTest;

/// Version of the JSON schema of [`DriftReport`]; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// What a column is to the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnRole {
    /// An input feature.
    Feature,
    /// The label (target); its drift is label drift.
    Target,
}

/// Facts about one side of a column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnSummary {
    /// Rows in the dataset.
    pub rows: usize,
    /// Missing values (NaN, empty, `NA`, ...), excluded from the tests.
    pub missing: usize,
    /// `+inf` and `-inf` values, excluded from the tests.
    pub infinite: usize,
    /// Values the tests used.
    pub used: usize,
    /// Distinct values among those used (counted up to 1000 for numerical columns).
    pub distinct: usize,
    /// Mean (numerical columns).
    pub mean: Option<f64>,
    /// Population standard deviation (numerical columns).
    pub std: Option<f64>,
    /// Smallest value (numerical columns).
    pub min: Option<f64>,
    /// Largest value (numerical columns).
    pub max: Option<f64>,
}

/// Reference-vs-current distribution for the report's plots.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Distribution {
    /// Equal-width bins over the combined range of a numerical column.
    Histogram {
        /// Bin edges (one more than the counts).
        edges: Vec<f64>,
        /// Reference counts per bin.
        reference: Vec<u64>,
        /// Current counts per bin.
        current: Vec<u64>,
    },
    /// Counts per category (the most frequent ones; the rest summed as `other`).
    Categories {
        /// Category labels.
        labels: Vec<String>,
        /// Reference counts.
        reference: Vec<u64>,
        /// Current counts.
        current: Vec<u64>,
        /// Reference rows in categories not listed.
        reference_other: u64,
        /// Current rows in categories not listed.
        current_other: u64,
    },
}

/// Drift result of one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnDrift {
    /// Column name.
    pub column: String,
    /// Column type.
    pub kind: ColumnKind,
    /// Feature or target.
    pub role: ColumnRole,
    /// The test that decided.
    pub test: StatTest,
    /// True when the test was chosen by Evidently's rules rather than by the user.
    pub default_test: bool,
    /// The threshold compared with `score`.
    pub threshold: f64,
    /// The drift score: a p-value or a distance, depending on `test`. `None` when skipped.
    pub score: Option<f64>,
    /// The test statistic when it differs from the score (KS D, chi-square, z).
    pub statistic: Option<f64>,
    /// Whether the column drifted.
    pub drift_detected: bool,
    /// Why the column could not be tested (then it counts as not drifted and is left out of the
    /// share of drifted columns).
    pub skipped: Option<String>,
    /// True when the column drifted because the reference has values and every current value
    /// is missing (or infinite): a feature that stopped arriving. No test ran, so `score` is
    /// `None`. See [`crate::drift::DriftOptions::skip_all_missing`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub all_missing: bool,
    /// Reference side.
    pub reference: ColumnSummary,
    /// Current side.
    pub current: ColumnSummary,
    /// Categories only in the current data (categorical columns).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub new_categories: Vec<String>,
    /// Categories only in the reference data (categorical columns).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_categories: Vec<String>,
    /// Distributions for plots.
    pub distribution: Option<Distribution>,
    /// Remarks about the data (e.g. a categorical column that looks like free text).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The dataset-level verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetDrift {
    /// Columns tested (skipped ones excluded).
    pub number_of_columns: usize,
    /// Columns that drifted.
    pub number_of_drifted_columns: usize,
    /// `number_of_drifted_columns / number_of_columns` (0 when no column was tested).
    pub share_of_drifted_columns: f64,
    /// The share at or above which the dataset drifted.
    pub drift_share: f64,
    /// `share_of_drifted_columns >= drift_share`.
    pub dataset_drift: bool,
}

/// Everything a drift check found. Serialises to a stable JSON schema
/// (`schema_version` = [`SCHEMA_VERSION`]).
///
/// ```
/// use oxflow_runtime::drift::{detect, Column, Dataset, DriftOptions};
/// let r = Dataset::new(vec![Column::numerical("x", (0..200).map(f64::from).collect())])?;
/// let c = Dataset::new(vec![Column::numerical("x", (100..300).map(f64::from).collect())])?;
/// let report = detect(&r, &c, &DriftOptions::default())?;
/// assert!(report.dataset.dataset_drift);
/// let json = report.to_json()?;
/// assert!(json.contains("\"schema_version\": 1"));
/// let metrics = report.to_metrics();
/// assert!(metrics.iter().any(|(k, v)| k == "drift.share_of_drifted_columns" && *v == 1.0));
/// # Ok::<(), oxflow_runtime::drift::DriftError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    /// Version of this schema.
    pub schema_version: u32,
    /// oxflow version that produced the report.
    pub oxflow_version: String,
    /// Rows in the reference data.
    pub reference_rows: usize,
    /// Rows in the current data.
    pub current_rows: usize,
    /// Name of the target column, if any.
    pub target: Option<String>,
    /// Dataset drift.
    pub dataset: DatasetDrift,
    /// One entry per column, in the reference's column order.
    pub columns: Vec<ColumnDrift>,
}

impl DriftReport {
    /// The result of the target column: label drift.
    pub fn label_drift(&self) -> Option<&ColumnDrift> {
        self.columns.iter().find(|c| c.role == ColumnRole::Target)
    }

    /// The result of one column.
    pub fn column(&self, name: &str) -> Option<&ColumnDrift> {
        self.columns.iter().find(|c| c.column == name)
    }

    /// Names of the drifted columns.
    pub fn drifted_columns(&self) -> impl Iterator<Item = &str> {
        self.columns
            .iter()
            .filter(|c| c.drift_detected)
            .map(|c| c.column.as_str())
    }

    /// Pretty-printed JSON.
    pub fn to_json(&self) -> Result<String, DriftError> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// Parses a report written by [`DriftReport::to_json`].
    pub fn from_json(text: &str) -> Result<Self, DriftError> {
        Ok(serde_json::from_str(text)?)
    }

    /// Metrics for a tracking run, with MLflow-valid keys: `drift.share_of_drifted_columns`,
    /// `drift.number_of_drifted_columns`, `drift.dataset_drift` (0/1), and per tested column
    /// `drift.<column>.<test>` (the score) and `drift.<column>.detected` (0/1); a column whose
    /// current values are all missing gets `drift.<column>.detected` = 1 and no score.
    /// Characters MLflow rejects in a key are replaced by `_`.
    pub fn to_metrics(&self) -> Vec<(String, f64)> {
        let mut out = vec![
            (
                "drift.share_of_drifted_columns".to_string(),
                self.dataset.share_of_drifted_columns,
            ),
            (
                "drift.number_of_drifted_columns".to_string(),
                self.dataset.number_of_drifted_columns as f64,
            ),
            (
                "drift.dataset_drift".to_string(),
                if self.dataset.dataset_drift { 1.0 } else { 0.0 },
            ),
        ];
        for c in &self.columns {
            let name = metric_key_part(&c.column);
            if c.all_missing {
                out.push((format!("drift.{name}.detected"), 1.0));
            }
            let Some(score) = c.score.filter(|s| s.is_finite()) else {
                continue;
            };
            out.push((format!("drift.{name}.{}", c.test.name()), score));
            out.push((
                format!("drift.{name}.detected"),
                if c.drift_detected { 1.0 } else { 0.0 },
            ));
        }
        out
    }

    /// Writes the JSON report to a file.
    pub fn write_json(&self, path: impl AsRef<std::path::Path>) -> Result<(), DriftError> {
        write_file(path.as_ref(), self.to_json()?.as_bytes())
    }

    /// Writes the HTML report to a file.
    pub fn write_html(&self, path: impl AsRef<std::path::Path>) -> Result<(), DriftError> {
        write_file(path.as_ref(), self.to_html().as_bytes())
    }
}

fn write_file(path: &std::path::Path, bytes: &[u8]) -> Result<(), DriftError> {
    std::fs::write(path, bytes).map_err(|source| DriftError::Io {
        action: "writing",
        path: path.to_path_buf(),
        source,
    })
}

/// MLflow metric keys allow alphanumerics, `_ - . / ` and space.
fn metric_key_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/' | ' ') {
                c
            } else {
                '_'
            }
        })
        .collect()
}
