//! [`Predict`]: the one trait a model implements; [`ModelType`]: what `#[model]` adds (a name,
//! the crate it was built in, its signature); [`DynModel`]: any model behind JSON; and the
//! `inventory` registry through which a binary finds a model type by name.

use std::any::Any;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::column::Schema;
use super::params::ParamSpec;
use super::schema::Signature;
use super::{ModelError, predict_json};

/// A model: scores rows of `Input`, one `Output` per row.
///
/// ```
/// use oxflow_runtime::model::Predict;
/// # use oxflow_runtime::model::{ColSpec, ColType, DataType, Row, Schema, ModelError};
/// # struct House { area: f64 }
/// # struct Price { price: f64 }
/// # impl Schema for House {
/// #     fn columns() -> Vec<ColSpec> { vec![ColSpec::new("area", ColType::Scalar(DataType::Double), true)] }
/// #     fn from_row(r: &Row<'_>) -> Result<Self, ModelError> { Ok(House { area: r.get("area")? }) }
/// #     fn to_row(&self) -> serde_json::Map<String, serde_json::Value> { Default::default() }
/// # }
/// # impl Schema for Price {
/// #     fn columns() -> Vec<ColSpec> { vec![ColSpec::new("price", ColType::Scalar(DataType::Double), true)] }
/// #     fn from_row(r: &Row<'_>) -> Result<Self, ModelError> { Ok(Price { price: r.get("price")? }) }
/// #     fn to_row(&self) -> serde_json::Map<String, serde_json::Value> { Default::default() }
/// # }
/// // With `#[derive(oxflow::Schema)]` on `House` and `Price`:
/// struct PerSquareMetre(f64);
/// impl Predict for PerSquareMetre {
///     type Input = House;
///     type Output = Price;
///     type Error = std::convert::Infallible;
///     fn predict(&self, rows: &[House]) -> Result<Vec<Price>, Self::Error> {
///         Ok(rows.iter().map(|h| Price { price: h.area * self.0 }).collect())
///     }
/// }
/// let p = PerSquareMetre(3000.0).predict(&[House { area: 50.0 }]).unwrap();
/// assert_eq!(p[0].price, 150_000.0);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `Predict`",
    label = "`#[model]` needs `{Self}: Predict`",
    note = "implement `oxflow::model::Predict` for `{Self}`: `fn predict(&self, rows: &[Self::Input]) -> Result<Vec<Self::Output>, Self::Error>`"
)]
pub trait Predict {
    /// One input row (a `#[derive(oxflow::Schema)]` struct).
    type Input: Schema;
    /// One output row.
    type Output: Schema;
    /// Why a prediction failed.
    type Error: std::error::Error + Send + Sync + 'static;
    /// One output per input row, in order.
    fn predict(&self, rows: &[Self::Input]) -> Result<Vec<Self::Output>, Self::Error>;
}

/// Where a model type comes from, recorded in `MLmodel` so a load can tell whether the stored
/// model was written by this type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelTypeInfo {
    /// The name the type is registered under (`#[model(name = "...")]`, else the type name).
    pub name: &'static str,
    /// The type's path, such as `my_crate::models::PriceModel`.
    pub type_path: &'static str,
    /// The crate the type was compiled in.
    pub crate_name: &'static str,
    /// That crate's version.
    pub crate_version: &'static str,
}

/// A model type marked with `#[model]`: a [`Predict`] implementation with a compile-time
/// signature, saved in the Rust flavor through serde.
///
/// ```
/// # use oxflow_runtime::model::{ModelType, Signature};
/// fn describe<M: ModelType>() -> String {
///     let sig: Signature = M::signature();
///     format!("{} takes {} columns", M::INFO.name, sig.inputs.len())
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a model type",
    label = "expected a type marked `#[model(input = ..., output = ...)]`",
    note = "add `#[oxflow::model(input = Row, output = Prediction)]` to `{Self}`"
)]
pub trait ModelType: Predict + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Name, type path and crate.
    const INFO: ModelTypeInfo;

    /// The MLflow signature, from `Input` and `Output`.
    fn signature() -> Signature {
        Signature::of::<Self::Input, Self::Output>()
    }

    /// The inference parameters (`#[model(params = Knobs)]`); none by default.
    fn params() -> Vec<ParamSpec> {
        Vec::new()
    }

    /// Scores a request in MLflow's scoring protocol: [`predict_json`], or
    /// [`predict_json_with_params`](super::predict_json_with_params) for a model with params.
    fn score_json(&self, body: &Value) -> Result<Value, ModelError> {
        predict_json(self, body)
    }
}

