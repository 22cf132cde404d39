//! [`ReferenceProfile`]: a small, versioned summary of a model's training data, saved with the
//! model (`reference_profile.json`) so a scoring server can test the inputs it sees for drift
//! with the same tests and thresholds as `oxflow drift`, without the training data.
//!
//! Up to [`PROFILE_SAMPLE`] rows, a column keeps every value: the reference rebuilt from the
//! profile is the training data's column, and the tests are exactly `oxflow drift`'s. Beyond
//! that, a numerical column keeps [`PROFILE_SAMPLE`] quantiles and a categorical one its label
//! counts; the reference is then rebuilt as a sample of that size, and each column's test is
//! the one Evidently picks for the real reference size (Wasserstein or Jensen–Shannon, which
//! compare distributions, not sample sizes), so the decision is the one `oxflow drift` makes
//! to within the quantiles' resolution.
//!
//! Column kinds follow `oxflow drift` on serde rows: numbers are numerical, except integer
//! columns with at most ten distinct values (Evidently's rule); strings and booleans are
//! categorical; binary, date-time and array columns are not profiled.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::ModelError;
use super::schema::{ColType, DataType, Signature};
use crate::drift::{Column, ColumnKind, Dataset, DriftOptions, default_test};

/// The file a profile is saved as, in the model directory.
pub const PROFILE_FILE: &str = "reference_profile.json";
/// The layout of the profile this oxflow writes and reads.
pub const PROFILE_FORMAT_VERSION: u32 = 1;
/// Values kept per column: every value up to this many rows, else this many quantiles.
pub const PROFILE_SAMPLE: usize = 1000;
/// Integer columns with at most this many distinct values are categorical (Evidently).
const MAX_CATEGORICAL_INTS: usize = 10;

/// A summary of the reference (training) data, per column.
///
/// ```
/// use oxflow_runtime::model::{ColSpec, ColType, DataType, ReferenceProfile, Signature};
/// let sig = Signature {
///     inputs: vec![ColSpec::new("x", ColType::Scalar(DataType::Double), true)],
///     outputs: vec![],
/// };
/// let rows: Vec<_> = (0..50)
///     .map(|i| serde_json::json!({"x": i as f64}).as_object().unwrap().clone())
///     .collect();
/// let profile = ReferenceProfile::from_records(&sig, &rows);
/// assert_eq!(profile.rows, 50);
/// let report = profile.check(&rows).unwrap();
/// assert!(!report.dataset.dataset_drift);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceProfile {
    /// [`PROFILE_FORMAT_VERSION`] when written.
    pub format_version: u32,
    /// Rows in the reference data.
    pub rows: usize,
    /// One entry per profiled column, in signature order.
    pub columns: Vec<ProfileColumn>,
}

/// One column of a [`ReferenceProfile`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileColumn {
    /// The column name.
    pub name: String,
    /// Rows where it was missing.
    pub missing: usize,
    /// Its values, or their summary.
    pub values: ProfileValues,
}

/// The values of a profiled column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum ProfileValues {
    /// A numerical column.
    Numerical {
        /// Non-missing, finite values in the reference.
        count: usize,
        /// Up to six distinct values (what decides between tests).
        distinct: Vec<f64>,
        /// Every value, sorted (when `count` ≤ [`PROFILE_SAMPLE`]), else that many quantiles.
        values: Vec<f64>,
    },
    /// A categorical column: how often each label occurs.
    Categorical {
        /// Label → count.
        counts: BTreeMap<String, u64>,
    },
}

/// A cell as the label a categorical column holds.
fn label(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_owned()),
        // 3 and 3.0 are one label: an integer column may arrive as floats.
        Value::Number(n) => Some(match n.as_f64() {
            Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => format!("{}", x as i64),
            _ => n.to_string(),
        }),
        other => Some(other.to_string()),
    }
}

fn number(v: &Value) -> Option<f64> {
    v.as_f64().filter(|x| x.is_finite())
}

