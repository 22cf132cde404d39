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
