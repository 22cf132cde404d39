//! The `oxflow` flavor: a model saved in MLflow's model directory format (an `MLmodel` file
//! with the signature, the model data, and input examples), and read back with every check a
//! stored file needs.
//!
//! Why only an `oxflow` flavor and no `python_function`: MLflow's pyfunc loads a model by
//! importing a Python `loader_module`, which cannot run Rust code, so a `python_function`
//! entry would promise `mlflow.pyfunc.load_model` something it cannot deliver. MLflow still
//! reads the directory: `mlflow.models.get_model_info` parses its signature, and
//! `mlflow.artifacts.download_artifacts("models:/...")` fetches it.
//!
//! The flavor's data is the model serialized with serde as JSON (`model.json`): readable,
//! diffable, and written by any serde type. `format_version` versions that layout;
//! `data_size_bytes` detects a truncated file before it is parsed; `crate`, `crate_version`
//! and `type_path` say which Rust type wrote it.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::ModelError;
use super::column::Schema;
use super::predict::{ModelType, ModelTypeInfo};
use super::schema::{Signature, py_json_str};
use crate::tracking::meta::{Py, yaml};

/// The flavor name in `MLmodel`.
pub const FLAVOR: &str = "oxflow";
/// The layout of the flavor's data this oxflow writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The file holding the serialized model.
pub const DATA_FILE: &str = "model.json";
/// The file MLflow reads a model's metadata from.
pub const MLMODEL_FILE: &str = "MLmodel";
/// The input example, as pandas' `to_dict(orient="split")` without the index.
pub const INPUT_EXAMPLE_FILE: &str = "input_example.json";
/// The input example as a scoring-server request body.
pub const SERVING_INPUT_FILE: &str = "serving_input_example.json";

/// The `oxflow` flavor's entry in `MLmodel`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RustFlavor {
    /// The layout version of the data file.
    pub format_version: u32,
    /// The data file, relative to the model directory.
    pub data: String,
    /// Its size, to detect truncation.
    pub data_size_bytes: u64,
    /// The registered model type's name.
    pub model_type: String,
    /// The Rust type's path.
    pub type_path: String,
    /// The crate the type was compiled in.
    pub crate_name: String,
    /// That crate's version.
    pub crate_version: String,
    /// The oxflow version that wrote it.
    pub oxflow_version: String,
}

/// What an `MLmodel` file says, as far as oxflow reads it.
///
/// ```
/// use oxflow_runtime::model::MlModel;
/// let text = "flavors:\n  sklearn: {}\nsignature:\n  inputs: '[{\"type\": \"double\", \"name\": \"x\", \"required\": true}]'\n  outputs: null\n";
/// let m = MlModel::parse("MLmodel", text)?;
/// assert_eq!(m.flavors, vec!["sklearn".to_string()]);
/// assert!(m.rust_flavor("MLmodel").unwrap_err().to_string().contains("sklearn"));
/// # Ok::<(), oxflow_runtime::model::ModelError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MlModel {
    /// Every flavor named in the file.
    pub flavors: Vec<String>,
    /// Every flavor's entry, parsed lazily ([`MlModel::rust_flavor`] for `oxflow`).
    raw_flavors: BTreeMap<String, Value>,
    /// The signature, when the file has one oxflow can read.
    pub signature: Option<Signature>,
    /// The signature's inference parameters (MLflow's `ParamSchema`), empty when none.
    pub params: Vec<super::ParamSpec>,
    /// The LoggedModel id.
    pub model_id: Option<String>,
    /// The run that logged it.
    pub run_id: Option<String>,
    /// When it was written (`utc_time_created`).
    pub utc_time_created: Option<String>,
}

fn file_err(file: &str, reason: impl Into<String>) -> ModelError {
    ModelError::File {
        file: file.to_string(),
        reason: reason.into(),
    }
}

