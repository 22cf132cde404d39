//! MLflow's model signature: column specs and their JSON, written exactly as MLflow's
//! `Schema.to_json()` writes them (`mlflow/types/schema.py`), so a signature oxflow writes is
//! the one MLflow would have inferred, and `mlflow.models.get_model_info` parses it back equal.

use std::fmt;

use serde_json::Value;

use super::ModelError;

/// One of MLflow's scalar column types (`mlflow.types.DataType`).
///
/// ```
/// use oxflow_runtime::model::DataType;
/// assert_eq!(DataType::Double.as_str(), "double");
/// assert_eq!("long".parse::<DataType>().ok(), Some(DataType::Long));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DataType {
    /// `bool`.
    Boolean,
    /// 32-bit integer (`i32`).
    Integer,
    /// 64-bit integer (`i64`).
    Long,
    /// 32-bit float (`f32`).
    Float,
    /// 64-bit float (`f64`).
    Double,
    /// Text (`String`); MLflow's `string`.
    Str,
    /// Bytes (`Vec<u8>`), base64 in JSON.
    Binary,
    /// A point in time (`SystemTime`), ISO 8601 in JSON.
    Datetime,
}

impl DataType {
    /// Every type, in MLflow's order.
    pub const ALL: [DataType; 8] = [
        DataType::Boolean,
        DataType::Integer,
        DataType::Long,
        DataType::Float,
        DataType::Double,
        DataType::Str,
        DataType::Binary,
        DataType::Datetime,
    ];

    /// The name MLflow writes.
    pub fn as_str(self) -> &'static str {
        match self {
            DataType::Boolean => "boolean",
            DataType::Integer => "integer",
            DataType::Long => "long",
            DataType::Float => "float",
            DataType::Double => "double",
            DataType::Str => "string",
            DataType::Binary => "binary",
            DataType::Datetime => "datetime",
        }
    }

    /// The numpy dtype MLflow converts a column of this type to, for messages
    /// ("Failed to convert column x to type 'float64'").
    pub fn numpy_name(self) -> &'static str {
        match self {
            DataType::Boolean => "bool",
            DataType::Integer => "int32",
            DataType::Long => "int64",
            DataType::Float => "float32",
            DataType::Double => "float64",
            DataType::Str => "str",
            DataType::Binary => "bytes",
            DataType::Datetime => "datetime64[ns]",
        }
    }
}

impl fmt::Display for DataType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for DataType {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<DataType, ModelError> {
        DataType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| ModelError::Signature {
                reason: format!(
                    "unknown column type \"{s}\"; MLflow's types are boolean, integer, long, float, double, string, binary, datetime"
                ),
            })
    }
}

/// The type of a column: a scalar, or an array of values (MLflow's `Array`, what it infers for a
/// DataFrame column holding lists), or a whole tensor (MLflow's `TensorSpec`, what it infers for
/// a numpy array and what ONNX models take).
///
/// ```
/// use oxflow_runtime::model::{ColType, DataType};
/// let t = ColType::Array(Box::new(ColType::Scalar(DataType::Float)));
/// assert_eq!(t.to_string(), "array<float>");
/// let x = ColType::Tensor { dtype: "float32".into(), shape: vec![-1, 4] };
/// assert_eq!(x.to_string(), "tensor<float32>[-1, 4]");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ColType {
    /// One value.
    Scalar(DataType),
    /// A list of values.
    Array(Box<ColType>),
    /// A tensor: a numpy dtype name (`float32`, `int64`, ...) and a shape, `-1` for a dimension
    /// of any size (the batch).
    Tensor {
        /// The numpy dtype name, as MLflow writes it.
        dtype: String,
        /// The dimensions; `-1` is variable.
        shape: Vec<i64>,
    },
}

impl ColType {
    /// Whether this is a tensor spec rather than a column.
    pub fn is_tensor(&self) -> bool {
        matches!(self, ColType::Tensor { .. })
    }
}

impl fmt::Display for ColType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColType::Scalar(t) => write!(f, "{t}"),
            ColType::Array(t) => write!(f, "array<{t}>"),
            ColType::Tensor { dtype, shape } => {
                let dims: Vec<String> = shape.iter().map(i64::to_string).collect();
                write!(f, "tensor<{dtype}>[{}]", dims.join(", "))
            }
        }
    }
}

