//! Typed inference parameters: MLflow's `ParamSchema` (the `params` of a signature) from a Rust
//! struct, and their enforcement on a scoring request's `params` as MLflow enforces them
//! (`_enforce_params_schema`): a parameter not given takes its default, an unknown one is
//! ignored with a warning, a value of the wrong type is an error naming the parameter.
//!
//! A params type is any `Serialize + DeserializeOwned + Default` struct: its default value
//! gives each parameter's name, type and default (`f64` → double, `i64` → long, `bool` →
//! boolean, `String` → string, `Vec<T>` → a 1-D array, shape `[-1]`). A model takes them by
//! implementing [`PredictParams`] and naming the type in `#[model(params = Knobs)]`.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::ModelError;
use super::Predict;
use super::enforce::RequestRows;
use super::schema::DataType;

/// One inference parameter: MLflow's `ParamSpec`.
///
/// ```
/// use oxflow_runtime::model::{InferenceParams, ParamSpec};
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Knobs { threshold: f64, top_k: i64 }
/// impl Default for Knobs { fn default() -> Self { Knobs { threshold: 0.5, top_k: 3 } } }
/// let specs = Knobs::param_specs();
/// assert_eq!(
///     ParamSpec::list_json(&specs),
///     r#"[{"name": "threshold", "default": 0.5, "shape": null, "type": "double"}, {"name": "top_k", "default": 3, "shape": null, "type": "long"}]"#
/// );
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ParamSpec {
    /// The parameter's name.
    pub name: String,
    /// Its type (of each element, for an array).
    pub ty: DataType,
    /// Its default value.
    pub default: Value,
    /// `Some([-1])` for a 1-D array, `None` for a scalar.
    pub shape: Option<Vec<i64>>,
}

impl ParamSpec {
    /// The params schema as MLflow writes it in `MLmodel` (`ParamSchema.to_json()`): keys in
    /// MLflow's order, Python's separators.
    pub fn list_json(specs: &[ParamSpec]) -> String {
        let items: Vec<String> = specs
            .iter()
            .map(|p| {
                let mut default = String::new();
                super::flavor::py_json(&p.default, None, 0, &mut default);
                let shape = match &p.shape {
                    None => "null".to_owned(),
                    Some(s) => format!(
                        "[{}]",
                        s.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
                    ),
                };
                format!(
                    r#"{{"name": {}, "default": {default}, "shape": {shape}, "type": "{}"}}"#,
                    Value::String(p.name.clone()),
                    p.ty.as_str()
                )
            })
            .collect();
        format!("[{}]", items.join(", "))
    }

    /// Reads MLflow's params schema JSON (the `params` of a signature).
    pub fn parse_list(text: &str) -> Result<Vec<ParamSpec>, ModelError> {
        let bad = |reason: String| ModelError::Signature { reason };
        let list: Vec<Map<String, Value>> = serde_json::from_str(text).map_err(|e| {
            bad(format!(
                "the params schema is not a JSON list of objects: {e}"
            ))
        })?;
        list.into_iter()
            .map(|m| {
                let name = m
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| bad("a param has no `name`".into()))?;
                let ty = m
                    .get("type")
                    .and_then(Value::as_str)
                    .and_then(|t| t.parse::<DataType>().ok())
                    .ok_or_else(|| bad(format!("param `{name}` has no type oxflow knows")))?;
                let shape = match m.get("shape") {
                    None | Some(Value::Null) => None,
                    Some(Value::Array(s)) => Some(s.iter().filter_map(Value::as_i64).collect()),
                    Some(other) => return Err(bad(format!("param `{name}` has shape {other}"))),
                };
                Ok(ParamSpec {
                    name: name.to_owned(),
                    ty,
                    default: m.get("default").cloned().unwrap_or(Value::Null),
                    shape,
                })
            })
            .collect()
    }
}

/// A struct of inference parameters; implemented for every `Serialize + DeserializeOwned +
/// Default` type.
pub trait InferenceParams: Serialize + DeserializeOwned + Default + Send + Sync {
    /// Each field as a [`ParamSpec`], from the default value.
    fn param_specs() -> Vec<ParamSpec> {
        let Ok(Value::Object(fields)) = serde_json::to_value(Self::default()) else {
            return Vec::new();
        };
        fields
            .into_iter()
            .filter_map(|(name, default)| {
                let (ty, shape) = match &default {
                    Value::Array(items) => (value_type(items.first()?)?, Some(vec![-1])),
                    scalar => (value_type(scalar)?, None),
                };
                Some(ParamSpec {
                    name,
                    ty,
                    default,
                    shape,
                })
            })
            .collect()
    }