impl MlModel {
    /// Parses the text of an `MLmodel` file; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<MlModel, ModelError> {
        let doc: BTreeMap<String, Value> = serde_saphyr::from_str(text)
            .map_err(|e| file_err(file, format!("not an MLmodel YAML mapping: {e}")))?;
        let flavors_map = doc
            .get("flavors")
            .and_then(Value::as_object)
            .ok_or_else(|| file_err(file, "has no `flavors` mapping"))?;
        let text_of = |k: &str| doc.get(k).and_then(Value::as_str).map(str::to_string);
        let signature = match doc.get("signature").and_then(Value::as_object) {
            Some(sig) => {
                let side = |k: &str| sig.get(k).and_then(Value::as_str).unwrap_or("[]");
                Some(
                    Signature::from_json(side("inputs"), side("outputs"))
                        .map_err(|e| file_err(file, e.to_string()))?,
                )
            }
            None => None,
        };
        let params = match doc
            .get("signature")
            .and_then(|s| s.get("params"))
            .and_then(Value::as_str)
        {
            Some(text) => {
                super::ParamSpec::parse_list(text).map_err(|e| file_err(file, e.to_string()))?
            }
            None => Vec::new(),
        };
        Ok(MlModel {
            params,
            flavors: flavors_map.keys().cloned().collect(),
            raw_flavors: flavors_map
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            signature,
            model_id: text_of("model_id"),
            run_id: text_of("run_id"),
            utc_time_created: text_of("utc_time_created"),
        })
    }

    /// The `oxflow` flavor, or an error naming the flavors the file has instead, or what is
    /// wrong with the entry.
    pub fn rust_flavor(&self, file: &str) -> Result<RustFlavor, ModelError> {
        let Some(raw) = self.raw_flavors.get(FLAVOR) else {
            return Err(file_err(
                file,
                format!(
                    "has no `{FLAVOR}` flavor (its flavors: {}); it was not saved by oxflow",
                    self.flavors.join(", ")
                ),
            ));
        };
        let text = |k: &str| {
            raw.get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
                .ok_or_else(|| file_err(file, format!("the `{FLAVOR}` flavor has no `{k}`")))
        };
        let number = |k: &str| {
            raw.get(k)
                .and_then(Value::as_u64)
                .ok_or_else(|| file_err(file, format!("the `{FLAVOR}` flavor has no `{k}` number")))
        };
        let format_version = number("format_version")?;
        if format_version != u64::from(FORMAT_VERSION) {
            return Err(file_err(
                file,
                format!(
                    "the `{FLAVOR}` flavor has format_version {format_version}, but this oxflow ({}) reads version {FORMAT_VERSION}",
                    env!("CARGO_PKG_VERSION")
                ),
            ));
        }
        let data = text("data")?;
        crate::tracking::validation::artifact_segments(&data)
            .map_err(|e| file_err(file, format!("the `{FLAVOR}` flavor's `data`: {e}")))?;
        Ok(RustFlavor {
            format_version: FORMAT_VERSION,
            data,
            data_size_bytes: number("data_size_bytes")?,
            model_type: text("model_type")?,
            type_path: text("type_path")?,
            crate_name: text("crate")?,
            crate_version: text("crate_version")?,
            oxflow_version: text("oxflow_version")?,
        })
    }
}

impl MlModel {
    /// A flavor's entry as written (`flavors.<name>`), if the file has that flavor.
    // Read by the `onnx` flavor.
    #[cfg_attr(not(feature = "onnx"), allow(dead_code))]
    pub(crate) fn flavor_entry(&self, name: &str) -> Option<&Value> {
        self.raw_flavors.get(name)
    }
}

/// Where a model is being saved, for the fields of `MLmodel` that name it.
#[derive(Clone, Debug, Default)]
pub(crate) struct SaveTarget {
    /// The full artifact URI (`artifact_path:`).
    pub(crate) artifact_path: Option<String>,
    pub(crate) model_id: Option<String>,
    pub(crate) run_id: Option<String>,
}

#[derive(Serialize)]
struct FlavorOut<'a> {
    #[serde(rename = "crate")]
    crate_name: Py<'a>,
    crate_version: Py<'a>,
    data: Py<'a>,
    data_size_bytes: u64,
    format_version: u32,
    model_type: Py<'a>,
    oxflow_version: Py<'a>,
    type_path: Py<'a>,
}

