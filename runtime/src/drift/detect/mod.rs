//! Dataset drift: one test per column, then the share of drifted columns.
//!
//! - [`options`]: what to test and how ([`DriftOptions`], [`Binning`]);
//! - this module: [`detect`] (columns in parallel, then the dataset verdict) and
//!   [`detect_column`], and the per-column result every test fills in;
//! - [`numerical`] and [`categorical`]: one column pair of each type, with its summaries and
//!   plot data;
//! - [`score`]: the score of a test from sorted samples' counts, and the drift decision.

mod categorical;
mod numerical;
mod options;
mod score;

use std::sync::atomic::{AtomicUsize, Ordering};

use super::data::{Column, ColumnData, ColumnKind, Dataset, check_compatible};
use super::error::DriftError;
use super::report::{
    ColumnDrift, ColumnRole, ColumnSummary, DatasetDrift, DriftReport, SCHEMA_VERSION,
};
use super::select::default_test;
use super::stattest::StatTest;

pub use categorical::PLOT_CATEGORIES;
pub use numerical::PLOT_BINS;
pub use options::{Binning, DriftOptions};

use categorical::categorical_drift;
use numerical::{Scratch, numerical_drift};

/// Compares the current data with the reference, column by column, and decides dataset drift.
///
/// Both datasets must have the same columns with the same types. Columns are tested in
/// parallel; missing values and infinities are counted and left out; a column with no usable
/// value on one side is reported as skipped (with the reason) rather than failing the check.
///
/// ```
/// use oxflow_runtime::drift::{detect, Column, Dataset, DriftOptions, StatTest};
/// let reference = Dataset::new(vec![
///     Column::numerical("age", (0..500).map(|i| (i % 50) as f64).collect()),
///     Column::categorical("plan", (0..500).map(|i| if i % 3 == 0 { "pro" } else { "free" })),
/// ])?;
/// let current = reference.clone();
/// let report = detect(&reference, &current, &DriftOptions::default())?;
/// assert_eq!(report.column("age").unwrap().test, StatTest::Ks);
/// assert!(!report.dataset.dataset_drift);
/// # Ok::<(), oxflow_runtime::drift::DriftError>(())
/// ```
pub fn detect(
    reference: &Dataset,
    current: &Dataset,
    options: &DriftOptions,
) -> Result<DriftReport, DriftError> {
    let report = detect_unrecorded(reference, current, options)?;
    super::metrics::record(&report);
    Ok(report)
}

/// [`detect`] without setting the process's drift gauges: for callers that export their own
/// (a scoring server labels them with the model).
pub(crate) fn detect_unrecorded(
    reference: &Dataset,
    current: &Dataset,
    options: &DriftOptions,
) -> Result<DriftReport, DriftError> {
    check_compatible(reference, current)?;
    options.validate(reference)?;
    let selected: Vec<&Column> = match &options.columns {
        Some(list) => {
            let mut v: Vec<&Column> = reference
                .columns()
                .iter()
                .filter(|c| list.iter().any(|n| n == c.name()))
                .collect();
            if let Some(t) = options.target.as_ref().filter(|t| !list.contains(t)) {
                v.extend(reference.column(t));
            }
            v
        }
        None => reference.columns().iter().collect(),
    };
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(selected.len().max(1));
    let next = AtomicUsize::new(0);
    let work = || {
        let mut out = Vec::new();
        let mut scratch = Scratch::default();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(col) = selected.get(i) else { break };
            let cur = current.column(col.name()).unwrap_or(col);
            out.push((i, column_drift(col, cur, options, &mut scratch)));
        }
        out
    };
    let results: Vec<(usize, ColumnDrift)> = if threads <= 1 {
        work()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads - 1).map(|_| s.spawn(work)).collect();
            let mut all = work();
            for h in handles {
                // A worker only panics on a bug; its columns are then computed again below.
                all.extend(h.join().unwrap_or_default());
            }
            all
        })
    };
    let mut slots: Vec<Option<ColumnDrift>> = selected.iter().map(|_| None).collect();
    for (i, d) in results {
        slots[i] = Some(d);
    }
    let columns: Vec<ColumnDrift> = selected
        .iter()
        .zip(slots)
        .map(|(col, d)| {
            d.unwrap_or_else(|| {
                column_drift_alone(col, current.column(col.name()).unwrap_or(col), options)
            })
        })
        .collect();
    let tested: Vec<&ColumnDrift> = columns.iter().filter(|c| c.skipped.is_none()).collect();
    let drifted = tested.iter().filter(|c| c.drift_detected).count();
    let share = if tested.is_empty() {
        0.0
    } else {
        drifted as f64 / tested.len() as f64
    };
    let report = DriftReport {
        schema_version: SCHEMA_VERSION,
        oxflow_version: env!("CARGO_PKG_VERSION").to_string(),
        reference_rows: reference.n_rows(),
        current_rows: current.n_rows(),
        target: options.target.clone(),
        dataset: DatasetDrift {
            number_of_columns: tested.len(),
            number_of_drifted_columns: drifted,
            share_of_drifted_columns: share,
            drift_share: options.drift_share,
            dataset_drift: !tested.is_empty() && share >= options.drift_share,
        },
        columns,
    };
    Ok(report)
}

