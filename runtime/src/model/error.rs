//! [`ModelError`]: why a model could not be scored, saved or loaded.

/// Why a model could not be scored, saved or loaded. Messages name the column, value, file or
/// difference at fault.
///
/// ```
/// use oxflow_runtime::model::ModelError;
/// let e = ModelError::MissingInputs { columns: vec!["f2".into()] };
/// assert_eq!(e.to_string(), "Model is missing inputs ['f2'].");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The request is not in a shape of MLflow's scoring protocol.
    #[error("bad request: {reason}")]
    BadRequest {
        /// What is wrong and what is expected.
        reason: String,
    },
    /// Required columns are absent (MLflow's message, word for word).
    #[error("Model is missing inputs {}.", py_list(columns))]
    MissingInputs {
        /// The absent columns, in signature order.
        columns: Vec<String>,
    },
    /// A value cannot be converted to its column's type.
    #[error("column `{column}` ({ty}), row {row}: {reason}")]
    Value {
        /// The column.
        column: String,
        /// Its MLflow type.
        ty: String,
        /// The row, from 0.
        row: usize,
        /// What is wrong with the value, quoting it.
        reason: String,
    },
    /// Inference parameters that do not fit the model's params schema (MLflow's wording).
    #[error("Invalid parameters found: {reason}")]
    BadParams {
        /// Which parameter, and why.
        reason: String,
    },
    /// A tensor's shape does not fit the signature (MLflow's message, then the input).
    #[error("Shape of input {got} does not match expected shape {expected} (input `{input}`)")]
    TensorShape {
        /// The input tensor.
        input: String,
        /// The shape received, as a Python tuple.
        got: String,
        /// The shape expected, `-1` for any size.
        expected: String,
    },
    /// A signature could not be read.
    #[error("invalid model signature: {reason}")]
    Signature {
        /// What is wrong.
        reason: String,
    },
    /// The model's own `predict` failed.
    #[error("the model failed to predict")]
    Predict {
        /// The model's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A model file is malformed, truncated, of another flavor or of an unknown version.
    #[error("`{file}` {reason}")]
    File {
        /// The file, as its model URI or path names it.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An ONNX model file could not be read or prepared by the ONNX runtime.
    #[error("`{file}` {what}")]
    Onnx {
        /// The model file.
        file: String,
        /// What failed.
        what: String,
        /// The runtime's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The stored signature is not the one the code was compiled with.
    #[error("the signature in `{file}` differs from the compiled one: {difference}")]
    SignatureMismatch {
        /// The `MLmodel` file.
        file: String,
        /// Which column differs, and how.
        difference: String,
    },
    /// A model could not be serialized.
    #[error("cannot serialize a `{model_type}` model")]
    Serialize {
        /// The model type.
        model_type: &'static str,
        /// serde's error.
        #[source]
        source: serde_json::Error,
    },
    /// A model URI is malformed or names nothing.
    #[error("model URI `{uri}`: {reason}")]
    Uri {
        /// The URI.
        uri: String,
        /// What is wrong, and the forms accepted.
        reason: String,
    },
    /// A stored model's type is not registered in this binary.
    #[error(
        "model type `{name}` ({type_path}) is not compiled into this program; its `#[model]` types are: {known}"
    )]
    UnknownModelType {
        /// The stored type's registered name.
        name: String,
        /// Its Rust path.
        type_path: String,
        /// The types this binary has.
        known: String,
    },
    /// A promotion could not be decided.
    #[error("cannot decide a promotion: {reason}")]
    Promotion {
        /// Why.
        reason: String,
    },
    /// The tracking store refused an operation.
    #[error(transparent)]
    Tracking(#[from] crate::tracking::TrackingError),
    /// The model returned another number of outputs than it got rows.
    #[error("the model returned {outputs} predictions for {rows} rows")]
    OutputCount {
        /// Input rows.
        rows: usize,
        /// Outputs returned.
        outputs: usize,
    },
}

/// A list as Python prints it: `['a', 'b']`.
fn py_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("'{s}'")).collect();
    format!("[{}]", quoted.join(", "))
}
