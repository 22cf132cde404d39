//! Dataset drift: one test per column, then the share of drifted columns.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::data::{Categories, Column, ColumnData, ColumnKind, Dataset, MISSING, check_compatible};
use super::error::{DriftError, Side};
use super::report::{
    ColumnDrift, ColumnRole, ColumnSummary, DatasetDrift, Distribution, DriftReport, SCHEMA_VERSION,
};
use super::select::default_test;
use super::stattest::{self, StatTest};

/// Bins of the numerical histograms kept for the HTML report.
pub const PLOT_BINS: usize = 30;
/// Categories kept for the report's bar charts; the rest are summed as "other".
pub const PLOT_CATEGORIES: usize = 20;

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

    fn validate(&self, reference: &Dataset) -> Result<(), DriftError> {
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
    super::metrics::record(&report);
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
    d
}

/// Per-thread buffers for the sorted samples of one numerical column.
#[derive(Default)]
struct Scratch {
    reference: Vec<f64>,
    current: Vec<f64>,
}

/// Distinct values of a sorted slice, counting at most `cap + 1`.
fn distinct_sorted(x: &[f64], cap: usize) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < x.len() {
        n += 1;
        if n > cap {
            return n;
        }
        let v = x[i];
        // Runs of equal values are skipped by binary search: cheap even for long constant runs.
        i += x[i..].partition_point(|&y| y <= v);
    }
    n
}

/// Distinct values of the union of two sorted slices, counting at most `cap + 1`.
fn distinct_union(a: &[f64], b: &[f64], cap: usize) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() || j < b.len() {
        let v = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) | (None, Some(&x)) => x,
            (None, None) => break,
        };
        n += 1;
        if n > cap {
            return n;
        }
        i += a[i..].partition_point(|&y| y <= v);
        j += b[j..].partition_point(|&y| y <= v);
    }
    n
}

/// Value counts of two sorted slices over their union, keys ascending.
fn value_counts(a: &[f64], b: &[f64]) -> (Vec<f64>, Vec<u64>, Vec<u64>) {
    let (mut i, mut j) = (0, 0);
    let (mut keys, mut ra, mut rb) = (Vec::new(), Vec::new(), Vec::new());
    while i < a.len() || j < b.len() {
        let v = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) => x.min(y),
            (Some(&x), None) | (None, Some(&x)) => x,
            (None, None) => break,
        };
        let di = a[i..].partition_point(|&y| y <= v);
        let dj = b[j..].partition_point(|&y| y <= v);
        keys.push(v);
        ra.push(di as u64);
        rb.push(dj as u64);
        i += di;
        j += dj;
    }
    (keys, ra, rb)
}

fn summary_num(sorted: &[f64], missing: usize, infinite: usize, rows: usize) -> ColumnSummary {
    let (mean, std) = if sorted.is_empty() {
        (None, None)
    } else {
        let (m, s) = stattest::mean_std(sorted);
        (Some(m), Some(s))
    };
    ColumnSummary {
        rows,
        missing,
        infinite,
        used: sorted.len(),
        distinct: distinct_sorted(sorted, 999),
        mean,
        std,
        min: sorted.first().copied(),
        max: sorted.last().copied(),
    }
}