/// Tests one column pair (label drift is this on the target column).
///
/// ```
/// use oxflow_runtime::drift::{detect_column, Column, DriftOptions, StatTest};
/// let r = Column::categorical("y", ["a", "b", "a", "b"]);
/// let c = Column::categorical("y", ["b", "b", "b", "b"]);
/// let d = detect_column(&r, &c, &DriftOptions::default())?;
/// assert_eq!(d.test, StatTest::ZTest);
/// # Ok::<(), oxflow_runtime::drift::DriftError>(())
/// ```
pub fn detect_column(
    reference: &Column,
    current: &Column,
    options: &DriftOptions,
) -> Result<ColumnDrift, DriftError> {
    if reference.kind() != current.kind() {
        return Err(DriftError::TypeMismatch {
            column: reference.name().into(),
            reference: reference.kind(),
            current: current.kind(),
        });
    }
    if let Some(t) = options
        .tests
        .get(reference.name())
        .filter(|t| !t.applies_to(reference.kind()))
    {
        return Err(DriftError::TestNotApplicable {
            column: reference.name().into(),
            test: t.name().into(),
            kind: reference.kind(),
        });
    }
    Ok(column_drift_alone(reference, current, options))
}

fn placeholder() -> ColumnDrift {
    ColumnDrift {
        column: String::new(),
        kind: ColumnKind::Numerical,
        role: ColumnRole::Feature,
        test: StatTest::Ks,
        default_test: true,
        threshold: 0.0,
        score: None,
        statistic: None,
        drift_detected: false,
        skipped: None,
        all_missing: false,
        reference: empty_summary(0),
        current: empty_summary(0),
        new_categories: Vec::new(),
        missing_categories: Vec::new(),
        distribution: None,
        notes: Vec::new(),
    }
}

fn empty_summary(rows: usize) -> ColumnSummary {
    ColumnSummary {
        rows,
        missing: 0,
        infinite: 0,
        used: 0,
        distinct: 0,
        mean: None,
        std: None,
        min: None,
        max: None,
    }
}

fn choose(
    name: &str,
    kind: ColumnKind,
    n_ref: usize,
    n_unique: usize,
    o: &DriftOptions,
) -> (StatTest, bool, f64) {
    let user = o.tests.get(name).copied().or(match kind {
        ColumnKind::Numerical => o.numerical_test,
        ColumnKind::Categorical => o.categorical_test,
    });
    let (test, default) = match user.filter(|t| t.applies_to(kind)) {
        Some(t) => (t, false),
        None => (default_test(kind, n_ref, n_unique), true),
    };
    let thr = o
        .thresholds
        .get(name)
        .copied()
        .or(o.threshold)
        .unwrap_or(test.default_threshold());
    (test, default, thr)
}

fn column_drift_alone(reference: &Column, current: &Column, o: &DriftOptions) -> ColumnDrift {
    column_drift(reference, current, o, &mut Scratch::default())
}

fn column_drift(
    reference: &Column,
    current: &Column,
    o: &DriftOptions,
    scratch: &mut Scratch,
) -> ColumnDrift {
    let role = if o.target.as_deref() == Some(reference.name()) {
        ColumnRole::Target
    } else {
        ColumnRole::Feature
    };
    let mut d = match (reference.data(), current.data()) {
        (ColumnData::Numerical(r), ColumnData::Numerical(c)) => {
            numerical_drift(reference.name(), r, c, o, scratch)
        }
        (ColumnData::Categorical(r), ColumnData::Categorical(c)) => {
            categorical_drift(reference.name(), r, c, o)
        }
        _ => {
            let mut d = placeholder();
            d.column = reference.name().into();
            d.kind = reference.kind();
            d.skipped = Some(format!(
                "{} in the reference data but {} in the current data",
                reference.kind(),
                current.kind()
            ));
            d
        }
    };
    d.role = role;
    if !o.skip_all_missing {
        drift_if_all_missing(&mut d);
    }
    d
}

