//! Statistical tests and distances between a reference and a current sample.
//!
//! Every function here is a plain, synchronous function of numbers. They reproduce the
//! quantities Evidently 0.7 reports (and the scipy functions it calls), so thresholds carry
//! over: p-values of KS, chi-square and Z tests; the Wasserstein distance normed by the
//! reference standard deviation; PSI and the Jensen–Shannon distance on Evidently's bins.

mod counts;
mod ks;
mod sort;

pub use counts::{
    ChiSquareResult, ZTestResult, chi2_contingency, chisquare_gof, frequency_shift,
    jensen_shannon_from_shares, psi_from_shares, shares, z_test_proportions,
};
pub use ks::{KsMethod, KsResult, MAX_EXACT_N, ks_2samp, ks_2samp_sorted};
pub(crate) use sort::{sort_f64, sorted_finite_into};

use serde::{Deserialize, Serialize};

/// Why a statistic could not be computed from the samples given.
///
/// ```
/// use oxflow_runtime::drift::stattest::{ks_2samp, StatError};
/// assert_eq!(ks_2samp(&[], &[1.0]).unwrap_err(), StatError::EmptySample);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatError {
    /// A sample has no value.
    #[error("sample is empty")]
    EmptySample,
    /// A sample holds NaN or ±inf; remove or count them first.
    #[error("sample holds NaN or infinite values")]
    NonFinite,
}

pub(crate) fn check_sample(x: &[f64]) -> Result<(), StatError> {
    if x.is_empty() {
        return Err(StatError::EmptySample);
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(StatError::NonFinite);
    }
    Ok(())
}

pub(crate) fn sorted_finite(x: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = x.iter().copied().filter(|v| v.is_finite()).collect();
    sort_f64(&mut v);
    v
}

/// Mean and population standard deviation (numpy's `np.std`, ddof = 0), two passes.
///
/// ```
/// let (m, s) = oxflow_runtime::drift::stattest::mean_std(&[1.0, 2.0, 3.0, 4.0]);
/// assert_eq!(m, 2.5);
/// assert!((s - 1.118033988749895).abs() < 1e-15);
/// ```
pub fn mean_std(x: &[f64]) -> (f64, f64) {
    if x.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = x.len() as f64;
    let mean = pairwise_sum_by(x, |v| v) / n;
    let var = pairwise_sum_by(x, |v| (v - mean) * (v - mean)) / n;
    (mean, var.sqrt())
}

/// numpy-style pairwise summation (blocks of 128 summed in 8 lanes, then halves) of `f(x)`:
/// accurate to ~1e-16 relative and vectorisable, unlike a running (or Kahan) sum.
fn pairwise_sum_by(x: &[f64], f: impl Fn(f64) -> f64 + Copy) -> f64 {
    if x.len() < 8 {
        return x.iter().map(|&v| f(v)).sum();
    }
    if x.len() <= 128 {
        let mut r = [0.0f64; 8];
        let chunks = x.len() / 8 * 8;
        for c in x[..chunks].chunks_exact(8) {
            for k in 0..8 {
                r[k] += f(c[k]);
            }
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in &x[chunks..] {
            res += f(v);
        }
        return res;
    }
    let half = x.len() / 2;
    let half = half - half % 8;
    pairwise_sum_by(&x[..half], f) + pairwise_sum_by(&x[half..], f)
}

/// First Wasserstein distance between two samples (scipy's `wasserstein_distance`).
///
/// ```
/// use oxflow_runtime::drift::stattest::wasserstein_distance;
/// assert_eq!(wasserstein_distance(&[0.0, 1.0, 3.0], &[5.0, 6.0, 8.0])?, 5.0);
/// # Ok::<(), oxflow_runtime::drift::stattest::StatError>(())
/// ```
pub fn wasserstein_distance(reference: &[f64], current: &[f64]) -> Result<f64, StatError> {
    check_sample(reference)?;
    check_sample(current)?;
    Ok(wasserstein_sorted(
        &sorted_finite(reference),
        &sorted_finite(current),
    ))
}

/// [`wasserstein_distance`] on sorted, finite, non-empty samples: ∫ |F_ref − F_cur|.
pub fn wasserstein_sorted(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return 0.0;
    }
    if n1 == n2 {
        // Equal sizes: W1 is the mean distance between matching order statistics, a loop that
        // vectorises (the general walk below costs ~10× more per value).
        let mut acc = [0.0f64; 8];
        let chunks = n1 / 8 * 8;
        for (x, y) in a[..chunks].chunks_exact(8).zip(b[..chunks].chunks_exact(8)) {
            for k in 0..8 {
                acc[k] += (x[k] - y[k]).abs();
            }
        }
        let mut sum =
            ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        for (x, y) in a[chunks..].iter().zip(&b[chunks..]) {
            sum += (x - y).abs();
        }
        return sum / n1 as f64;
    }
    // Walk the merged order one value at a time: between consecutive values v and next, the
    // ECDFs differ by |i/n1 − j/n2| = |i·n2 − j·n1| / (n1·n2). Ties give zero-width steps, so
    // they need no grouping, and the walk has no data-dependent branch to mispredict.
    let (mut i, mut j) = (0usize, 0usize);
    let (n1i, n2i) = (n1 as i64, n2 as i64);
    let mut sum = 0.0f64;
    let at = |s: &[f64], k: usize| if k < s.len() { s[k] } else { f64::INFINITY };
    let mut cur = a[0].min(b[0]);
    for _ in 0..(n1 + n2 - 1) {
        let (x, y) = (at(a, i), at(b, j));
        let take_a = x <= y;
        i += take_a as usize;
        j += (!take_a) as usize;
        let next = at(a, i).min(at(b, j));
        let diff = (i as i64 * n2i - j as i64 * n1i).unsigned_abs() as f64;
        sum += diff * (next - cur);
        cur = next;
    }
    sum / (n1 as f64 * n2 as f64)
}

