//! What every backend's search shares: which runs a search looks at ([`ViewType`]), the
//! result limit, and MLflow's comparison and ordering rules for filter clauses and
//! `order_by` keys.

use std::cmp::Ordering;

use super::TrackingError;
use super::filter::{CompareOp, Value, like};

/// Which runs a search looks at, by lifecycle stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ViewType {
    /// Only active runs (the default).
    #[default]
    ActiveOnly,
    /// Only deleted runs.
    DeletedOnly,
    /// Both.
    All,
}

/// Most results one search may return (MLflow's `SEARCH_MAX_RESULTS_THRESHOLD`).
pub const MAX_SEARCH_RESULTS: usize = 50_000;

/// Refuses a `max_results` outside 1..=[`MAX_SEARCH_RESULTS`], as MLflow does; shared by every
/// backend.
pub(crate) fn check_max_results(max_results: usize) -> Result<(), TrackingError> {
    if max_results == 0 || max_results > MAX_SEARCH_RESULTS {
        return Err(TrackingError::InvalidArgument {
            what: "max_results",
            value: max_results.to_string(),
            reason: format!("must be between 1 and {MAX_SEARCH_RESULTS}"),
        });
    }
    Ok(())
}

/// Whether a numeric value satisfies `op rhs` (MLflow: a comparison with a non-number is false).
pub(crate) fn cmp_num(v: f64, op: CompareOp, rhs: &Value) -> bool {
    let Value::Number(r) = rhs else { return false };
    let r = *r;
    match op {
        CompareOp::Eq => v == r,
        CompareOp::Ne => v != r,
        CompareOp::Lt => v < r,
        CompareOp::Le => v <= r,
        CompareOp::Gt => v > r,
        CompareOp::Ge => v >= r,
        _ => false,
    }
}

/// Whether a string value (`None`: absent) satisfies `op rhs`, MLflow's way.
pub(crate) fn cmp_str(v: Option<&str>, op: CompareOp, rhs: &Value) -> bool {
    match (op, v) {
        (CompareOp::IsNull, v) => v.is_none(),
        (CompareOp::IsNotNull, v) => v.is_some(),
        (_, None) => false,
        (CompareOp::In, Some(v)) => matches!(rhs, Value::List(l) if l.iter().any(|x| x == v)),
        (CompareOp::NotIn, Some(v)) => matches!(rhs, Value::List(l) if !l.iter().any(|x| x == v)),
        (op, Some(v)) => {
            let Value::Str(r) = rhs else { return false };
            match op {
                CompareOp::Eq => v == r,
                CompareOp::Ne => v != r,
                CompareOp::Like => like(r, v, false),
                CompareOp::ILike => like(r, v, true),
                _ => false,
            }
        }
    }
}

/// One `order_by` key of a run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SortValue {
    /// A number (metrics, times).
    Num(f64),
    /// A string (params, tags, other attributes).
    Str(String),
    /// No value: sorts last in both directions.
    Missing,
}

/// Orders two sort values; missing values (and NaN) go last in both directions.
pub(crate) fn cmp_sort(a: &SortValue, b: &SortValue, ascending: bool) -> Ordering {
    let dir = |o: Ordering| if ascending { o } else { o.reverse() };
    match (a, b) {
        (SortValue::Missing, SortValue::Missing) => Ordering::Equal,
        (SortValue::Missing, _) => Ordering::Greater,
        (_, SortValue::Missing) => Ordering::Less,
        (SortValue::Num(x), SortValue::Num(y)) => dir(x.total_cmp(y)),
        (SortValue::Str(x), SortValue::Str(y)) => dir(x.cmp(y)),
        (SortValue::Num(_), SortValue::Str(_)) => dir(Ordering::Less),
        (SortValue::Str(_), SortValue::Num(_)) => dir(Ordering::Greater),
    }
}
