//! Rust types as MLflow columns: [`ColumnValue`] maps a field type to its MLflow type and
//! converts one JSON value with MLflow's enforcement rules; [`Schema`] is what
//! `#[derive(oxflow::Schema)]` implements for a row struct.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Number, Value};

use super::schema::{ColSpec, ColType, DataType};

/// A field type MLflow can express as a column.
///
/// Implemented for `f64` (double), `f32` (float), `i64` (long), `i32` (integer), `bool`
/// (boolean), `String` (string), `Vec<u8>` (binary, base64 in JSON), `SystemTime` (datetime,
/// ISO 8601 in JSON), `Option<T>` (the column is not required) and `Vec<T>` or `[T; N]` of
/// these (an `array` column).
///
/// ```
/// use oxflow_runtime::model::{ColType, ColumnValue, DataType};
/// assert_eq!(<Option<i32>>::column_type(), ColType::Scalar(DataType::Integer));
/// assert!(!<Option<i32>>::REQUIRED);
/// // MLflow's safe upcast: an integer is a valid double.
/// assert_eq!(f64::from_json(&serde_json::json!(3)), Ok(3.0));
/// assert!(i64::from_json(&serde_json::json!(2.5)).is_err());
/// ```
#[diagnostic::on_unimplemented(
    message = "MLflow has no column type for `{Self}`",
    label = "this field's type cannot be an MLflow column",
    note = "column types are f64, f32, i64, i32, bool, String, Vec<u8>, std::time::SystemTime, Option<T>, and Vec<T> or [T; N] of these"
)]
pub trait ColumnValue: Sized {
    /// Whether a value must be present (`false` only for `Option<T>`).
    const REQUIRED: bool = true;
    /// The MLflow type of the column.
    fn column_type() -> ColType;
    /// Converts one JSON value; `null` is only accepted by `Option<T>`. The error says what is
    /// wrong with the value, without the column (the caller adds it).
    fn from_json(value: &Value) -> Result<Self, String>;
    /// The value as JSON, as MLflow's scoring server returns it.
    fn to_json(&self) -> Value;
    /// The value when the column is absent: an error for required types.
    fn absent() -> Option<Self> {
        None
    }
}

/// A row type: a struct whose fields are MLflow columns. Derive it with
/// `#[derive(oxflow::Schema)]`.
///
/// ```
/// use oxflow_runtime::model::{ColSpec, ColType, DataType, Row, Schema};
/// struct Price { price: f64 }
/// // What the derive generates, by hand:
/// impl Schema for Price {
///     fn columns() -> Vec<ColSpec> {
///         vec![ColSpec::new("price", ColType::Scalar(DataType::Double), true)]
///     }
///     fn from_row(row: &Row<'_>) -> Result<Self, oxflow_runtime::model::ModelError> {
///         Ok(Price { price: row.get("price")? })
///     }
///     fn to_row(&self) -> serde_json::Map<String, serde_json::Value> {
///         let mut m = serde_json::Map::new();
///         m.insert("price".into(), oxflow_runtime::model::ColumnValue::to_json(&self.price));
///         m
///     }
/// }
/// assert_eq!(Price::columns()[0].to_string(), "price: double (required)");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a row type of an MLflow signature",
    label = "expected a row struct",
    note = "add `#[derive(oxflow::Schema)]` to `{Self}`; every field becomes a column"
)]
pub trait Schema: Sized {
    /// The columns, in field order.
    fn columns() -> Vec<ColSpec>;
    /// Reads one row, converting each column with MLflow's rules.
    fn from_row(row: &Row<'_>) -> Result<Self, super::ModelError>;
    /// The row as a JSON record (column name → value).
    fn to_row(&self) -> Map<String, Value>;
}

/// One input row being read: a JSON record and its position, so errors name both.
///
/// ```
/// use oxflow_runtime::model::Row;
/// let record = serde_json::json!({"x": 1, "y": "a"});
/// let row = Row::new(record.as_object().unwrap(), 0);
/// assert_eq!(row.get::<f64>("x")?, 1.0);
/// assert_eq!(
///     row.get::<f64>("y").unwrap_err().to_string(),
///     "column `y` (double), row 0: \"a\" is not a number"
/// );
/// # Ok::<(), oxflow_runtime::model::ModelError>(())
/// ```
#[derive(Debug)]
pub struct Row<'a> {
    cells: Cells<'a>,
    index: usize,
}

