//! Saving, logging, registering and loading models: [`save_model`] to a directory,
//! [`Run::log_model`] as an MLflow 3 LoggedModel, [`register_model`] in the registry, and
//! [`Model::load`] / [`AnyModel::load`] from any model URI.

use std::ops::Deref;
use std::path::Path;

use serde_json::Value;

use super::ModelError;
use super::flavor::{self, MlModel, RustFlavor, SaveTarget};
use super::predict::{DynModel, ModelType, find_model_type, model_types};
use super::uri::{Located, resolve};
use crate::tracking::{
    LoggedModel, LoggedModelStatus, ModelVersion, NewLoggedModel, NewModelVersion, Run,
    TrackingError, TrackingStore,
};

/// Tag on a LoggedModel listing the registry versions made from it, as MLflow writes it.
pub const TAG_MODEL_VERSIONS: &str = "mlflow.modelVersions";

/// Saves a model in MLflow's model directory format (`MLmodel`, `model.json`, and the input
/// examples when `example` has rows) under `dir`, which must not exist yet.
///
/// ```
/// # use oxflow_runtime::model::{save_model, ModelType};
/// fn save<M: ModelType>(m: &M, rows: &[M::Input]) -> Result<(), oxflow_runtime::model::ModelError> {
///     save_model(m, Some(rows), std::path::Path::new("target/my-model"))
/// }
/// ```
pub fn save_model<M: ModelType>(
    model: &M,
    example: Option<&[M::Input]>,
    dir: &Path,
) -> Result<(), ModelError> {
    flavor::write_model_dir(dir, |target| flavor::model_files(model, example, target))
}

impl Run {
    /// Logs `model` as an MLflow 3 LoggedModel named `name`, as `mlflow.<flavor>.log_model`
    /// does: a model `m-<32 hex>` in the run's experiment, PENDING, with the run's params,
    /// linked to the run; its files (`model.json`, `MLmodel` with the signature) written to
    /// its artifact location; then READY. Returns the model (`models:/<model_id>` names it).
    pub fn log_model<M: ModelType>(
        &mut self,
        model: &M,
        name: &str,
    ) -> Result<LoggedModel, ModelError> {
        self.log_model_with_example(model, name, &[])
    }

    /// [`Run::log_model`], with rows saved as `input_example.json` and
    /// `serving_input_example.json` (a request body the scoring protocol accepts).
    pub fn log_model_with_example<M: ModelType>(
        &mut self,
        model: &M,
        name: &str,
        example: &[M::Input],
    ) -> Result<LoggedModel, ModelError> {
        self.log_model_files(name, |target| {
            flavor::model_files(model, Some(example), target)
        })
    }

    /// [`Run::log_model_with_example`], plus a [`ReferenceProfile`](super::ReferenceProfile)
    /// of `reference` (the training rows) saved as `reference_profile.json`: a server scoring
    /// this model then tests its inputs for drift against it (`oxflow serve`).
    pub fn log_model_with_reference<M: ModelType>(
        &mut self,
        model: &M,
        name: &str,
        example: &[M::Input],
        reference: &[M::Input],
    ) -> Result<LoggedModel, ModelError> {
        let records: Vec<_> = reference.iter().map(super::Schema::to_row).collect();
        let profile = super::ReferenceProfile::from_records(&M::signature(), &records);
        let profile = serde_json::to_vec(&profile).map_err(|e| ModelError::Serialize {
            model_type: M::INFO.type_path,
            source: e,
        })?;
        self.log_model_files(name, |target| {
            let mut files = flavor::model_files(model, Some(example), target)?;
            // Before `MLmodel`, which is written last.
            files.insert(
                files.len().saturating_sub(1),
                (super::PROFILE_FILE, profile),
            );
            Ok(files)
        })
    }

