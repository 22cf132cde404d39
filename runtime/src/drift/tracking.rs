//! Logging a drift report to a tracking run, so a drift check inside a `#[dag]` leaves its
//! evidence where the rest of the pipeline's records are.

use serde_json::json;

use super::data::MISSING;
use super::{ColumnData, Dataset, DriftReport};
use crate::tracking::{self, DatasetInput, Metric, Run, now_ms};

/// Input context of the reference data in a drift run.
pub const CONTEXT_REFERENCE: &str = "reference";
/// Input context of the current data in a drift run.
pub const CONTEXT_CURRENT: &str = "current";

impl Dataset {
    /// This data as a tracking [`Dataset`](tracking::Dataset), to record as an input of a run:
    /// `name`, a digest of the columns and values (8 hex digits, like MLflow's), source
    /// `{"uri": source_uri}` of type `local`, MLflow's column schema (`double` for numerical
    /// columns, `string` for categorical ones) and the profile MLflow gives a table
    /// (`num_rows`, `num_elements`).
    ///
    /// ```
    /// use oxflow_runtime::drift::{Column, Dataset};
    /// let data = Dataset::new(vec![Column::numerical("age", vec![30.0, 31.0])])?;
    /// let ds = data.describe("reference", "data/reference.csv");
    /// assert_eq!(ds.digest.len(), 8);
    /// assert_eq!(ds.profile.as_deref(), Some(r#"{"num_elements":2,"num_rows":2}"#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn describe(&self, name: &str, source_uri: &str) -> tracking::Dataset {
        let mut digest = md5::Context::new();
        let mut colspec = Vec::new();
        for c in self.columns() {
            digest.consume(c.name().as_bytes());
            digest.consume([0u8]);
            let (kind, missing) = match c.data() {
                ColumnData::Numerical(v) => {
                    for x in v {
                        // One spelling for every NaN, so equal data has one digest.
                        let x = if x.is_nan() { f64::NAN } else { *x };
                        digest.consume(x.to_le_bytes());
                    }
                    ("double", v.iter().any(|x| x.is_nan()))
                }
                ColumnData::Categorical(cat) => {
                    for &code in cat.codes() {
                        match cat.labels().get(code as usize) {
                            Some(l) if code != MISSING => digest.consume(l.as_bytes()),
                            _ => digest.consume([0xffu8]),
                        }
                        digest.consume([0u8]);
                    }
                    ("string", cat.missing() > 0)
                }
            };
            colspec.push(json!({"type": kind, "name": c.name(), "required": !missing}));
        }
        let hex = format!("{:x}", digest.finalize());
        let rows = self.n_rows();
        tracking::Dataset::new(
            name,
            &hex[..8],
            "local",
            json!({"uri": source_uri}).to_string(),
        )
        .with_schema(json!({"mlflow_colspec": colspec}).to_string())
        .with_profile(
            json!({"num_rows": rows, "num_elements": rows * self.columns().len()}).to_string(),
        )
    }
}

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
        self.log_metrics_and_reports(run)
    }

    /// Like [`DriftReport::log_to`], and records the two datasets compared as the run's inputs,
    /// with contexts [`CONTEXT_REFERENCE`] and [`CONTEXT_CURRENT`]: MLflow's UI lists them, and
    /// `dataset.name = 'orders' AND dataset.context = 'current'` finds the checks of that data.
    ///
    /// ```
    /// use oxflow_runtime::drift::{Column, Dataset, DriftOptions, detect};
    /// use oxflow_runtime::tracking::{Run, RunOptions, TrackingStore};
    /// let store = TrackingStore::in_memory()?;
    /// let reference = Dataset::new(vec![Column::numerical("age", vec![30.0, 31.0, 29.0, 35.0])])?;
    /// let current = Dataset::new(vec![Column::numerical("age", vec![50.0, 52.0, 49.0, 55.0])])?;
    /// let report = detect(&reference, &current, &DriftOptions::default())?;
    /// let mut run = Run::start(&store, "monitoring", RunOptions::default())?;
    /// report.log_to_with_inputs(
    ///     &mut run,
    ///     &reference.describe("customers", "data/2026-11.csv"),
    ///     &current.describe("customers", "data/2026-12.csv"),
    /// )?;
    /// let exp = run.info().experiment_id.clone();
    /// let hits = store.search_runs(&[&exp], "dataset.context = 'current'", &[], 10)?;
    /// assert_eq!(hits[0].inputs.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn log_to_with_inputs(
        &self,
        run: &mut Run,
        reference: &tracking::Dataset,
        current: &tracking::Dataset,
    ) -> Result<(), crate::Error> {
        run.log_inputs(&[
            DatasetInput::new(reference.clone(), Some(CONTEXT_REFERENCE)),
            DatasetInput::new(current.clone(), Some(CONTEXT_CURRENT)),
        ])?;
        self.log_metrics_and_reports(run)
    }

    fn log_metrics_and_reports(&self, run: &mut Run) -> Result<(), crate::Error> {
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

#[cfg(test)]
mod tests {
    use crate::drift::{Column, Dataset};

    #[test]
    fn describe_digests_the_values_and_gives_mlflows_schema() {
        let make = |ages: Vec<f64>, plans: Vec<Option<&str>>| {
            Dataset::new(vec![
                Column::numerical("age", ages),
                Column::categorical_opt("plan", plans),
            ])
            .unwrap()
        };
        let a = make(vec![1.0, f64::NAN], vec![Some("pro"), None]);
        let same = make(vec![1.0, -f64::NAN], vec![Some("pro"), None]);
        let other = make(vec![1.0, 2.0], vec![Some("pro"), None]);
        let da = a.describe("customers", "a.csv");
        assert_eq!(da.digest, same.describe("x", "y").digest);
        assert_ne!(da.digest, other.describe("customers", "a.csv").digest);
        assert!(da.digest.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(da.source, r#"{"uri":"a.csv"}"#);
        assert_eq!(
            da.schema.as_deref(),
            Some(
                r#"{"mlflow_colspec":[{"name":"age","required":false,"type":"double"},{"name":"plan","required":false,"type":"string"}]}"#
            )
        );
        let full = other.describe("c", "a.csv");
        assert!(
            full.schema
                .unwrap()
                .contains(r#"{"name":"age","required":true"#)
        );
    }
}