/// A column the reference has values for and the current data has none (a feature that
/// stopped arriving) drifted: its missing share went to 100%. No test can run on it.
fn drift_if_all_missing(d: &mut ColumnDrift) {
    if d.skipped.is_some() && d.reference.used > 0 && d.current.rows > 0 && d.current.used == 0 {
        d.skipped = None;
        d.score = None;
        d.statistic = None;
        d.drift_detected = true;
        d.all_missing = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(cols: Vec<Column>) -> Dataset {
        Dataset::new(cols).unwrap()
    }

    #[test]
    fn a_column_missing_from_the_current_data_drifts_unless_skipped() {
        let r = ds(vec![
            Column::numerical("x", vec![1.0, 2.0, 3.0]),
            Column::categorical("c", ["a", "b", "a"]),
            Column::numerical("y", vec![1.0, 2.0, 3.0]),
        ]);
        let c = ds(vec![
            Column::numerical("x", vec![f64::NAN; 3]),
            Column::categorical_opt::<&str>("c", [None, None, None]),
            Column::numerical("y", vec![1.0, 2.0, 3.0]),
        ]);
        let rep = detect(&r, &c, &DriftOptions::default()).unwrap();
        for name in ["x", "c"] {
            let col = rep.column(name).unwrap();
            assert!(col.all_missing && col.drift_detected, "{name}");
            assert_eq!((col.score, col.skipped.as_deref()), (None, None), "{name}");
        }
        assert_eq!(rep.dataset.number_of_columns, 3);
        assert_eq!(rep.dataset.number_of_drifted_columns, 2);
        assert!(rep.dataset.dataset_drift);
        assert!(
            rep.to_metrics()
                .contains(&("drift.x.detected".to_string(), 1.0))
        );

        let skip = DriftOptions {
            skip_all_missing: true,
            ..Default::default()
        };
        let rep = detect(&r, &c, &skip).unwrap();
        let x = rep.column("x").unwrap();
        assert_eq!(x.score, None);
        assert!(!x.all_missing && !x.drift_detected);
        assert!(x.skipped.as_deref().unwrap().contains("`x`"));
        assert_eq!(rep.dataset.number_of_columns, 1);

        // A reference without values gives nothing to compare with: skipped either way.
        let rep = detect(&c, &r, &DriftOptions::default()).unwrap();
        assert!(rep.column("x").unwrap().skipped.is_some());
        assert!(!rep.dataset.dataset_drift);
    }

    #[test]
    fn infinities_are_counted_and_excluded() {
        let r = ds(vec![Column::numerical(
            "x",
            vec![1.0, 2.0, f64::INFINITY, 3.0, f64::NAN],
        )]);
        let rep = detect(&r, &r, &DriftOptions::default()).unwrap();
        let x = rep.column("x").unwrap();
        assert_eq!(
            (x.reference.infinite, x.reference.missing, x.reference.used),
            (1, 1, 3)
        );
        assert_eq!(x.score, Some(1.0));
    }

    #[test]
    fn constant_columns_do_not_drift() {
        let r = ds(vec![Column::numerical("k", vec![1.0; 2000])]);
        let rep = detect(&r, &r, &DriftOptions::default()).unwrap();
        let k = rep.column("k").unwrap();
        assert_eq!(k.test, StatTest::JensenShannon);
        assert_eq!(k.score, Some(0.0));
        assert!(!k.drift_detected);
        let rep = detect(
            &r,
            &r,
            &DriftOptions::default().with_test("k", StatTest::Wasserstein),
        )
        .unwrap();
        assert_eq!(rep.column("k").unwrap().score, Some(0.0));
    }

    #[test]
    fn different_columns_and_types_are_errors() {
        let r = ds(vec![Column::numerical("x", vec![1.0])]);
        let c = ds(vec![Column::categorical("x", ["a"])]);
        let e = detect(&r, &c, &DriftOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("column `x` is numerical in the reference data but categorical"),
            "{e}"
        );
        let c = ds(vec![Column::numerical("z", vec![1.0])]);
        let e = detect(&r, &c, &DriftOptions::default())
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "column `x` is in the reference data but not in the current data"
        );
    }

    #[test]
    fn ks_on_categorical_is_rejected() {
        let r = ds(vec![Column::categorical("c", ["a", "b"])]);
        let e = detect(
            &r,
            &r,
            &DriftOptions::default().with_test("c", StatTest::Ks),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "column `c`: test `ks` does not apply to categorical columns"
        );
    }
}