impl ReferenceProfile {
    /// Profiles records (column → value, as [`Schema::to_row`](super::Schema::to_row) or a
    /// scoring request gives them) against the signature's input columns.
    pub fn from_records(signature: &Signature, records: &[Map<String, Value>]) -> ReferenceProfile {
        let mut columns = Vec::new();
        for spec in &signature.inputs {
            let (Some(name), ColType::Scalar(ty)) = (&spec.name, &spec.ty) else {
                continue;
            };
            let cells = records.iter().map(|r| r.get(name).unwrap_or(&Value::Null));
            let values = match ty {
                DataType::Double | DataType::Float | DataType::Long | DataType::Integer => {
                    let mut nums: Vec<f64> = cells.filter_map(number).collect();
                    nums.sort_by(f64::total_cmp);
                    let mut distinct = nums.clone();
                    distinct.dedup();
                    let integer = matches!(ty, DataType::Long | DataType::Integer);
                    if integer && distinct.len() <= MAX_CATEGORICAL_INTS {
                        ProfileValues::Categorical {
                            counts: counts(records.iter().map(|r| r.get(name))),
                        }
                    } else {
                        distinct.truncate(6);
                        let count = nums.len();
                        ProfileValues::Numerical {
                            count,
                            distinct,
                            values: if count <= PROFILE_SAMPLE {
                                nums
                            } else {
                                quantiles(&nums, PROFILE_SAMPLE)
                            },
                        }
                    }
                }
                DataType::Boolean | DataType::Str => ProfileValues::Categorical {
                    counts: counts(records.iter().map(|r| r.get(name))),
                },
                DataType::Binary | DataType::Datetime => continue,
            };
            let present = match &values {
                ProfileValues::Numerical { count, .. } => *count,
                ProfileValues::Categorical { counts } => counts.values().sum::<u64>() as usize,
            };
            columns.push(ProfileColumn {
                name: name.clone(),
                missing: records.len() - present,
                values,
            });
        }
        ReferenceProfile {
            format_version: PROFILE_FORMAT_VERSION,
            rows: records.len(),
            columns,
        }
    }

