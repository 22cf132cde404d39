//! The JSON predict entry point: MLflow's scoring-protocol request shapes, read into rows with
//! MLflow's schema enforcement (`mlflow/pyfunc/scoring_server` and `_enforce_schema` in
//! `mlflow/models/utils.py`): a missing required column is an error naming it, an integer is a
//! valid double, extra columns are ignored, a value of the wrong type is an error naming the
//! column and the value.

use serde_json::{Map, Value};

use super::column::{Row, Schema};
use super::schema::ColSpec;
use super::{ModelError, Predict};

/// The four input keys of MLflow's scoring protocol.
pub const INPUT_KEYS: [&str; 4] = [
    "dataframe_split",
    "dataframe_records",
    "instances",
    "inputs",
];

/// A scoring request taken apart: one record per row, and the `params` object if any.
///
/// ```
/// use oxflow_runtime::model::ScoringRequest;
/// let body = serde_json::json!({"dataframe_split": {"columns": ["x"], "data": [[1], [2]]}});
/// let req = ScoringRequest::parse(&body)?;
/// assert_eq!(req.records.len(), 2);
/// assert_eq!(req.records[1]["x"], 2);
/// # Ok::<(), oxflow_runtime::model::ModelError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ScoringRequest {
    /// The rows, each a record of column name → value.
    pub records: Vec<Map<String, Value>>,
    /// The `params` object (inference parameters), if given.
    pub params: Option<Map<String, Value>>,
}

fn bad(reason: impl Into<String>) -> ModelError {
    ModelError::BadRequest {
        reason: reason.into(),
    }
}

impl ScoringRequest {
    /// Reads a body in any of MLflow's JSON shapes: `{"dataframe_split": {"columns", "data"}}`,
    /// `{"dataframe_records": [{...}]}`, `{"inputs": {"col": [...]}}` or `{"inputs": [{...}]}`
    /// (and the same under `instances`), with an optional `"params": {...}`.
    pub fn parse(body: &Value) -> Result<ScoringRequest, ModelError> {
        let RequestRows { rows, params } = RequestRows::parse(body)?;
        let records = match rows {
            Rows::Records(records) => records,
            Rows::Split { columns, data } => data
                .iter()
                .map(|values| {
                    columns
                        .iter()
                        .zip(*values)
                        .map(|(c, v)| (c.to_string(), v.clone()))
                        .collect()
                })
                .collect(),
        };
        Ok(ScoringRequest { records, params })
    }

    /// Reads every row as `T`, after checking that each required column is present in the
    /// request (MLflow: "Model is missing inputs ['f2'].").
    ///
    /// ```
    /// use oxflow_runtime::model::{ColSpec, ColType, DataType, Row, Schema, ScoringRequest};
    /// # #[derive(Debug)] struct X { x: f64 }
    /// # impl Schema for X {
    /// #     fn columns() -> Vec<ColSpec> { vec![ColSpec::new("x", ColType::Scalar(DataType::Double), true)] }
    /// #     fn from_row(r: &Row<'_>) -> Result<Self, oxflow_runtime::model::ModelError> { Ok(X { x: r.get("x")? }) }
    /// #     fn to_row(&self) -> serde_json::Map<String, serde_json::Value> { Default::default() }
    /// # }
    /// let req = ScoringRequest::parse(&serde_json::json!({"dataframe_records": [{"y": 1}]}))?;
    /// let err = req.rows::<X>().unwrap_err();
    /// assert_eq!(err.to_string(), "Model is missing inputs ['x'].");
    /// # Ok::<(), oxflow_runtime::model::ModelError>(())
    /// ```
    pub fn rows<T: Schema>(&self) -> Result<Vec<T>, ModelError> {
        record_rows(&self.records)
    }
}

/// Every record read as `T`, after checking that each required column is present.
fn record_rows<T: Schema>(records: &[Map<String, Value>]) -> Result<Vec<T>, ModelError> {
    check_columns(&T::columns(), records)?;
    records
        .iter()
        .enumerate()
        .map(|(i, r)| T::from_row(&Row::new(r, i)))
        .collect()
}

