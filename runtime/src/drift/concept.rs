//! Concept drift in batch: the model's quality on a reference window vs a current window,
//! with a significance test. For one-observation-at-a-time monitoring see [`super::stream`].

use std::collections::HashMap;
use std::hash::Hash;

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::error::{DriftError, Side};
use super::stattest::z_test_proportions;

/// Quality of a classifier on one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassificationQuality {
    /// Rows.
    pub rows: usize,
    /// Share of correct predictions.
    pub accuracy: f64,
    /// Unweighted mean of per-class F1 over the classes seen in truth or predictions.
    pub macro_f1: f64,
}

/// Quality of a regressor on one window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegressionQuality {
    /// Rows.
    pub rows: usize,
    /// Root mean squared error.
    pub rmse: f64,
    /// Mean absolute error.
    pub mae: f64,
}

/// Concept drift verdict between two windows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConceptDrift<Q> {
    /// Quality on the reference window.
    pub reference: Q,
    /// Quality on the current window.
    pub current: Q,
    /// The test behind `p_value`.
    pub test: String,
    /// Two-sided p-value of "quality is the same".
    pub p_value: f64,
    /// Significance level.
    pub alpha: f64,
    /// True when quality got worse and `p_value < alpha`.
    pub drift_detected: bool,
}

fn check_pair(truth: usize, pred: usize, side: Side) -> Result<(), DriftError> {
    if truth != pred {
        return Err(DriftError::LengthMismatch {
            column: format!("{side} predictions"),
            len: pred,
            expected: truth,
        });
    }
    if truth == 0 {
        return Err(DriftError::EmptyColumn {
            column: "labels".into(),
            side,
        });
    }
    Ok(())
}

fn class_quality<L: Eq + Hash>(truth: &[L], pred: &[L]) -> (ClassificationQuality, u64) {
    let correct = truth.iter().zip(pred).filter(|(t, p)| t == p).count() as u64;
    let mut tp: HashMap<&L, (u64, u64, u64)> = HashMap::new(); // (tp, fp, fn)
    for (t, p) in truth.iter().zip(pred) {
        if t == p {
            tp.entry(t).or_default().0 += 1;
        } else {
            tp.entry(p).or_default().1 += 1;
            tp.entry(t).or_default().2 += 1;
        }
    }
    let f1: Vec<f64> = tp
        .values()
        .map(|&(a, b, c)| {
            if a == 0 {
                0.0
            } else {
                2.0 * a as f64 / (2 * a + b + c) as f64
            }
        })
        .collect();
    let macro_f1 = if f1.is_empty() {
        0.0
    } else {
        f1.iter().sum::<f64>() / f1.len() as f64
    };
    (
        ClassificationQuality {
            rows: truth.len(),
            accuracy: correct as f64 / truth.len() as f64,
            macro_f1,
        },
        correct,
    )
}

/// Compares a classifier's accuracy and macro F1 between windows; the test is the
/// two-proportion Z-test on accuracy.
///
/// ```
/// use oxflow_runtime::drift::concept::classification_drift;
/// let truth: Vec<u8> = (0..1000).map(|i| (i % 2) as u8).collect();
/// let good = truth.clone();
/// let bad: Vec<u8> = truth.iter().enumerate().map(|(i, &t)| if i % 3 == 0 { 1 - t } else { t }).collect();
/// let r = classification_drift(&truth, &good, &truth, &bad, 0.05)?;
/// assert!(r.drift_detected);
/// assert_eq!(r.reference.accuracy, 1.0);
/// # Ok::<(), oxflow_runtime::drift::DriftError>(())
/// ```
pub fn classification_drift<L: Eq + Hash>(
    reference_truth: &[L],
    reference_pred: &[L],
    current_truth: &[L],
    current_pred: &[L],
    alpha: f64,
) -> Result<ConceptDrift<ClassificationQuality>, DriftError> {
    check_pair(reference_truth.len(), reference_pred.len(), Side::Reference)?;
    check_pair(current_truth.len(), current_pred.len(), Side::Current)?;
    let (r, rc) = class_quality(reference_truth, reference_pred);
    let (c, cc) = class_quality(current_truth, current_pred);
    let z = z_test_proportions(rc, r.rows as u64, cc, c.rows as u64);
    let worse = c.accuracy < r.accuracy;
    Ok(ConceptDrift {
        drift_detected: worse && z.p_value < alpha,
        reference: r,
        current: c,
        test: "z_test_accuracy".into(),
        p_value: z.p_value,
        alpha,
    })
}

