//! DataFrame requests read for the ONNX flavor: the rows of a `dataframe_split` body in
//! place (no record per row), or its bytes parsed straight into one flat buffer of scalars
//! ([`FlatSplit`]); each signature column's cells read with MLflow's enforcement into a
//! buffer of [`Cell`]s (no JSON value per cell), from which the input tensor is filled.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::model::column::{ColumnValue, read_cell, show};
use crate::model::enforce::check_columns;
use crate::model::schema::{ColSpec, ColType, DataType};
use crate::model::{INPUT_KEYS, ModelError, ScoringRequest};

/// A request cell after its column's type is applied (an integer column's value is an
/// integer, a float column's a float, a missing optional value null), before the graph
/// input's element type is: the JSON value the flavor used to build per cell, without it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Cell {
    Null,
    Float(f64),
    Int(i64),
    Bool(bool),
}

impl Cell {
    /// A float as JSON has it: NaN and infinities are null.
    fn float(x: f64) -> Cell {
        if x.is_finite() {
            Cell::Float(x)
        } else {
            Cell::Null
        }
    }
}

/// A value a tensor element is read from: a leaf of a tensor request's nested list, or a
/// [`Cell`] of a DataFrame request. Null is NaN, a boolean 0 or 1.
pub(super) trait Element {
    /// As a float; `None` if it is not a number.
    fn as_float(&self) -> Option<f64>;
    /// As an integer; `None` if it is not an integer.
    fn as_int(&self) -> Option<i64>;
    /// As JSON, for an error message.
    fn json(&self) -> String;
}

impl Element for Value {
    fn as_float(&self) -> Option<f64> {
        match self {
            Value::Null => Some(f64::NAN),
            Value::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => self.as_f64(),
        }
    }
    fn as_int(&self) -> Option<i64> {
        match self {
            Value::Bool(b) => Some(i64::from(*b)),
            _ => self.as_i64(),
        }
    }
    fn json(&self) -> String {
        show(self)
    }
}

impl Element for Cell {
    fn as_float(&self) -> Option<f64> {
        Some(match *self {
            Cell::Null => f64::NAN,
            Cell::Bool(b) => f64::from(u8::from(b)),
            Cell::Float(x) => x,
            Cell::Int(i) => i as f64,
        })
    }
    fn as_int(&self) -> Option<i64> {
        match *self {
            Cell::Bool(b) => Some(i64::from(b)),
            Cell::Int(i) => Some(i),
            Cell::Null | Cell::Float(_) => None,
        }
    }
    fn json(&self) -> String {
        let v = match *self {
            Cell::Null => Value::Null,
            Cell::Float(x) => serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
            Cell::Int(i) => i.into(),
            Cell::Bool(b) => b.into(),
        };
        show(&v)
    }
}

/// The rows of a DataFrame request.
#[derive(Debug)]
pub(super) enum Frame<'a> {
    /// A well-formed `dataframe_split` body, read in place: its column names and its rows,
    /// each a list of one value per column.
    Split {
        columns: Vec<&'a str>,
        rows: &'a [Value],
    },
    /// A `dataframe_split` body parsed from its bytes: its column names and its cells, row
    /// after row.
    Flat {
        columns: &'a [Cow<'a, str>],
        cells: &'a [Value],
        rows: usize,
    },
    /// Any other shape, taken apart into records by [`ScoringRequest::parse`].
    Records(Vec<Map<String, Value>>),
}