/// A scoring request taken apart for reading rows as a typed `Schema`: what
/// [`ScoringRequest`] holds, except that `dataframe_split` rows stay lists read in place
/// instead of becoming one record (a map of column names) per row, which costs more than
/// reading a small row.
pub(crate) struct RequestRows<'a> {
    rows: Rows<'a>,
    /// The `params` object, if given.
    pub(crate) params: Option<Map<String, Value>>,
}

enum Rows<'a> {
    Records(Vec<Map<String, Value>>),
    /// `dataframe_split`, every row checked to hold one value per column.
    Split {
        columns: Vec<&'a str>,
        data: Vec<&'a [Value]>,
    },
}

impl<'a> RequestRows<'a> {
    /// Reads a body in any of MLflow's JSON shapes, as [`ScoringRequest::parse`], with the
    /// same errors.
    pub(crate) fn parse(body: &'a Value) -> Result<RequestRows<'a>, ModelError> {
        let Envelope { key, data, params } = envelope(body)?;
        let rows = match key {
            "dataframe_split" => {
                let (columns, data) = split_rows(data)?;
                Rows::Split { columns, data }
            }
            "dataframe_records" => Rows::Records(record_list(key, data)?),
            _ => Rows::Records(match data {
                Value::Object(cols) => columnar_records(key, cols)?,
                _ => record_list(key, data)?,
            }),
        };
        Ok(RequestRows { rows, params })
    }

    /// Reads every row as `T`, as [`ScoringRequest::rows`], with the same errors.
    pub(crate) fn rows<T: Schema>(&self) -> Result<Vec<T>, ModelError> {
        match &self.rows {
            Rows::Records(records) => record_rows(records),
            Rows::Split { columns, data } => {
                // Every row holds every column, so a column is missing when it is not named,
                // or when there is no row at all (as with records).
                check_required(&T::columns(), |name| {
                    !data.is_empty() && columns.contains(&name)
                })?;
                data.iter()
                    .enumerate()
                    .map(|(i, values)| T::from_row(&Row::split(columns, values, i)))
                    .collect()
            }
        }
    }
}

/// The envelope of a scoring request taken apart.
struct Envelope<'a> {
    /// The one input key present.
    key: &'static str,
    /// Its data.
    data: &'a Value,
    /// The `params` object, if given.
    params: Option<Map<String, Value>>,
}

/// The envelope of a scoring request: exactly one input key, and `params` an object if given.
fn envelope(body: &Value) -> Result<Envelope<'_>, ModelError> {
    let obj = body.as_object().ok_or_else(|| {
        bad(format!(
            "the input must be a JSON dictionary with exactly one of the input fields {}",
            key_list()
        ))
    })?;
    let keys: Vec<&'static str> = INPUT_KEYS
        .into_iter()
        .filter(|k| obj.contains_key(*k))
        .collect();
    let [key] = keys[..] else {
        let got: Vec<&String> = obj.keys().collect();
        return Err(bad(format!(
            "the input must be a JSON dictionary with exactly one of the input fields {}; received fields {got:?}",
            key_list()
        )));
    };
    let params = match obj.get("params") {
        None | Some(Value::Null) => None,
        Some(Value::Object(p)) => Some(p.clone()),
        // MLflow ignores params that are not a dictionary, with a warning.
        Some(other) => {
            tracing::warn!(
                "Ignoring invalid params (not a dictionary): {}",
                super::column::show(other)
            );
            None
        }
    };
    Ok(Envelope {
        key,
        data: &obj[key],
        params,
    })
}

fn key_list() -> String {
    let quoted: Vec<String> = INPUT_KEYS.iter().map(|k| format!("'{k}'")).collect();
    format!("{{{}}}", quoted.join(", "))
}