#[derive(Serialize)]
struct ExampleInfoOut {
    artifact_path: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pandas_orient: Option<&'static str>,
    serving_input_path: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct SignatureOut<'a> {
    inputs: Py<'a>,
    outputs: Option<Py<'a>>,
    params: Option<Py<'a>>,
}

// Keys in MLflow's (sorted) order, as `Model.save` writes them.
#[derive(Serialize)]
struct MlModelOut<'a, F> {
    #[serde(skip_serializing_if = "Option::is_none")]
    artifact_path: Option<Py<'a>>,
    flavors: F,
    is_signature_from_type_hint: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    mlflow_version: Option<Py<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    model_id: Option<Py<'a>>,
    model_size_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    model_uuid: Option<Py<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_id: Option<Py<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    saved_input_example_info: Option<ExampleInfoOut>,
    signature: SignatureOut<'a>,
    type_hint_from_example: bool,
    utc_time_created: Py<'a>,
}

/// A JSON value as Python's `json.dumps` writes it (`", "`/`": "` separators, ASCII escapes,
/// Python float reprs), optionally indented as with `indent=2`.
pub(crate) fn py_json(v: &Value, indent: Option<usize>, depth: usize, out: &mut String) {
    let newline = |out: &mut String, d: usize| {
        if let Some(n) = indent {
            out.push('\n');
            out.push_str(&" ".repeat(n * d));
        }
    };
    let sep = if indent.is_some() { "," } else { ", " };
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (_, Some(u), _) => out.push_str(&u.to_string()),
            (_, _, Some(f)) => out.push_str(&crate::tracking::fsutil::python_float_repr(f)),
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => py_json_str(s, out),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                newline(out, depth + 1);
                py_json(item, indent, depth + 1, out);
            }
            newline(out, depth);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(sep);
                }
                newline(out, depth + 1);
                py_json_str(k, out);
                out.push_str(": ");
                py_json(item, indent, depth + 1, out);
            }
            newline(out, depth);
            out.push('}');
        }
    }
}

fn utc_now_text() -> String {
    // MLflow: `datetime.utcnow()` printed with microseconds, `2026-11-28 07:08:10.574726`.
    let now = std::time::SystemTime::now();
    let d = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let text = super::column::format_datetime(now);
    let (date_time, _) = text.split_once('.').unwrap_or((&text, ""));
    format!(
        "{} {}.{:06}",
        &date_time[..10],
        &date_time[11..],
        d.subsec_micros()
    )
}

/// The pandas split form of rows: `{"columns": [...], "data": [[...], ...]}`.
fn split_example<R: Schema>(rows: &[R]) -> Value {
    let columns: Vec<String> = R::columns().into_iter().filter_map(|c| c.name).collect();
    let data: Vec<Value> = rows
        .iter()
        .map(|r| {
            let rec = r.to_row();
            Value::Array(
                columns
                    .iter()
                    .map(|c| rec.get(c).cloned().unwrap_or(Value::Null))
                    .collect(),
            )
        })
        .collect();
    let mut m = serde_json::Map::new();
    m.insert(
        "columns".into(),
        Value::Array(columns.into_iter().map(Value::String).collect()),
    );
    m.insert("data".into(), Value::Array(data));
    Value::Object(m)
}

/// An input example saved with a model: rows of a DataFrame (pandas' split form,
/// `{"columns": [...], "data": [[...], ...]}`) or a tensor (a nested JSON list), as MLflow's
/// `_save_example` writes a DataFrame or a numpy array.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Example {
    /// `{"columns": [...], "data": [[...]]}`; served as `{"dataframe_split": ...}`.
    Split(Value),
    /// A nested list; served as `{"inputs": ...}` (written by the `onnx` flavor).
    #[cfg_attr(not(feature = "onnx"), allow(dead_code))]
    Ndarray(Value),
}

