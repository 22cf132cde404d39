//! MLflow's scoring protocol on the wire (`mlflow/pyfunc/scoring_server/__init__.py`, 3.17.2):
//! which content types a request may have, how a JSON or CSV body becomes a scoring request,
//! and the status, `error_code`, `sqlstate` and `error_class` of each refusal.
//!
//! Where oxflow's wording differs from MLflow's: MLflow repeats the request's data, as pandas
//! prints it, inside schema errors ("Failed to predict data '    f1\n0  0.0'..."). oxflow leaves
//! the data out (a request can be megabytes, and it may hold what should not reach a log) and
//! keeps the rest of the message, with the column, the value and the row. Clients that branch
//! on the status, `error_code` or `error_class` see MLflow's.

use serde_json::{Map, Value};

use crate::model::{ColType, DataType, DynModel, ModelError, Signature};

/// The content types `POST /invocations` accepts, as MLflow lists them in its 415 message.
/// oxflow does not read Parquet bodies; see [`unsupported_media_type`].
pub const CONTENT_TYPES: [&str; 3] = [
    "text/csv",
    "application/json",
    "application/vnd.apache.parquet",
];

/// MLflow's hint after a refused pre-2.0 request, word for word.
pub const SCORING_PROTOCOL_CHANGE_INFO: &str = "IMPORTANT: The MLflow Model scoring protocol has changed in MLflow version 2.0. If you are seeing this error, you are likely using an outdated scoring request format. To resolve the error, either update your request format or adjust your MLflow Model's requirements file to specify an older version of MLflow (for example, change the 'mlflow' requirement specifier to 'mlflow==1.30.0'). If you are making a request using the MLflow client (e.g. via `mlflow.pyfunc.spark_udf()`), upgrade your MLflow client to a version >= 2.0 in order to use the new request format. For more information about the updated MLflow Model scoring protocol in MLflow 2.0, see https://mlflow.org/docs/latest/models.html#deploy-mlflow-models.";

/// How a request body is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFormat {
    /// `application/json`: one of the four input keys, and `params`.
    Json,
    /// `text/csv`: a header row, then one row per line, as `pandas.DataFrame.to_csv()` writes.
    Csv,
}

/// A refused request: the HTTP status and the body MLflow's server answers with.
///
/// ```
/// use oxflow_runtime::serve::{ScoringError, content_format};
/// let e = content_format(Some("text/plain")).unwrap_err();
/// assert_eq!(e.status, 415);
/// assert!(e.message.ends_with("Got 'text/plain'."));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScoringError {
    /// The HTTP status.
    pub status: u16,
    /// MLflow's `error_code` (`BAD_REQUEST`, `INVALID_PARAMETER_VALUE`, ...); `None` for the
    /// plain-text refusals (415, 504).
    pub error_code: Option<&'static str>,
    /// What is wrong, naming the column, value or header.
    pub message: String,
    /// For schema errors, the signature columns at fault (the `column` label of
    /// `oxflow_serve_schema_errors_total`).
    pub columns: Vec<String>,
}

impl ScoringError {
    fn plain(status: u16, message: String) -> ScoringError {
        ScoringError {
            status,
            error_code: None,
            message,
            columns: Vec::new(),
        }
    }

    fn json(error_code: &'static str, message: String) -> ScoringError {
        ScoringError {
            status: 400,
            error_code: Some(error_code),
            message,
            columns: Vec::new(),
        }
    }