/// Required columns absent from every record, as MLflow reports them (the union of the
/// records' keys is the DataFrame's columns, so a request without rows misses every one).
pub(crate) fn check_columns(
    cols: &[ColSpec],
    records: &[Map<String, Value>],
) -> Result<(), ModelError> {
    check_required(cols, |name| records.iter().any(|r| r.contains_key(name)))
}

/// Refuses the required columns of `cols` for which `present` is false, naming them all.
fn check_required(cols: &[ColSpec], present: impl Fn(&str) -> bool) -> Result<(), ModelError> {
    let missing: Vec<String> = cols
        .iter()
        .filter(|c| c.required)
        .filter_map(|c| c.name.as_ref())
        .filter(|name| !present(name))
        .cloned()
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(ModelError::MissingInputs { columns: missing })
    }
}

/// The data of a tensor request: one nested list, or an object of input name to nested list.
#[derive(Clone, Debug, PartialEq)]
pub enum TensorInput {
    /// `{"inputs": [[...], ...]}`: the model's single input.
    Unnamed(Value),
    /// `{"inputs": {"x": [[...]], "y": [...]}}`: one tensor per input name.
    Named(Map<String, Value>),
}

/// A scoring request for a model with tensor inputs (MLflow's TF-serving shapes):
/// `{"inputs": ...}` or `{"instances": ...}` holding a nested list or an object of input name to
/// nested list, or `{"dataframe_split": {...}}` whose rows are the single input's rows.
///
/// ```
/// use oxflow_runtime::model::{TensorInput, TensorRequest};
/// let req = TensorRequest::parse(&serde_json::json!({"inputs": [[1.0, 2.0], [3.0, 4.0]]}))?;
/// assert_eq!(req.input, TensorInput::Unnamed(serde_json::json!([[1.0, 2.0], [3.0, 4.0]])));
/// # Ok::<(), oxflow_runtime::model::ModelError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct TensorRequest {
    /// The tensors.
    pub input: TensorInput,
    /// The `params` object, if given.
    pub params: Option<Map<String, Value>>,
}

impl TensorRequest {
    /// Reads a body in one of the tensor shapes; `dataframe_records` is refused, since its
    /// records do not fix an order of columns.
    pub fn parse(body: &Value) -> Result<TensorRequest, ModelError> {
        let Envelope { key, data, params } = envelope(body)?;
        let input = match (key, data) {
            ("dataframe_split", split) => TensorInput::Unnamed(
                split
                    .get("data")
                    .cloned()
                    .ok_or_else(|| bad("`dataframe_split` has no `data` list"))?,
            ),
            ("dataframe_records", _) => {
                return Err(bad(
                    "a model with tensor inputs takes `inputs`, `instances` or `dataframe_split`, not `dataframe_records`",
                ));
            }
            (_, Value::Object(named)) => TensorInput::Named(named.clone()),
            (_, other) => TensorInput::Unnamed(other.clone()),
        };
        Ok(TensorRequest { input, params })
    }
}

/// MLflow's tensor shape check (`_enforce_tensor_spec`): same rank, and every fixed dimension
/// (not `-1`) equal, with MLflow's message naming both shapes.
// Used by the `onnx` flavor, the one with tensor inputs.
#[cfg_attr(not(feature = "onnx"), allow(dead_code))]
pub(crate) fn check_tensor_shape(
    name: &str,
    got: &[usize],
    expected: &[i64],
) -> Result<(), ModelError> {
    let fits = got.len() == expected.len()
        && got
            .iter()
            .zip(expected)
            .all(|(g, e)| *e == -1 || *g as i64 == *e);
    if fits {
        return Ok(());
    }
    let tuple = |dims: Vec<String>| {
        if dims.len() == 1 {
            format!("({},)", dims[0])
        } else {
            format!("({})", dims.join(", "))
        }
    };
    Err(ModelError::TensorShape {
        input: name.to_string(),
        got: tuple(got.iter().map(usize::to_string).collect()),
        expected: tuple(expected.iter().map(i64::to_string).collect()),
    })
}