/// The files of a saved model, in the order they are written (`MLmodel` last, so a reader
/// that finds it finds everything it names): `data` (the flavor's files, listed first), the
/// input example, `extra` (environment files), then `MLmodel` with `flavors` and the signature.
pub(crate) struct ModelDir<'a, F> {
    pub(crate) flavors: F,
    pub(crate) data: Vec<(&'static str, Vec<u8>)>,
    pub(crate) extra: Vec<(&'static str, Vec<u8>)>,
    pub(crate) signature: &'a Signature,
    pub(crate) example: Option<Example>,
    /// `mlflow_version:` (written for flavors MLflow itself loads).
    pub(crate) mlflow_version: Option<&'static str>,
    /// The inference parameters (the signature's `params`), none for most models.
    pub(crate) params: Vec<super::ParamSpec>,
}

impl<F: Serialize> ModelDir<'_, F> {
    pub(crate) fn files(self, target: &SaveTarget) -> Vec<(&'static str, Vec<u8>)> {
        let mut files = self.data;
        let mut example_info = None;
        if let Some(example) = self.example {
            let (text, serving, orient, kind) = match &example {
                Example::Split(split) => (split, "dataframe_split", Some("split"), "dataframe"),
                Example::Ndarray(nd) => (nd, "inputs", None, "ndarray"),
            };
            let mut out = String::new();
            py_json(text, None, 0, &mut out);
            files.push((INPUT_EXAMPLE_FILE, out.into_bytes()));
            let mut body = serde_json::Map::new();
            body.insert(serving.into(), text.clone());
            let mut out = String::new();
            py_json(&Value::Object(body), Some(2), 0, &mut out);
            files.push((SERVING_INPUT_FILE, out.into_bytes()));
            example_info = Some(ExampleInfoOut {
                artifact_path: INPUT_EXAMPLE_FILE,
                pandas_orient: orient,
                serving_input_path: SERVING_INPUT_FILE,
                kind,
            });
        }
        // MLflow measures the directory before it writes `MLmodel` and the environment files.
        let total: u64 = files.iter().map(|(_, b)| b.len() as u64).sum();
        files.extend(self.extra);
        let (inputs, outputs) = (self.signature.inputs_json(), self.signature.outputs_json());
        let params_json =
            (!self.params.is_empty()).then(|| super::ParamSpec::list_json(&self.params));
        let created = utc_now_text();
        let mlmodel = yaml(&MlModelOut {
            artifact_path: target.artifact_path.as_deref().map(Py),
            flavors: self.flavors,
            is_signature_from_type_hint: false,
            mlflow_version: self.mlflow_version.map(Py),
            model_id: target.model_id.as_deref().map(Py),
            model_size_bytes: total,
            model_uuid: target.model_id.as_deref().map(Py),
            run_id: target.run_id.as_deref().map(Py),
            saved_input_example_info: example_info,
            signature: SignatureOut {
                inputs: Py(&inputs),
                // MLflow writes `outputs: null` for a signature without outputs.
                outputs: (!self.signature.outputs.is_empty()).then_some(Py(&outputs)),
                params: params_json.as_deref().map(Py),
            },
            type_hint_from_example: false,
            utc_time_created: Py(&created),
        });
        files.push((MLMODEL_FILE, mlmodel.into_bytes()));
        files
    }
}

/// The files of a model saved in the `oxflow` flavor.
pub(crate) fn model_files<M: ModelType>(
    model: &M,
    example: Option<&[M::Input]>,
    target: &SaveTarget,
) -> Result<Vec<(&'static str, Vec<u8>)>, ModelError> {
    let data = serde_json::to_vec(model).map_err(|e| ModelError::Serialize {
        model_type: M::INFO.type_path,
        source: e,
    })?;
    let info: ModelTypeInfo = M::INFO;
    let flavors = BTreeMap::from([(
        FLAVOR,
        FlavorOut {
            crate_name: Py(info.crate_name),
            crate_version: Py(info.crate_version),
            data: Py(DATA_FILE),
            data_size_bytes: data.len() as u64,
            format_version: FORMAT_VERSION,
            model_type: Py(info.name),
            oxflow_version: Py(env!("CARGO_PKG_VERSION")),
            type_path: Py(info.type_path),
        },
    )]);
    let signature = M::signature();
    Ok(ModelDir {
        flavors,
        data: vec![(DATA_FILE, data)],
        extra: Vec::new(),
        signature: &signature,
        example: example
            .filter(|r| !r.is_empty())
            .map(|rows| Example::Split(split_example(rows))),
        mlflow_version: None,
        params: M::params(),
    }
    .files(target))
}

