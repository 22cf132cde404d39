//! A test's score from binned or category counts, and the drift decision it leads to.

use crate::drift::report::ColumnDrift;
use crate::drift::stattest::{self, StatTest};

pub(super) fn finish(d: &mut ColumnDrift, score: f64, statistic: Option<f64>) {
    if score.is_nan() {
        d.skipped = Some(format!("test `{}` is undefined for this data", d.test));
        d.score = None;
        return;
    }
    d.score = Some(score);
    d.statistic = statistic.filter(|s| s.is_finite());
    d.drift_detected = d.test.is_drift(score, d.threshold);
}

pub(super) fn binned_score(
    test: StatTest,
    r: &[u64],
    nr: u64,
    c: &[u64],
    nc: u64,
) -> (f64, Option<f64>) {
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

pub(super) fn counts_score(test: StatTest, r: &[u64], c: &[u64]) -> (f64, Option<f64>) {
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