/// The columns and rows of `dataframe_split`, each row checked to be a list with one value per
/// column.
fn split_rows(data: &Value) -> Result<(Vec<&str>, Vec<&[Value]>), ModelError> {
    let obj = data.as_object().ok_or_else(|| {
        bad("`dataframe_split` must be an object with `columns` and `data`, as pandas' to_dict(orient=\"split\") writes it")
    })?;
    let columns: Vec<&str> = match obj.get("columns") {
        Some(Value::Array(cols)) => cols
            .iter()
            .map(|c| {
                c.as_str()
                    .ok_or_else(|| bad("`dataframe_split.columns` must be a list of strings"))
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(bad("`dataframe_split` has no `columns` list")),
    };
    let rows = match obj.get("data") {
        Some(Value::Array(rows)) => rows,
        _ => return Err(bad("`dataframe_split` has no `data` list")),
    };
    let data = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let values = row
                .as_array()
                .ok_or_else(|| bad(format!("`dataframe_split.data` row {i} is not a list")))?;
            if values.len() != columns.len() {
                return Err(bad(format!(
                    "`dataframe_split.data` row {i} has {} values for {} columns",
                    values.len(),
                    columns.len()
                )));
            }
            Ok(values.as_slice())
        })
        .collect::<Result<_, _>>()?;
    Ok((columns, data))
}

fn record_list(key: &str, data: &Value) -> Result<Vec<Map<String, Value>>, ModelError> {
    let list = data.as_array().ok_or_else(|| {
        bad(format!(
            "`{key}` must be a list of records such as [{{\"x\": 1.0}}]"
        ))
    })?;
    list.iter()
        .enumerate()
        .map(|(i, r)| {
            r.as_object().cloned().ok_or_else(|| {
                bad(format!(
                    "`{key}` item {i} is not a record (a JSON object of column to value)"
                ))
            })
        })
        .collect()
}

/// `{"col": [v0, v1], ...}` (or `{"col": v}` for one row): the column-oriented form of
/// `inputs`/`instances`.
fn columnar_records(
    key: &str,
    cols: &Map<String, Value>,
) -> Result<Vec<Map<String, Value>>, ModelError> {
    let len = |v: &Value| v.as_array().map_or(1, Vec::len);
    let n = cols.values().next().map_or(0, len);
    if let Some((name, v)) = cols.iter().find(|(_, v)| len(v) != n) {
        return Err(bad(format!(
            "`{key}` columns differ in length: `{name}` has {} values where the first has {n}",
            len(v)
        )));
    }
    Ok((0..n)
        .map(|i| {
            cols.iter()
                .map(|(name, v)| {
                    let value = match v {
                        Value::Array(items) => items[i].clone(),
                        scalar => scalar.clone(),
                    };
                    (name.clone(), value)
                })
                .collect()
        })
        .collect())
}