impl<'a> Frame<'a> {
    /// Reads a DataFrame request; a malformed one gets [`ScoringRequest::parse`]'s error.
    pub(super) fn parse(body: &'a Value) -> Result<Frame<'a>, ModelError> {
        match Frame::split(body) {
            Some(frame) => Ok(frame),
            None => Ok(Frame::Records(ScoringRequest::parse(body)?.records)),
        }
    }

    /// The body as a [`Frame::Split`] when [`ScoringRequest::parse`] would take it as a
    /// `dataframe_split` without a remark (one input key, `params` an object if given,
    /// string column names, every row a list of one value per column); `None` leaves every
    /// other body, and every refusal, to it.
    fn split(body: &'a Value) -> Option<Frame<'a>> {
        let obj = body.as_object()?;
        if INPUT_KEYS.iter().filter(|k| obj.contains_key(**k)).count() != 1
            || !matches!(
                obj.get("params"),
                None | Some(Value::Null | Value::Object(_))
            )
        {
            return None;
        }
        let split = obj.get("dataframe_split")?.as_object()?;
        let columns = split
            .get("columns")?
            .as_array()?
            .iter()
            .map(Value::as_str)
            .collect::<Option<Vec<&str>>>()?;
        let rows = split.get("data")?.as_array()?;
        rows.iter()
            .all(|r| r.as_array().is_some_and(|r| r.len() == columns.len()))
            .then_some(Frame::Split { columns, rows })
    }

    /// The number of rows.
    pub(super) fn len(&self) -> usize {
        match self {
            Frame::Split { rows, .. } => rows.len(),
            Frame::Flat { rows, .. } => *rows,
            Frame::Records(records) => records.len(),
        }
    }

    /// Required columns the request lacks, as MLflow reports them (a request without rows
    /// lacks every column).
    pub(super) fn check_columns(&self, cols: &[ColSpec]) -> Result<(), ModelError> {
        match self {
            Frame::Records(records) => check_columns(cols, records),
            Frame::Split { columns, rows } => {
                split_missing(cols, rows.is_empty(), |name| columns.contains(&name))
            }
            Frame::Flat { columns, rows, .. } => {
                split_missing(cols, *rows == 0, |name| columns.iter().any(|c| c == name))
            }
        }
    }

    /// Column `c`'s cells, row by row, read with its type; an error names the column, the
    /// row and the value.
    pub(super) fn column(&self, c: &ColSpec) -> Result<Vec<Cell>, ModelError> {
        let name = c.display_name();
        match self {
            Frame::Split { columns, rows } => {
                // A repeated column name keeps its last column, as a record built from the
                // row would.
                let j = columns.iter().rposition(|k| *k == name);
                rows.iter()
                    .enumerate()
                    .map(|(i, r)| cell(j.and_then(|j| r.get(j)), name, i, &c.ty))
                    .collect()
            }
            Frame::Flat {
                columns,
                cells,
                rows,
            } => {
                let j = columns.iter().rposition(|k| k == name);
                let width = columns.len();
                (0..*rows)
                    .map(|i| cell(j.map(|j| &cells[i * width + j]), name, i, &c.ty))
                    .collect()
            }
            Frame::Records(records) => records
                .iter()
                .enumerate()
                .map(|(i, r)| cell(r.get(name), name, i, &c.ty))
                .collect(),
        }
    }
}

/// The required columns a `dataframe_split` lacks (every one without rows), as
/// `check_columns` finds them in its records.
fn split_missing(
    cols: &[ColSpec],
    no_rows: bool,
    has: impl Fn(&str) -> bool,
) -> Result<(), ModelError> {
    let missing: Vec<String> = cols
        .iter()
        .filter(|c| c.required)
        .filter_map(|c| c.name.as_ref())
        .filter(|name| no_rows || !has(name))
        .cloned()
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ModelError::MissingInputs { columns: missing })
    }
}

/// A request body `{"dataframe_split": {"columns": [...], "data": [[...], ...]}}` of scalar
/// cells (numbers, booleans, nulls), parsed from its bytes by serde_json into one flat
/// buffer: no `Value` tree, no list per row. Cells are kept as the `Value`s serde_json
/// would have built for them (numbers and booleans need no heap), so they are read with
/// the same rules.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FlatSplit<'a> {
    #[serde(borrow)]
    dataframe_split: SplitBody<'a>,
}

#[derive(Debug, Deserialize)]
struct SplitBody<'a> {
    #[serde(borrow)]
    columns: Vec<Cow<'a, str>>,
    data: FlatRows,
}