/// Wasserstein distance divided by the reference's population standard deviation (at least
/// 0.001), Evidently's `wasserstein` drift score.
///
/// ```
/// use oxflow_runtime::drift::stattest::wasserstein_normed;
/// use oxflow_runtime::drift::stattest::mean_std;
/// let r: Vec<f64> = (0..100).map(|i| i as f64).collect();
/// let shift = 0.1 * mean_std(&r).1; // a tenth of a standard deviation
/// let c: Vec<f64> = r.iter().map(|x| x + shift).collect();
/// assert!((wasserstein_normed(&r, &c)? - 0.1).abs() < 1e-9);
/// # Ok::<(), oxflow_runtime::drift::stattest::StatError>(())
/// ```
pub fn wasserstein_normed(reference: &[f64], current: &[f64]) -> Result<f64, StatError> {
    check_sample(reference)?;
    check_sample(current)?;
    let (_, sd) = mean_std(reference);
    Ok(wasserstein_distance(reference, current)? / sd.max(0.001))
}

/// Bin edges numpy's `histogram_bin_edges(concat(a, b), bins="sturges")` returns, from the two
/// sorted samples: `ceil(ptp / (ptp / (log2(n) + 1)))` equal bins between the combined minimum
/// and maximum (± 0.5 around a constant).
///
/// ```
/// let e = oxflow_runtime::drift::stattest::sturges_edges(&[0.0, 1.0, 2.0, 3.0], &[4.0, 5.0, 6.0, 7.0]);
/// assert_eq!(e, vec![0.0, 1.75, 3.5, 5.25, 7.0]);
/// ```
pub fn sturges_edges(a_sorted: &[f64], b_sorted: &[f64]) -> Vec<f64> {
    let lo = match (a_sorted.first(), b_sorted.first()) {
        (Some(&x), Some(&y)) => x.min(y),
        (Some(&x), None) | (None, Some(&x)) => x,
        (None, None) => return vec![0.0, 1.0],
    };
    let hi = match (a_sorted.last(), b_sorted.last()) {
        (Some(&x), Some(&y)) => x.max(y),
        (Some(&x), None) | (None, Some(&x)) => x,
        (None, None) => unreachable!("checked above"),
    };
    let n = (a_sorted.len() + b_sorted.len()) as f64;
    let ptp = hi - lo;
    let (first, last) = if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    };
    let width = ptp / (n.log2() + 1.0);
    let n_bins = if width > 0.0 {
        ((last - first) / width).ceil() as usize
    } else {
        1
    };
    linspace(first, last, n_bins + 1)
}