    /// The request's `params` over the defaults: unknown names are ignored (with a warning,
    /// as MLflow), a value of the wrong type is an error naming the parameter.
    fn from_request(given: Option<&Map<String, Value>>) -> Result<Self, ModelError> {
        let Ok(Value::Object(mut merged)) = serde_json::to_value(Self::default()) else {
            return Ok(Self::default());
        };
        if let Some(given) = given {
            let unknown: Vec<&String> = given.keys().filter(|k| !merged.contains_key(*k)).collect();
            if !unknown.is_empty() {
                tracing::warn!(
                    "Unrecognized params {unknown:?} are ignored for inference. Supported params are: {:?}.",
                    merged.keys().collect::<Vec<_>>()
                );
            }
            let mut invalid = Vec::new();
            for spec in Self::param_specs() {
                let Some(v) = given.get(&spec.name) else {
                    continue;
                };
                match conform(v, &spec) {
                    Some(v) => {
                        merged.insert(spec.name.clone(), v);
                    }
                    None => invalid.push(format!(
                        "param `{}` ({}{}) cannot be {}",
                        spec.name,
                        spec.ty.as_str(),
                        if spec.shape.is_some() { " array" } else { "" },
                        super::column::show(v)
                    )),
                }
            }
            if !invalid.is_empty() {
                return Err(ModelError::BadParams {
                    reason: invalid.join("; "),
                });
            }
        }
        serde_json::from_value(Value::Object(merged)).map_err(|e| ModelError::BadParams {
            reason: e.to_string(),
        })
    }
}

impl<T: Serialize + DeserializeOwned + Default + Send + Sync> InferenceParams for T {}

fn value_type(v: &Value) -> Option<DataType> {
    Some(match v {
        Value::Bool(_) => DataType::Boolean,
        Value::Number(n) if n.is_i64() || n.is_u64() => DataType::Long,
        Value::Number(_) => DataType::Double,
        Value::String(_) => DataType::Str,
        _ => return None,
    })
}

/// `v` as a value of the spec's type (an integer is a valid double, as in MLflow), or `None`.
fn conform(v: &Value, spec: &ParamSpec) -> Option<Value> {
    let one = |x: &Value| -> Option<Value> {
        match (spec.ty, x) {
            (DataType::Double | DataType::Float, Value::Number(n)) => n
                .as_f64()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number),
            (DataType::Long | DataType::Integer, Value::Number(n)) if n.is_i64() => Some(x.clone()),
            (DataType::Boolean, Value::Bool(_)) | (DataType::Str, Value::String(_)) => {
                Some(x.clone())
            }
            _ => None,
        }
    };
    match (&spec.shape, v) {
        (Some(_), Value::Array(items)) => items
            .iter()
            .map(one)
            .collect::<Option<Vec<_>>>()
            .map(Value::Array),
        (Some(_), _) => None,
        (None, v) => one(v),
    }
}

/// A model that also takes typed inference parameters (`#[model(params = Knobs)]`).
///
/// ```
/// # use oxflow_runtime::model::{Predict, PredictParams};
/// fn score<M: PredictParams>(m: &M, rows: &[M::Input]) -> Result<Vec<M::Output>, M::Error> {
///     m.predict_with(rows, &M::Params::default())
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `PredictParams`",
    label = "`#[model(params = ...)]` needs `{Self}: PredictParams`",
    note = "implement `oxflow::model::PredictParams` for `{Self}`: `type Params = ...; fn predict_with(&self, rows: &[Self::Input], params: &Self::Params) -> Result<Vec<Self::Output>, Self::Error>`"
)]
pub trait PredictParams: Predict {
    /// The parameters (a `Serialize + Deserialize + Default` struct).
    type Params: InferenceParams;
    /// One output per input row, with `params`.
    fn predict_with(
        &self,
        rows: &[Self::Input],
        params: &Self::Params,
    ) -> Result<Vec<Self::Output>, Self::Error>;
}

/// [`predict_json`](super::predict_json) for a model with parameters: the request's `params`
/// are enforced and passed to [`PredictParams::predict_with`].
pub fn predict_json_with_params<M: PredictParams + ?Sized>(
    model: &M,
    body: &Value,
) -> Result<Value, ModelError> {
    let request = RequestRows::parse(body)?;
    let params = M::Params::from_request(request.params.as_ref())?;
    let rows = request.rows::<M::Input>()?;
    let out = model
        .predict_with(&rows, &params)
        .map_err(|e| ModelError::Predict {
            source: Box::new(e),
        })?;
    super::enforce::predictions(rows.len(), &out)
}