/// Scores a JSON request with a typed model: parses the envelope, enforces the input schema,
/// calls [`Predict::predict`] and returns `{"predictions": [records]}` as MLflow's scoring
/// server does for a DataFrame result.
///
/// ```
/// use oxflow_runtime::model::{predict_json, ColSpec, ColType, DataType, Predict, Row, Schema};
/// # #[derive(Debug)] struct X { x: f64 }
/// # impl Schema for X {
/// #     fn columns() -> Vec<ColSpec> { vec![ColSpec::new("x", ColType::Scalar(DataType::Double), true)] }
/// #     fn from_row(r: &Row<'_>) -> Result<Self, oxflow_runtime::model::ModelError> { Ok(X { x: r.get("x")? }) }
/// #     fn to_row(&self) -> serde_json::Map<String, serde_json::Value> {
/// #         let mut m = serde_json::Map::new(); m.insert("x".into(), self.x.into()); m
/// #     }
/// # }
/// struct Double;
/// impl Predict for Double {
///     type Input = X;
///     type Output = X;
///     type Error = std::convert::Infallible;
///     fn predict(&self, rows: &[X]) -> Result<Vec<X>, Self::Error> {
///         Ok(rows.iter().map(|r| X { x: r.x * 2.0 }).collect())
///     }
/// }
/// let out = predict_json(&Double, &serde_json::json!({"inputs": {"x": [1, 2.5]}}))?;
/// assert_eq!(out, serde_json::json!({"predictions": [{"x": 2.0}, {"x": 5.0}]}));
/// # Ok::<(), oxflow_runtime::model::ModelError>(())
/// ```
pub fn predict_json<M: Predict + ?Sized>(model: &M, body: &Value) -> Result<Value, ModelError> {
    let request = RequestRows::parse(body)?;
    if request.params.as_ref().is_some_and(|p| !p.is_empty()) {
        tracing::warn!(
            "`params` can only be specified at inference time if the model signature defines a params schema. This model does not define a params schema. Ignoring provided params: {:?}",
            request
                .params
                .as_ref()
                .map(|p| p.keys().collect::<Vec<_>>())
        );
    }
    let rows = request.rows::<M::Input>()?;
    let out = model.predict(&rows).map_err(|e| ModelError::Predict {
        source: Box::new(e),
    })?;
    predictions(rows.len(), &out)
}