    /// Logs a LoggedModel named `name` whose files `files` gives for its artifact location:
    /// created PENDING with the run's params, linked to the run, given the run's metrics, its
    /// files uploaded, then READY (UPLOAD_FAILED if any step fails).
    pub(crate) fn log_model_files(
        &mut self,
        name: &str,
        files: impl FnOnce(&SaveTarget) -> Result<Vec<(&'static str, Vec<u8>)>, ModelError>,
    ) -> Result<LoggedModel, ModelError> {
        let store = self.store().clone();
        let record = self.record()?;
        let params: Vec<(String, String)> = record
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let logged = store.create_logged_model(&NewLoggedModel {
            experiment_id: self.info().experiment_id.clone(),
            name: name.to_string(),
            source_run_id: Some(self.id().to_string()),
            params,
            tags: Vec::new(),
            model_type: None,
        })?;
        let upload = || -> Result<(), ModelError> {
            store.link_model_to_run(self.id(), &logged.model_id)?;
            // MLflow copies the run's metrics, every value, to the model it logs.
            let mut history = Vec::new();
            for key in record.metrics.keys() {
                history.extend(store.get_metric_history(self.id(), key)?);
            }
            store.log_model_metrics(&logged, self.id(), &history)?;
            let target = SaveTarget {
                artifact_path: Some(logged.artifact_location.clone()),
                model_id: Some(logged.model_id.clone()),
                run_id: Some(self.id().to_string()),
            };
            for (file, bytes) in files(&target)? {
                store.log_model_artifact(&logged, file, &bytes)?;
            }
            Ok(())
        };
        if let Err(e) = upload() {
            // Leave a record MLflow shows as failed rather than a model forever PENDING.
            let _ = store.finalize_logged_model(&logged.model_id, LoggedModelStatus::UploadFailed);
            return Err(e);
        }
        Ok(store.finalize_logged_model(&logged.model_id, LoggedModelStatus::Ready)?)
    }
}

/// Registers the model at `source` (`models:/<model_id>`, or `runs:/<run>/<path>`) as the next
/// version of the registered model `name` (created if missing), as `mlflow.register_model`
/// does; a LoggedModel gets the `mlflow.modelVersions` tag listing its versions.
///
/// ```no_run
/// # let store = oxflow_runtime::tracking::TrackingStore::from_env()?;
/// let v = oxflow_runtime::model::register_model(&store, "models:/m-0123456789abcdef0123456789abcdef", "prices")?;
/// println!("registered version {}", v.version);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn register_model(
    store: &TrackingStore,
    source: &str,
    name: &str,
) -> Result<ModelVersion, ModelError> {
    let parsed: super::ModelUri = source.parse()?;
    let (source, run_id, logged) = match &parsed {
        super::ModelUri::LoggedModel { model_id } => {
            let m = store.get_logged_model(model_id)?;
            (source.to_string(), m.source_run_id.clone(), Some(m))
        }
        super::ModelUri::Run { run_id, .. } => (source.to_string(), Some(run_id.clone()), None),
        _ => {
            return Err(ModelError::Uri {
                uri: source.to_string(),
                reason:
                    "a new version is registered from models:/<model_id> or runs:/<run_id>/<path>"
                        .into(),
            });
        }
    };
    match store.create_registered_model(name, None, &[]) {
        Ok(_) | Err(TrackingError::ModelExists { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let version = store.create_model_version(&NewModelVersion {
        name: name.to_string(),
        source,
        run_id,
        ..NewModelVersion::default()
    })?;
    if let Some(m) = logged {
        let mut list: Vec<Value> = m
            .tags
            .get(TAG_MODEL_VERSIONS)
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default();
        list.push(serde_json::json!({"name": name, "version": version.version}));
        let mut text = String::new();
        flavor::py_json(&Value::Array(list), None, 0, &mut text);
        store.set_logged_model_tags(&m.model_id, &[(TAG_MODEL_VERSIONS.to_string(), text)])?;
    }
    Ok(version)
}

/// The model at `uri`: how errors name it, and its `MLmodel`; `read` then gives its files.
fn open_located(
    store: &TrackingStore,
    uri: &str,
) -> Result<(String, Located, MlModel), ModelError> {
    let located = resolve(store, uri)?;
    let origin = located.origin();
    let origin = if origin == uri {
        origin
    } else {
        format!("{uri} ({origin})")
    };
    let mlmodel = flavor::read_mlmodel(&origin, &mut |file| located.read(store, file))?;
    Ok((origin, located, mlmodel))
}

fn read_located(
    store: &TrackingStore,
    uri: &str,
) -> Result<(String, MlModel, RustFlavor, Vec<u8>), ModelError> {
    let (origin, located, mlmodel) = open_located(store, uri)?;
    let (flavor, data) =
        flavor::read_rust_data(&origin, &mlmodel, &mut |file| located.read(store, file))?;
    Ok((origin, mlmodel, flavor, data))
}

/// Reads the reference profile saved with the model at `uri`, if it has one.
pub(crate) fn read_profile(
    store: &TrackingStore,
    uri: &str,
) -> Result<Option<super::ReferenceProfile>, ModelError> {
    let located = resolve(store, uri)?;
    match located.read(store, super::PROFILE_FILE) {
        Ok(bytes) => Ok(Some(super::ReferenceProfile::parse(
            &format!("{}/{}", located.origin(), super::PROFILE_FILE),
            &bytes,
        )?)),
        Err(_) => Ok(None),
    }
}

/// The flavor name of MLflow's ONNX models (also without the `onnx` feature, to name it).
const ONNX_FLAVOR: &str = "onnx";

#[cfg(feature = "onnx")]
fn load_onnx(
    origin: &str,
    mlmodel: &MlModel,
    read: &mut dyn FnMut(&str) -> Result<Vec<u8>, ModelError>,
) -> Result<Box<dyn DynModel>, ModelError> {
    Ok(Box::new(super::OnnxModel::from_mlmodel(
        origin, mlmodel, read,
    )?))
}

#[cfg(not(feature = "onnx"))]
fn load_onnx(
    origin: &str,
    _mlmodel: &MlModel,
    _read: &mut dyn FnMut(&str) -> Result<Vec<u8>, ModelError>,
) -> Result<Box<dyn DynModel>, ModelError> {
    Err(ModelError::File {
        file: format!("{origin}/{}", flavor::MLMODEL_FILE),
        reason: format!(
            "holds a model in MLflow's `{ONNX_FLAVOR}` flavor; this program was built without oxflow's `onnx` feature (enable it: `oxflow = {{ version = \"{}\", features = [\"onnx\"] }}`)",
            env!("CARGO_PKG_VERSION")
        ),
    })
}

/// A typed model loaded from a store: the model, and what its `MLmodel` says. Derefs to the
/// model.
///
/// ```no_run
/// # use oxflow_runtime::model::{Model, ModelType};
/// fn champion<M: ModelType>() -> Result<Model<M>, oxflow_runtime::model::ModelError> {
///     Model::<M>::load("models:/house-prices@champion")
/// }
/// ```
#[derive(Debug)]
pub struct Model<M> {
    model: M,
    mlmodel: MlModel,
    flavor: RustFlavor,
}

impl<M: ModelType> Model<M> {
    /// Loads the model at `uri` from the tracking store the environment names
    /// (`OXFLOW_TRACKING_URI`, `MLFLOW_TRACKING_URI`, else MLflow's default); a plain path
    /// needs no store.
    pub fn load(uri: &str) -> Result<Model<M>, ModelError> {
        let store = TrackingStore::from_env()?;
        Model::load_from(&store, uri)
    }

    /// Loads the model at `uri` through `store`'s registry. The stored signature must equal
    /// `M`'s (the error names the column that differs) and the stored type must be `M`.
    pub fn load_from(store: &TrackingStore, uri: &str) -> Result<Model<M>, ModelError> {
        let (origin, mlmodel, flavor, data) = read_located(store, uri)?;
        let model = flavor::decode_typed::<M>(&origin, &mlmodel, &flavor, &data)?;
        let compiled = M::params();
        if mlmodel.params != compiled {
            return Err(ModelError::SignatureMismatch {
                file: format!("{origin}/{}", flavor::MLMODEL_FILE),
                difference: format!(
                    "the inference params are {} in the file and {} in the code",
                    super::ParamSpec::list_json(&mlmodel.params),
                    super::ParamSpec::list_json(&compiled)
                ),
            });
        }
        Ok(Model {
            model,
            mlmodel,
            flavor,
        })
    }

    /// Scores a request in MLflow's scoring protocol with MLflow's schema enforcement; see
    /// [`predict_json`](super::predict_json).
    pub fn predict_json(&self, body: &Value) -> Result<Value, ModelError> {
        super::predict_json(&self.model, body)
    }

    /// The model.
    pub fn into_inner(self) -> M {
        self.model
    }

    /// What the `MLmodel` file says (signature, model id, run).
    pub fn mlmodel(&self) -> &MlModel {
        &self.mlmodel
    }

    /// The `oxflow` flavor entry (crate, version and type that wrote the model).
    pub fn flavor(&self) -> &RustFlavor {
        &self.flavor
    }
}

impl<M> Deref for Model<M> {
    type Target = M;
    fn deref(&self) -> &M {
        &self.model
    }
}

/// A model loaded without knowing its type: the flavor comes from `MLmodel`, the type from
/// the `#[model]` types compiled into this program. Scores JSON requests.
///
/// ```no_run
/// let model = oxflow_runtime::model::AnyModel::load("models:/house-prices/3")?;
/// let out = model.predict_json(&serde_json::json!({"dataframe_records": [{"area": 50}]}))?;
/// # Ok::<(), oxflow_runtime::model::ModelError>(())
/// ```
pub struct AnyModel {
    model: Box<dyn DynModel>,
    mlmodel: MlModel,
}

impl std::fmt::Debug for AnyModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnyModel")
            .field("type", &self.model.model_type_info().type_path)
            .finish()
    }
}

impl AnyModel {
    /// Loads the model at `uri` from the environment's tracking store.
    pub fn load(uri: &str) -> Result<AnyModel, ModelError> {
        let store = TrackingStore::from_env()?;
        AnyModel::load_from(&store, uri)
    }

    /// Loads the model at `uri` through `store`. The flavor comes from `MLmodel`: `oxflow` → the
    /// registered `#[model]` type it names; `onnx` → an [`OnnxModel`](super::OnnxModel) (with
    /// the `onnx` cargo feature).
    pub fn load_from(store: &TrackingStore, uri: &str) -> Result<AnyModel, ModelError> {
        let (origin, located, mlmodel) = open_located(store, uri)?;
        let mut read = |file: &str| located.read(store, file);
        if !mlmodel.flavors.iter().any(|f| f == flavor::FLAVOR)
            && mlmodel.flavors.iter().any(|f| f == ONNX_FLAVOR)
        {
            let model = load_onnx(&origin, &mlmodel, &mut read)?;
            return Ok(AnyModel { model, mlmodel });
        }
        let (flavor, data) = flavor::read_rust_data(&origin, &mlmodel, &mut read)?;
        let reg =
            find_model_type(&flavor.model_type).ok_or_else(|| ModelError::UnknownModelType {
                name: flavor.model_type.clone(),
                type_path: flavor.type_path.clone(),
                known: {
                    let names: Vec<&str> = model_types().iter().map(|m| m.info.name).collect();
                    if names.is_empty() {
                        "none".into()
                    } else {
                        names.join(", ")
                    }
                },
            })?;
        let compiled = (reg.signature)();
        let file = format!("{origin}/{}", flavor::MLMODEL_FILE);
        if let Some(diff) = mlmodel
            .signature
            .as_ref()
            .and_then(|s| s.difference(&compiled))
        {
            return Err(ModelError::SignatureMismatch {
                file,
                difference: diff,
            });
        }
        let model = (reg.from_json)(&data).map_err(|e| ModelError::File {
            file: format!("{origin}/{}", flavor.data),
            reason: format!("cannot be read as `{}`: {e}", reg.info.type_path),
        })?;
        Ok(AnyModel { model, mlmodel })
    }

    /// Scores a request in MLflow's scoring protocol.
    pub fn predict_json(&self, body: &Value) -> Result<Value, ModelError> {
        self.model.predict_json(body)
    }

    /// The model, as a trait object (downcast with `as_any`).
    pub fn model(&self) -> &dyn DynModel {
        &*self.model
    }

    /// The model, owned (what a server keeps).
    pub fn into_model(self) -> Box<dyn DynModel> {
        self.model
    }

    /// What the `MLmodel` file says.
    pub fn mlmodel(&self) -> &MlModel {
        &self.mlmodel
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tracking::SqlStore;

    #[test]
    fn an_onnx_model_loads_only_with_the_onnx_feature() {
        let dir = tempfile::tempdir().unwrap();
        let store: TrackingStore = SqlStore::open(dir.path().join("mlflow.db")).unwrap().into();
        let model_dir = dir.path().join("model");
        std::fs::create_dir(&model_dir).unwrap();
        let fixture = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/onnx/lr_binary.onnx"
        );
        std::fs::copy(fixture, model_dir.join("model.onnx")).unwrap();
        std::fs::write(
            model_dir.join("MLmodel"),
            "flavors:\n  onnx:\n    data: model.onnx\n    onnx_version: 1.23.2\n  python_function:\n    loader_module: mlflow.onnx\n",
        )
        .unwrap();
        let loaded = AnyModel::load_from(&store, model_dir.to_str().unwrap());
        #[cfg(feature = "onnx")]
        {
            let out = loaded
                .unwrap()
                .predict_json(&serde_json::json!({"inputs": [[6.3, 3.3, 6.0, 2.5]]}))
                .unwrap();
            assert_eq!(out["predictions"]["label"], serde_json::json!([1]));
        }
        #[cfg(not(feature = "onnx"))]
        {
            let e = loaded.unwrap_err().to_string();
            assert!(
                e.contains("/model/MLmodel` holds a model in MLflow's `onnx` flavor; this program was built without oxflow's `onnx` feature"),
                "{e}"
            );
        }
    }
}