/// One column of a schema: MLflow's `ColSpec`.
///
/// ```
/// use oxflow_runtime::model::{ColSpec, ColType, DataType};
/// let c = ColSpec::new("x", ColType::Scalar(DataType::Double), true);
/// assert_eq!(c.to_string(), "x: double (required)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ColSpec {
    /// The column name (`None` for MLflow's unnamed columns).
    pub name: Option<String>,
    /// Its type.
    pub ty: ColType,
    /// Whether every row must have a value (`false` for `Option<T>` fields).
    pub required: bool,
}

impl ColSpec {
    /// A named column.
    pub fn new(name: impl Into<String>, ty: ColType, required: bool) -> ColSpec {
        ColSpec {
            name: Some(name.into()),
            ty,
            required,
        }
    }

    /// The name, or `<unnamed>`, for messages.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or("<unnamed>")
    }
}

impl fmt::Display for ColSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let req = if self.required {
            "required"
        } else {
            "optional"
        };
        write!(f, "{}: {} ({req})", self.display_name(), self.ty)
    }
}

/// A model's signature: the columns it takes and the columns it returns (MLflow's
/// `ModelSignature`, without params).
///
/// ```
/// use oxflow_runtime::model::{ColSpec, ColType, DataType, Signature};
/// let sig = Signature {
///     inputs: vec![ColSpec::new("x", ColType::Scalar(DataType::Double), true)],
///     outputs: vec![ColSpec::new("y", ColType::Scalar(DataType::Long), false)],
/// };
/// assert_eq!(sig.inputs_json(), r#"[{"type": "double", "name": "x", "required": true}]"#);
/// assert_eq!(Signature::from_json(&sig.inputs_json(), &sig.outputs_json())?, sig);
/// # Ok::<(), oxflow_runtime::model::ModelError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Signature {
    /// The input columns, in order.
    pub inputs: Vec<ColSpec>,
    /// The output columns, in order.
    pub outputs: Vec<ColSpec>,
}

impl Signature {
    /// The signature of a model taking rows of `I` and returning rows of `O`.
    ///
    /// ```
    /// # use oxflow_runtime::model::{Schema, Signature};
    /// // #[derive(oxflow::Schema)] types implement `Schema`; see `oxflow::model`.
    /// fn sig<I: Schema, O: Schema>() -> Signature { Signature::of::<I, O>() }
    /// ```
    pub fn of<I: super::Schema, O: super::Schema>() -> Signature {
        Signature {
            inputs: I::columns(),
            outputs: O::columns(),
        }
    }

    /// The `signature.inputs` string of `MLmodel`, byte for byte as MLflow writes it.
    pub fn inputs_json(&self) -> String {
        schema_json(&self.inputs)
    }

    /// The `signature.outputs` string of `MLmodel`.
    pub fn outputs_json(&self) -> String {
        schema_json(&self.outputs)
    }

    /// Parses the `signature.inputs` and `signature.outputs` strings of an `MLmodel`.
    pub fn from_json(inputs: &str, outputs: &str) -> Result<Signature, ModelError> {
        Ok(Signature {
            inputs: parse_schema("inputs", inputs)?,
            outputs: parse_schema("outputs", outputs)?,
        })
    }

    /// The first difference between `self` (what was stored) and `expected` (what the code
    /// was compiled with), in words naming the column; `None` when they are equal.
    ///
    /// ```
    /// use oxflow_runtime::model::{ColSpec, ColType, DataType, Signature};
    /// let col = |n: &str, t| ColSpec::new(n, ColType::Scalar(t), true);
    /// let stored = Signature { inputs: vec![col("x", DataType::Double)], outputs: vec![] };
    /// let compiled = Signature { inputs: vec![col("x", DataType::Float)], outputs: vec![] };
    /// assert_eq!(
    ///     stored.difference(&compiled).unwrap(),
    ///     "input column `x` is double in the stored signature but float in the compiled one"
    /// );
    /// ```
    pub fn difference(&self, expected: &Signature) -> Option<String> {
        schema_difference("input", &self.inputs, &expected.inputs)
            .or_else(|| schema_difference("output", &self.outputs, &expected.outputs))
    }
}

