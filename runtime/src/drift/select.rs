//! The test and threshold Evidently 0.7 picks for a column when the user names none.
//!
//! | reference rows (non-missing) | type | distinct values (both sides) | test |
//! | --- | --- | --- | --- |
//! | ≤ 1000 | numerical | > 5 | `ks` (p ≤ 0.05) |
//! | ≤ 1000 | numerical | 3–5 | `chisquare` (p < 0.05) |
//! | ≤ 1000 | numerical or categorical | ≤ 2 | `z` (p < 0.05) |
//! | ≤ 1000 | categorical | > 2 | `chisquare` (p < 0.05) |
//! | > 1000 | numerical | > 5 | `wasserstein` (≥ 0.1) |
//! | > 1000 | numerical | ≤ 5 | `jensenshannon` (≥ 0.1) |
//! | > 1000 | categorical | any | `jensenshannon` (≥ 0.1) |

use super::data::ColumnKind;
use super::stattest::StatTest;

/// Reference sizes up to this use p-value tests; above it, distances.
pub const SMALL_REFERENCE_ROWS: usize = 1000;

/// Evidently's default test for a column.
///
/// `reference_rows` counts the reference's non-missing, finite values; `n_unique` the distinct
/// values over both samples (callers may cap the count at 6, which decides every case).
///
/// ```
/// use oxflow_runtime::drift::{default_test, ColumnKind, StatTest};
/// assert_eq!(default_test(ColumnKind::Numerical, 800, 700), StatTest::Ks);
/// assert_eq!(default_test(ColumnKind::Numerical, 5000, 6), StatTest::Wasserstein);
/// assert_eq!(default_test(ColumnKind::Categorical, 800, 2), StatTest::ZTest);
/// assert_eq!(default_test(ColumnKind::Categorical, 5000, 2), StatTest::JensenShannon);
/// ```
pub fn default_test(kind: ColumnKind, reference_rows: usize, n_unique: usize) -> StatTest {
    match (reference_rows <= SMALL_REFERENCE_ROWS, kind) {
        (true, ColumnKind::Numerical) if n_unique > 5 => StatTest::Ks,
        (true, _) if n_unique > 2 => StatTest::ChiSquare,
        (true, _) => StatTest::ZTest,
        (false, ColumnKind::Numerical) if n_unique > 5 => StatTest::Wasserstein,
        (false, _) => StatTest::JensenShannon,
    }
}
