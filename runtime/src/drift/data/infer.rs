//! Type inference: values arrive as text (CSV) or JSON (serde rows) and each column becomes
//! numerical or categorical, with Evidently's rule for integer columns of few distinct values.

use super::categories::{CatBuilder, MISSING};
use super::column::{Column, ColumnData};
use super::kind::ColumnKind;
use crate::drift::error::DriftError;

/// Integer columns with at most this many distinct values are categorical, as in Evidently.
pub const INTEGER_CARDINALITY_LIMIT: usize = 10;

fn is_missing_token(s: &str) -> bool {
    matches!(
        s,
        "" | "NA"
            | "N/A"
            | "NaN"
            | "nan"
            | "null"
            | "NULL"
            | "None"
            | "#N/A"
            | "-NaN"
            | "-nan"
            | "<NA>"
    )
}

fn looks_integer(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = match b.first() {
        Some(b'-') | Some(b'+') => &b[1..],
        _ => b,
    };
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

enum State {
    Num {
        vals: Vec<f64>,
        int_like: bool,
        distinct: Vec<f64>,
        any_missing: bool,
    },
    Cat(CatBuilder),
}

pub(super) struct ColumnBuilder {
    name: String,
    forced: Option<ColumnKind>,
    state: State,
    pub(super) len: usize,
}

impl ColumnBuilder {
    pub(super) fn new(name: String, forced: Option<ColumnKind>) -> Self {
        let state = match forced {
            Some(ColumnKind::Categorical) => State::Cat(CatBuilder::default()),
            _ => State::Num {
                vals: Vec::new(),
                int_like: true,
                distinct: Vec::new(),
                any_missing: false,
            },
        };
        ColumnBuilder {
            name,
            forced,
            state,
            len: 0,
        }
    }

    pub(super) fn push_missing(&mut self) {
        self.len += 1;
        match &mut self.state {
            State::Num {
                vals, any_missing, ..
            } => {
                vals.push(f64::NAN);
                *any_missing = true;
            }
            State::Cat(c) => c.codes.push(MISSING),
        }
    }

    pub(super) fn push_number(&mut self, x: f64, is_int: bool) {
        self.len += 1;
        match &mut self.state {
            State::Num {
                vals,
                int_like,
                distinct,
                any_missing,
            } => {
                vals.push(x);
                if x.is_nan() {
                    *any_missing = true;
                }
                if *int_like {
                    if !is_int {
                        *int_like = false;
                    } else if distinct.len() <= INTEGER_CARDINALITY_LIMIT && !distinct.contains(&x)
                    {
                        distinct.push(x);
                    }
                }
            }
            State::Cat(c) => c.push_number(x),
        }
    }

    pub(super) fn push_label(&mut self, s: &str) {
        self.make_categorical();
        self.len += 1;
        if let State::Cat(c) = &mut self.state {
            c.push(s);
        }
    }

    fn make_categorical(&mut self) {
        if let State::Num { vals, .. } = &mut self.state {
            let mut c = CatBuilder::default();
            for &x in vals.iter() {
                c.push_number(x);
            }
            self.state = State::Cat(c);
        }
    }

    pub(super) fn push_text(&mut self, raw: &str, row: usize) -> Result<(), DriftError> {
        let s = raw.trim();
        if is_missing_token(s) {
            self.push_missing();
            return Ok(());
        }
        if let State::Num { .. } = self.state {
            match s.parse::<f64>() {
                Ok(x) => {
                    let is_int = looks_integer(s);
                    self.push_number(x, is_int);
                    return Ok(());
                }
                Err(_) if self.forced == Some(ColumnKind::Numerical) => {
                    return Err(DriftError::ParseNumber {
                        column: self.name.clone(),
                        row,
                        value: s.to_string(),
                    });
                }
                Err(_) => self.make_categorical(),
            }
        }
        self.len += 1;
        if let State::Cat(c) = &mut self.state {
            c.push(s);
        }
        Ok(())
    }

    pub(super) fn finish(self) -> Partial {
        match self.state {
            State::Num {
                vals,
                int_like,
                distinct,
                any_missing,
            } => {
                let small_ints =
                    (self.forced.is_none() && int_like && !any_missing && !vals.is_empty())
                        .then_some(distinct);
                Partial {
                    name: self.name,
                    data: ColumnData::Numerical(vals),
                    small_ints,
                }
            }
            State::Cat(c) => Partial {
                name: self.name,
                data: ColumnData::Categorical(c.finish()),
                small_ints: None,
            },
        }
    }
}

/// A column read from one source before the integer-cardinality rule is applied.
pub(super) struct Partial {
    pub(super) name: String,
    data: ColumnData,
    /// For an all-integer column with no missing value: its distinct values (at most 11).
    small_ints: Option<Vec<f64>>,
}

impl Partial {
    fn is_small_int(&self, other: Option<&Partial>) -> bool {
        let Some(a) = &self.small_ints else {
            return false;
        };
        let mut all: Vec<f64> = a.clone();
        if let Some(o) = other {
            let Some(b) = &o.small_ints else { return false };
            for x in b {
                if !all.contains(x) {
                    all.push(*x);
                }
            }
        }
        all.len() <= INTEGER_CARDINALITY_LIMIT
    }

    pub(super) fn resolve_alone(self) -> Column {
        let cat = self.is_small_int(None);
        let col = Column {
            name: self.name,
            data: self.data,
        };
        if cat { col.into_categorical() } else { col }
    }

    pub(super) fn resolve_pair(a: Partial, b: Partial) -> (Column, Column) {
        let cat = a.is_small_int(Some(&b));
        let ca = Column {
            name: a.name,
            data: a.data,
        };
        let cb = Column {
            name: b.name,
            data: b.data,
        };
        if cat {
            (ca.into_categorical(), cb.into_categorical())
        } else {
            (ca, cb)
        }
    }
}