    /// Reads a profile; `file` names it in errors. A newer format is refused, naming both
    /// versions.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<ReferenceProfile, ModelError> {
        let profile: ReferenceProfile =
            serde_json::from_slice(bytes).map_err(|e| ModelError::File {
                file: file.to_owned(),
                reason: format!("is not a reference profile: {e}"),
            })?;
        if profile.format_version != PROFILE_FORMAT_VERSION {
            return Err(ModelError::File {
                file: file.to_owned(),
                reason: format!(
                    "has profile format {}; this oxflow reads format {PROFILE_FORMAT_VERSION}",
                    profile.format_version
                ),
            });
        }
        Ok(profile)
    }

    /// Whether the profile keeps every value (the reference had at most [`PROFILE_SAMPLE`]
    /// rows).
    fn exact(&self) -> bool {
        self.rows <= PROFILE_SAMPLE
    }

    /// The reference data rebuilt from the profile.
    pub fn reference(&self) -> Dataset {
        let exact = self.exact();
        let columns = self
            .columns
            .iter()
            .map(|c| match &c.values {
                ProfileValues::Numerical { values, .. } => {
                    let mut v = values.clone();
                    if exact {
                        v.extend(std::iter::repeat_n(f64::NAN, c.missing));
                    }
                    Column::numerical(&c.name, v)
                }
                ProfileValues::Categorical { counts } => {
                    let scaled = if exact {
                        counts.clone()
                    } else {
                        scale_counts(counts, PROFILE_SAMPLE as u64)
                    };
                    let mut labels: Vec<Option<&str>> = scaled
                        .iter()
                        .flat_map(|(l, n)| std::iter::repeat_n(Some(l.as_str()), *n as usize))
                        .collect();
                    if exact {
                        labels.extend(std::iter::repeat_n(None, c.missing));
                    }
                    Column::categorical_opt(&c.name, labels)
                }
            })
            .collect();
        Dataset::new(columns).unwrap_or_default()
    }

    /// Current data (records) as a dataset with the profile's columns and kinds.
    pub fn current(&self, records: &[Map<String, Value>]) -> Dataset {
        let columns = self
            .columns
            .iter()
            .map(|c| {
                let cells = records
                    .iter()
                    .map(|r| r.get(&c.name).unwrap_or(&Value::Null));
                match &c.values {
                    ProfileValues::Numerical { .. } => {
                        Column::numerical_opt(&c.name, cells.map(number))
                    }
                    ProfileValues::Categorical { .. } => {
                        let labels: Vec<Option<String>> = cells.map(label).collect();
                        Column::categorical_opt(&c.name, labels)
                    }
                }
            })
            .collect();
        Dataset::new(columns).unwrap_or_default()
    }

    /// `oxflow drift`'s options for comparing `current` with this reference: Evidently's
    /// defaults, with each summarised column's test chosen for the real reference size.
    pub fn options(&self, current: &Dataset) -> DriftOptions {
        let mut opts = DriftOptions::default();
        if self.exact() {
            return opts;
        }
        for c in &self.columns {
            let test = match &c.values {
                ProfileValues::Numerical {
                    count, distinct, ..
                } => {
                    let mut union = distinct.clone();
                    if let Some(crate::drift::ColumnData::Numerical(cur)) =
                        current.column(&c.name).map(Column::data)
                    {
                        for x in cur.iter().filter(|x| x.is_finite()) {
                            if union.len() > 5 {
                                break;
                            }
                            if !union.contains(x) {
                                union.push(*x);
                            }
                        }
                    }
                    default_test(ColumnKind::Numerical, *count, union.len())
                }
                ProfileValues::Categorical { counts } => default_test(
                    ColumnKind::Categorical,
                    counts.values().sum::<u64>() as usize,
                    counts.len(),
                ),
            };
            opts = opts.with_test(&c.name, test);
        }
        opts
    }

    /// Tests `records` against the reference, as `oxflow drift` would, without setting the
    /// process's unlabelled drift gauges. `None` when nothing can be tested.
    pub fn check(&self, records: &[Map<String, Value>]) -> Option<crate::drift::DriftReport> {
        if self.columns.is_empty() || records.is_empty() {
            return None;
        }
        let current = self.current(records);
        let opts = self.options(&current);
        crate::drift::detect_unrecorded(&self.reference(), &current, &opts).ok()
    }
}

/// Label counts of the cells (missing ones left out).
fn counts<'a>(cells: impl Iterator<Item = Option<&'a Value>>) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for l in cells.filter_map(|v| v.and_then(label)) {
        *out.entry(l).or_insert(0) += 1;
    }
    out
}

/// `n` quantiles of sorted values, at the midpoints of `n` equal-probability bins: a sample of
/// size `n` with the same distribution.
fn quantiles(sorted: &[f64], n: usize) -> Vec<f64> {
    let last = (sorted.len() - 1) as f64;
    (0..n)
        .map(|i| {
            let pos = (i as f64 + 0.5) / n as f64 * last;
            let (lo, frac) = (pos.floor() as usize, pos.fract());
            let hi = (lo + 1).min(sorted.len() - 1);
            sorted[lo] + (sorted[hi] - sorted[lo]) * frac
        })
        .collect()
}