/// Reads and parses a model's `MLmodel` with `read` (a file name → its bytes); `origin` names
/// the model in errors.
pub(crate) fn read_mlmodel(
    origin: &str,
    read: &mut dyn FnMut(&str) -> Result<Vec<u8>, ModelError>,
) -> Result<MlModel, ModelError> {
    let mlmodel_file = format!("{origin}/{MLMODEL_FILE}");
    let text = String::from_utf8(read(MLMODEL_FILE)?)
        .map_err(|_| file_err(&mlmodel_file, "is not UTF-8 text"))?;
    MlModel::parse(&mlmodel_file, &text)
}

/// Reads the data of a model in the `oxflow` flavor, checking the flavor, its version and the
/// data's size.
pub(crate) fn read_rust_data(
    origin: &str,
    mlmodel: &MlModel,
    read: &mut dyn FnMut(&str) -> Result<Vec<u8>, ModelError>,
) -> Result<(RustFlavor, Vec<u8>), ModelError> {
    let mlmodel_file = format!("{origin}/{MLMODEL_FILE}");
    let flavor = mlmodel.rust_flavor(&mlmodel_file)?;
    let data_file = format!("{origin}/{}", flavor.data);
    let data = read(&flavor.data)?;
    if data.len() as u64 != flavor.data_size_bytes {
        return Err(file_err(
            &data_file,
            format!(
                "has {} bytes but MLmodel records {}: the file is truncated or was replaced",
                data.len(),
                flavor.data_size_bytes
            ),
        ));
    }
    Ok((flavor, data))
}

/// Writes a model's files into the new directory `dir`; `files` gets the target (its
/// `artifact_path`) and returns the files.
pub(crate) fn write_model_dir(
    dir: &std::path::Path,
    files: impl FnOnce(&SaveTarget) -> Result<Vec<(&'static str, Vec<u8>)>, ModelError>,
) -> Result<(), ModelError> {
    let io = |e: std::io::Error| {
        file_err(
            &dir.display().to_string(),
            format!("cannot be written: {e}"),
        )
    };
    if dir.exists() {
        return Err(file_err(
            &dir.display().to_string(),
            "already exists; save a model into a new directory",
        ));
    }
    let target = SaveTarget {
        artifact_path: Some(crate::tracking::fsutil::path_to_file_uri(
            &std::path::absolute(dir).map_err(io)?,
        )),
        ..SaveTarget::default()
    };
    let files = files(&target)?;
    std::fs::create_dir_all(dir).map_err(io)?;
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).map_err(io)?;
    }
    Ok(())
}

/// Reads a typed model: the stored type and signature must be `M`'s.
pub(crate) fn decode_typed<M: ModelType>(
    origin: &str,
    mlmodel: &MlModel,
    flavor: &RustFlavor,
    data: &[u8],
) -> Result<M, ModelError> {
    let mlmodel_file = format!("{origin}/{MLMODEL_FILE}");
    let compiled = M::signature();
    match &mlmodel.signature {
        Some(stored) => {
            if let Some(diff) = stored.difference(&compiled) {
                return Err(ModelError::SignatureMismatch {
                    file: mlmodel_file,
                    difference: diff,
                });
            }
        }
        None => {
            return Err(file_err(
                &mlmodel_file,
                "has no signature to check against the compiled one",
            ));
        }
    }
    if flavor.model_type != M::INFO.name {
        return Err(file_err(
            &mlmodel_file,
            format!(
                "holds a `{}` model ({}), not `{}` ({})",
                flavor.model_type,
                flavor.type_path,
                M::INFO.name,
                M::INFO.type_path
            ),
        ));
    }
    serde_json::from_slice(data).map_err(|e| {
        file_err(
            &format!("{origin}/{}", flavor.data),
            format!("cannot be read as `{}`: {e}", M::INFO.type_path),
        )
    })
}