    /// MLflow's `error_class` for the code: schema enforcement (an invalid value naming
    /// columns) has its own.
    pub fn error_class(&self) -> Option<&'static str> {
        match self.error_code? {
            "INVALID_PARAMETER_VALUE" if !self.columns.is_empty() => {
                Some("SCHEMA_ENFORCEMENT_FAILED")
            }
            "INVALID_PARAMETER_VALUE" => Some("INVALID_PARAMETER_VALUE"),
            "BAD_REQUEST" => Some("INVALID_PARAMETER_VALUE"),
            _ => Some("INTERNAL_ERROR"),
        }
    }

    /// MLflow's `sqlstate` for the class (`KAM01` schema enforcement, `KAM00` invalid
    /// input, `XX000` internal).
    pub fn sqlstate(&self) -> Option<&'static str> {
        match self.error_class()? {
            "SCHEMA_ENFORCEMENT_FAILED" => Some("KAM01"),
            "INVALID_PARAMETER_VALUE" => Some("KAM00"),
            _ => Some("XX000"),
        }
    }

    /// The response body: MLflow's JSON error object, or the plain text of a 415 or 504.
    pub fn body(&self) -> String {
        let Some(code) = self.error_code else {
            return self.message.clone();
        };
        let mut obj = Map::new();
        obj.insert("error_code".into(), code.into());
        obj.insert("message".into(), self.message.clone().into());
        if let Some(s) = self.sqlstate() {
            obj.insert("sqlstate".into(), s.into());
        }
        if let Some(c) = self.error_class() {
            obj.insert("error_class".into(), c.into());
        }
        Value::Object(obj).to_string()
    }

    /// The response's content type: JSON for error objects, text for the rest (as MLflow).
    pub fn content_type(&self) -> &'static str {
        match (self.error_code, self.status) {
            (Some(_), _) | (None, 504) => "application/json",
            (None, _) => "text/plain; charset=utf-8",
        }
    }

    /// 504 after the per-request timeout, with MLflow's body.
    pub fn timeout() -> ScoringError {
        ScoringError::plain(504, "Request processing time exceeded limit".into())
    }

    /// 413: the body is larger than the server accepts.
    pub fn too_large(limit: usize) -> ScoringError {
        ScoringError::json(
            "BAD_REQUEST",
            format!(
                "Invalid input. The request body is larger than the server's limit of {limit} bytes; send fewer rows per request or raise --max-body-size."
            ),
        )
        .with_status(413)
    }

    /// 408: the client did not send the whole body before the per-request timeout.
    pub fn body_timeout(received: usize) -> ScoringError {
        ScoringError::json(
            "BAD_REQUEST",
            format!(
                "Invalid input. The request body did not arrive within the request timeout ({received} bytes received)."
            ),
        )
        .with_status(408)
    }

    /// 400: the body could not be read from the connection.
    pub fn body_unreadable(reason: &str) -> ScoringError {
        ScoringError::json(
            "BAD_REQUEST",
            format!("Invalid input. The request body could not be read: {reason}"),
        )
    }

    /// 500: the model panicked; the server keeps running.
    pub fn model_panicked() -> ScoringError {
        ScoringError {
            status: 500,
            error_code: Some("INTERNAL_ERROR"),
            message: "The model panicked while predicting; see the server's log.".into(),
            columns: Vec::new(),
        }
    }

    fn with_status(mut self, status: u16) -> ScoringError {
        self.status = status;
        self
    }
}

impl std::fmt::Display for ScoringError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.message)
    }
}

/// Checks a request's `Content-Type` as MLflow does: `application/json` or `text/csv`, with
/// no parameter but `charset=utf-8`.
///
/// ```
/// use oxflow_runtime::serve::{BodyFormat, content_format};
/// assert_eq!(content_format(Some("application/json; charset=UTF-8")), Ok(BodyFormat::Json));
/// assert_eq!(content_format(Some("text/csv")), Ok(BodyFormat::Csv));
/// assert_eq!(content_format(Some("application/json; format=pandas-split")).unwrap_err().status, 415);
/// ```
pub fn content_format(content_type: Option<&str>) -> Result<BodyFormat, ScoringError> {
    let raw = content_type.unwrap_or("");
    let mut parts = raw.split(';').map(str::trim);
    let mime = parts.next().unwrap_or("");
    let mut unexpected = Vec::new();
    for pair in parts {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key == "charset" {
            if !value.eq_ignore_ascii_case("utf-8") {
                return Err(ScoringError::plain(
                    415,
                    "The scoring server only supports UTF-8".into(),
                ));
            }
        } else if !unexpected.contains(&key) {
            unexpected.push(key);
        }
    }
    if !unexpected.is_empty() {
        return Err(ScoringError::plain(
            415,
            format!(
                "Unrecognized content type parameters: {}. {SCORING_PROTOCOL_CHANGE_INFO}",
                unexpected.join(", ")
            ),
        ));
    }
    match mime {
        "application/json" => Ok(BodyFormat::Json),
        "text/csv" => Ok(BodyFormat::Csv),
        _ => Err(unsupported_media_type(content_type)),
    }
}