/// Counts scaled to sum to `total` (largest remainder), every present label kept at least once.
fn scale_counts(counts: &BTreeMap<String, u64>, total: u64) -> BTreeMap<String, u64> {
    let sum: u64 = counts.values().sum();
    if sum == 0 {
        return counts.clone();
    }
    let exact: Vec<(&String, f64)> = counts
        .iter()
        .map(|(l, n)| (l, *n as f64 * total as f64 / sum as f64))
        .collect();
    let mut out: BTreeMap<String, u64> = exact
        .iter()
        .map(|(l, x)| ((*l).clone(), (x.floor() as u64).max(1)))
        .collect();
    let mut assigned: u64 = out.values().sum();
    let mut order: Vec<&(&String, f64)> = exact.iter().collect();
    order.sort_by(|a, b| b.1.fract().total_cmp(&a.1.fract()));
    for (l, _) in order.iter().cycle().take(exact.len() * 2) {
        if assigned >= total {
            break;
        }
        *out.get_mut(*l).expect("label present") += 1;
        assigned += 1;
    }
    // Rare labels kept at 1 can overshoot: take the excess from the most frequent.
    while assigned > total {
        let Some(top) = out.values_mut().max() else {
            break;
        };
        *top -= 1;
        assigned -= 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ColSpec;
    use serde_json::json;

    fn sig() -> Signature {
        Signature {
            inputs: vec![
                ColSpec::new("x", ColType::Scalar(DataType::Double), true),
                ColSpec::new("plan", ColType::Scalar(DataType::Str), false),
                ColSpec::new("rooms", ColType::Scalar(DataType::Long), true),
            ],
            outputs: vec![],
        }
    }

    fn records(n: usize, shift: f64) -> Vec<Map<String, Value>> {
        (0..n)
            .map(|i| {
                let plan = if i % 7 == 0 {
                    Value::Null
                } else if i % 3 == 0 {
                    json!("pro")
                } else {
                    json!("free")
                };
                json!({"x": (i % 97) as f64 + shift, "plan": plan, "rooms": i % 4})
                    .as_object()
                    .unwrap()
                    .clone()
            })
            .collect()
    }

    #[test]
    fn a_small_reference_is_kept_exactly_and_tested_like_oxflow_drift() {
        let reference = records(800, 0.0);
        let profile = ReferenceProfile::from_records(&sig(), &reference);
        assert!(
            matches!(profile.columns[2].values, ProfileValues::Categorical { .. }),
            "few distinct ints are categorical"
        );
        for shift in [0.0, 30.0] {
            let current = records(300, shift);
            let via_profile = profile.check(&current).unwrap();
            let direct = crate::drift::detect_unrecorded(
                &profile.current(&reference),
                &profile.current(&current),
                &DriftOptions::default(),
            )
            .unwrap();
            assert_eq!(via_profile.columns, direct.columns, "shift {shift}");
        }
        assert!(
            profile
                .check(&records(300, 30.0))
                .unwrap()
                .column("x")
                .unwrap()
                .drift_detected
        );
        let text = serde_json::to_vec(&profile).unwrap();
        assert_eq!(ReferenceProfile::parse("p.json", &text).unwrap(), profile);
    }

    #[test]
    fn a_large_reference_is_summarised_and_decides_as_the_full_data_does() {
        let reference = records(20_000, 0.0);
        let profile = ReferenceProfile::from_records(&sig(), &reference);
        let size = serde_json::to_vec(&profile).unwrap().len();
        assert!(size < 40_000, "profile of {size} bytes");
        for shift in [0.0, 3.0, 30.0] {
            let current = records(1000, shift);
            let via_profile = profile.check(&current).unwrap();
            let direct = crate::drift::detect_unrecorded(
                &profile.current(&reference),
                &profile.current(&current),
                &DriftOptions::default(),
            )
            .unwrap();
            for (a, b) in via_profile.columns.iter().zip(&direct.columns) {
                assert_eq!(
                    (a.test, a.drift_detected),
                    (b.test, b.drift_detected),
                    "{} shift {shift}",
                    a.column
                );
                let (sa, sb) = (a.score.unwrap(), b.score.unwrap());
                assert!((sa - sb).abs() < 0.01, "{}: {sa} vs {sb}", a.column);
            }
        }
    }

    #[test]
    fn a_newer_or_malformed_profile_is_refused_naming_the_file() {
        let e = ReferenceProfile::parse(
            "m/reference_profile.json",
            br#"{"format_version": 9, "rows": 0, "columns": []}"#,
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("m/reference_profile.json") && e.contains("format 9"),
            "{e}"
        );
        let e = ReferenceProfile::parse("p.json", b"{")
            .unwrap_err()
            .to_string();
        assert!(e.contains("p.json"), "{e}");
    }
}