/// Where a row's values are: a record, or a `dataframe_split` row beside its column names.
#[derive(Debug)]
enum Cells<'a> {
    Record(&'a Map<String, Value>),
    Split {
        columns: &'a [&'a str],
        values: &'a [Value],
    },
}

impl<'a> Row<'a> {
    /// Row `index` holding `record`.
    pub fn new(record: &'a Map<String, Value>, index: usize) -> Row<'a> {
        Row {
            cells: Cells::Record(record),
            index,
        }
    }

    /// Row `index` of a `dataframe_split`: `values[i]` is column `columns[i]` (the same length).
    pub(crate) fn split(columns: &'a [&'a str], values: &'a [Value], index: usize) -> Row<'a> {
        Row {
            cells: Cells::Split { columns, values },
            index,
        }
    }

    /// The value of column `name`, converted to `T`.
    pub fn get<T: ColumnValue>(&self, name: &str) -> Result<T, super::ModelError> {
        let value = match self.cells {
            Cells::Record(record) => record.get(name),
            // A column named twice keeps its last value, as in a record built from the row.
            Cells::Split { columns, values } => {
                columns.iter().rposition(|c| *c == name).map(|i| &values[i])
            }
        };
        read_cell(value, name, self.index)
    }
}

/// One cell of column `name` in row `index` (`None`: the row lacks the column), converted to
/// `T` with MLflow's rules: what [`Row::get`] does, for readers that hold the cell without a
/// record around it (the ONNX flavor reads `dataframe_split` rows in place).
pub(crate) fn read_cell<T: ColumnValue>(
    value: Option<&Value>,
    name: &str,
    index: usize,
) -> Result<T, super::ModelError> {
    let err = |reason: String| super::ModelError::Value {
        column: name.to_string(),
        ty: T::column_type().to_string(),
        row: index,
        reason,
    };
    match value {
        None | Some(Value::Null) if T::REQUIRED => Err(err("no value in a required column".into())),
        None => T::absent().ok_or_else(|| err("no value".into())),
        Some(v) => T::from_json(v).map_err(err),
    }
}

/// The JSON text of a value, shortened for messages.
pub(crate) fn show(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 40 {
        let short: String = text.chars().take(37).collect();
        format!("{short}...")
    } else {
        text
    }
}

impl ColumnValue for f64 {
    fn column_type() -> ColType {
        ColType::Scalar(DataType::Double)
    }
    fn from_json(value: &Value) -> Result<f64, String> {
        value
            .as_f64()
            .ok_or_else(|| format!("{} is not a number", show(value)))
    }
    fn to_json(&self) -> Value {
        Number::from_f64(*self).map_or(Value::Null, Value::Number)
    }
}

impl ColumnValue for f32 {
    fn column_type() -> ColType {
        ColType::Scalar(DataType::Float)
    }
    fn from_json(value: &Value) -> Result<f32, String> {
        let v = value
            .as_f64()
            .ok_or_else(|| format!("{} is not a number", show(value)))?;
        // The scoring server parses JSON with the schema's numpy dtype: float32 overflows
        // are not silently turned into infinity.
        if v.is_finite() && v.abs() > f64::from(f32::MAX) {
            return Err(format!("{} does not fit in a float (float32)", show(value)));
        }
        Ok(v as f32)
    }
    fn to_json(&self) -> Value {
        Number::from_f64(f64::from(*self)).map_or(Value::Null, Value::Number)
    }
}

fn integer(value: &Value) -> Result<i64, String> {
    if let Some(i) = value.as_i64() {
        return Ok(i);
    }
    // MLflow refuses float -> int (it "alters the values significantly"), whole or not.
    match value {
        Value::Number(_) => Err(format!("{} is not an integer", show(value))),
        _ => Err(format!("{} is not a number", show(value))),
    }
}

impl ColumnValue for i64 {
    fn column_type() -> ColType {
        ColType::Scalar(DataType::Long)
    }
    fn from_json(value: &Value) -> Result<i64, String> {
        integer(value)
    }
    fn to_json(&self) -> Value {
        Value::from(*self)
    }
}

impl ColumnValue for i32 {
    fn column_type() -> ColType {
        ColType::Scalar(DataType::Integer)
    }
    fn from_json(value: &Value) -> Result<i32, String> {
        let i = integer(value)?;
        i32::try_from(i).map_err(|_| format!("{i} does not fit in an integer (int32)"))
    }
    fn to_json(&self) -> Value {
        Value::from(*self)
    }
}

impl ColumnValue for bool {
    fn column_type() -> ColType {
        ColType::Scalar(DataType::Boolean)
    }
    fn from_json(value: &Value) -> Result<bool, String> {
        value
            .as_bool()
            .ok_or_else(|| format!("{} is not true or false", show(value)))
    }
    fn to_json(&self) -> Value {
        Value::Bool(*self)
    }
}

impl ColumnValue for String {
    fn column_type() -> ColType {
        ColType::Scalar(DataType::Str)
    }
    fn from_json(value: &Value) -> Result<String, String> {
        value
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| format!("{} is not a string", show(value)))
    }
    fn to_json(&self) -> Value {
        Value::String(self.clone())
    }
}