impl<'a> FlatSplit<'a> {
    /// The body, if it is such a request with as many cells in every row as columns; `None`
    /// for anything else (another input key, `params`, a string cell, a ragged row, a
    /// repeated key, malformed JSON), which the general path reads and refuses as before.
    pub(super) fn parse(body: &'a [u8]) -> Option<FlatSplit<'a>> {
        let split: FlatSplit<'a> = serde_json::from_slice(body).ok()?;
        let SplitBody { columns, data } = &split.dataframe_split;
        let fits = data.rows == 0 || data.cells.len() == data.rows * columns.len();
        fits.then_some(split)
    }

    /// The rows, to read columns from.
    pub(super) fn frame(&self) -> Frame<'_> {
        let SplitBody { columns, data } = &self.dataframe_split;
        Frame::Flat {
            columns,
            cells: &data.cells,
            rows: data.rows,
        }
    }
}

/// The `data` of a split: every row's cells in one buffer.
#[derive(Debug, Default)]
struct FlatRows {
    cells: Vec<Value>,
    rows: usize,
    /// Cells per row, from the first row; every row must have as many.
    width: Option<usize>,
}

impl<'de> Deserialize<'de> for FlatRows {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<FlatRows, D::Error> {
        struct Rows;
        impl<'de> Visitor<'de> for Rows {
            type Value = FlatRows;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of rows")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FlatRows, A::Error> {
                let mut rows = FlatRows::default();
                while seq.next_element_seed(Row(&mut rows))?.is_some() {}
                Ok(rows)
            }
        }
        d.deserialize_seq(Rows)
    }
}

/// Appends one row's cells to the buffer.
struct Row<'r>(&'r mut FlatRows);

impl<'de> DeserializeSeed<'de> for Row<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Row<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a row: a list of numbers, booleans and nulls")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let start = self.0.cells.len();
        while let Some(Scalar(v)) = seq.next_element()? {
            self.0.cells.push(v);
        }
        let width = self.0.cells.len() - start;
        if *self.0.width.get_or_insert(width) != width {
            return Err(de::Error::custom("rows of different lengths"));
        }
        self.0.rows += 1;
        Ok(())
    }
}

/// One cell: a number, boolean or null, as the `Value` serde_json builds for it.
struct Scalar(Value);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Scalar, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number, a boolean or null")
            }
            fn visit_bool<E>(self, b: bool) -> Result<Scalar, E> {
                Ok(Scalar(Value::Bool(b)))
            }
            fn visit_i64<E>(self, i: i64) -> Result<Scalar, E> {
                Ok(Scalar(i.into()))
            }
            fn visit_u64<E>(self, u: u64) -> Result<Scalar, E> {
                Ok(Scalar(u.into()))
            }
            fn visit_f64<E>(self, x: f64) -> Result<Scalar, E> {
                Ok(Scalar(
                    serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number),
                ))
            }
            fn visit_unit<E>(self) -> Result<Scalar, E> {
                Ok(Scalar(Value::Null))
            }
        }
        d.deserialize_any(V)
    }
}