/// MLflow's 415 for a content type it does not read. Parquet is listed because MLflow lists
/// it; oxflow refuses it here rather than pull in a Parquet reader for a format no scoring
/// client defaults to.
fn unsupported_media_type(content_type: Option<&str>) -> ScoringError {
    let listed: Vec<String> = CONTENT_TYPES.iter().map(|t| format!("'{t}'")).collect();
    let got = content_type.map_or("None".to_string(), |t| format!("'{t}'"));
    let mut message = format!(
        "This predictor only supports the following content types: Types: [{}]. Got {got}.",
        listed.join(", ")
    );
    if content_type.is_some_and(|t| t.starts_with("application/vnd.apache.parquet")) {
        message.push_str(" oxflow does not read Parquet bodies; send JSON or CSV.");
    }
    ScoringError::plain(415, message)
}

/// Scores a request body with `model`: parses it (JSON or CSV), enforces the signature and
/// predicts (`signature` is the model's, computed once). Returns the response body (`{"predictions": ...}`) and the number of rows scored.
///
/// ```
/// # use oxflow_runtime::serve::{BodyFormat, score};
/// # fn demo(model: &dyn oxflow_runtime::model::DynModel) {
/// let signature = model.model_signature();
/// match score(model, &signature, BodyFormat::Csv, b"area\n50\n") {
///     Ok((body, rows)) => println!("{rows} rows: {}", String::from_utf8_lossy(&body)),
///     Err(e) => println!("{}: {}", e.status, e.message),
/// }
/// # }
/// ```
pub fn score(
    model: &dyn DynModel,
    signature: &Signature,
    format: BodyFormat,
    body: &[u8],
) -> Result<(Vec<u8>, usize), ScoringError> {
    score_request(model, signature, format, body, false).map(|(out, rows, _)| (out, rows))
}

/// [`score`], also returning the request as parsed (what live drift looks at) when
/// `keep_request` is set; without it, a body the model reads straight from its bytes
/// ([`DynModel::score_json_bytes`]) is never parsed into a `Value`.
pub(crate) fn score_request(
    model: &dyn DynModel,
    signature: &Signature,
    format: BodyFormat,
    body: &[u8],
    keep_request: bool,
) -> Result<(Vec<u8>, usize, Option<Value>), ScoringError> {
    if format == BodyFormat::Json
        && !keep_request
        && let Some(scored) = model.score_json_bytes(body)
    {
        let (out, rows) = scored.map_err(|e| model_error(e, signature))?;
        return Ok((out, rows, None));
    }
    let request = match format {
        BodyFormat::Json => parse_json(body)?,
        BodyFormat::Csv => csv_request(body, signature)?,
    };
    let rows = count_rows(&request);
    let out = model
        .predict_json_bytes(&request)
        .map_err(|e| model_error(e, signature))?;
    Ok((out, rows, Some(request)))
}