fn numerical_drift(
    name: &str,
    r: &[f64],
    c: &[f64],
    o: &DriftOptions,
    scratch: &mut Scratch,
) -> ColumnDrift {
    let (rmiss, rinf) = stattest::sorted_finite_into(r, &mut scratch.reference);
    let (cmiss, cinf) = stattest::sorted_finite_into(c, &mut scratch.current);
    let (a, b) = (&scratch.reference[..], &scratch.current[..]);
    let mut d = placeholder();
    d.column = name.into();
    d.kind = ColumnKind::Numerical;
    d.reference = summary_num(a, rmiss, rinf, r.len());
    d.current = summary_num(b, cmiss, cinf, c.len());
    let n_unique = distinct_union(a, b, 5);
    let (test, default, thr) = choose(name, ColumnKind::Numerical, a.len(), n_unique, o);
    d.test = test;
    d.default_test = default;
    d.threshold = thr;
    if let Some(side) = [(Side::Reference, a), (Side::Current, b)]
        .iter()
        .find(|(_, x)| x.is_empty())
    {
        d.skipped = Some(
            DriftError::EmptyColumn {
                column: name.into(),
                side: side.0,
            }
            .to_string(),
        );
        return d;
    }
    let (score, statistic) = match test {
        StatTest::Ks => {
            let k = stattest::ks_2samp_sorted(a, b);
            (k.p_value, Some(k.statistic))
        }
        StatTest::Wasserstein => {
            let w = stattest::wasserstein_sorted(a, b);
            let sd = d.reference.std.unwrap_or(0.0);
            (w / sd.max(0.001), Some(w))
        }
        StatTest::MeanShift => {
            let (mr, sr) = (
                d.reference.mean.unwrap_or(0.0),
                d.reference.std.unwrap_or(0.0),
            );
            let mc = d.current.mean.unwrap_or(0.0);
            ((mc - mr).abs() / sr.max(0.001), Some(mc - mr))
        }
        StatTest::StdShift => {
            let (sr, sc) = (d.reference.std.unwrap_or(0.0), d.current.std.unwrap_or(0.0));
            ((sc - sr).abs() / sr.max(0.001), Some(sc - sr))
        }
        StatTest::Psi | StatTest::JensenShannon => {
            let (rc_, cc_) = match o.binning {
                Binning::ReferenceQuantiles(k) if k >= 2 && distinct_sorted(a, k) > k => {
                    let edges = quantile_edges(a, k);
                    (quantile_counts(a, &edges), quantile_counts(b, &edges))
                }
                Binning::Sturges if distinct_sorted(a, 20) > 20 => {
                    let edges = stattest::sturges_edges(a, b);
                    (
                        stattest::histogram_sorted(a, &edges),
                        stattest::histogram_sorted(b, &edges),
                    )
                }
                _ => {
                    let (_, x, y) = value_counts(a, b);
                    (x, y)
                }
            };
            binned_score(test, &rc_, a.len() as u64, &cc_, b.len() as u64)
        }
        StatTest::ChiSquare
        | StatTest::Chi2Contingency
        | StatTest::ZTest
        | StatTest::FrequencyShift => {
            let (_, x, y) = value_counts(a, b);
            counts_score(test, &x, &y)
        }
    };
    finish(&mut d, score, statistic);
    let edges = stattest::linspace(
        a[0].min(b[0]),
        a[a.len() - 1].max(b[b.len() - 1])
            + if a[0].min(b[0]) == a[a.len() - 1].max(b[b.len() - 1]) {
                1.0
            } else {
                0.0
            },
        PLOT_BINS + 1,
    );
    d.distribution = Some(Distribution::Histogram {
        reference: stattest::histogram_sorted(a, &edges),
        current: stattest::histogram_sorted(b, &edges),
        edges,
    });
    d
}

/// Inner edges at the reference's k-quantiles (lower order statistic), duplicates removed.
fn quantile_edges(sorted: &[f64], k: usize) -> Vec<f64> {
    let mut e: Vec<f64> = (1..k).map(|q| sorted[q * sorted.len() / k]).collect();
    e.dedup();
    e
}

/// Counts in (-inf, e0), [e0, e1), ..., [e_last, +inf) of a sorted sample.
fn quantile_counts(sorted: &[f64], inner: &[f64]) -> Vec<u64> {
    let mut cum: Vec<usize> = vec![0];
    cum.extend(inner.iter().map(|&e| sorted.partition_point(|&v| v < e)));
    cum.push(sorted.len());
    cum.windows(2).map(|w| (w[1] - w[0]) as u64).collect()
}

fn finish(d: &mut ColumnDrift, score: f64, statistic: Option<f64>) {
    if score.is_nan() {
        d.skipped = Some(format!("test `{}` is undefined for this data", d.test));
        d.score = None;
        return;
    }
    d.score = Some(score);
    d.statistic = statistic.filter(|s| s.is_finite());
    d.drift_detected = d.test.is_drift(score, d.threshold);
}

fn binned_score(test: StatTest, r: &[u64], nr: u64, c: &[u64], nc: u64) -> (f64, Option<f64>) {
    match test {
        StatTest::Psi => {
            let (p, q) = (stattest::shares(r, nr, true), stattest::shares(c, nc, true));
            (stattest::psi_from_shares(&p, &q), None)
        }
        _ => {
            let (p, q) = (
                stattest::shares(r, nr, false),
                stattest::shares(c, nc, false),
            );
            (stattest::jensen_shannon_from_shares(&p, &q), None)
        }
    }
}

fn counts_score(test: StatTest, r: &[u64], c: &[u64]) -> (f64, Option<f64>) {
    let (nr, nc) = (r.iter().sum::<u64>(), c.iter().sum::<u64>());
    match test {
        StatTest::ChiSquare => match stattest::chisquare_gof(r, c) {
            Some(x) => (x.p_value, Some(x.statistic)),
            // A single category on both sides: nothing to compare, no drift.
            None => (1.0, Some(0.0)),
        },
        StatTest::Chi2Contingency => {
            let x = stattest::chi2_contingency(r, c);
            (x.p_value, Some(x.statistic))
        }
        StatTest::ZTest => {
            let z = stattest::z_test_proportions(r[0], nr, c[0], nc);
            (z.p_value, Some(z.statistic))
        }
        StatTest::FrequencyShift => (stattest::frequency_shift(r, c), None),
        StatTest::Psi | StatTest::JensenShannon => binned_score(test, r, nr, c, nc),
        StatTest::Ks | StatTest::Wasserstein | StatTest::MeanShift | StatTest::StdShift => {
            (f64::NAN, None)
        }
    }
}

