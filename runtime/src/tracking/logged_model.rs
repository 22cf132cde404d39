//! MLflow 3's LoggedModel: a model logged from a run, with its own id (`m-<32 hex>`), status,
//! params (copied from the run), tags and artifact directory (`<experiment>/models/<id>/artifacts`).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A LoggedModel's status, with MLflow's numbers (`LoggedModelStatus` in `mlflow/entities`).
///
/// ```
/// use oxflow_runtime::tracking::LoggedModelStatus;
/// assert_eq!(LoggedModelStatus::Ready.as_i32(), 2);
/// assert_eq!(LoggedModelStatus::Ready.proto_name(), "LOGGED_MODEL_READY");
/// assert_eq!(LoggedModelStatus::from_i32(1), Some(LoggedModelStatus::Pending));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LoggedModelStatus {
    /// Created; artifacts are being uploaded.
    Pending,
    /// Every artifact is written.
    Ready,
    /// Uploading failed.
    UploadFailed,
}

impl LoggedModelStatus {
    /// The number MLflow stores (`status:` in `meta.yaml`, the `status` column).
    pub fn as_i32(self) -> i32 {
        match self {
            LoggedModelStatus::Pending => 1,
            LoggedModelStatus::Ready => 2,
            LoggedModelStatus::UploadFailed => 3,
        }
    }

    /// The status for a stored number; `None` for MLflow's `UNSPECIFIED` (0) or unknown ones.
    pub fn from_i32(n: i64) -> Option<LoggedModelStatus> {
        match n {
            1 => Some(LoggedModelStatus::Pending),
            2 => Some(LoggedModelStatus::Ready),
            3 => Some(LoggedModelStatus::UploadFailed),
            _ => None,
        }
    }

    /// The name in MLflow's REST API.
    pub fn proto_name(self) -> &'static str {
        match self {
            LoggedModelStatus::Pending => "LOGGED_MODEL_PENDING",
            LoggedModelStatus::Ready => "LOGGED_MODEL_READY",
            LoggedModelStatus::UploadFailed => "LOGGED_MODEL_UPLOAD_FAILED",
        }
    }

    /// The status for a REST name.
    pub fn from_proto_name(s: &str) -> Option<LoggedModelStatus> {
        [
            LoggedModelStatus::Pending,
            LoggedModelStatus::Ready,
            LoggedModelStatus::UploadFailed,
        ]
        .into_iter()
        .find(|st| st.proto_name() == s)
    }
}

impl fmt::Display for LoggedModelStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.proto_name())
    }
}

/// A LoggedModel as stored.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LoggedModel {
    /// `m-` and 32 hex digits.
    pub model_id: String,
    /// The experiment it belongs to.
    pub experiment_id: String,
    /// Its name (the `name` given to `log_model`).
    pub name: String,
    /// Where its artifacts are: a `file://` URI, a path, or `mlflow-artifacts:/...`.
    pub artifact_location: String,
    /// Creation time, Unix milliseconds.
    pub creation_timestamp_ms: i64,
    /// Last change, Unix milliseconds.
    pub last_updated_timestamp_ms: i64,
    /// Its status.
    pub status: LoggedModelStatus,
    /// MLflow's free-form `model_type`.
    pub model_type: Option<String>,
    /// The run that logged it.
    pub source_run_id: Option<String>,
    /// Params (copied from the run when it was logged).
    pub params: BTreeMap<String, String>,
    /// Tags (`mlflow.modelVersions` once registered).
    pub tags: BTreeMap<String, String>,
}

/// What [`Store::create_logged_model`](super::Store::create_logged_model) needs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewLoggedModel {
    /// The experiment (must be active).
    pub experiment_id: String,
    /// The model's name.
    pub name: String,
    /// The run logging it.
    pub source_run_id: Option<String>,
    /// Params to record with it.
    pub params: Vec<(String, String)>,
    /// Tags to set on it.
    pub tags: Vec<(String, String)>,
    /// MLflow's free-form `model_type`.
    pub model_type: Option<String>,
}

/// A new LoggedModel id: `m-` and a UUID4's 32 hex digits, as MLflow makes them.
pub(crate) fn new_model_id() -> String {
    format!("m-{}", uuid::Uuid::new_v4().simple())
}

/// `<experiment artifact location>/models/<id>/artifacts` (MLflow's `append_to_uri_path`).
pub(crate) fn artifact_location(experiment_location: &str, model_id: &str) -> String {
    format!(
        "{}/models/{model_id}/artifacts",
        experiment_location.trim_end_matches('/')
    )
}

/// Whether `id` looks like a LoggedModel id (refuses path tricks before any lookup).
pub(crate) fn validate_model_id(id: &str) -> Result<(), super::TrackingError> {
    let ok = id.strip_prefix("m-").is_some_and(|hex| {
        !hex.is_empty() && hex.len() <= 64 && hex.bytes().all(|b| b.is_ascii_alphanumeric())
    });
    if ok {
        Ok(())
    } else {
        Err(super::TrackingError::InvalidArgument {
            what: "logged model id",
            value: id.to_string(),
            reason: "expected `m-` followed by 32 hex digits".into(),
        })
    }
}

/// The local file of a LoggedModel artifact; refuses paths leaving the artifact directory and
/// artifact locations that are not local.
pub(crate) fn local_artifact(
    model: &LoggedModel,
    rel_path: &str,
) -> Result<std::path::PathBuf, super::TrackingError> {
    let segs = super::validation::artifact_segments(rel_path)?;
    if segs.is_empty() {
        return Err(super::TrackingError::InvalidArtifactPath {
            path: rel_path.to_string(),
            reason: "an artifact file needs a file name".into(),
        });
    }
    let loc = &model.artifact_location;
    let mut root = if loc.starts_with("file:") {
        super::fsutil::file_uri_to_path(loc)
    } else {
        Some(std::path::PathBuf::from(loc)).filter(|p| p.is_absolute())
    }
    .ok_or_else(|| super::TrackingError::Unsupported {
        operation: "model artifact access",
        store: "this store",
        reason: format!(
            "logged model `{}` keeps its artifacts at `{loc}`, which is not a local path; read them through the MLflow server that wrote them",
            model.model_id
        ),
    })?;
    root.extend(segs);
    Ok(root)
}