/// `{"predictions": [records]}` for `rows` inputs, after checking one output per row.
pub(crate) fn predictions<O: Schema>(rows: usize, out: &[O]) -> Result<Value, ModelError> {
    if out.len() != rows {
        return Err(ModelError::OutputCount {
            rows,
            outputs: out.len(),
        });
    }
    let predictions: Vec<Value> = out.iter().map(|o| Value::Object(o.to_row())).collect();
    let mut response = Map::new();
    response.insert("predictions".into(), Value::Array(predictions));
    Ok(Value::Object(response))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq)]
    struct Two {
        f1: f64,
        f2: Option<i64>,
    }

    impl Schema for Two {
        fn columns() -> Vec<ColSpec> {
            use super::super::schema::{ColType, DataType};
            vec![
                ColSpec::new("f1", ColType::Scalar(DataType::Double), true),
                ColSpec::new("f2", ColType::Scalar(DataType::Long), false),
            ]
        }
        fn from_row(row: &Row<'_>) -> Result<Self, ModelError> {
            Ok(Two {
                f1: row.get("f1")?,
                f2: row.get("f2")?,
            })
        }
        fn to_row(&self) -> Map<String, Value> {
            Map::new()
        }
    }

    #[test]
    fn split_rows_read_in_place_read_as_their_records_do() {
        // The typed read of `dataframe_split` skips the record per row: it must give what the
        // records give, value for value and error for error.
        let through_records = |body: &Value| {
            ScoringRequest::parse(body)
                .and_then(|r| r.rows::<Two>())
                .map_err(|e| e.to_string())
        };
        let in_place = |body: &Value| {
            RequestRows::parse(body)
                .and_then(|r| r.rows::<Two>())
                .map_err(|e| e.to_string())
        };
        for body in [
            json!({"dataframe_split": {"columns": ["f1", "f2"], "data": [[1.5, 2], [3, null]]}}),
            json!({"dataframe_split": {"columns": ["f2", "f1", "x"], "data": [[1, 2.0, "a"]]}}),
            // Named twice: the last value wins, as in a record.
            json!({"dataframe_split": {"columns": ["f1", "f1"], "data": [[1.0, 2.0]]}}),
            json!({"dataframe_split": {"columns": ["f2"], "data": [[1]]}}),
            json!({"dataframe_split": {"columns": ["f1", "f2"], "data": []}}),
            json!({"dataframe_split": {"columns": ["f1"], "data": [[1.0], ["x"]]}}),
            json!({"dataframe_split": {"columns": ["f1"], "data": [[1.0], [2.0, 3.0]]}}),
            json!({"dataframe_split": {"columns": ["f1"], "data": [[1.0], 7]}}),
            json!({"dataframe_split": {"columns": ["f1", "f2"], "data": [[1.0, 2.5]]}}),
        ] {
            assert_eq!(in_place(&body), through_records(&body), "{body}");
        }
        assert_eq!(
            in_place(&json!({"dataframe_split": {"columns": ["f1", "f1"], "data": [[1.0, 2.0]]}})),
            Ok(vec![Two { f1: 2.0, f2: None }])
        );
        assert!(
            in_place(&json!({"dataframe_split": {"columns": ["f2"], "data": [[1]]}}))
                .unwrap_err()
                .contains("['f1']")
        );
    }

    #[test]
    fn every_request_shape_gives_the_same_records() {
        let expected = ScoringRequest::parse(
            &json!({"dataframe_records": [{"f1": 0.0, "f2": 1.0}, {"f1": 3.0, "f2": 0.0}]}),
        )
        .unwrap();
        for body in [
            json!({"dataframe_split": {"columns": ["f1", "f2"], "data": [[0.0, 1.0], [3.0, 0.0]]}}),
            json!({"instances": [{"f1": 0.0, "f2": 1.0}, {"f1": 3.0, "f2": 0.0}]}),
            json!({"inputs": {"f1": [0.0, 3.0], "f2": [1.0, 0.0]}}),
        ] {
            assert_eq!(ScoringRequest::parse(&body).unwrap(), expected, "{body}");
        }
        let one =
            ScoringRequest::parse(&json!({"inputs": {"f1": 1.0}, "params": {"k": 2}})).unwrap();
        assert_eq!(one.records.len(), 1);
        assert_eq!(one.params.unwrap()["k"], 2);
        // Params that are not an object are ignored, as MLflow does.
        let odd = ScoringRequest::parse(&json!({"inputs": {"f1": 1.0}, "params": 3})).unwrap();
        assert_eq!(odd.params, None);
    }

    #[test]
    fn tensor_requests_and_shapes() {
        let named = TensorRequest::parse(&json!({"instances": {"X": [[1, 2]]}})).unwrap();
        assert_eq!(
            named.input,
            TensorInput::Named(json!({"X": [[1, 2]]}).as_object().unwrap().clone())
        );
        let split =
            TensorRequest::parse(&json!({"dataframe_split": {"columns": ["a"], "data": [[1]]}}))
                .unwrap();
        assert_eq!(split.input, TensorInput::Unnamed(json!([[1]])));
        let e = TensorRequest::parse(&json!({"dataframe_records": [{"a": 1}]})).unwrap_err();
        assert!(e.to_string().contains("not `dataframe_records`"), "{e}");
        assert!(check_tensor_shape("X", &[5, 4], &[-1, 4]).is_ok());
        // MLflow: "Shape of input (1, 3) does not match expected shape (-1, 2)".
        assert_eq!(
            check_tensor_shape("X", &[1, 3], &[-1, 2])
                .unwrap_err()
                .to_string(),
            "Shape of input (1, 3) does not match expected shape (-1, 2) (input `X`)"
        );
        assert!(check_tensor_shape("X", &[4], &[-1, 4]).is_err());
    }

    #[test]
    fn malformed_envelopes_say_what_is_expected() {
        for (body, needle) in [
            (json!([1, 2]), "exactly one of the input fields"),
            (
                json!({"inputs": [], "dataframe_records": []}),
                "received fields",
            ),
            (
                json!({"dataframe_split": {"columns": ["a"], "data": [[1, 2]]}}),
                "row 0 has 2 values for 1 columns",
            ),
            (
                json!({"inputs": {"a": [1, 2], "b": [1]}}),
                "`b` has 1 values where the first has 2",
            ),
            (json!({"dataframe_records": [1]}), "item 0 is not a record"),
        ] {
            let e = ScoringRequest::parse(&body).unwrap_err().to_string();
            assert!(e.contains(needle), "{body}: {e}");
        }
    }
}
