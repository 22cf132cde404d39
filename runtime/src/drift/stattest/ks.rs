//! Two-sample Kolmogorov–Smirnov test, computed as `scipy.stats.ks_2samp(method="auto")`.
//!
//! The statistic is taken from integer counts on the sorted samples, so ties and equal sizes
//! are exact. p-values: for `max(n1, n2) <= 10_000` the exact lattice-path probability
//! (scipy's `_compute_prob_outside_square` for equal sizes, Hodges' inside method otherwise);
//! above that, the distribution of the one-sample statistic at `n = round(n1·n2/(n1+n2))`
//! (scipy's `kstwo.sf`, Simard & L'Ecuyer). We do not use `statrs`' KS: it loops forever on
//! identical samples (D = 0) and refuses exact p-values beyond 100 × 100.

use super::{StatError, check_sample, sorted_finite};
use serde::{Deserialize, Serialize};
use statrs::function::gamma::ln_gamma;

/// scipy's `MAX_AUTO_N`: above this many rows on either side the p-value is asymptotic.
pub const MAX_EXACT_N: usize = 10_000;

/// How a KS p-value was computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KsMethod {
    /// Exact lattice-path probability.
    Exact,
    /// `kstwo.sf(D, round(n1·n2/(n1+n2)))`.
    Asymptotic,
}

/// Result of [`ks_2samp`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct KsResult {
    /// The statistic D = sup |F_ref − F_cur|.
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// How `p_value` was computed.
    pub method: KsMethod,
}

/// Two-sample KS test on unsorted samples (both must be non-empty and finite).
///
/// ```
/// use oxflow_runtime::drift::stattest::ks_2samp;
/// let a = [0.1, 0.4, 0.7, 1.3, 2.2];
/// let r = ks_2samp(&a, &a)?;
/// assert_eq!((r.statistic, r.p_value), (0.0, 1.0));
/// let b = [5.0, 6.0, 7.0, 8.0, 9.0];
/// let r = ks_2samp(&a, &b)?;
/// assert_eq!(r.statistic, 1.0);
/// assert!((r.p_value - 0.007936507936507936).abs() < 1e-15);
/// # Ok::<(), oxflow_runtime::drift::stattest::StatError>(())
/// ```
pub fn ks_2samp(reference: &[f64], current: &[f64]) -> Result<KsResult, StatError> {
    check_sample(reference)?;
    check_sample(current)?;
    let a = sorted_finite(reference);
    let b = sorted_finite(current);
    Ok(ks_2samp_sorted(&a, &b))
}

