//! Tests on counts per category (or per bin): chi-square, Z-test, PSI, Jensen–Shannon.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ChiSquared, ContinuousCDF};
use statrs::function::erf::erfc;

/// Result of a chi-square test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ChiSquareResult {
    /// The chi-square statistic (may be `inf` when a category is new in the current data).
    pub statistic: f64,
    /// p-value (upper tail, never `1 − cdf`).
    pub p_value: f64,
    /// Degrees of freedom.
    pub dof: usize,
}

fn chi2_sf(stat: f64, dof: usize) -> f64 {
    if dof == 0 {
        return f64::NAN;
    }
    if stat.is_infinite() {
        return 0.0;
    }
    match ChiSquared::new(dof as f64) {
        Ok(d) => d.sf(stat),
        Err(_) => f64::NAN,
    }
}

/// Evidently's chi-square: goodness of fit of the current counts against the reference counts
/// scaled to the current size (`scipy.stats.chisquare(f_obs, f_exp)`, df = k − 1). `None` when
/// fewer than two categories are present (no degree of freedom).
///
/// ```
/// use oxflow_runtime::drift::stattest::chisquare_gof;
/// // scipy.stats.chisquare([30, 70], [50, 50]) -> statistic 16.0, p 6.334248366623996e-05
/// let r = chisquare_gof(&[50, 50], &[30, 70]).unwrap();
/// assert_eq!(r.statistic, 16.0);
/// assert!((r.p_value - 6.334248366623996e-05).abs() < 1e-15);
/// ```
pub fn chisquare_gof(reference: &[u64], current: &[u64]) -> Option<ChiSquareResult> {
    let n_ref: u64 = reference.iter().sum();
    let n_cur: u64 = current.iter().sum();
    let k = reference
        .iter()
        .zip(current)
        .filter(|(r, c)| **r + **c > 0)
        .count();
    if k < 2 || n_ref == 0 || n_cur == 0 {
        return None;
    }
    let norm = n_cur as f64 / n_ref as f64;
    let mut stat = 0.0;
    for (&r, &c) in reference.iter().zip(current) {
        if r + c == 0 {
            continue;
        }
        let e = r as f64 * norm;
        let d = c as f64 - e;
        stat += if e == 0.0 { f64::INFINITY } else { d * d / e };
    }
    Some(ChiSquareResult {
        statistic: stat,
        p_value: chi2_sf(stat, k - 1),
        dof: k - 1,
    })
}

/// Two-sample chi-square test of homogeneity on the 2 × k table of counts, as
/// `scipy.stats.chi2_contingency(table)` (Yates' correction when df = 1; p = 1 when df = 0).
///
/// ```
/// use oxflow_runtime::drift::stattest::chi2_contingency;
/// // scipy.stats.chi2_contingency([[10, 20, 30], [15, 25, 35]]) -> 0.27692307692307694, p 0.870696738961232
/// let r = chi2_contingency(&[10, 20, 30], &[15, 25, 35]);
/// assert!((r.statistic - 0.27692307692307694).abs() < 1e-12, "{}", r.statistic);
/// assert!((r.p_value - 0.870696738961232).abs() < 1e-12);
/// ```
pub fn chi2_contingency(reference: &[u64], current: &[u64]) -> ChiSquareResult {
    let cols: Vec<(u64, u64)> = reference
        .iter()
        .zip(current)
        .filter(|(r, c)| **r + **c > 0)
        .map(|(r, c)| (*r, *c))
        .collect();
    let n_ref: u64 = cols.iter().map(|c| c.0).sum();
    let n_cur: u64 = cols.iter().map(|c| c.1).sum();
    let total = (n_ref + n_cur) as f64;
    let rows_present = (n_ref > 0) as usize + (n_cur > 0) as usize;
    if cols.len() < 2 || rows_present < 2 {
        return ChiSquareResult {
            statistic: 0.0,
            p_value: 1.0,
            dof: 0,
        };
    }
    let dof = cols.len() - 1;
    let mut stat = 0.0;
    for &(r, c) in &cols {
        let col = (r + c) as f64;
        for (obs, row) in [(r as f64, n_ref as f64), (c as f64, n_cur as f64)] {
            let e = row * col / total;
            let mut o = obs;
            if dof == 1 {
                let diff = e - o;
                o += diff.abs().min(0.5) * diff.signum();
            }
            stat += (o - e) * (o - e) / e;
        }
    }
    ChiSquareResult {
        statistic: stat,
        p_value: chi2_sf(stat, dof),
        dof,
    }
}

/// Result of a two-proportion Z-test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ZTestResult {
    /// The z statistic (0 when both samples hold the same single value).
    pub statistic: f64,
    /// Two-sided p-value, `2·(1 − Φ(|z|))` as Evidently computes it.
    pub p_value: f64,
}

/// Evidently's Z-test: the share of rows *not* equal to the first (smallest) value in each
/// sample, pooled two-proportion z. `first_*` count the rows equal to that value.
///
/// ```
/// use oxflow_runtime::drift::stattest::z_test_proportions;
/// // ref: 30 of 100 rows are not the first value, current: 40 of 100 (as Evidently computes)
/// let r = z_test_proportions(70, 100, 60, 100);
/// assert!((r.statistic - (-1.4824986333222028)).abs() < 1e-12);
/// assert!((r.p_value - 0.13820766697402576).abs() < 1e-10); // statrs' erfc: ~1e-11
/// ```
pub fn z_test_proportions(first_ref: u64, n_ref: u64, first_cur: u64, n_cur: u64) -> ZTestResult {
    let (n1, n2) = (n_ref as f64, n_cur as f64);
    let p1 = (n_ref - first_ref) as f64 / n1;
    let p2 = (n_cur - first_cur) as f64 / n2;
    let p = (p1 * n1 + p2 * n2) / (n1 + n2);
    let denom = (p * (1.0 - p) * (1.0 / n1 + 1.0 / n2)).sqrt();
    if denom == 0.0 || !denom.is_finite() {
        // Both samples hold a single (the same) value: Evidently reports p = 1.
        return ZTestResult {
            statistic: 0.0,
            p_value: 1.0,
        };
    }
    let z = (p1 - p2) / denom;
    // Φ(|z|) from the upper tail, where erfc is accurate; then Evidently's 2·(1 − Φ(|z|)).
    let cdf = 1.0 - 0.5 * erfc(z.abs() / std::f64::consts::SQRT_2);
    ZTestResult {
        statistic: z,
        p_value: 2.0 * (1.0 - cdf),
    }
}