/// Any model, scored through JSON: what a dynamic load ([`AnyModel`](super::AnyModel)) and a
/// server hold.
///
/// ```
/// use oxflow_runtime::model::DynModel;
/// fn score(model: &dyn DynModel) -> Result<serde_json::Value, oxflow_runtime::model::ModelError> {
///     model.predict_json(&serde_json::json!({"dataframe_records": []}))
/// }
/// ```
pub trait DynModel: Send + Sync + 'static {
    /// The model's signature.
    fn model_signature(&self) -> Signature;
    /// Its type's name, path and crate.
    fn model_type_info(&self) -> ModelTypeInfo;
    /// Scores a request in MLflow's scoring protocol; see [`predict_json`].
    fn predict_json(&self, body: &Value) -> Result<Value, ModelError>;
    /// Scores a request like [`DynModel::predict_json`] and gives the response as JSON text,
    /// as a scoring server sends it. A model that can write its predictions without building
    /// a [`Value`] tree first (the ONNX flavor) overrides it.
    ///
    /// ```
    /// use oxflow_runtime::model::DynModel;
    /// fn body(model: &dyn DynModel) -> Result<Vec<u8>, oxflow_runtime::model::ModelError> {
    ///     model.predict_json_bytes(&serde_json::json!({"dataframe_records": []}))
    /// }
    /// ```
    fn predict_json_bytes(&self, body: &Value) -> Result<Vec<u8>, ModelError> {
        let predictions = self.predict_json(body)?;
        serde_json::to_vec(&predictions).map_err(|e| ModelError::Predict { source: e.into() })
    }
    /// Scores a JSON request body without parsing it into a [`Value`] first, when the body
    /// has a shape the model reads straight from its bytes (the ONNX flavor: a
    /// `dataframe_split` of numbers). Gives the response (as [`DynModel::predict_json_bytes`]
    /// would) and the number of rows; `None` for any other body, which is then parsed and
    /// scored through [`DynModel::predict_json_bytes`]. The default reads no shape.
    ///
    /// ```
    /// use oxflow_runtime::model::DynModel;
    /// fn fast(model: &dyn DynModel, body: &[u8]) -> Option<usize> {
    ///     model.score_json_bytes(body)?.ok().map(|(_, rows)| rows)
    /// }
    /// ```
    fn score_json_bytes(&self, body: &[u8]) -> Option<Result<(Vec<u8>, usize), ModelError>> {
        let _ = body;
        None
    }
    /// The inference parameters the model takes (MLflow's `ParamSchema`).
    fn model_params(&self) -> Vec<ParamSpec> {
        Vec::new()
    }
    /// The concrete model, for a typed downcast.
    fn as_any(&self) -> &dyn Any;
}

impl<T: ModelType> DynModel for T {
    fn model_signature(&self) -> Signature {
        T::signature()
    }
    fn model_type_info(&self) -> ModelTypeInfo {
        T::INFO
    }
    fn predict_json(&self, body: &Value) -> Result<Value, ModelError> {
        self.score_json(body)
    }
    fn model_params(&self) -> Vec<ParamSpec> {
        T::params()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// One model type in a binary, registered by `#[model]` with `inventory`.
///
/// `inventory` collects registrations at program start on Linux, macOS, Windows and
/// WebAssembly with a constructor section; see its documentation for other platforms.
#[derive(Debug)]
pub struct ModelRegistration {
    /// Name, type path and crate.
    pub info: ModelTypeInfo,
    /// Its signature.
    pub signature: fn() -> Signature,
    /// Reads a model of this type from the Rust flavor's data (JSON).
    pub from_json: LoadFn,
}

/// Reads a model of one type from the Rust flavor's data.
pub type LoadFn = fn(&[u8]) -> Result<Box<dyn DynModel>, serde_json::Error>;

inventory::collect!(ModelRegistration);

/// Reads a `T` from the Rust flavor's data, as a [`DynModel`]: the `from_json` of `T`'s
/// registration.
#[doc(hidden)]
pub fn dyn_from_json<T: ModelType>(bytes: &[u8]) -> Result<Box<dyn DynModel>, serde_json::Error> {
    Ok(Box::new(serde_json::from_slice::<T>(bytes)?))
}

/// Every model type registered in this binary, sorted by name.
///
/// ```
/// for m in oxflow_runtime::model::model_types() {
///     println!("{} ({})", m.info.name, m.info.type_path);
/// }
/// ```
pub fn model_types() -> Vec<&'static ModelRegistration> {
    let mut all: Vec<_> = inventory::iter::<ModelRegistration>.into_iter().collect();
    all.sort_by_key(|m| m.info.name);
    all
}

/// The registered model type named `name`, or with that type path.
///
/// ```
/// assert!(oxflow_runtime::model::find_model_type("no-such-model").is_none());
/// ```
pub fn find_model_type(name: &str) -> Option<&'static ModelRegistration> {
    inventory::iter::<ModelRegistration>
        .into_iter()
        .find(|m| m.info.name == name || m.info.type_path == name)
}