impl ColumnValue for Vec<u8> {
    fn column_type() -> ColType {
        ColType::Scalar(DataType::Binary)
    }
    fn from_json(value: &Value) -> Result<Vec<u8>, String> {
        // The scoring server base64-decodes binary columns (`_decode_base64` in
        // mlflow/utils/proto_json_utils.py).
        let text = value
            .as_str()
            .ok_or_else(|| format!("{} is not a base64 string", show(value)))?;
        base64_decode(text).ok_or_else(|| format!("{} is not valid base64", show(value)))
    }
    fn to_json(&self) -> Value {
        Value::String(base64_encode(self))
    }
}

impl ColumnValue for SystemTime {
    fn column_type() -> ColType {
        ColType::Scalar(DataType::Datetime)
    }
    fn from_json(value: &Value) -> Result<SystemTime, String> {
        let text = value
            .as_str()
            .ok_or_else(|| format!("{} is not a date-time string", show(value)))?;
        parse_datetime(text).ok_or_else(|| {
            format!(
                "{} is not a date-time such as \"2026-12-05T07:30:00\"",
                show(value)
            )
        })
    }
    fn to_json(&self) -> Value {
        Value::String(format_datetime(*self))
    }
}

impl<T: ColumnValue> ColumnValue for Option<T> {
    const REQUIRED: bool = false;
    fn column_type() -> ColType {
        T::column_type()
    }
    fn from_json(value: &Value) -> Result<Option<T>, String> {
        match value {
            Value::Null => Ok(None),
            v => T::from_json(v).map(Some),
        }
    }
    fn to_json(&self) -> Value {
        self.as_ref().map_or(Value::Null, T::to_json)
    }
    fn absent() -> Option<Option<T>> {
        Some(None)
    }
}

fn array_items<T: ColumnValue>(value: &Value) -> Result<Vec<T>, String> {
    let items = value
        .as_array()
        .ok_or_else(|| format!("{} is not a list", show(value)))?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Null if T::REQUIRED => Err(format!("item {i} is null")),
            v => T::from_json(v).map_err(|e| format!("item {i}: {e}")),
        })
        .collect()
}

impl<T: ColumnValue> ColumnValue for Vec<T> {
    fn column_type() -> ColType {
        ColType::Array(Box::new(T::column_type()))
    }
    fn from_json(value: &Value) -> Result<Vec<T>, String> {
        array_items(value)
    }
    fn to_json(&self) -> Value {
        Value::Array(self.iter().map(T::to_json).collect())
    }
}