/// A column's value in row `row` (`None`: absent), read with the column's type (MLflow's
/// enforcement: an integer is a valid double, a string is not); a missing optional value is
/// null (NaN).
fn cell(value: Option<&Value>, name: &str, row: usize, ty: &ColType) -> Result<Cell, ModelError> {
    fn read<T: ColumnValue>(
        value: Option<&Value>,
        name: &str,
        row: usize,
        cell: impl FnOnce(T) -> Cell,
    ) -> Result<Cell, ModelError> {
        Ok(read_cell::<Option<T>>(value, name, row)?.map_or(Cell::Null, cell))
    }
    match ty {
        ColType::Scalar(DataType::Float) => {
            read::<f32>(value, name, row, |x| Cell::float(f64::from(x)))
        }
        ColType::Scalar(DataType::Long) => read::<i64>(value, name, row, Cell::Int),
        ColType::Scalar(DataType::Integer) => {
            read::<i32>(value, name, row, |x| Cell::Int(i64::from(x)))
        }
        ColType::Scalar(DataType::Boolean) => read::<bool>(value, name, row, Cell::Bool),
        // Double, and other types, which are refused when the model is loaded.
        _ => read::<f64>(value, name, row, Cell::float),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn col(name: &str, ty: DataType, required: bool) -> ColSpec {
        ColSpec::new(name, ColType::Scalar(ty), required)
    }

    fn split(body: &Value) -> Frame<'_> {
        let frame = Frame::parse(body).unwrap();
        assert!(matches!(frame, Frame::Split { .. }), "{frame:?}");
        frame
    }

    #[test]
    fn a_double_column_takes_integers_and_floats_and_null_is_nan() {
        let body =
            json!({"dataframe_split": {"columns": ["x"], "data": [[1], [2.5], [null], [-3]]}});
        let frame = split(&body);
        let cells = frame.column(&col("x", DataType::Double, false)).unwrap();
        assert_eq!(
            cells,
            [
                Cell::Float(1.0),
                Cell::Float(2.5),
                Cell::Null,
                Cell::Float(-3.0)
            ]
        );
        assert!(cells[2].as_float().unwrap().is_nan());
    }

    #[test]
    fn a_float_column_rounds_to_float32_and_refuses_an_overflow_naming_the_column() {
        let body = json!({"dataframe_split": {"columns": ["x"], "data": [[0.1], [1e300]]}});
        let frame = split(&body);
        let err = frame
            .column(&col("x", DataType::Float, true))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "column `x` (float), row 1: 1e+300 does not fit in a float (float32)"
        );
        let ok = json!({"dataframe_split": {"columns": ["x"], "data": [[0.1]]}});
        let cells = split(&ok).column(&col("x", DataType::Float, true)).unwrap();
        assert_eq!(cells, [Cell::Float(f64::from(0.1f32))]);
    }

    #[test]
    fn an_integer_column_refuses_a_float_and_a_string_naming_column_and_row() {
        let body = json!({"dataframe_split": {"columns": ["a", "n"], "data": [[1, 2], [1, 2.0]]}});
        let frame = split(&body);
        let err = frame.column(&col("n", DataType::Long, true)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "column `n` (long), row 1: 2.0 is not an integer"
        );
        let body = json!({"dataframe_split": {"columns": ["n"], "data": [["7"]]}});
        let err = split(&body)
            .column(&col("n", DataType::Double, true))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "column `n` (double), row 0: \"7\" is not a number"
        );
    }

    #[test]
    fn null_in_a_required_column_is_nan_and_a_missing_column_is_an_error() {
        // The flavor reads every column as optional: null is a missing value (NaN), as
        // pandas gives it for a float column; only an absent column is refused.
        let body = json!({"dataframe_split": {"columns": ["x"], "data": [[null]]}});
        let frame = split(&body);
        let x = frame.column(&col("x", DataType::Double, true)).unwrap();
        assert_eq!(x, [Cell::Null]);
        let cols = [
            col("x", DataType::Double, true),
            col("y", DataType::Double, true),
        ];
        assert_eq!(
            frame.check_columns(&cols).unwrap_err().to_string(),
            "Model is missing inputs ['y']."
        );
        // A column that is absent (optional, or reading on past the check) reads as null.
        let y = frame.column(&col("y", DataType::Double, false)).unwrap();
        assert_eq!(y, [Cell::Null]);
    }

    #[test]
    fn a_split_without_rows_lacks_every_required_column() {
        let body = json!({"dataframe_split": {"columns": ["x"], "data": []}});
        let err = split(&body)
            .check_columns(&[col("x", DataType::Double, true)])
            .unwrap_err();
        assert_eq!(err.to_string(), "Model is missing inputs ['x'].");
    }

    #[test]
    fn a_repeated_column_name_reads_its_last_column() {
        let body = json!({"dataframe_split": {"columns": ["x", "x"], "data": [[1, 2]]}});
        let cells = split(&body)
            .column(&col("x", DataType::Long, true))
            .unwrap();
        assert_eq!(cells, [Cell::Int(2)]);
    }

    #[test]
    fn malformed_or_other_bodies_are_read_as_records_with_their_errors() {
        for body in [
            json!({"dataframe_split": {"columns": ["x"], "data": [[1, 2]]}}),
            json!({"dataframe_split": {"columns": [1], "data": [[1]]}}),
            json!({"dataframe_split": {"columns": ["x"], "data": [[1]]}, "inputs": [[1]]}),
        ] {
            let want = ScoringRequest::parse(&body).unwrap_err().to_string();
            assert_eq!(Frame::parse(&body).unwrap_err().to_string(), want);
        }
        let records = json!({"dataframe_records": [{"x": 1}, {"x": null}]});
        let frame = Frame::parse(&records).unwrap();
        assert!(matches!(frame, Frame::Records(_)));
        let cells = frame.column(&col("x", DataType::Long, false)).unwrap();
        assert_eq!(cells, [Cell::Int(1), Cell::Null]);
    }

    #[test]
    fn a_split_parsed_from_bytes_reads_as_the_split_value_does() {
        let texts = [
            r#"{"dataframe_split": {"columns": ["a", "b", "c"], "data": [[1, 2.5, true], [null, -1, false], [18446744073709551615, 1e-7, 0]]}}"#,
            r#"{"dataframe_split": {"index": [0], "columns": ["a", "b", "c"], "data": [[1, 2, 3]]}}"#,
            r#"{"dataframe_split": {"columns": ["a", "ab", "c"], "data": []}}"#,
        ];
        let cols = [
            col("a", DataType::Double, false),
            col("ab", DataType::Float, true),
            col("b", DataType::Double, false),
            col("c", DataType::Boolean, false),
            col("c", DataType::Long, false),
        ];
        for text in texts {
            let flat = FlatSplit::parse(text.as_bytes()).unwrap_or_else(|| panic!("{text}"));
            let value: Value = serde_json::from_str(text).unwrap();
            let (f, v) = (flat.frame(), split(&value));
            assert_eq!(f.len(), v.len());
            for c in &cols {
                let (a, b) = (f.column(c), v.column(c));
                assert_eq!(format!("{a:?}"), format!("{b:?}"), "{text}: {c:?}");
            }
            assert_eq!(
                format!("{:?}", f.check_columns(&cols)),
                format!("{:?}", v.check_columns(&cols))
            );
        }
    }

    #[test]
    fn other_bodies_are_left_to_the_general_path() {
        for text in [
            r#"{"dataframe_split": {"columns": ["a"], "data": [["x"]]}}"#,
            r#"{"dataframe_split": {"columns": ["a"], "data": [[1], [1, 2]]}}"#,
            r#"{"dataframe_split": {"columns": ["a", "b"], "data": [[1], [2]]}}"#,
            r#"{"dataframe_split": {"columns": ["a"], "data": [[1]]}, "params": {}}"#,
            r#"{"dataframe_split": {"columns": ["a"], "data": [[[1]]]}}"#,
            r#"{"dataframe_split": {"columns": ["a"], "columns": ["b"], "data": [[1]]}}"#,
            r#"{"dataframe_records": [{"a": 1}]}"#,
            r#"{"dataframe_split": {"columns": ["a"], "data": [[1]]}"#,
            r#"[1]"#,
        ] {
            assert!(FlatSplit::parse(text.as_bytes()).is_none(), "{text}");
        }
    }

    #[test]
    fn split_and_records_read_the_same_cells() {
        let data = json!([[1, 2.5, true], [null, -1, false]]);
        let split_body = json!({"dataframe_split": {"columns": ["a", "b", "c"], "data": data}});
        let records_body = json!({"dataframe_records": [
            {"a": 1, "b": 2.5, "c": true}, {"a": null, "b": -1, "c": false}
        ]});
        let cols = [
            col("a", DataType::Double, false),
            col("b", DataType::Float, true),
            col("c", DataType::Boolean, true),
        ];
        let (s, r) = (split(&split_body), Frame::parse(&records_body).unwrap());
        for c in &cols {
            assert_eq!(s.column(c).unwrap(), r.column(c).unwrap());
        }
    }

    #[test]
    fn cells_convert_to_tensor_elements_as_json_values_do() {
        let cases = [
            (Cell::Null, Value::Null),
            (Cell::Float(2.5), json!(2.5)),
            (Cell::Int(-4), json!(-4)),
            (Cell::Bool(true), json!(true)),
        ];
        for (cell, value) in cases {
            let (a, b) = (cell.as_float().unwrap(), value.as_float().unwrap());
            assert!(a == b || (a.is_nan() && b.is_nan()), "{cell:?}");
            assert_eq!(cell.as_int(), value.as_int(), "{cell:?}");
            assert_eq!(cell.json(), value.json());
        }
    }
}