/// [`ks_2samp`] on samples already sorted ascending, finite and non-empty.
pub fn ks_2samp_sorted(a: &[f64], b: &[f64]) -> KsResult {
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return KsResult {
            statistic: 0.0,
            p_value: 1.0,
            method: KsMethod::Exact,
        };
    }
    // diff = i·n2 − j·n1 = n1·n2·(F_a − F_b) at each distinct value.
    let (mut i, mut j) = (0usize, 0usize);
    let (mut best, mut best_i, mut best_j) = (0i128, 0usize, 0usize);
    while i < n1 && j < n2 {
        let v = if a[i] <= b[j] { a[i] } else { b[j] };
        while i < n1 && a[i] == v {
            i += 1;
        }
        while j < n2 && b[j] == v {
            j += 1;
        }
        let diff = (i as i128) * (n2 as i128) - (j as i128) * (n1 as i128);
        if diff.abs() > best {
            best = diff.abs();
            best_i = i;
            best_j = j;
        }
    }
    let g = gcd(n1 as u64, n2 as u64);
    let lcm = (n1 as u64 / g) as f64 * n2 as f64;
    let h = (best / g as i128) as u64;
    let d_exact = h as f64 / lcm;
    if h == 0 {
        return KsResult {
            statistic: 0.0,
            p_value: 1.0,
            method: KsMethod::Exact,
        };
    }
    if n1.max(n2) <= MAX_EXACT_N {
        let p = if n1 == n2 {
            prob_outside_square(n1 as u64, h)
        } else {
            outer_prob_inside(n1 as u64, n2 as u64, g, h)
        };
        if (0.0..=1.0).contains(&p) {
            return KsResult {
                statistic: d_exact,
                p_value: p,
                method: KsMethod::Exact,
            };
        }
    }
    // scipy keeps the floating-point D (difference of two ECDF values) on this path.
    let d = (best_i as f64 / n1 as f64 - best_j as f64 / n2 as f64).abs();
    let (m, n) = if n1 >= n2 {
        (n1 as f64, n2 as f64)
    } else {
        (n2 as f64, n1 as f64)
    };
    let en = (m * n / (m + n)).round_ties_even();
    let p = kolmogorov_n_sf(en as u64, d);
    KsResult {
        statistic: d,
        p_value: p.clamp(0.0, 1.0),
        method: KsMethod::Asymptotic,
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// P(D_{n,n} ≥ h/n) for two samples of size n (Horner-like alternating sum).
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let mut p = 0.0f64;
    let mut k = (n / h) as i64;
    while k >= 0 {
        let ku = k as u64;
        let mut p1 = 1.0f64;
        for j in 0..h {
            p1 = (n as f64 - (ku * h) as f64 - j as f64) * p1
                / (n as f64 + (ku * h) as f64 + j as f64 + 1.0);
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// 1 − P(path stays strictly inside |x/m − y/n| < h/lcm) (Hodges; Viehmann's 1 − p recursion).
fn outer_prob_inside(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (mg, ng) = (m / g, n / g);
    let (m, n, mg, ng, h) = (m as i64, n as i64, mg as i64, ng as i64, h as i64);
    let ceil_div = |a: i64, b: i64| -> i64 { (a as f64 / b as f64).ceil() as i64 };
    let floor_div = |a: i64, b: i64| -> i64 { (a as f64 / b as f64).floor() as i64 };
    let mut minj: i64 = 0;
    let mut maxj: i64 = ceil_div(h, mg).min(n + 1);
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n + 1) as usize;
    let mut a = vec![1.0f64; len_a];
    for v in a.iter_mut().take(maxj as usize).skip(minj as usize) {
        *v = 0.0;
    }
    for i in 1..=m {
        let (lastminj, lastlen) = (minj, curlen);
        minj = (floor_div(ng * i - h, mg) + 1).max(0).min(n);
        maxj = ceil_div(ng * i + h, mg).min(n + 1);
        if maxj <= minj {
            return 1.0;
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        for jj in 0..(maxj - minj) {
            let j = jj + minj;
            let idx = (jj + minj - lastminj) as usize;
            let prev = a.get(idx).copied().unwrap_or(1.0);
            val = (prev * i as f64 + val * j as f64) / (i + j) as f64;
            a[jj as usize] = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let start = (maxj - minj) as usize;
            let end = (start + (lastlen - curlen) as usize).min(a.len());
            for v in &mut a[start..end] {
                *v = 1.0;
            }
        }
    }
    a[(maxj - minj - 1) as usize]
}

/// Survival function of the one-sample two-sided KS statistic D_n (scipy's `kstwo.sf`).
pub(crate) fn kolmogorov_n_sf(n: u64, x: f64) -> f64 {
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let t = nf * x;
    if t <= 1.0 {
        if t <= 0.5 {
            return 1.0;
        }
        let cdf = if n <= 140 {
            (1..=n).fold(1.0, |p, i| p * (i as f64 * (1.0 / nf) * (2.0 * t - 1.0)))
        } else {
            (ln_gamma(nf + 1.0) - nf * nf.ln() + nf * (2.0 * t - 1.0).ln()).exp()
        };
        return (1.0 - cdf).clamp(0.0, 1.0);
    }
    if t >= nf - 1.0 {
        return (2.0 * (1.0 - x).powf(nf)).clamp(0.0, 1.0);
    }
    if x >= 0.5 {
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    let nxsq = t * x;
    if n <= 140 {
        // scipy uses Pomeranz's recursion for 0.754693 < n·x² <= 4; the Durbin matrix is exact too.
        if nxsq <= 4.0 {
            return (1.0 - kolmogorov_dmtw_cdf(n, x)).clamp(0.0, 1.0);
        }
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    if nxsq >= 370.0 {
        return 0.0;
    }
    if nxsq >= 2.2 {
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    let cdf = if nxsq >= 18.0 {
        1.0
    } else if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        kolmogorov_dmtw_cdf(n, x)
    } else {
        pelz_good_cdf(n, x)
    };
    (1.0 - cdf).clamp(0.0, 1.0)
}

/// One-sided Smirnov survival P(D+_n ≥ x), Birnbaum–Tingey sum in log space.
fn smirnov_sf(n: u64, x: f64) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if x >= 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    let vmax = (nf * (1.0 - x)).floor() as u64;
    let ln_n_fact = ln_gamma(nf + 1.0);
    let ln_x = x.ln();
    let mut sum = 0.0f64;
    let mut prev = f64::NEG_INFINITY;
    for v in 0..=vmax {
        let vf = v as f64;
        let rest = (nf - vf) / nf - x;
        let ln_rest = if n - v == 0 {
            0.0
        } else if rest <= 0.0 {
            break;
        } else {
            (nf - vf) * rest.ln()
        };
        let ln_term = ln_n_fact - ln_gamma(vf + 1.0) - ln_gamma(nf - vf + 1.0)
            + ln_x
            + (vf - 1.0) * (x + vf / nf).ln()
            + ln_rest;
        let term = ln_term.exp();
        sum += term;
        // Terms are unimodal in v: stop once past the peak and negligible.
        if ln_term < prev && term < sum * 1e-18 {
            break;
        }
        prev = ln_term;
    }
    sum.clamp(0.0, 1.0)
}

const EP128: f64 = 3.402_823_669_209_385e38; // 2^128
const EM128: f64 = 2.938_735_877_055_719e-39; // 2^-128

/// P(D_n <= d) by the Durbin matrix (Marsaglia, Tsang & Wang 2003), as scipy's `_kolmogn_DMTW`.
fn kolmogorov_dmtw_cdf(n: u64, d: f64) -> f64 {
    if d >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let nd = nf * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut hm = vec![0.0f64; m * m];
    let mut v: Vec<f64> = (1..=m).map(|i| 1.0 - h.powi(i as i32)).collect();
    let mut w = vec![0.0f64; m];
    let mut fac = 1.0f64;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] *= fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tt) * fac;
    for i in 1..m {
        for r in (i - 1)..m {
            hm[r * m + i] = w[r - (i - 1)];
        }
    }
    for r in 0..m {
        hm[r * m] = v[r];
    }
    for c in 0..m {
        hm[(m - 1) * m + c] = v[m - 1 - c];
    }
    let matmul = |a: &[f64], b: &[f64]| -> Vec<f64> {
        let mut out = vec![0.0f64; m * m];
        for i in 0..m {
            for l in 0..m {
                let x = a[i * m + l];
                if x == 0.0 {
                    continue;
                }
                let row = &b[l * m..(l + 1) * m];
                let o = &mut out[i * m..(i + 1) * m];
                for (oj, bj) in o.iter_mut().zip(row) {
                    *oj += x * bj;
                }
            }
        }
        out
    };
    let mut pw: Vec<f64> = (0..m * m)
        .map(|i| if i / m == i % m { 1.0 } else { 0.0 })
        .collect();
    let mut nn = n;
    let (mut expnt, mut hexpnt) = (0i64, 0i64);
    while nn > 0 {
        if nn % 2 == 1 {
            pw = matmul(&pw, &hm);
            expnt += hexpnt;
        }
        hm = matmul(&hm, &hm);
        hexpnt *= 2;
        if hm[(k - 1) * m + (k - 1)].abs() > EP128 {
            for x in hm.iter_mut() {
                *x /= EP128;
            }
            hexpnt += 128;
        }
        nn /= 2;
    }
    let mut p = pw[(k - 1) * m + (k - 1)];
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < EM128 {
            p *= EP128;
            expnt -= 128;
        }
    }
    if expnt != 0 {
        p *= 2f64.powi(expnt as i32);
    }
    p.clamp(0.0, 1.0)
}

/// Pelz–Good approximation of P(D_n <= x), as scipy's `_kolmogn_PelzGood`.
fn pelz_good_cdf(n: u64, x: f64) -> f64 {
    use std::f64::consts::PI;
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let (z2, z3, z4, z6) = (z * z, z.powi(3), z.powi(4), z.powi(6));
    let (pi2, pi4, pi6) = (PI * PI, PI.powi(4), PI.powi(6));
    let qlog = -pi2 / 8.0 / z2;
    if qlog < -708.0 {
        return 0.0;
    }
    let q = qlog.exp();
    let k1a = -z2;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z.powi(8);
    let mut kk = [0.0f64; 4];
    let maxk = (16.0 * z / PI).ceil() as i64;
    for k in (1..=maxk).rev() {
        let m = (2 * k - 1) as f64;
        let (m2, m4, m6) = (m * m, m.powi(4), m.powi(6));
        let qp = q.powf(8.0 * k as f64);
        let coeffs = [
            1.0,
            k1a + k1b * m2,
            k2a + k2b * m2 + k2c * m4,
            k3a + k3b * m2 + k3c * m4 + k3d * m6,
        ];
        for (a, c) in kk.iter_mut().zip(coeffs) {
            *a = *a * qp + c;
        }
    }
    let sqrt2pi = (2.0 * PI).sqrt();
    let div = [z, 6.0 * z4, 72.0 * z.powi(7), 6480.0 * z.powi(10)];
    for (a, dv) in kk.iter_mut().zip(div) {
        *a = *a * q * sqrt2pi / dv;
    }
    let q = (-pi2 / 2.0 / z2).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let (mut k2extra, mut k3extra) = (0.0f64, 0.0f64);
    for k in (1..=maxk).rev() {
        let kf = k as f64;
        let ks2 = kf * kf;
        let qp = q.powf(ks2);
        k2extra += ks2 * qp;
        let kspi = PI * kf;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qp;
    }
    kk[2] += k2extra * pi2 * sqrt2pi / (-36.0 * z3);
    kk[3] += k3extra * pi2 * sqrt2pi / (216.0 * z6);
    let mut sum = 0.0;
    for (i, a) in kk.iter().enumerate() {
        sum += a / nf.powf(i as f64 / 2.0);
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_samples_give_p_one() {
        let a: Vec<f64> = (0..50_000).map(|i| (i % 977) as f64).collect();
        let r = ks_2samp(&a, &a).unwrap();
        assert_eq!(r.statistic, 0.0);
        assert_eq!(r.p_value, 1.0);
    }

    #[test]
    fn exact_equal_and_unequal_sizes_match_scipy() {
        // scipy.stats.ks_2samp([1,2,3,4,5],[3,4,5,6,7,8]) -> D=0.5, p=0.35714285714285715
        let r = ks_2samp(&[1., 2., 3., 4., 5.], &[3., 4., 5., 6., 7., 8.]).unwrap();
        assert_eq!(r.statistic, 0.5);
        assert!(
            (r.p_value - 0.35714285714285715).abs() < 1e-12,
            "{}",
            r.p_value
        );
        // ks_2samp(range(10), range(3, 13)) -> D=0.3, p=0.7869297884777761
        let a: Vec<f64> = (0..10).map(f64::from).collect();
        let b: Vec<f64> = (3..13).map(f64::from).collect();
        let r = ks_2samp(&a, &b).unwrap();
        assert!(
            (r.p_value - 0.7869297884777761).abs() < 1e-12,
            "{}",
            r.p_value
        );
    }

    #[test]
    fn kstwo_matches_known_values() {
        // scipy.stats.kstwo.sf(0.01, 20000) (2·smirnov branch), kstwo.sf(0.005, 50000) (Pelz-Good)
        let p = kolmogorov_n_sf(20_000, 0.01);
        assert!((p - 0.03638603905248727).abs() < 1e-9, "{p}");
        let p = kolmogorov_n_sf(50_000, 0.005);
        assert!((p - 0.16353363492434803).abs() < 1e-9, "{p}");
    }
}