fn parse_json(body: &[u8]) -> Result<Value, ScoringError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ScoringError::json(
            "BAD_REQUEST",
            format!(
                "Invalid input. Ensure that input is a valid JSON formatted string. Error: '{e}'"
            ),
        )
    })?;
    match &value {
        Value::Object(obj) => {
            let keys: Vec<&String> = obj
                .keys()
                .filter(|k| crate::model::INPUT_KEYS.contains(&k.as_str()))
                .collect();
            if keys.len() != 1 {
                let all: Vec<String> = obj.keys().map(|k| format!("'{k}'")).collect();
                return Err(ScoringError::json(
                    "BAD_REQUEST",
                    format!(
                        "{}. Received dictionary with input fields: [{}]. {SCORING_PROTOCOL_CHANGE_INFO}",
                        required_input_format(),
                        all.join(", ")
                    ),
                ));
            }
            Ok(value)
        }
        Value::Array(_) => Err(ScoringError::json(
            "BAD_REQUEST",
            format!(
                "Invalid input. {}. Received a list.",
                required_input_format()
            ),
        )),
        other => Err(ScoringError::json(
            "BAD_REQUEST",
            format!(
                "Invalid input. {}. Received unexpected input type '{}'.",
                required_input_format(),
                json_type(other)
            ),
        )),
    }
}

