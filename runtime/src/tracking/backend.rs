//! [`Store`]: what every tracking backend implements (MLflow's file store, an MLflow server over
//! REST, MLflow's SQLite schema, and an in-memory store for runs that are not recorded).
//!
//! Backends receive input that [`TrackingStore`](super::TrackingStore) has already validated
//! with MLflow's rules, so validation lives in one place and every backend refuses the same
//! things with the same messages. Code outside the tracking module (executor, CLI, drift
//! logging) only ever sees the handle, never a concrete backend.

use std::fmt;
use std::path::PathBuf;

use super::TrackingError;
use super::entities::{
    ArtifactEntry, DatasetInput, Experiment, Metric, RunInfo, RunOptions, RunRecord, RunStatus,
};
use super::logged_model::{LoggedModel, LoggedModelStatus, NewLoggedModel};
use super::matching::ViewType;
use super::registry::{ModelVersion, ModelVersionQuery, NewModelVersion, RegisteredModel, Stage};

/// One tracking backend. Implemented by [`FileStore`](super::FileStore),
/// [`RestStore`](super::RestStore), [`SqlStore`](super::SqlStore) and the in-memory store;
/// use it through [`TrackingStore`](super::TrackingStore), which validates input once for all.
///
/// ```
/// use oxflow_runtime::tracking::{Store, TrackingStore};
/// # let dir = tempfile::tempdir()?;
/// let store = TrackingStore::open_uri(&dir.path().join("mlruns").display().to_string())?;
/// let backend: &dyn Store = store.backend();
/// assert!(backend.uri().starts_with("file:///"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Store: Send + Sync + fmt::Debug {
    // ------------------------------------------------------------------ identity

    /// The tracking URI this store was opened with, as MLflow would take it.
    fn uri(&self) -> String;

    /// What a user types to see this store in MLflow's UI.
    fn ui_command(&self) -> String;

    /// Where task logs go unless configured otherwise: `logs/` beside a local store, `./logs`
    /// for a server.
    fn default_log_root(&self) -> PathBuf;

    /// Writes anything buffered (metric values) now.
    fn flush(&self) -> Result<(), TrackingError>;

    /// Runs `f` as one unit of writes: a SQL store wraps it in one transaction (one commit
    /// instead of one per call); other stores just run it.
    fn batch(&self, f: &mut dyn FnMut() -> Result<(), TrackingError>) -> Result<(), TrackingError> {
        f()
    }

    // ---------------------------------------------------------------- experiments

    /// All experiments (deleted ones too when asked), sorted by name.
    fn list_experiments(&self, include_deleted: bool) -> Result<Vec<Experiment>, TrackingError>;
    /// The experiment with this id.
    fn get_experiment(&self, experiment_id: &str) -> Result<Experiment, TrackingError>;
    /// The experiment with this name (active or deleted), if any.
    fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>, TrackingError>;
    /// The active experiment with this name, created if missing.
    fn get_or_create_experiment(&self, name: &str) -> Result<Experiment, TrackingError>;
    /// Sets an experiment tag.
    fn set_experiment_tag(
        &self,
        experiment_id: &str,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError>;

    /// Sets experiment tag `key` to `value` only if its value is now `expected` (`None`: the
    /// tag is absent), and says whether it did: the claim the scheduler takes an interval with.
    ///
    /// The SQL store does it in one `BEGIN IMMEDIATE` transaction and the file store under its
    /// store-wide lock file, so two processes on one store never both succeed. MLflow's REST API
    /// has no conditional write: a REST store reads, compares and writes, and two processes can
    /// both succeed ([`Store::atomic_experiment_tags`] says `false`).
    fn compare_and_set_experiment_tag(
        &self,
        experiment_id: &str,
        key: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool, TrackingError>;

    /// Whether [`Store::compare_and_set_experiment_tag`] is atomic across processes.
    fn atomic_experiment_tags(&self) -> bool {
        true
    }

    // ----------------------------------------------------------------------- runs

    /// Creates a run (with its tags, and, when `opts.end` is set, already ended).
    fn create_run(&self, experiment_id: &str, opts: RunOptions) -> Result<RunInfo, TrackingError>;
    /// A run with its params, latest metrics and tags.
    fn get_run(&self, run_id: &str) -> Result<RunRecord, TrackingError>;
    /// Every value of one metric, in logging order.
    fn get_metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>, TrackingError>;
    /// Logs a param; params are immutable (same value again is a no-op).
    fn log_param(&self, run_id: &str, key: &str, value: &str) -> Result<(), TrackingError>;
    /// Logs one metric value (backends may buffer it until [`Store::flush`]).
    fn log_metric(&self, run_id: &str, metric: &Metric) -> Result<(), TrackingError>;
    /// Logs metrics, params and tags at once.
    fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<(), TrackingError>;
    /// Records datasets as inputs of a run, as MLflow's `log_inputs` does: a dataset is stored
    /// once per experiment (by name and digest), linked to the run once; logging the same
    /// dataset to the same run again changes nothing (its first tags stay).
    fn log_inputs(&self, run_id: &str, inputs: &[DatasetInput]) -> Result<(), TrackingError>;
    /// Sets run tags.
    fn set_tags(&self, run_id: &str, tags: &[(&str, &str)]) -> Result<(), TrackingError>;
    /// Removes a run tag.
    fn delete_tag(&self, run_id: &str, key: &str) -> Result<(), TrackingError>;
    /// Changes a run's status and end time.
    fn update_run(
        &self,
        run_id: &str,
        status: Option<RunStatus>,
        end_time_ms: Option<i64>,
    ) -> Result<(), TrackingError>;
    /// Marks a run deleted.
    fn delete_run(&self, run_id: &str) -> Result<(), TrackingError>;
    /// Restores a deleted run.
    fn restore_run(&self, run_id: &str) -> Result<(), TrackingError>;
    /// Runs of these experiments matching an MLflow filter, in MLflow's order.
    fn search_runs(
        &self,
        experiment_ids: &[&str],
        filter: &str,
        order_by: &[&str],
        max_results: usize,
        view: ViewType,
    ) -> Result<Vec<RunRecord>, TrackingError>;

    // ------------------------------------------------------------------ artifacts

    /// Writes an artifact file.
    fn log_artifact_bytes(
        &self,
        run_id: &str,
        rel_path: &str,
        bytes: &[u8],
    ) -> Result<(), TrackingError>;
    /// Reads an artifact file.
    fn read_artifact(&self, run_id: &str, rel_path: &str) -> Result<Vec<u8>, TrackingError>;
    /// Lists an artifact directory (`""` for the root).
    fn list_artifacts(&self, run_id: &str, dir: &str) -> Result<Vec<ArtifactEntry>, TrackingError>;
    /// Where an artifact is for messages: the local file when the store has one, else
    /// `runs:/<run>/<path>`.
    fn artifact_location(&self, run_id: &str, rel_path: &str) -> Result<PathBuf, TrackingError> {
        Ok(PathBuf::from(format!("runs:/{run_id}/{rel_path}")))
    }

    // -------------------------------------------------------------- logged models

    /// Creates a LoggedModel (status PENDING) with its params and tags.
    fn create_logged_model(&self, new: &NewLoggedModel) -> Result<LoggedModel, TrackingError>;
    /// A LoggedModel with its params and tags.
    fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel, TrackingError>;
    /// Sets a LoggedModel's final status (READY once its artifacts are written).
    fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel, TrackingError>;
    /// Sets LoggedModel tags.
    fn set_logged_model_tags(
        &self,
        model_id: &str,
        tags: &[(String, String)],
    ) -> Result<(), TrackingError>;
    /// The LoggedModel named `name` that run `run_id` of experiment `experiment_id` logged, if
    /// any (the newest when several): how MLflow resolves `runs:/<run_id>/<name>`.
    fn find_logged_model(
        &self,
        experiment_id: &str,
        run_id: &str,
        name: &str,
    ) -> Result<Option<LoggedModel>, TrackingError>;
    /// Records metric values of run `run_id` on a LoggedModel (MLflow copies a run's metrics to
    /// the model it logs).
    fn log_model_metrics(
        &self,
        model: &LoggedModel,
        run_id: &str,
        metrics: &[Metric],
    ) -> Result<(), TrackingError>;
    /// Records that `run_id` produced the model (MLflow's run outputs); stores without a place
    /// for it rely on the model's `source_run_id`.
    fn link_model_to_run(&self, _run_id: &str, _model_id: &str) -> Result<(), TrackingError> {
        Ok(())
    }
    /// Writes a file of a LoggedModel's artifacts. By default its `artifact_location` is a
    /// local directory (a path or `file://` URI).
    fn log_model_artifact(
        &self,
        model: &LoggedModel,
        rel_path: &str,
        bytes: &[u8],
    ) -> Result<(), TrackingError> {
        let path = super::logged_model::local_artifact(model, rel_path)?;
        let dir = path.parent().unwrap_or(&path).to_path_buf();
        super::fsutil::create_dir_all(&dir)?;
        super::fsutil::write_atomic(&dir, &path, bytes)
    }
    /// Reads a file of a LoggedModel's artifacts.
    fn read_model_artifact(
        &self,
        model: &LoggedModel,
        rel_path: &str,
    ) -> Result<Vec<u8>, TrackingError> {
        let path = super::logged_model::local_artifact(model, rel_path)?;
        std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => TrackingError::ModelArtifactNotFound {
                model_id: model.model_id.clone(),
                path: rel_path.to_string(),
            },
            _ => TrackingError::io("read", &path, e),
        })
    }

    // ------------------------------------------------------------------- registry

    /// Creates a registered model.
    fn create_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<RegisteredModel, TrackingError>;
    /// A registered model with its latest version per stage, tags and aliases.
    fn get_registered_model(&self, name: &str) -> Result<RegisteredModel, TrackingError>;
    /// Registered models, sorted by name; `name_like` is an SQL `LIKE` pattern.
    fn search_registered_models(
        &self,
        name_like: Option<&str>,
    ) -> Result<Vec<RegisteredModel>, TrackingError>;
    /// Changes a registered model's description.
    fn update_registered_model(&self, name: &str, description: &str) -> Result<(), TrackingError>;
    /// Deletes a registered model with its versions, tags and aliases.
    fn delete_registered_model(&self, name: &str) -> Result<(), TrackingError>;
    /// Sets a registered model tag.
    fn set_registered_model_tag(
        &self,
        name: &str,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError>;
    /// Removes a registered model tag.
    fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<(), TrackingError>;
    /// Creates the next version of a registered model (`max + 1`, atomically).
    fn create_model_version(&self, new: &NewModelVersion) -> Result<ModelVersion, TrackingError>;
    /// One model version with its tags and aliases.
    fn get_model_version(&self, name: &str, version: u64) -> Result<ModelVersion, TrackingError>;
    /// Model versions matching a query, newest first.
    fn search_model_versions(
        &self,
        query: &ModelVersionQuery,
    ) -> Result<Vec<ModelVersion>, TrackingError>;
    /// Changes a version's description.
    fn update_model_version(
        &self,
        name: &str,
        version: u64,
        description: &str,
    ) -> Result<(), TrackingError>;
    /// Moves a version to a stage; with `archive_existing`, other versions in that stage move to
    /// Archived.
    fn transition_model_version_stage(
        &self,
        name: &str,
        version: u64,
        stage: Stage,
        archive_existing: bool,
    ) -> Result<ModelVersion, TrackingError>;
    /// Deletes a model version (its aliases go with it).
    fn delete_model_version(&self, name: &str, version: u64) -> Result<(), TrackingError>;
    /// Sets a model version tag.
    fn set_model_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError>;
    /// Removes a model version tag.
    fn delete_model_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
    ) -> Result<(), TrackingError>;
    /// Points an alias at a version (moving it if it pointed elsewhere).
    fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: u64,
    ) -> Result<(), TrackingError>;
    /// Removes an alias.
    fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<(), TrackingError>;
    /// The version an alias points at.
    fn get_model_version_by_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<ModelVersion, TrackingError>;
}
