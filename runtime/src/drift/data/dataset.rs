//! [`Dataset`]: equally long named columns (the reference or the current data), and the check
//! that two datasets can be compared.

use std::collections::HashMap;
use std::path::Path;

use serde::Serialize;

use super::column::Column;
use super::csv_file::{CsvOptions, read_csv_partials};
use super::infer::{ColumnBuilder, Partial};
use super::kind::ColumnKind;
use crate::drift::error::{DriftError, Side};

/// A table of equally long named columns: the reference or the current data.
///
/// ```
/// use oxflow_runtime::drift::{Column, Dataset};
/// let ds = Dataset::new(vec![
///     Column::numerical("x", vec![1.0, 2.0]),
///     Column::categorical("c", ["a", "b"]),
/// ])?;
/// assert_eq!(ds.n_rows(), 2);
/// assert!(ds.column("c").is_some());
/// # Ok::<(), oxflow_runtime::drift::DriftError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    columns: Vec<Column>,
    n_rows: usize,
}

impl Dataset {
    /// Checks that names are unique and lengths equal.
    pub fn new(columns: Vec<Column>) -> Result<Self, DriftError> {
        let n_rows = columns.first().map_or(0, Column::len);
        let mut seen = std::collections::HashSet::new();
        for c in &columns {
            if !seen.insert(c.name.as_str()) {
                return Err(DriftError::DuplicateColumn {
                    column: c.name.clone(),
                });
            }
            if c.len() != n_rows {
                return Err(DriftError::LengthMismatch {
                    column: c.name.clone(),
                    len: c.len(),
                    expected: n_rows,
                });
            }
        }
        Ok(Dataset { columns, n_rows })
    }

    /// Builds a dataset from rows of a serde type (a struct with scalar fields, or a map).
    ///
    /// Numbers become numerical columns, except integer fields with at most ten distinct
    /// values, which become categorical (Evidently's rule); strings and booleans become
    /// categorical; `None`/`null` is a missing value.
    ///
    /// ```
    /// #[derive(serde::Serialize)]
    /// struct Row { age: f64, city: String, plan: Option<String> }
    /// let rows = vec![
    ///     Row { age: 31.0, city: "Lyon".into(), plan: None },
    ///     Row { age: 47.5, city: "Oslo".into(), plan: Some("pro".into()) },
    /// ];
    /// let ds = oxflow_runtime::drift::Dataset::from_rows(&rows)?;
    /// assert_eq!(ds.n_rows(), 2);
    /// # Ok::<(), oxflow_runtime::drift::DriftError>(())
    /// ```
    pub fn from_rows<T: Serialize>(rows: &[T]) -> Result<Self, DriftError> {
        let mut builders: Vec<ColumnBuilder> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for (i, row) in rows.iter().enumerate() {
            let value = serde_json::to_value(row)?;
            let serde_json::Value::Object(map) = value else {
                return Err(DriftError::InvalidArgument(format!(
                    "row {} is not a struct or map; rows must serialise to objects",
                    i + 1
                )));
            };
            for (k, v) in map {
                let idx = *index.entry(k.clone()).or_insert_with(|| {
                    let mut b = ColumnBuilder::new(k.clone(), None);
                    for _ in 0..i {
                        b.push_missing();
                    }
                    builders.push(b);
                    builders.len() - 1
                });
                let b = &mut builders[idx];
                match v {
                    serde_json::Value::Null => b.push_missing(),
                    serde_json::Value::Bool(x) => b.push_label(if x { "true" } else { "false" }),
                    serde_json::Value::Number(n) => {
                        let is_int = n.is_i64() || n.is_u64();
                        b.push_number(n.as_f64().unwrap_or(f64::NAN), is_int);
                    }
                    serde_json::Value::String(s) => b.push_label(&s),
                    _ => {
                        return Err(DriftError::Unsupported {
                            column: k,
                            row: i + 1,
                        });
                    }
                }
            }
            // Fields absent from this row (e.g. skipped `None`) are missing.
            for b in builders.iter_mut() {
                if b.len < i + 1 {
                    b.push_missing();
                }
            }
        }
        let parts: Vec<Partial> = builders.into_iter().map(ColumnBuilder::finish).collect();
        Dataset::new(parts.into_iter().map(|p| p.resolve_alone()).collect())
    }

    /// Reads a CSV file with a header row, inferring each column's type (see [`CsvOptions`]).
    pub fn read_csv(path: impl AsRef<Path>, options: &CsvOptions) -> Result<Self, DriftError> {
        let parts = read_csv_partials(path.as_ref(), options)?;
        Dataset::new(parts.into_iter().map(Partial::resolve_alone).collect())
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }

    /// Column names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }

    /// Bytes held by all columns' values.
    pub fn heap_size(&self) -> usize {
        self.columns.iter().map(Column::heap_size).sum()
    }

    /// Replaces a column's type (numbers become labels, labels are parsed as numbers).
    pub fn set_kind(&mut self, name: &str, kind: ColumnKind) -> Result<(), DriftError> {
        let Some(pos) = self.columns.iter().position(|c| c.name == name) else {
            return Err(DriftError::UnknownColumn {
                column: name.into(),
                option: "a type override".into(),
            });
        };
        let col = std::mem::take(&mut self.columns[pos].data);
        let col = Column {
            name: name.into(),
            data: col,
        };
        self.columns[pos] = match kind {
            ColumnKind::Categorical => col.into_categorical(),
            ColumnKind::Numerical => col.into_numerical()?,
        };
        Ok(())
    }
}

/// Checks that the two datasets have the same columns with the same types.
pub(crate) fn check_compatible(reference: &Dataset, current: &Dataset) -> Result<(), DriftError> {
    for c in reference.columns() {
        match current.column(c.name()) {
            None => {
                return Err(DriftError::MissingColumn {
                    column: c.name().into(),
                    present: Side::Reference,
                    missing: Side::Current,
                });
            }
            Some(d) if d.kind() != c.kind() => {
                return Err(DriftError::TypeMismatch {
                    column: c.name().into(),
                    reference: c.kind(),
                    current: d.kind(),
                });
            }
            _ => {}
        }
    }
    if let Some(d) = current
        .columns()
        .iter()
        .find(|d| reference.column(d.name()).is_none())
    {
        return Err(DriftError::MissingColumn {
            column: d.name().into(),
            present: Side::Current,
            missing: Side::Reference,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatched_lengths_and_duplicates_are_errors() {
        let e = Dataset::new(vec![
            Column::numerical("a", vec![1.0]),
            Column::numerical("b", vec![]),
        ])
        .unwrap_err();
        assert!(matches!(e, DriftError::LengthMismatch { .. }));
        let e = Dataset::new(vec![
            Column::numerical("a", vec![1.0]),
            Column::numerical("a", vec![2.0]),
        ])
        .unwrap_err();
        assert!(matches!(e, DriftError::DuplicateColumn { .. }));
    }
}