fn schema_difference(side: &str, stored: &[ColSpec], compiled: &[ColSpec]) -> Option<String> {
    for c in compiled {
        match stored.iter().find(|s| s.name == c.name) {
            None => {
                return Some(format!(
                    "{side} column `{}` is missing from the stored signature",
                    c.display_name()
                ));
            }
            Some(s) if s.ty != c.ty => {
                return Some(format!(
                    "{side} column `{}` is {} in the stored signature but {} in the compiled one",
                    c.display_name(),
                    s.ty,
                    c.ty
                ));
            }
            Some(s) if s.required != c.required => {
                let word = |r: bool| if r { "required" } else { "optional" };
                return Some(format!(
                    "{side} column `{}` is {} in the stored signature but {} in the compiled one",
                    c.display_name(),
                    word(s.required),
                    word(c.required)
                ));
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = stored
        .iter()
        .find(|s| !compiled.iter().any(|c| c.name == s.name))
    {
        return Some(format!(
            "{side} column `{}` is in the stored signature but not in the compiled one",
            extra.display_name()
        ));
    }
    let order = |cols: &[ColSpec]| cols.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    if order(stored) != order(compiled) {
        return Some(format!(
            "{side} columns are in another order: stored {:?}, compiled {:?}",
            order(stored),
            order(compiled)
        ));
    }
    None
}

/// A column type as MLflow's `to_dict` writes it, keys in its order (`type`, then `items`).
fn type_json(ty: &ColType, out: &mut String) {
    match ty {
        ColType::Scalar(t) => {
            out.push_str("\"type\": ");
            py_json_str(t.as_str(), out);
        }
        ColType::Array(items) => {
            out.push_str("\"type\": \"array\", \"items\": {");
            type_json(items, out);
            out.push('}');
        }
        ColType::Tensor { dtype, shape } => {
            out.push_str("\"type\": \"tensor\", \"tensor-spec\": {\"dtype\": ");
            py_json_str(dtype, out);
            let dims: Vec<String> = shape.iter().map(i64::to_string).collect();
            out.push_str(&format!(", \"shape\": [{}]}}", dims.join(", ")));
        }
    }
}

/// `json.dumps([c.to_dict() for c in cols])`: Python's default separators (`", "`, `": "`)
/// and ASCII escapes, keys in `ColSpec.to_dict`'s order.
fn schema_json(cols: &[ColSpec]) -> String {
    let mut out = String::from("[");
    for (i, c) in cols.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push('{');
        if c.ty.is_tensor() {
            // `TensorSpec.to_dict`: the name first, and no `required`.
            if let Some(name) = &c.name {
                out.push_str("\"name\": ");
                py_json_str(name, &mut out);
                out.push_str(", ");
            }
            type_json(&c.ty, &mut out);
            out.push('}');
            continue;
        }
        type_json(&c.ty, &mut out);
        if let Some(name) = &c.name {
            out.push_str(", \"name\": ");
            py_json_str(name, &mut out);
        }
        out.push_str(", \"required\": ");
        out.push_str(if c.required { "true" } else { "false" });
        out.push('}');
    }
    out.push(']');
    out
}

/// A string as Python's `json.dumps` writes it with `ensure_ascii=True`.
pub(crate) fn py_json_str(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn parse_type(side: &str, v: &serde_json::Map<String, Value>) -> Result<ColType, ModelError> {
    let bad = |reason: String| ModelError::Signature {
        reason: format!("signature {side}: {reason}"),
    };
    match v.get("type").and_then(Value::as_str) {
        Some("array") => {
            let items = v
                .get("items")
                .and_then(Value::as_object)
                .ok_or_else(|| bad("an array column has no `items` object".into()))?;
            Ok(ColType::Array(Box::new(parse_type(side, items)?)))
        }
        Some("tensor") => {
            let spec = v
                .get("tensor-spec")
                .and_then(Value::as_object)
                .ok_or_else(|| bad("a tensor has no `tensor-spec` object".into()))?;
            let dtype = spec
                .get("dtype")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("a tensor-spec has no `dtype`".into()))?;
            let shape = spec
                .get("shape")
                .and_then(Value::as_array)
                .and_then(|dims| dims.iter().map(Value::as_i64).collect::<Option<Vec<i64>>>())
                .ok_or_else(|| bad("a tensor-spec has no `shape` list of integers".into()))?;
            Ok(ColType::Tensor {
                dtype: dtype.to_string(),
                shape,
            })
        }
        Some(t @ ("object" | "map" | "any" | "sparkml_vector")) => Err(bad(format!(
            "columns of MLflow type `{t}` are not supported by oxflow's row types"
        ))),
        Some(t) => Ok(ColType::Scalar(
            t.parse::<DataType>().map_err(|e| bad(e.to_string()))?,
        )),
        None => Err(bad("a column has no `type`".into())),
    }
}

fn parse_schema(side: &str, text: &str) -> Result<Vec<ColSpec>, ModelError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ModelError::Signature {
        reason: format!("signature {side} is not JSON: {e}"),
    })?;
    let items = value.as_array().ok_or_else(|| ModelError::Signature {
        reason: format!("signature {side} is not a JSON list of columns"),
    })?;
    let cols = items
        .iter()
        .map(|item| {
            let obj = item.as_object().ok_or_else(|| ModelError::Signature {
                reason: format!("signature {side}: a column is not a JSON object"),
            })?;
            Ok(ColSpec {
                name: obj.get("name").and_then(Value::as_str).map(str::to_string),
                ty: parse_type(side, obj)?,
                required: obj.get("required").and_then(Value::as_bool).unwrap_or(true),
            })
        })
        .collect::<Result<Vec<ColSpec>, ModelError>>()?;
    // MLflow's `Schema` refuses the mix too ("a combination of ColSpec and TensorSpec").
    if cols.iter().any(|c| c.ty.is_tensor()) && !cols.iter().all(|c| c.ty.is_tensor()) {
        return Err(ModelError::Signature {
            reason: format!("signature {side} mixes column and tensor specs"),
        });
    }
    Ok(cols)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, ty: ColType, required: bool) -> ColSpec {
        ColSpec::new(name, ty, required)
    }

    #[test]
    fn columns_are_written_as_mlflow_writes_them() {
        // Expected strings printed by MLflow 3.17.2:
        // Schema([ColSpec("double","f1"), ColSpec("long","n",required=False),
        //         ColSpec(Array(DataType.float),"v")]).to_json()
        let cols = vec![
            col("f1", ColType::Scalar(DataType::Double), true),
            col("n", ColType::Scalar(DataType::Long), false),
            col(
                "v",
                ColType::Array(Box::new(ColType::Scalar(DataType::Float))),
                true,
            ),
        ];
        assert_eq!(
            schema_json(&cols),
            r#"[{"type": "double", "name": "f1", "required": true}, {"type": "long", "name": "n", "required": false}, {"type": "array", "items": {"type": "float"}, "name": "v", "required": true}]"#
        );
    }

    #[test]
    fn names_are_escaped_as_python_escapes_them() {
        let cols = vec![col(
            "prix €/m² \"x\"\n😀",
            ColType::Scalar(DataType::Str),
            true,
        )];
        // json.dumps([{"type": "string", "name": 'prix €/m² "x"\n😀', "required": True}])
        assert_eq!(
            schema_json(&cols),
            r#"[{"type": "string", "name": "prix \u20ac/m\u00b2 \"x\"\n\ud83d\ude00", "required": true}]"#
        );
        let back = parse_schema("inputs", &schema_json(&cols)).unwrap();
        assert_eq!(back, cols);
    }

    #[test]
    fn tensors_are_read_and_written_as_mlflow_writes_them() {
        // Printed by MLflow 3.17.2: Schema([TensorSpec(np.dtype("float32"), (-1, 4), "X")]).to_json()
        // and the same without a name.
        for text in [
            r#"[{"name": "X", "type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 4]}}]"#,
            r#"[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]"#,
        ] {
            let cols = parse_schema("inputs", text).unwrap();
            assert!(cols[0].ty.is_tensor());
            assert_eq!(schema_json(&cols), text);
        }
        let e = parse_schema(
            "inputs",
            r#"[{"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1]}}, {"type": "double", "name": "x"}]"#,
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("mixes column and tensor specs"),
            "{e}"
        );
    }

    #[test]
    fn unsupported_mlflow_types_are_named() {
        let e = parse_schema(
            "inputs",
            r#"[{"type": "map", "values": {"type": "double"}}]"#,
        )
        .unwrap_err();
        assert!(e.to_string().contains("`map`"), "{e}");
        let e = parse_schema("outputs", r#"[{"type": "decimal", "name": "x"}]"#).unwrap_err();
        assert!(e.to_string().contains("\"decimal\""), "{e}");
        assert!(parse_schema("inputs", "[{").is_err());
    }

    #[test]
    fn differences_name_the_column() {
        let a = vec![col("x", ColType::Scalar(DataType::Double), true)];
        let b = vec![col("x", ColType::Scalar(DataType::Double), false)];
        let sa = Signature {
            inputs: a.clone(),
            outputs: vec![],
        };
        let sb = Signature {
            inputs: b,
            outputs: vec![],
        };
        assert_eq!(
            sa.difference(&sb).unwrap(),
            "input column `x` is required in the stored signature but optional in the compiled one"
        );
        assert_eq!(sa.difference(&sa), None);
        let sc = Signature {
            inputs: vec![],
            outputs: a,
        };
        assert_eq!(
            sa.difference(&sc).unwrap(),
            "input column `x` is in the stored signature but not in the compiled one"
        );
    }
}