/// numpy's `linspace(start, stop, num)` with the endpoint pinned.
pub(crate) fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 1 {
        return vec![start];
    }
    let div = (num - 1) as f64;
    let delta = stop - start;
    let step = delta / div;
    let mut v: Vec<f64> = (0..num)
        .map(|i| {
            if step == 0.0 {
                (i as f64 / div) * delta + start
            } else {
                i as f64 * step + start
            }
        })
        .collect();
    v[num - 1] = stop;
    v
}

/// Counts of a sorted sample in the bins `[e0, e1), [e1, e2), …, [e_{k-1}, e_k]` (numpy's
/// `histogram` with explicit edges: the last bin is closed, values outside are dropped).
///
/// ```
/// use oxflow_runtime::drift::stattest::histogram_sorted;
/// assert_eq!(histogram_sorted(&[0.0, 0.5, 1.0, 2.0, 9.0], &[0.0, 1.0, 2.0]), vec![2, 2]);
/// ```
pub fn histogram_sorted(x_sorted: &[f64], edges: &[f64]) -> Vec<u64> {
    if edges.len() < 2 {
        return Vec::new();
    }
    let k = edges.len() - 1;
    let mut cum: Vec<usize> = edges[..k]
        .iter()
        .map(|&e| x_sorted.partition_point(|&v| v < e))
        .collect();
    cum.push(x_sorted.partition_point(|&v| v <= edges[k]));
    cum.windows(2).map(|w| (w[1] - w[0]) as u64).collect()
}

/// Named tests. The names are Evidently's (`ks`, `wasserstein`, `psi`, `jensenshannon`,
/// `chisquare`, `z`) plus oxflow's `chi2_contingency`, `mean_shift`, `std_shift` and
/// `frequency_shift`.
///
/// ```
/// use oxflow_runtime::drift::StatTest;
/// let t: StatTest = "jensenshannon".parse()?;
/// assert_eq!(t, StatTest::JensenShannon);
/// assert_eq!(t.default_threshold(), 0.1);
/// assert!(t.is_drift(0.1, 0.1));
/// assert!(StatTest::Ks.is_drift(0.05, 0.05));
/// assert!(!StatTest::ChiSquare.is_drift(0.05, 0.05));
/// # Ok::<(), oxflow_runtime::drift::DriftError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatTest {
    /// Two-sample Kolmogorov–Smirnov; score = p-value; drift if p ≤ threshold (0.05).
    Ks,
    /// Wasserstein distance / std(reference); drift if ≥ threshold (0.1).
    Wasserstein,
    /// Population stability index on Evidently's bins; drift if ≥ threshold (0.1).
    Psi,
    /// Jensen–Shannon distance (natural log); drift if ≥ threshold (0.1).
    #[serde(rename = "jensenshannon")]
    JensenShannon,
    /// Evidently's chi-square goodness of fit of current counts against reference shares;
    /// drift if p < threshold (0.05). Ignores the reference's own sampling noise, so it
    /// over-detects when both samples are of similar size; prefer `chi2_contingency`.
    #[serde(rename = "chisquare")]
    ChiSquare,
    /// Two-sample chi-square test of homogeneity (scipy's `chi2_contingency`, Yates' correction
    /// for one degree of freedom); drift if p < threshold (0.05).
    Chi2Contingency,
    /// Z-test for two proportions (first sorted value vs the rest); drift if p < threshold (0.05).
    #[serde(rename = "z")]
    ZTest,
    /// |mean(current) − mean(reference)| / std(reference); drift if ≥ threshold (0.1).
    MeanShift,
    /// |std(current) − std(reference)| / std(reference); drift if ≥ threshold (0.1).
    StdShift,
    /// Largest change of a category's share (new and vanished categories included); drift if
    /// ≥ threshold (0.1).
    FrequencyShift,
}

impl StatTest {
    /// Every test, in the order of the documentation.
    pub const ALL: [StatTest; 10] = [
        StatTest::Ks,
        StatTest::Wasserstein,
        StatTest::Psi,
        StatTest::JensenShannon,
        StatTest::ChiSquare,
        StatTest::Chi2Contingency,
        StatTest::ZTest,
        StatTest::MeanShift,
        StatTest::StdShift,
        StatTest::FrequencyShift,
    ];

