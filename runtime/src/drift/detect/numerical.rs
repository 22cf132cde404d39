//! Drift of a numerical column: sorted finite samples, their summaries, the chosen test's
//! score (KS, Wasserstein, shifts, binned PSI and Jensen–Shannon) and the histogram to plot.

use super::options::{Binning, DriftOptions};
use super::score::{binned_score, counts_score, finish};
use super::{choose, placeholder};
use crate::drift::data::ColumnKind;
use crate::drift::error::{DriftError, Side};
use crate::drift::report::{ColumnDrift, ColumnSummary, Distribution};
use crate::drift::stattest::{self, StatTest};

/// Bins of the numerical histograms kept for the HTML report.
pub const PLOT_BINS: usize = 30;

/// Per-thread buffers for the sorted samples of one numerical column.
#[derive(Default)]
pub(super) struct Scratch {
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

pub(super) fn numerical_drift(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::{Column, Dataset, detect};

    fn ds(cols: Vec<Column>) -> Dataset {
        Dataset::new(cols).unwrap()
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
}