/// Compares a regressor's RMSE and MAE between windows; the test is Welch's t-test on the
/// absolute errors. Non-finite truths or predictions are errors naming the window.
///
/// ```
/// use oxflow_runtime::drift::concept::regression_drift;
/// let y: Vec<f64> = (0..500).map(f64::from).collect();
/// let close: Vec<f64> = y.iter().enumerate().map(|(i, v)| v + if i % 2 == 0 { 0.5 } else { -0.5 }).collect();
/// let far: Vec<f64> = y.iter().enumerate().map(|(i, v)| v + if i % 2 == 0 { 3.0 } else { -2.0 }).collect();
/// let r = regression_drift(&y, &close, &y, &far, 0.05)?;
/// assert!(r.drift_detected);
/// assert_eq!(r.reference.mae, 0.5);
/// # Ok::<(), oxflow_runtime::drift::DriftError>(())
/// ```
pub fn regression_drift(
    reference_truth: &[f64],
    reference_pred: &[f64],
    current_truth: &[f64],
    current_pred: &[f64],
    alpha: f64,
) -> Result<ConceptDrift<RegressionQuality>, DriftError> {
    check_pair(reference_truth.len(), reference_pred.len(), Side::Reference)?;
    check_pair(current_truth.len(), current_pred.len(), Side::Current)?;
    let errors = |t: &[f64], p: &[f64], side: Side| -> Result<Vec<f64>, DriftError> {
        let e: Vec<f64> = t.iter().zip(p).map(|(a, b)| (a - b).abs()).collect();
        if e.iter().any(|x| !x.is_finite()) {
            return Err(DriftError::InvalidArgument(format!(
                "{side} window: truths and predictions must be finite"
            )));
        }
        Ok(e)
    };
    let (er, ec) = (
        errors(reference_truth, reference_pred, Side::Reference)?,
        errors(current_truth, current_pred, Side::Current)?,
    );
    let quality = |e: &[f64]| {
        let n = e.len() as f64;
        RegressionQuality {
            rows: e.len(),
            rmse: (e.iter().map(|x| x * x).sum::<f64>() / n).sqrt(),
            mae: e.iter().sum::<f64>() / n,
        }
    };
    let (r, c) = (quality(&er), quality(&ec));
    let p = welch_p(&er, &ec);
    Ok(ConceptDrift {
        drift_detected: c.mae > r.mae && p < alpha,
        reference: r,
        current: c,
        test: "welch_t_abs_error".into(),
        p_value: p,
        alpha,
    })
}

fn welch_p(a: &[f64], b: &[f64]) -> f64 {
    let stats = |x: &[f64]| {
        let n = x.len() as f64;
        let m = x.iter().sum::<f64>() / n;
        let v = if x.len() > 1 {
            x.iter().map(|y| (y - m) * (y - m)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        (n, m, v)
    };
    let ((na, ma, va), (nb, mb, vb)) = (stats(a), stats(b));
    let se2 = va / na + vb / nb;
    if se2 == 0.0 {
        return if ma == mb { 1.0 } else { 0.0 };
    }
    let t = (ma - mb) / se2.sqrt();
    let df = se2 * se2
        / ((va / na).powi(2) / (na - 1.0).max(1.0) + (vb / nb).powi(2) / (nb - 1.0).max(1.0));
    match StudentsT::new(0.0, 1.0, df) {
        Ok(d) => (2.0 * d.sf(t.abs())).min(1.0),
        Err(_) => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatched_lengths_name_the_window() {
        let e = classification_drift(&[1, 2], &[1], &[1], &[1], 0.05)
            .unwrap_err()
            .to_string();
        assert!(e.contains("reference predictions"), "{e}");
    }

    #[test]
    fn same_quality_is_no_drift() {
        let y: Vec<f64> = (0..100).map(f64::from).collect();
        let r = regression_drift(&y, &y, &y, &y, 0.05).unwrap();
        assert!(!r.drift_detected);
        assert_eq!(r.p_value, 1.0);
    }
}
