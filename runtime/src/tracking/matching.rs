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
    /// A NaN metric: after every number, before missing values, in both directions.
    NaN,
    /// No value: sorts last in both directions.
    Missing,
}

impl SortValue {
    /// A metric's sort value: NaN has its own place (see [`cmp_sort`]).
    pub(crate) fn metric(v: Option<f64>) -> SortValue {
        match v {
            None => SortValue::Missing,
            Some(x) if x.is_nan() => SortValue::NaN,
            Some(x) => SortValue::Num(x),
        }
    }
}

/// Orders two sort values as MLflow does (`SearchUtils._get_value_for_sort`, and the `CASE` of
/// the SQL store's `_get_orderby_clauses`): values in the asked direction, then NaN, then
/// missing values, in both directions.
pub(crate) fn cmp_sort(a: &SortValue, b: &SortValue, ascending: bool) -> Ordering {
    let dir = |o: Ordering| if ascending { o } else { o.reverse() };
    let rank = |v: &SortValue| match v {
        SortValue::Num(_) | SortValue::Str(_) => 0,
        SortValue::NaN => 1,
        SortValue::Missing => 2,
    };
    match (a, b) {
        (SortValue::Num(x), SortValue::Num(y)) => dir(x.total_cmp(y)),
        (SortValue::Str(x), SortValue::Str(y)) => dir(x.cmp(y)),
        (SortValue::Num(_), SortValue::Str(_)) => dir(Ordering::Less),
        (SortValue::Str(_), SortValue::Num(_)) => dir(Ordering::Greater),
        _ => rank(a).cmp(&rank(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_then_nan_then_missing_in_both_directions() {
        let mut vals = vec![
            SortValue::Missing,
            SortValue::NaN,
            SortValue::Num(2.0),
            SortValue::Num(-1.0),
            SortValue::Num(f64::INFINITY),
        ];
        vals.sort_by(|a, b| cmp_sort(a, b, true));
        assert_eq!(
            vals,
            [
                SortValue::Num(-1.0),
                SortValue::Num(2.0),
                SortValue::Num(f64::INFINITY),
                SortValue::NaN,
                SortValue::Missing
            ]
        );
        vals.sort_by(|a, b| cmp_sort(a, b, false));
        assert_eq!(
            vals,
            [
                SortValue::Num(f64::INFINITY),
                SortValue::Num(2.0),
                SortValue::Num(-1.0),
                SortValue::NaN,
                SortValue::Missing
            ]
        );
        assert_eq!(SortValue::metric(Some(f64::NAN)), SortValue::NaN);
        assert_eq!(SortValue::metric(None), SortValue::Missing);
    }
}