/// Shares `count / n`, with Evidently's smoothing of empty bins when `fill_zeros`: a zero share
/// becomes `min(nonzero) / 1e6` if the smallest non-zero share is at most 1e-4, else 1e-4.
///
/// ```
/// let s = oxflow_runtime::drift::stattest::shares(&[0, 5, 5], 10, true);
/// assert_eq!(s, vec![1e-4, 0.5, 0.5]);
/// ```
pub fn shares(counts: &[u64], n: u64, fill_zeros: bool) -> Vec<f64> {
    let mut s: Vec<f64> = counts.iter().map(|&c| c as f64 / n as f64).collect();
    if fill_zeros {
        let min = s
            .iter()
            .copied()
            .filter(|&x| x != 0.0)
            .fold(f64::INFINITY, f64::min);
        if min.is_finite() {
            let fill = if min <= 1e-4 { min / 1e6 } else { 1e-4 };
            for x in s.iter_mut().filter(|x| **x == 0.0) {
                *x = fill;
            }
        }
    }
    s
}

/// PSI = Σ (ref − cur) · ln(ref / cur) over shares already smoothed by [`shares`].
///
/// ```
/// use oxflow_runtime::drift::stattest::psi_from_shares;
/// assert_eq!(psi_from_shares(&[0.5, 0.5], &[0.5, 0.5]), 0.0);
/// assert!((psi_from_shares(&[0.5, 0.5], &[0.25, 0.75]) - 0.27465307216702745).abs() < 1e-15);
/// ```
pub fn psi_from_shares(reference: &[f64], current: &[f64]) -> f64 {
    reference
        .iter()
        .zip(current)
        .map(|(&r, &c)| (r - c) * (r / c).ln())
        .sum()
}

/// Jensen–Shannon distance (natural log, so at most √ln 2 ≈ 0.833) between two share vectors,
/// each normalised to sum 1 first, as `scipy.spatial.distance.jensenshannon(p, q)`.
///
/// ```
/// use oxflow_runtime::drift::stattest::jensen_shannon_from_shares;
/// assert_eq!(jensen_shannon_from_shares(&[0.2, 0.8], &[0.2, 0.8]), 0.0);
/// let d = jensen_shannon_from_shares(&[1.0, 0.0], &[0.0, 1.0]);
/// assert!((d - 2f64.ln().sqrt()).abs() < 1e-15);
/// ```
pub fn jensen_shannon_from_shares(reference: &[f64], current: &[f64]) -> f64 {
    let sp: f64 = reference.iter().sum();
    let sq: f64 = current.iter().sum();
    let rel_entr = |x: f64, y: f64| -> f64 {
        if x > 0.0 && y > 0.0 {
            x * (x / y).ln()
        } else if x == 0.0 && y >= 0.0 {
            0.0
        } else {
            f64::INFINITY
        }
    };
    let (mut left, mut right) = (0.0, 0.0);
    for (&p, &q) in reference.iter().zip(current) {
        let (p, q) = (p / sp, q / sq);
        let m = (p + q) / 2.0;
        left += rel_entr(p, m);
        right += rel_entr(q, m);
    }
    ((left + right) / 2.0).max(0.0).sqrt()
}

/// Largest absolute change of a category's share between the two count vectors.
///
/// ```
/// let d = oxflow_runtime::drift::stattest::frequency_shift(&[50, 50, 0], &[40, 40, 20]);
/// assert!((d - 0.2).abs() < 1e-15);
/// ```
pub fn frequency_shift(reference: &[u64], current: &[u64]) -> f64 {
    let n_ref: u64 = reference.iter().sum();
    let n_cur: u64 = current.iter().sum();
    if n_ref == 0 || n_cur == 0 {
        return 0.0;
    }
    reference
        .iter()
        .zip(current)
        .map(|(&r, &c)| (r as f64 / n_ref as f64 - c as f64 / n_cur as f64).abs())
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_category_gives_infinite_statistic_and_zero_p() {
        let r = chisquare_gof(&[10, 10, 0], &[10, 10, 1]).unwrap();
        assert!(r.statistic.is_infinite());
        assert_eq!(r.p_value, 0.0);
    }

    #[test]
    fn contingency_with_one_column_is_p_one() {
        let r = chi2_contingency(&[10, 0], &[5, 0]);
        assert_eq!(r.p_value, 1.0);
    }

    #[test]
    fn contingency_yates_matches_scipy() {
        // scipy.stats.chi2_contingency([[12, 5], [7, 9]]) -> (1.455996378814684, 0.22756821457580642)
        let r = chi2_contingency(&[12, 5], &[7, 9]);
        assert_eq!(r.dof, 1);
        assert!((r.statistic - 1.455996378814684).abs() < 1e-12, "{r:?}");
        assert!((r.p_value - 0.22756821457580642).abs() < 1e-12, "{r:?}");
    }
}
