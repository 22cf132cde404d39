//! [`DriftOptions`]: which columns to test, with which test and threshold, and how numerical
//! values are binned ([`Binning`]).

use std::collections::HashMap;

use crate::drift::data::{Column, ColumnKind, Dataset};
use crate::drift::error::DriftError;
use crate::drift::stattest::StatTest;

/// What to test and how. The defaults reproduce Evidently's `DataDriftPreset`.
///
/// ```
/// use oxflow_runtime::drift::{DriftOptions, StatTest};
/// let opts = DriftOptions::default()
///     .with_target("churned")
///     .with_test("plan", StatTest::Chi2Contingency)
///     .with_threshold("plan", 0.01)
///     .with_drift_share(0.3);
/// assert_eq!(opts.tests["plan"], StatTest::Chi2Contingency);
/// ```
#[derive(Debug, Clone)]
pub struct DriftOptions {
    /// The dataset drifts when at least this share of tested columns drift (default 0.5).
    pub drift_share: f64,
    /// The target column: tested like the others and reported as label drift.
    pub target: Option<String>,
    /// Columns to test (default: every column of the reference).
    pub columns: Option<Vec<String>>,
    /// Test per column.
    pub tests: HashMap<String, StatTest>,
    /// Threshold per column.
    pub thresholds: HashMap<String, f64>,
    /// Test for every numerical column without its own test.
    pub numerical_test: Option<StatTest>,
    /// Test for every categorical column without its own test.
    pub categorical_test: Option<StatTest>,
    /// Threshold for every column without its own threshold (default: the test's own default).
    pub threshold: Option<f64>,
    /// Worker threads across columns (0 = the machine's available parallelism).
    pub threads: usize,
    /// Bins of numerical columns for `psi` and `jensenshannon` (default: Evidently's).
    pub binning: Binning,
    /// A column with values in the reference and none in the current data (every current value
    /// missing: a feature that stopped arriving) counts as drifted unless this is set; then it
    /// is skipped like a column no test can run on.
    pub skip_all_missing: bool,
}

/// How numerical values are binned for the `psi` and `jensenshannon` tests.
///
/// Either way, a column whose reference holds at most 20 distinct values (or, for quantile
/// bins, no more distinct values than bins) gets one bin per value, and empty bins are smoothed
/// as documented in [`crate::drift::stattest::shares`] (PSI only).
///
/// ```
/// use oxflow_runtime::drift::{Binning, DriftOptions};
/// let deciles = DriftOptions { binning: Binning::ReferenceQuantiles(10), ..Default::default() };
/// # let _ = deciles;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Binning {
    /// Evidently's bins: Sturges' rule over the combined samples, equal width.
    #[default]
    Sturges,
    /// Bins holding equal shares of the reference (e.g. 10 = deciles), the classic PSI
    /// binning; current values below or above the reference range fall in the outer bins.
    ReferenceQuantiles(usize),
}

impl Default for DriftOptions {
    fn default() -> Self {
        DriftOptions {
            drift_share: 0.5,
            target: None,
            columns: None,
            tests: HashMap::new(),
            thresholds: HashMap::new(),
            numerical_test: None,
            categorical_test: None,
            threshold: None,
            threads: 0,
            binning: Binning::Sturges,
            skip_all_missing: false,
        }
    }
}

impl DriftOptions {
    /// Sets the target column.
    pub fn with_target(mut self, column: impl Into<String>) -> Self {
        self.target = Some(column.into());
        self
    }
    /// Sets the test of one column.
    pub fn with_test(mut self, column: impl Into<String>, test: StatTest) -> Self {
        self.tests.insert(column.into(), test);
        self
    }
    /// Sets the threshold of one column.
    pub fn with_threshold(mut self, column: impl Into<String>, threshold: f64) -> Self {
        self.thresholds.insert(column.into(), threshold);
        self
    }
    /// Sets the dataset drift share.
    pub fn with_drift_share(mut self, share: f64) -> Self {
        self.drift_share = share;
        self
    }
    /// Restricts the check to these columns.
    pub fn with_columns<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.columns = Some(columns.into_iter().map(Into::into).collect());
        self
    }

    pub(super) fn validate(&self, reference: &Dataset) -> Result<(), DriftError> {
        if !(0.0..=1.0).contains(&self.drift_share) {
            return Err(DriftError::InvalidThreshold {
                column: "*".into(),
                value: self.drift_share,
                reason: "the drift share must be between 0 and 1".into(),
            });
        }
        let known = |c: &str, option: &str| -> Result<(), DriftError> {
            if reference.column(c).is_none() {
                return Err(DriftError::UnknownColumn {
                    column: c.into(),
                    option: option.into(),
                });
            }
            Ok(())
        };
        if let Some(t) = &self.target {
            known(t, "the target")?;
        }
        for c in self.columns.iter().flatten() {
            known(c, "the column list")?;
        }
        for (c, t) in &self.tests {
            known(c, "a per-column test")?;
            let kind = reference
                .column(c)
                .map(Column::kind)
                .unwrap_or(ColumnKind::Numerical);
            if !t.applies_to(kind) {
                return Err(DriftError::TestNotApplicable {
                    column: c.clone(),
                    test: t.name().into(),
                    kind,
                });
            }
        }
        for (c, v) in self
            .thresholds
            .iter()
            .map(|(c, v)| (c.as_str(), *v))
            .chain(self.threshold.map(|v| ("*", v)))
        {
            if c != "*" {
                known(c, "a per-column threshold")?;
            }
            if !v.is_finite() || v < 0.0 {
                return Err(DriftError::InvalidThreshold {
                    column: c.into(),
                    value: v,
                    reason: "thresholds must be finite and not negative".into(),
                });
            }
        }
        Ok(())
    }
}
