//! Experiments, runs, params, metrics, tags and artifacts, stored in MLflow's file-store layout.
//!
//! A tour:
//!
//! ```
//! use oxflow_runtime::tracking::{FileStore, Run, RunOptions, RunStatus};
//!
//! # let dir = tempfile::tempdir()?;
//! // `TrackingStore::from_env()` reads OXFLOW_TRACKING_URI, then MLFLOW_TRACKING_URI, else MLflow's default.
//! let store = FileStore::open(dir.path().join("mlruns"))?;
//! let mut run = Run::start(&store, "iris", RunOptions::default())?;
//! run.log_param("n_trees", 200)?;
//! run.log_metric("accuracy", 0.94)?;
//! run.log_json("config.json", &serde_json::json!({ "n_trees": 200 }))?;
//! run.end(RunStatus::Finished)?;
//! // `MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri mlruns` now shows the run.
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The layout is MLflow's, byte for byte: `mlruns/<experiment id>/meta.yaml`,
//! `mlruns/<experiment id>/<run id>/{meta.yaml, params/, metrics/, tags/, artifacts/}`.
//! Keys and values are validated with MLflow's rules before anything is written.

mod backend;
pub mod cli;
mod entities;
mod error;
mod file;
pub mod filter;
pub(crate) mod fsutil;
mod handle;
mod logged_model;
mod matching;
pub(crate) mod meta;
mod owner;
pub mod plot;
mod registry;
mod rest;
/// The HTTP plumbing the REST store shares with the connection hooks.
pub(crate) use rest::http as rest_http;
mod run;
mod sql;
mod ui_hint;
mod uri;
pub(crate) mod user;
pub mod validation;

pub use backend::Store;
pub use entities::{
    ArtifactEntry, Dataset, DatasetInput, Experiment, LIFECYCLE_ACTIVE, LIFECYCLE_DELETED, Metric,
    RunInfo, RunOptions, RunRecord, RunStatus, TAG_DATASET_CONTEXT,
};
pub use error::TrackingError;
pub use file::FileStore;
pub use handle::TrackingStore;
pub use logged_model::{LoggedModel, LoggedModelStatus, NewLoggedModel};
pub use matching::{MAX_SEARCH_RESULTS, ViewType};
pub use owner::TAG_OWNER;
pub use registry::{ModelVersion, ModelVersionQuery, NewModelVersion, RegisteredModel, Stage};
pub use rest::RestStore;
pub use run::Run;
pub use sql::SqlStore;
pub use uri::{DEFAULT_SQLITE_URI, TrackingUri, default_tracking_uri, tracking_uri_from_env};

/// Tag holding the run name (duplicated in `meta.yaml`).
pub const TAG_RUN_NAME: &str = "mlflow.runName";
/// Tag on a child run naming its parent run; nesting is only this tag.
pub const TAG_PARENT_RUN_ID: &str = "mlflow.parentRunId";
/// Tag naming the user who started a run.
pub const TAG_USER: &str = "mlflow.user";
/// Tag naming the program that started a run.
pub const TAG_SOURCE_NAME: &str = "mlflow.source.name";
/// Tag with the kind of source (`LOCAL`).
pub const TAG_SOURCE_TYPE: &str = "mlflow.source.type";
/// Tag holding the description of a run or experiment, shown by the MLflow UI.
pub const TAG_NOTE: &str = "mlflow.note.content";
/// Tag set on a run marked FAILED because its process died, saying why.
pub const TAG_FAILURE: &str = "oxflow.failure";
/// Tag on a run the executor records: the Airflow state of the DAG run or task attempt
/// (`running`, `success`, `failed`, `upstream_failed`, …).
pub const TAG_STATE: &str = "oxflow.state";

/// Milliseconds since the Unix epoch, now.
///
/// ```
/// assert!(oxflow_runtime::tracking::now_ms() > 1_600_000_000_000);
/// ```
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests;