    /// The name used in options, JSON and metric labels.
    pub fn name(self) -> &'static str {
        match self {
            StatTest::Ks => "ks",
            StatTest::Wasserstein => "wasserstein",
            StatTest::Psi => "psi",
            StatTest::JensenShannon => "jensenshannon",
            StatTest::ChiSquare => "chisquare",
            StatTest::Chi2Contingency => "chi2_contingency",
            StatTest::ZTest => "z",
            StatTest::MeanShift => "mean_shift",
            StatTest::StdShift => "std_shift",
            StatTest::FrequencyShift => "frequency_shift",
        }
    }

    /// True when the score is a p-value (small = drift), false for distances (large = drift).
    pub fn is_p_value(self) -> bool {
        matches!(
            self,
            StatTest::Ks | StatTest::ChiSquare | StatTest::Chi2Contingency | StatTest::ZTest
        )
    }

    /// Evidently's default threshold for this test.
    pub fn default_threshold(self) -> f64 {
        if self.is_p_value() { 0.05 } else { 0.1 }
    }

    /// The decision rule, exactly as Evidently compares (KS uses `<=`, other p-values `<`,
    /// distances `>=`).
    pub fn is_drift(self, score: f64, threshold: f64) -> bool {
        match self {
            StatTest::Ks => score <= threshold,
            t if t.is_p_value() => score < threshold,
            _ => score >= threshold,
        }
    }

    /// Whether the test can run on a column of this type.
    pub fn applies_to(self, kind: crate::drift::ColumnKind) -> bool {
        use crate::drift::ColumnKind::*;
        match self {
            StatTest::Ks | StatTest::Wasserstein | StatTest::MeanShift | StatTest::StdShift => {
                kind == Numerical
            }
            _ => true,
        }
    }
}

impl std::fmt::Display for StatTest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for StatTest {
    type Err = crate::drift::DriftError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = match s.trim().to_ascii_lowercase().as_str() {
            "ks" | "kolmogorov_smirnov" => StatTest::Ks,
            "wasserstein" | "wasserstein_normed" => StatTest::Wasserstein,
            "psi" => StatTest::Psi,
            "jensenshannon" | "jensen_shannon" | "js" => StatTest::JensenShannon,
            "chisquare" | "chi_square" | "chi2" => StatTest::ChiSquare,
            "chi2_contingency" | "contingency" => StatTest::Chi2Contingency,
            "z" | "z_test" | "ztest" => StatTest::ZTest,
            "mean_shift" => StatTest::MeanShift,
            "std_shift" => StatTest::StdShift,
            "frequency_shift" => StatTest::FrequencyShift,
            other => {
                return Err(crate::drift::DriftError::UnknownTest {
                    name: other.to_string(),
                    valid: StatTest::ALL
                        .iter()
                        .map(|t| t.name())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        };
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasserstein_matches_scipy() {
        // scipy.stats.wasserstein_distance([0, 1, 3], [5, 6, 8]) = 5.0;
        // wasserstein_distance([3.4, 3.9, 7.5, 7.8], [4.5, 1.4]) = 2.7
        assert_eq!(
            wasserstein_distance(&[0.0, 1.0, 3.0], &[5.0, 6.0, 8.0]).unwrap(),
            5.0
        );
        let w = wasserstein_distance(&[3.4, 3.9, 7.5, 7.8], &[4.5, 1.4]).unwrap();
        assert!((w - 2.7).abs() < 1e-12, "{w}");
        assert_eq!(wasserstein_distance(&[1.0, 1.0], &[1.0]).unwrap(), 0.0);
    }

    #[test]
    fn sturges_matches_numpy_for_constant() {
        assert_eq!(sturges_edges(&[2.0, 2.0], &[2.0]), vec![1.5, 2.5]);
    }

    #[test]
    fn names_round_trip() {
        for t in StatTest::ALL {
            assert_eq!(t.name().parse::<StatTest>().unwrap(), t);
            let j = serde_json::to_string(&t).unwrap();
            assert_eq!(j, format!("\"{}\"", t.name()));
        }
        let e = "kss".parse::<StatTest>().unwrap_err().to_string();
        assert!(
            e.starts_with("unknown test `kss`; expected one of: ks, wasserstein"),
            "{e}"
        );
    }
}
