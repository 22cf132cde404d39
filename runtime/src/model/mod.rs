//! Models: typed MLflow signatures from Rust row types, the JSON predict entry point with
//! MLflow's schema enforcement, and the registry of model types a binary contains.
//!
//! A row type derives [`Schema`] (`#[derive(oxflow::Schema)]`): each field is a column with
//! MLflow's type for it (`f64` → double, `i64` → long, `Option<T>` → not required, ...). A model
//! implements [`Predict`] and is marked `#[oxflow::model(input = Row, output = Prediction)]`,
//! which gives it its [`Signature`] at compile time and registers it by name.
//!
//! ```
//! use oxflow_runtime::model::{ColSpec, ColType, DataType, Signature};
//! // What `#[derive(Schema)] struct House { area: f64, rooms: Option<i64> }` describes:
//! let inputs = vec![
//!     ColSpec::new("area", ColType::Scalar(DataType::Double), true),
//!     ColSpec::new("rooms", ColType::Scalar(DataType::Long), false),
//! ];
//! let sig = Signature { inputs, outputs: vec![] };
//! assert_eq!(
//!     sig.inputs_json(),
//!     r#"[{"type": "double", "name": "area", "required": true}, {"type": "long", "name": "rooms", "required": false}]"#
//! );
//! ```

pub mod cli;
mod column;
mod enforce;
mod error;
mod flavor;
mod load;
#[cfg(feature = "onnx")]
mod onnx;
mod params;
mod predict;
mod profile;
mod promote;
mod schema;
mod uri;

pub use column::{ColumnValue, Row, Schema};
pub use enforce::{INPUT_KEYS, ScoringRequest, TensorInput, TensorRequest, predict_json};
pub use error::ModelError;
pub use flavor::{
    DATA_FILE, FLAVOR, FORMAT_VERSION, INPUT_EXAMPLE_FILE, MLMODEL_FILE, MlModel, RustFlavor,
    SERVING_INPUT_FILE,
};
pub(crate) use load::read_profile;
pub use load::{AnyModel, Model, TAG_MODEL_VERSIONS, register_model, save_model};
#[cfg(feature = "onnx")]
pub use onnx::{
    ONNX_DATA_FILE, ONNX_FLAVOR, OnnxExample, OnnxModel, SUPPORTED_OPS, save_onnx_model,
};
pub use params::{InferenceParams, ParamSpec, PredictParams, predict_json_with_params};
pub use predict::{
    DynModel, LoadFn, ModelRegistration, ModelType, ModelTypeInfo, Predict, find_model_type,
    model_types,
};
pub use profile::{
    PROFILE_FILE, PROFILE_FORMAT_VERSION, PROFILE_SAMPLE, ProfileColumn, ProfileValues,
    ReferenceProfile,
};
pub use promote::{Better, Promotion, TAG_METRIC_PREFIX, promote_if_better};
pub use schema::{ColSpec, ColType, DataType, Signature};
pub use uri::{ModelUri, registry_version};

#[doc(hidden)]
pub use predict::dyn_from_json;
