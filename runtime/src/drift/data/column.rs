//! [`Column`]: a named column of numerical or categorical values ([`ColumnData`]).

use super::categories::{CatBuilder, Categories, MISSING};
use super::kind::ColumnKind;
use crate::drift::error::DriftError;

/// The values of one column.
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnData {
    /// Numbers; `NaN` marks a missing value, `±inf` are counted and excluded from tests.
    Numerical(Vec<f64>),
    /// Dictionary-encoded labels.
    Categorical(Categories),
}

impl Default for ColumnData {
    fn default() -> Self {
        ColumnData::Numerical(Vec::new())
    }
}

/// A named column.
///
/// ```
/// use oxflow_runtime::drift::{Column, ColumnKind};
/// let age = Column::numerical_opt("age", [Some(31.0), None, Some(47.0)]);
/// assert_eq!(age.len(), 3);
/// assert_eq!(age.kind(), ColumnKind::Numerical);
/// let city = Column::categorical("city", ["Lyon", "Oslo", "Lyon"]);
/// assert_eq!(city.kind(), ColumnKind::Categorical);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub(super) name: String,
    pub(super) data: ColumnData,
}

impl Column {
    /// A numerical column; `NaN` is a missing value.
    pub fn numerical(name: impl Into<String>, values: Vec<f64>) -> Self {
        Column {
            name: name.into(),
            data: ColumnData::Numerical(values),
        }
    }

    /// A numerical column with explicit missing values.
    pub fn numerical_opt(
        name: impl Into<String>,
        values: impl IntoIterator<Item = Option<f64>>,
    ) -> Self {
        let v = values.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect();
        Self::numerical(name, v)
    }

    /// A categorical column of labels.
    pub fn categorical<S: AsRef<str>>(
        name: impl Into<String>,
        values: impl IntoIterator<Item = S>,
    ) -> Self {
        Self::categorical_opt(name, values.into_iter().map(Some))
    }

    /// A categorical column of labels with missing values.
    pub fn categorical_opt<S: AsRef<str>>(
        name: impl Into<String>,
        values: impl IntoIterator<Item = Option<S>>,
    ) -> Self {
        Column {
            name: name.into(),
            data: ColumnData::Categorical(Categories::from_labels(values)),
        }
    }

    /// A categorical column of integer classes (labels are the decimal numbers).
    pub fn categorical_ints(
        name: impl Into<String>,
        values: impl IntoIterator<Item = i64>,
    ) -> Self {
        let mut b = CatBuilder::default();
        let mut buf = String::new();
        for v in values {
            buf.clear();
            use std::fmt::Write;
            let _ = write!(buf, "{v}");
            b.push(&buf);
        }
        Column {
            name: name.into(),
            data: ColumnData::Categorical(b.finish()),
        }
    }

    /// A column from already encoded data.
    pub fn new(name: impl Into<String>, data: ColumnData) -> Self {
        Column {
            name: name.into(),
            data,
        }
    }

    /// The column's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The column's values.
    pub fn data(&self) -> &ColumnData {
        &self.data
    }

    /// The column's type.
    pub fn kind(&self) -> ColumnKind {
        match self.data {
            ColumnData::Numerical(_) => ColumnKind::Numerical,
            ColumnData::Categorical(_) => ColumnKind::Categorical,
        }
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        match &self.data {
            ColumnData::Numerical(v) => v.len(),
            ColumnData::Categorical(c) => c.codes.len(),
        }
    }

    /// True when the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Converts to a categorical column (numbers become their decimal text).
    pub fn into_categorical(self) -> Column {
        match self.data {
            ColumnData::Categorical(_) => self,
            ColumnData::Numerical(v) => {
                let mut b = CatBuilder::default();
                for x in v {
                    b.push_number(x);
                }
                Column {
                    name: self.name,
                    data: ColumnData::Categorical(b.finish()),
                }
            }
        }
    }

    /// Converts to a numerical column; labels must parse as numbers.
    pub fn into_numerical(self) -> Result<Column, DriftError> {
        match self.data {
            ColumnData::Numerical(_) => Ok(self),
            ColumnData::Categorical(c) => {
                let mut parsed = Vec::with_capacity(c.labels.len());
                for l in &c.labels {
                    match parse_number(l) {
                        Some(x) => parsed.push(x),
                        None => {
                            let row = c
                                .codes
                                .iter()
                                .position(|&k| k != MISSING && c.labels[k as usize] == *l);
                            return Err(DriftError::ParseNumber {
                                column: self.name,
                                row: row.map_or(0, |r| r + 1),
                                value: l.clone(),
                            });
                        }
                    }
                }
                let v = c
                    .codes
                    .iter()
                    .map(|&k| {
                        if k == MISSING {
                            f64::NAN
                        } else {
                            parsed[k as usize]
                        }
                    })
                    .collect();
                Ok(Column::numerical(self.name, v))
            }
        }
    }

    /// Bytes held by the values (what the benchmark compares peak memory with).
    pub fn heap_size(&self) -> usize {
        match &self.data {
            ColumnData::Numerical(v) => v.len() * 8,
            ColumnData::Categorical(c) => {
                c.codes.len() * 4 + c.labels.iter().map(|l| l.len() + 24).sum::<usize>()
            }
        }
    }
}

/// Parses a number the way the CSV reader does (surrounding spaces allowed).
pub(crate) fn parse_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok()
}