fn required_input_format() -> String {
    let keys: Vec<String> = crate::model::INPUT_KEYS
        .iter()
        .map(|k| format!("'{k}'"))
        .collect();
    format!(
        "The input must be a JSON dictionary with exactly one of the input fields {{{}}}",
        keys.join(", ")
    )
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

fn count_rows(request: &Value) -> usize {
    let Some(obj) = request.as_object() else {
        return 0;
    };
    if let Some(split) = obj.get("dataframe_split") {
        return split
            .get("data")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
    }
    match obj
        .get("dataframe_records")
        .or_else(|| obj.get("instances"))
        .or_else(|| obj.get("inputs"))
    {
        Some(Value::Array(rows)) => rows.len(),
        Some(Value::Object(cols)) => cols
            .values()
            .next()
            .map_or(0, |c| c.as_array().map_or(1, Vec::len)),
        _ => 0,
    }
}

/// A CSV body as `pandas.read_csv(dtype=<signature types>)` reads it, turned into a
/// `dataframe_split` request: a column the signature types as a string stays text, an empty
/// cell is a missing value (text, date-time and binary columns keep their cells as text), and
/// other cells are read as numbers or booleans where they are.
fn csv_request(body: &[u8], signature: &Signature) -> Result<Value, ScoringError> {
    let csv_error = |e: &dyn std::fmt::Display| {
        ScoringError::json(
            "BAD_REQUEST",
            format!(
                "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid CSV-formatted Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` method. Error: '{e}'"
            ),
        )
    };
    let text = std::str::from_utf8(body).map_err(|e| {
        ScoringError::json(
            "BAD_REQUEST",
            format!(
                "Invalid input. Ensure that input is a valid UTF-8 encoded string. Error: '{e}'"
            ),
        )
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let columns: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(&e))?
        .iter()
        .map(str::to_string)
        .collect();
    if columns.is_empty() || columns.iter().all(String::is_empty) {
        return Err(csv_error(&"No columns to parse from file"));
    }
    let types: Vec<Option<DataType>> = columns
        .iter()
        .map(|c| {
            signature.inputs.iter().find_map(|s| match s.ty {
                ColType::Scalar(t) if s.name.as_deref() == Some(c.as_str()) => Some(t),
                _ => None,
            })
        })
        .collect();
    let mut data = Vec::new();
    for (line, record) in reader.records().enumerate() {
        let record = record.map_err(|e| csv_error(&e))?;
        if record.len() > columns.len() {
            return Err(csv_error(&format!(
                "Expected {} fields in line {}, saw {}",
                columns.len(),
                line + 2,
                record.len()
            )));
        }
        let row = (0..columns.len())
            .map(|i| {
                let cell = match record.get(i) {
                    None | Some("") => return Ok(Value::Null),
                    Some(cell) => cell,
                };
                match types[i] {
                    Some(DataType::Str | DataType::Datetime | DataType::Binary) => {
                        Ok(Value::String(cell.to_string()))
                    }
                    // pandas converts while it reads (`read_csv(dtype=...)`), so a number
                    // column holding text fails as a parse error, as in MLflow.
                    Some(
                        t @ (DataType::Double
                        | DataType::Float
                        | DataType::Long
                        | DataType::Integer),
                    ) if cell.trim().parse::<f64>().is_err() => Err(csv_error(&format!(
                        "could not convert string to {}: '{cell}' (column {}, line {})",
                        if matches!(t, DataType::Double | DataType::Float) {
                            "float"
                        } else {
                            "int"
                        },
                        columns[i],
                        line + 2
                    ))),
                    _ => Ok(csv_cell(cell)),
                }
            })
            .collect::<Result<Vec<Value>, ScoringError>>()?;
        data.push(Value::Array(row));
    }
    Ok(serde_json::json!({"dataframe_split": {"columns": columns, "data": data}}))
}

/// A CSV cell as pandas infers it: an integer, a float (`nan`, `inf` too), a boolean, else
/// text.
fn csv_cell(cell: &str) -> Value {
    if let Ok(i) = cell.parse::<i64>() {
        return i.into();
    }
    if let Ok(f) = cell.parse::<f64>() {
        // JSON has no NaN or infinity; a missing value is what pandas makes of `nan`, and
        // the column's type check refuses an infinity it cannot hold.
        return serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number);
    }
    match cell {
        "True" | "true" | "TRUE" => Value::Bool(true),
        "False" | "false" | "FALSE" => Value::Bool(false),
        _ => Value::String(cell.to_string()),
    }
}

/// A [`ModelError`] from scoring, as MLflow's server reports the same mistake.
fn model_error(e: ModelError, signature: &Signature) -> ScoringError {
    let schema = || {
        let cols: Vec<String> = signature
            .inputs
            .iter()
            .map(|c| {
                format!(
                    "'{}': {} ({})",
                    c.display_name(),
                    c.ty,
                    if c.required { "required" } else { "optional" }
                )
            })
            .collect();
        format!("[{}]", cols.join(", "))
    };
    match e {
        ModelError::MissingInputs { ref columns } => ScoringError {
            columns: columns.clone(),
            ..ScoringError::json(
                "INVALID_PARAMETER_VALUE",
                format!(
                    "Failed to enforce schema of data with schema '{}'. Error: {e}",
                    schema()
                ),
            )
        },
        ModelError::Value {
            ref column,
            row,
            ref reason,
            ..
        } => {
            let numpy = signature
                .inputs
                .iter()
                .find(|c| c.name.as_deref() == Some(column.as_str()))
                .and_then(|c| match c.ty {
                    ColType::Scalar(t) => Some(t.numpy_name()),
                    _ => None,
                })
                .unwrap_or("object");
            ScoringError {
                columns: vec![column.clone()],
                ..ScoringError::json(
                    "BAD_REQUEST",
                    format!(
                        "Invalid input. Data is not compatible with model signature. Failed to convert column {column} to type '{numpy}'. Error: row {row}: {reason}"
                    ),
                )
            }
        }
        e @ ModelError::BadParams { .. } => {
            ScoringError::json("INVALID_PARAMETER_VALUE", e.to_string())
        }
        ModelError::BadRequest { reason } => {
            ScoringError::json("BAD_REQUEST", format!("Invalid input. {reason}"))
        }
        ModelError::Predict { source } => ScoringError::json(
            "BAD_REQUEST",
            format!(
                "Encountered an unexpected error while evaluating the model. Verify that the serialized input Dataframe is compatible with the model for inference. Error: {source}"
            ),
        ),
        other => ScoringError::json(
            "BAD_REQUEST",
            format!(
                "Encountered an unexpected error while evaluating the model. Verify that the serialized input Dataframe is compatible with the model for inference. Error: {other}"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_follow_mlflow() {
        assert_eq!(
            content_format(Some("application/json")),
            Ok(BodyFormat::Json)
        );
        assert_eq!(
            content_format(Some("application/json;charset=utf-8")),
            Ok(BodyFormat::Json)
        );
        let latin = content_format(Some("application/json; charset=latin-1")).unwrap_err();
        assert_eq!(
            (latin.status, latin.message.as_str()),
            (415, "The scoring server only supports UTF-8")
        );
        let old = content_format(Some("application/json; format=pandas-split")).unwrap_err();
        assert!(
            old.message
                .starts_with("Unrecognized content type parameters: format. IMPORTANT"),
            "{}",
            old.message
        );
        let none = content_format(None).unwrap_err();
        assert!(none.message.ends_with("Got None."), "{}", none.message);
        assert_eq!(none.content_type(), "text/plain; charset=utf-8");
        let parquet = content_format(Some("application/vnd.apache.parquet")).unwrap_err();
        assert!(parquet.message.contains("does not read Parquet"));
    }

    #[test]
    fn error_bodies_carry_mlflow_codes() {
        let e = parse_json(b"[1, 2]").unwrap_err();
        let body: Value = serde_json::from_str(&e.body()).unwrap();
        assert_eq!(body["error_code"], "BAD_REQUEST");
        assert_eq!(body["sqlstate"], "KAM00");
        assert_eq!(body["error_class"], "INVALID_PARAMETER_VALUE");
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .ends_with("Received a list."),
            "{body}"
        );
        let two = parse_json(br#"{"inputs": {}, "instances": []}"#).unwrap_err();
        assert!(
            two.message
                .contains("Received dictionary with input fields: ['inputs', 'instances']"),
            "{}",
            two.message
        );
        let bad = parse_json(b"{bad").unwrap_err();
        assert!(
            bad.message
                .starts_with("Invalid input. Ensure that input is a valid JSON")
        );
        assert_eq!(ScoringError::timeout().content_type(), "application/json");
        // Bad inference params: INVALID_PARAMETER_VALUE, but not a schema-enforcement class.
        let sig = Signature {
            inputs: vec![],
            outputs: vec![],
        };
        let params = model_error(
            ModelError::BadParams {
                reason: "param `k` (long) cannot be 2.5".into(),
            },
            &sig,
        );
        assert_eq!(
            (params.error_code, params.error_class(), params.sqlstate()),
            (
                Some("INVALID_PARAMETER_VALUE"),
                Some("INVALID_PARAMETER_VALUE"),
                Some("KAM00")
            )
        );
        let missing = model_error(
            ModelError::MissingInputs {
                columns: vec!["f2".into()],
            },
            &sig,
        );
        assert_eq!(
            (missing.error_class(), missing.sqlstate()),
            (Some("SCHEMA_ENFORCEMENT_FAILED"), Some("KAM01"))
        );
    }

    #[test]
    fn csv_cells_are_typed_like_pandas() {
        let sig = Signature {
            inputs: vec![
                crate::model::ColSpec::new("x", ColType::Scalar(DataType::Double), true),
                crate::model::ColSpec::new("zip", ColType::Scalar(DataType::Str), true),
            ],
            outputs: vec![],
        };
        let req = csv_request(b"x,zip,flag\n1,02134,True\n2.5,,no\n", &sig).unwrap();
        assert_eq!(
            req["dataframe_split"]["data"],
            serde_json::json!([[1, "02134", true], [2.5, null, "no"]])
        );
        let e = csv_request(b"x\n1,2\n", &sig).unwrap_err();
        assert!(
            e.message.contains("Expected 1 fields in line 2, saw 2"),
            "{}",
            e.message
        );
        assert!(csv_request(b"", &sig).is_err());
        assert!(
            csv_request(&[0xff, 0xfe], &sig)
                .unwrap_err()
                .message
                .contains("UTF-8")
        );
    }
}