fn categorical_drift(name: &str, r: &Categories, c: &Categories, o: &DriftOptions) -> ColumnDrift {
    // Union dictionary: reference labels first, then labels new in the current data.
    let mut labels: Vec<&str> = r.labels().iter().map(String::as_str).collect();
    let index: HashMap<&str, usize> = labels.iter().enumerate().map(|(i, l)| (*l, i)).collect();
    let mut cur_map = Vec::with_capacity(c.labels().len());
    for l in c.labels() {
        match index.get(l.as_str()) {
            Some(&i) => cur_map.push(i),
            None => {
                labels.push(l);
                cur_map.push(labels.len() - 1);
            }
        }
    }
    let mut rc = vec![0u64; labels.len()];
    let mut cc = vec![0u64; labels.len()];
    for (k, n) in r.counts().into_iter().enumerate() {
        rc[k] += n;
    }
    for (k, n) in c.counts().into_iter().enumerate() {
        cc[cur_map[k]] += n;
    }
    let rmiss = r.codes().iter().filter(|&&k| k == MISSING).count();
    let cmiss = c.codes().iter().filter(|&&k| k == MISSING).count();
    // Sort the union: the Z-test's first key is the smallest value, as in Evidently, which
    // compares integer classes as numbers ("2" < "10") and strings by code point.
    let mut order: Vec<usize> = (0..labels.len()).filter(|&i| rc[i] + cc[i] > 0).collect();
    let numbers: Option<Vec<f64>> = labels
        .iter()
        .map(|l| super::data::parse_number(l))
        .collect();
    match numbers {
        Some(v) => order.sort_by(|&a, &b| v[a].total_cmp(&v[b])),
        None => order.sort_by(|&a, &b| labels[a].cmp(labels[b])),
    }
    let keys: Vec<&str> = order.iter().map(|&i| labels[i]).collect();
    let rcs: Vec<u64> = order.iter().map(|&i| rc[i]).collect();
    let ccs: Vec<u64> = order.iter().map(|&i| cc[i]).collect();
    let (nr, nc) = (rcs.iter().sum::<u64>(), ccs.iter().sum::<u64>());
    let summary = |rows: usize, missing: usize, used: u64, counts: &[u64]| ColumnSummary {
        rows,
        missing,
        infinite: 0,
        used: used as usize,
        distinct: counts.iter().filter(|&&n| n > 0).count(),
        mean: None,
        std: None,
        min: None,
        max: None,
    };
    let mut d = placeholder();
    d.column = name.into();
    d.kind = ColumnKind::Categorical;
    d.reference = summary(r.codes().len(), rmiss, nr, &rcs);
    d.current = summary(c.codes().len(), cmiss, nc, &ccs);
    let (test, default, thr) = choose(name, ColumnKind::Categorical, nr as usize, keys.len(), o);
    d.test = test;
    d.default_test = default;
    d.threshold = thr;
    d.new_categories = keys
        .iter()
        .zip(rcs.iter().zip(&ccs))
        .filter(|(_, (r, c))| **r == 0 && **c > 0)
        .map(|(k, _)| k.to_string())
        .collect();
    d.missing_categories = keys
        .iter()
        .zip(rcs.iter().zip(&ccs))
        .filter(|(_, (r, c))| **r > 0 && **c == 0)
        .map(|(k, _)| k.to_string())
        .collect();
    let mut by_freq: Vec<usize> = (0..keys.len()).collect();
    by_freq.sort_by(|&a, &b| {
        (rcs[b] + ccs[b])
            .cmp(&(rcs[a] + ccs[a]))
            .then(keys[a].cmp(keys[b]))
    });
    let shown: Vec<usize> = by_freq.iter().copied().take(PLOT_CATEGORIES).collect();
    let rest: Vec<usize> = by_freq.iter().copied().skip(PLOT_CATEGORIES).collect();
    d.distribution = Some(Distribution::Categories {
        labels: shown.iter().map(|&i| keys[i].to_string()).collect(),
        reference: shown.iter().map(|&i| rcs[i]).collect(),
        current: shown.iter().map(|&i| ccs[i]).collect(),
        reference_other: rest.iter().map(|&i| rcs[i]).sum(),
        current_other: rest.iter().map(|&i| ccs[i]).sum(),
    });
    // Evidently's type inference calls a string column "text" when more than half of its values
    // are distinct, and runs a text-drift model on it instead of a frequency test.
    if nr > 0 && d.reference.distinct as f64 > 0.5 * nr as f64 && d.reference.distinct > 2 {
        d.notes.push(format!(
            "{} of {} reference values are distinct: free text or an identifier? Evidently would treat it as text",
            d.reference.distinct, nr
        ));
    }
    if nr == 0 || nc == 0 {
        let side = if nr == 0 {
            Side::Reference
        } else {
            Side::Current
        };
        d.skipped = Some(
            DriftError::EmptyColumn {
                column: name.into(),
                side,
            }
            .to_string(),
        );
        return d;
    }
    let (score, statistic) = counts_score(test, &rcs, &ccs);
    finish(&mut d, score, statistic);
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(cols: Vec<Column>) -> Dataset {
        Dataset::new(cols).unwrap()
    }

    #[test]
    fn all_missing_column_is_skipped_with_reason() {
        let r = ds(vec![
            Column::numerical("x", vec![1.0, 2.0, 3.0]),
            Column::numerical("y", vec![1.0, 2.0, 3.0]),
        ]);
        let c = ds(vec![
            Column::numerical("x", vec![f64::NAN; 3]),
            Column::numerical("y", vec![1.0, 2.0, 3.0]),
        ]);
        let rep = detect(&r, &c, &DriftOptions::default()).unwrap();
        let x = rep.column("x").unwrap();
        assert_eq!(x.score, None);
        assert!(x.skipped.as_deref().unwrap().contains("`x`"));
        assert_eq!(rep.dataset.number_of_columns, 1);
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

    #[test]
    fn quantile_binning_puts_a_tenth_of_the_reference_in_each_bin() {
        let r: Vec<f64> = (0..1000).map(f64::from).collect();
        let edges = quantile_edges(&r, 10);
        assert_eq!(
            edges,
            vec![
                100.0, 200.0, 300.0, 400.0, 500.0, 600.0, 700.0, 800.0, 900.0
            ]
        );
        assert_eq!(quantile_counts(&r, &edges), vec![100; 10]);
        let c: Vec<f64> = (0..1000).map(|i| f64::from(i) + 100.0).collect();
        let o = DriftOptions {
            binning: Binning::ReferenceQuantiles(10),
            ..Default::default()
        }
        .with_test("x", StatTest::Psi);
        let rep = detect(
            &ds(vec![Column::numerical("x", r)]),
            &ds(vec![Column::numerical("x", c)]),
            &o,
        )
        .unwrap();
        // Shares 0.1 each vs 0, 0.1 × 8, 0.2 (bin 0 smoothed to 1e-4).
        let expected = (0.1 - 1e-4) * (0.1f64 / 1e-4).ln() + (0.1 - 0.2) * (0.1f64 / 0.2).ln();
        assert!((rep.column("x").unwrap().score.unwrap() - expected).abs() < 1e-12);
    }

    #[test]
    fn integer_classes_sort_as_numbers_for_the_z_test() {
        // First key 2 (not "10"): share of non-2 is 0.5 in the reference, 0.25 in the current.
        let r = ds(vec![Column::categorical_ints("k", [2, 2, 10, 11])]);
        let c = ds(vec![Column::categorical_ints("k", [2, 2, 2, 11])]);
        let rep = detect(
            &r,
            &c,
            &DriftOptions::default().with_test("k", StatTest::ZTest),
        )
        .unwrap();
        let expected = stattest::z_test_proportions(2, 4, 3, 4);
        assert_eq!(rep.column("k").unwrap().score, Some(expected.p_value));
    }

    #[test]
    fn identifier_like_columns_get_a_note() {
        let ids: Vec<String> = (0..100).map(|i| format!("user-{i}")).collect();
        let r = ds(vec![Column::categorical("id", &ids)]);
        let rep = detect(&r, &r, &DriftOptions::default()).unwrap();
        assert!(
            rep.column("id").unwrap().notes[0]
                .starts_with("100 of 100 reference values are distinct")
        );
    }

    #[test]
    fn new_and_vanished_categories_are_reported() {
        let r = ds(vec![Column::categorical("c", ["a", "b", "a", "b"])]);
        let c = ds(vec![Column::categorical("c", ["a", "c", "a", "c"])]);
        let rep = detect(&r, &c, &DriftOptions::default()).unwrap();
        let col = rep.column("c").unwrap();
        assert_eq!(col.new_categories, vec!["c"]);
        assert_eq!(col.missing_categories, vec!["b"]);
        assert_eq!(col.test, StatTest::ChiSquare);
        assert_eq!(col.score, Some(0.0));
    }
}