impl<T: ColumnValue, const N: usize> ColumnValue for [T; N] {
    fn column_type() -> ColType {
        ColType::Array(Box::new(T::column_type()))
    }
    fn from_json(value: &Value) -> Result<[T; N], String> {
        let items: Vec<T> = array_items(value)?;
        let len = items.len();
        items
            .try_into()
            .map_err(|_| format!("a list of {len} values where {N} are expected"))
    }
    fn to_json(&self) -> Value {
        Value::Array(self.iter().map(T::to_json).collect())
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let v = B64.iter().position(|&b| b == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (bits < 6 && acc == 0).then_some(out)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS[.frac]` (or a space for `T`), with an optional `Z`: the
/// timezone-naive date-times MLflow's datetime columns hold, read as UTC.
fn parse_datetime(text: &str) -> Option<SystemTime> {
    let text = text.strip_suffix('Z').unwrap_or(text);
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t)),
        None => (text, None),
    };
    let mut parts = date.splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let (mut secs, mut nanos) = (0i64, 0u32);
    if let Some(time) = time {
        let (hms, frac) = match time.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (time, None),
        };
        let mut f = hms.splitn(3, ':');
        let h: i64 = f.next()?.parse().ok()?;
        let mi: i64 = f.next()?.parse().ok()?;
        let s: i64 = f.next().map_or(Some(0), |s| s.parse().ok())?;
        if h > 23 || mi > 59 || s > 60 {
            return None;
        }
        secs = h * 3600 + mi * 60 + s;
        if let Some(frac) = frac {
            if frac.is_empty() || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            nanos = format!("{frac:0<9}").parse().ok()?;
        }
    }
    let total = days_from_civil(y, m, d) * 86_400 + secs;
    let at = if total >= 0 {
        UNIX_EPOCH + Duration::from_secs(total as u64)
    } else {
        UNIX_EPOCH - Duration::from_secs(total.unsigned_abs())
    };
    Some(at + Duration::from_nanos(u64::from(nanos)))
}

/// ISO 8601 without a timezone, as pandas writes a naive `datetime64[ns]`.
pub(crate) fn format_datetime(t: SystemTime) -> String {
    let (secs, nanos) = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
        Err(e) => {
            let d = e.duration();
            let s = -(d.as_secs() as i64);
            if d.subsec_nanos() == 0 {
                (s, 0)
            } else {
                (s - 1, 1_000_000_000 - d.subsec_nanos())
            }
        }
    };
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let mut out = format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base64_round_trips() {
        for bytes in [&b""[..], b"f", b"fo", b"foo", b"foob", b"\x00\xff\x10"] {
            let text = base64_encode(bytes);
            assert_eq!(base64_decode(&text).as_deref(), Some(bytes));
        }
        assert_eq!(base64_encode(b"foob"), "Zm9vYg==");
        assert_eq!(base64_decode("Zm9v!"), None);
    }

    #[test]
    fn datetimes_round_trip() {
        for text in [
            "1970-01-01T00:00:00",
            "2026-12-05T07:30:15.25",
            "1969-12-31T23:59:59.5",
            "2000-02-29T12:00:00",
        ] {
            let t = parse_datetime(text).unwrap();
            assert_eq!(format_datetime(t), text);
        }
        assert_eq!(
            format_datetime(parse_datetime("2026-12-05").unwrap()),
            "2026-12-05T00:00:00"
        );
        assert_eq!(parse_datetime("2026-13-05"), None);
        assert_eq!(parse_datetime("yesterday"), None);
    }

    #[test]
    fn values_follow_mlflow_conversion_rules() {
        assert_eq!(f64::from_json(&json!(2)), Ok(2.0));
        assert_eq!(f32::from_json(&json!(2)), Ok(2.0));
        assert_eq!(
            i64::from_json(&json!(2.0)),
            Err("2.0 is not an integer".into())
        );
        assert_eq!(
            i32::from_json(&json!(3_000_000_000i64)),
            Err("3000000000 does not fit in an integer (int32)".into())
        );
        assert_eq!(
            bool::from_json(&json!(1)),
            Err("1 is not true or false".into())
        );
        assert_eq!(<Option<f64>>::from_json(&json!(null)), Ok(None));
        assert_eq!(<[f32; 2]>::from_json(&json!([1, 2])), Ok([1.0, 2.0]));
        assert_eq!(
            <[f32; 2]>::from_json(&json!([1])),
            Err("a list of 1 values where 2 are expected".into())
        );
        assert_eq!(
            <Vec<i64>>::from_json(&json!([1, "x"])),
            Err("item 1: \"x\" is not a number".into())
        );
    }

    #[test]
    fn missing_values_are_errors_only_in_required_columns() {
        let rec = json!({"a": null});
        let row = Row::new(rec.as_object().unwrap(), 4);
        assert_eq!(row.get::<Option<f64>>("a").unwrap(), None);
        assert_eq!(row.get::<Option<f64>>("b").unwrap(), None);
        assert_eq!(
            row.get::<f64>("a").unwrap_err().to_string(),
            "column `a` (double), row 4: no value in a required column"
        );
    }
}
