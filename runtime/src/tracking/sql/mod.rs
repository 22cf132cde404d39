//! [`SqlStore`]: MLflow 3.17.2's own SQLite schema as oxflow's tracking store and model
//! registry. The database is the one `mlflow ui`, `mlflow server --backend-store-uri
//! sqlite:///…` and `MlflowClient("sqlite:///…")` read and write; both may use it at the same
//! time as oxflow (WAL mode, `BEGIN IMMEDIATE` for every write).
//!
//! Artifacts are local files. New experiments keep them at `<directory of the database>/mlruns/
//! <experiment id>` (an absolute plain path, as MLflow stores it). MLflow's own default is
//! `<working directory>/mlruns`; for the default `sqlite:///mlflow.db` the two are the same
//! directory, and elsewhere oxflow deliberately keeps artifacts beside their database, so a
//! database and its artifacts move together whichever directory a program runs in.

mod artifacts;
mod checkpoint;
mod conn;
mod inputs;
mod logged_models;
mod metrics;
mod registry;
mod runs;
mod schema;
mod search;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::TrackingError;
use super::backend::Store;
use super::entities::{
    ArtifactEntry, DatasetInput, Experiment, Metric, RunInfo, RunOptions, RunRecord, RunStatus,
};
use super::logged_model::{LoggedModel, LoggedModelStatus, NewLoggedModel};
use super::matching::ViewType;
use super::registry::{ModelVersion, ModelVersionQuery, NewModelVersion, RegisteredModel, Stage};
use super::ui_hint::shell_quote;
use conn::Db;
use metrics::MetricBuffer;

/// Buffered metric values and params are written at least this often.
const FLUSH_INTERVAL: Duration = Duration::from_secs(1);
/// Buffered writes that trigger a write regardless of time.
const MAX_BUFFERED: usize = 10_000;

/// A tracking store in MLflow's SQLite schema (`sqlite:///mlflow.db`), tracking and model
/// registry, shared with MLflow itself.
///
/// Cheap to clone, `Send + Sync`. Every write is one transaction; [`Store::batch`] makes many
/// writes one transaction. Single metric values and params are buffered and written together
/// on [`Store::flush`], before every read, when the store is dropped, and at least every second
/// (a transaction per call is what makes MLflow's own `log_param` slow). A param is still
/// checked when it is logged: a different value for a stored or buffered key fails that call.
///
/// ```
/// use oxflow_runtime::tracking::{RunOptions, RunStatus, SqlStore, Store, now_ms};
/// # let dir = tempfile::tempdir()?;
/// let store = SqlStore::open(dir.path().join("mlflow.db"))?;
/// let exp = store.get_or_create_experiment("iris")?;
/// assert_eq!(exp.experiment_id, "1");
/// let run = store.create_run(&exp.experiment_id, RunOptions::default())?;
/// store.log_param(&run.run_id, "n_trees", "100")?;
/// store.update_run(&run.run_id, Some(RunStatus::Finished), Some(now_ms()))?;
/// assert_eq!(store.get_run(&run.run_id)?.params["n_trees"], "100");
/// assert!(store.uri().starts_with("sqlite:///"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct SqlStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    /// Where new experiments keep artifacts: `<dir of the database>/mlruns`.
    artifact_root: PathBuf,
    user: String,
    buffer: Mutex<MetricBuffer>,
    /// Runs known to be active (checked once, then trusted until this store deletes them).
    active_runs: Mutex<HashSet<String>>,
    /// The temporary directory of an in-memory store, removed on drop.
    _tmp: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore")
            .field("path", &self.inner.db.path)
            .finish()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let _conn = self.db.lock();
        let mut buf = self.buffer.lock();
        if !buf.is_empty()
            && let Err(e) = metrics::write_buffer(&self.db, &mut buf)
        {
            tracing::warn!(error = %e, "could not write buffered metrics");
        }
    }
}

impl SqlStore {
    /// Opens the MLflow database at `path` (relative to the working directory), creating it
    /// with MLflow's schema if the file does not exist; its directory must exist.
    ///
    /// An existing file must be an MLflow database of the schema revision oxflow writes
    /// (MLflow 3.17.2); nothing is written to it before that is checked. A file oxflow may not
    /// write is opened read-only: reading works, writes fail with
    /// [`TrackingError::NotWritable`].
    pub fn open(path: impl AsRef<Path>) -> Result<SqlStore, TrackingError> {
        SqlStore::open_with(path.as_ref(), false)
    }

    /// Opens an existing MLflow database for reading only, even where it could be written:
    /// nothing is written to the file, and every write fails with
    /// [`TrackingError::NotWritable`].
    ///
    /// ```
    /// use oxflow_runtime::tracking::{RunOptions, SqlStore, Store};
    /// # let dir = tempfile::tempdir()?;
    /// let db = dir.path().join("mlflow.db");
    /// let run = SqlStore::open(&db)?.create_run("0", RunOptions::default())?;
    /// let reader = SqlStore::open_read_only(&db)?;
    /// assert_eq!(reader.get_run(&run.run_id)?.info.run_id, run.run_id);
    /// assert!(reader.log_param(&run.run_id, "a", "1").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<SqlStore, TrackingError> {
        SqlStore::open_with(path.as_ref(), true)
    }

    fn open_with(path: &Path, read_only: bool) -> Result<SqlStore, TrackingError> {
        let path = std::path::absolute(path).map_err(|e| TrackingError::io("resolve", path, e))?;
        let dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        let artifact_root = dir.join("mlruns");
        let db = Db::open(&path, &artifact_root, read_only)?;
        Ok(SqlStore::from_db(db, artifact_root, None))
    }

    /// A store in memory, with artifacts in a temporary directory; both disappear when the
    /// last clone is dropped. For tests and runs that need no record.
    ///
    /// ```
    /// use oxflow_runtime::tracking::{SqlStore, Store};
    /// let store = SqlStore::in_memory()?;
    /// assert_eq!(store.get_or_create_experiment("e")?.experiment_id, "1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn in_memory() -> Result<SqlStore, TrackingError> {
        let tmp = tempfile::Builder::new()
            .prefix("oxflow-tracking-")
            .tempdir()
            .map_err(|e| TrackingError::io("create", std::env::temp_dir(), e))?;
        let artifact_root = tmp.path().join("mlruns");
        let db = Db::in_memory(&artifact_root)?;
        Ok(SqlStore::from_db(db, artifact_root, Some(tmp)))
    }

    fn from_db(db: Db, artifact_root: PathBuf, tmp: Option<tempfile::TempDir>) -> SqlStore {
        let store = SqlStore {
            inner: Arc::new(Inner {
                db,
                artifact_root,
                user: super::user::current_user(),
                buffer: Mutex::new(MetricBuffer::default()),
                active_runs: Mutex::new(HashSet::new()),
                _tmp: tmp,
            }),
        };
        start_flusher(Arc::downgrade(&store.inner));
        store
    }

    /// The database file (`:memory:` for an in-memory store).
    pub fn path(&self) -> &Path {
        &self.inner.db.path
    }

    fn db(&self) -> &Db {
        &self.inner.db
    }
}

/// A thread that writes buffered metric values once they are a second old, so a value never
/// waits longer even when nothing else is logged. Ends when the store is dropped.
fn start_flusher(weak: Weak<Inner>) {
    let spawned = std::thread::Builder::new()
        .name("oxflow-sqlite-flush".into())
        .spawn(move || {
            loop {
                std::thread::sleep(Duration::from_millis(250));
                let Some(inner) = weak.upgrade() else { return };
                let due = inner
                    .buffer
                    .lock()
                    .since
                    .is_some_and(|s: Instant| s.elapsed() >= FLUSH_INTERVAL);
                if due {
                    // Lock order everywhere: connection, then buffer.
                    let _conn = inner.db.lock();
                    let mut buf = inner.buffer.lock();
                    if let Err(e) = metrics::write_buffer(&inner.db, &mut buf) {
                        tracing::warn!(error = %e, "could not write buffered metrics");
                    }
                }
            }
        });
    if let Err(e) = spawned {
        // Values are still written on the next call past the interval, on flush and on drop.
        tracing::debug!(error = %e, "no metric flush thread");
    }
}

impl Store for SqlStore {
    fn uri(&self) -> String {
        format!("sqlite:///{}", self.path().display())
    }

    /// `mlflow ui` when the database is `./mlflow.db`, else with `--backend-store-uri`.
    fn ui_command(&self) -> String {
        let here = std::env::current_dir()
            .ok()
            .and_then(|d| d.join("mlflow.db").canonicalize().ok());
        if here.is_some() && self.path().canonicalize().ok() == here {
            "mlflow ui".to_string()
        } else {
            format!("mlflow ui --backend-store-uri {}", shell_quote(&self.uri()))
        }
    }

    fn default_log_root(&self) -> PathBuf {
        self.inner
            .artifact_root
            .parent()
            .unwrap_or(Path::new("."))
            .join("logs")
    }

    fn flush(&self) -> Result<(), TrackingError> {
        let _conn = self.db().lock();
        let mut buf = self.inner.buffer.lock();
        if buf.is_empty() {
            return Ok(());
        }
        metrics::write_buffer(self.db(), &mut buf)
    }

    fn batch(&self, f: &mut dyn FnMut() -> Result<(), TrackingError>) -> Result<(), TrackingError> {
        self.db().write(|_| {
            f()?;
            // Values buffered inside the batch commit with it.
            self.flush()
        })
    }

    fn list_experiments(&self, include_deleted: bool) -> Result<Vec<Experiment>, TrackingError> {
        self.list_experiments_impl(include_deleted)
    }
    fn get_experiment(&self, experiment_id: &str) -> Result<Experiment, TrackingError> {
        self.get_experiment_impl(experiment_id)
    }
    fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>, TrackingError> {
        self.get_experiment_by_name_impl(name)
    }
    fn get_or_create_experiment(&self, name: &str) -> Result<Experiment, TrackingError> {
        self.get_or_create_experiment_impl(name)
    }
    fn set_experiment_tag(
        &self,
        experiment_id: &str,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        self.set_experiment_tag_impl(experiment_id, key, value)
    }
    fn compare_and_set_experiment_tag(
        &self,
        experiment_id: &str,
        key: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool, TrackingError> {
        self.compare_and_set_experiment_tag_impl(experiment_id, key, expected, value)
    }
    fn create_run(&self, experiment_id: &str, opts: RunOptions) -> Result<RunInfo, TrackingError> {
        self.create_run_impl(experiment_id, opts)
    }
    fn get_run(&self, run_id: &str) -> Result<RunRecord, TrackingError> {
        self.flush()?;
        self.get_run_impl(run_id)
    }
    fn get_metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>, TrackingError> {
        self.flush()?;
        self.get_metric_history_impl(run_id, key)
    }
    fn log_param(&self, run_id: &str, key: &str, value: &str) -> Result<(), TrackingError> {
        self.log_param_impl(run_id, key, value)
    }
    fn log_metric(&self, run_id: &str, metric: &Metric) -> Result<(), TrackingError> {
        self.log_metric_impl(run_id, metric)
    }
    fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<(), TrackingError> {
        self.log_batch_impl(run_id, metrics, params, tags)
    }
    fn log_inputs(&self, run_id: &str, inputs: &[DatasetInput]) -> Result<(), TrackingError> {
        self.log_inputs_impl(run_id, inputs)
    }
    fn set_tags(&self, run_id: &str, tags: &[(&str, &str)]) -> Result<(), TrackingError> {
        self.set_tags_impl(run_id, tags)
    }
    fn delete_tag(&self, run_id: &str, key: &str) -> Result<(), TrackingError> {
        self.delete_tag_impl(run_id, key)
    }
    fn update_run(
        &self,
        run_id: &str,
        status: Option<RunStatus>,
        end_time_ms: Option<i64>,
    ) -> Result<(), TrackingError> {
        self.flush()?;
        self.update_run_impl(run_id, status, end_time_ms)
    }
    fn delete_run(&self, run_id: &str) -> Result<(), TrackingError> {
        self.flush()?;
        self.set_lifecycle(run_id, true)
    }
    fn restore_run(&self, run_id: &str) -> Result<(), TrackingError> {
        self.set_lifecycle(run_id, false)
    }
    fn search_runs(
        &self,
        experiment_ids: &[&str],
        filter: &str,
        order_by: &[&str],
        max_results: usize,
        view: ViewType,
    ) -> Result<Vec<RunRecord>, TrackingError> {
        self.flush()?;
        self.search_runs_impl(experiment_ids, filter, order_by, max_results, view)
    }
    fn log_artifact_bytes(
        &self,
        run_id: &str,
        rel_path: &str,
        bytes: &[u8],
    ) -> Result<(), TrackingError> {
        self.log_artifact_bytes_impl(run_id, rel_path, bytes)
    }
    fn read_artifact(&self, run_id: &str, rel_path: &str) -> Result<Vec<u8>, TrackingError> {
        self.read_artifact_impl(run_id, rel_path)
    }
    fn list_artifacts(&self, run_id: &str, dir: &str) -> Result<Vec<ArtifactEntry>, TrackingError> {
        self.list_artifacts_impl(run_id, dir)
    }
    fn artifact_location(&self, run_id: &str, rel_path: &str) -> Result<PathBuf, TrackingError> {
        self.artifact_path(run_id, rel_path)
    }

    fn create_logged_model(&self, new: &NewLoggedModel) -> Result<LoggedModel, TrackingError> {
        self.create_logged_model_impl(new)
    }

    fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel, TrackingError> {
        self.get_logged_model_impl(model_id)
    }

    fn find_logged_model(
        &self,
        experiment_id: &str,
        run_id: &str,
        name: &str,
    ) -> Result<Option<LoggedModel>, TrackingError> {
        self.find_logged_model_impl(experiment_id, run_id, name)
    }

    fn log_model_metrics(
        &self,
        model: &LoggedModel,
        run_id: &str,
        metrics: &[Metric],
    ) -> Result<(), TrackingError> {
        self.log_model_metrics_impl(model, run_id, metrics)
    }

    fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel, TrackingError> {
        self.finalize_logged_model_impl(model_id, status)
    }

    fn set_logged_model_tags(
        &self,
        model_id: &str,
        tags: &[(String, String)],
    ) -> Result<(), TrackingError> {
        self.set_logged_model_tags_impl(model_id, tags)
    }

    fn link_model_to_run(&self, run_id: &str, model_id: &str) -> Result<(), TrackingError> {
        self.link_model_to_run_impl(run_id, model_id)
    }

    fn create_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<RegisteredModel, TrackingError> {
        self.create_registered_model_impl(name, description, tags)
    }
    fn get_registered_model(&self, name: &str) -> Result<RegisteredModel, TrackingError> {
        self.get_registered_model_impl(name)
    }
    fn search_registered_models(
        &self,
        name_like: Option<&str>,
    ) -> Result<Vec<RegisteredModel>, TrackingError> {
        self.search_registered_models_impl(name_like)
    }
    fn update_registered_model(&self, name: &str, description: &str) -> Result<(), TrackingError> {
        self.update_registered_model_impl(name, description)
    }
    fn delete_registered_model(&self, name: &str) -> Result<(), TrackingError> {
        self.delete_registered_model_impl(name)
    }
    fn set_registered_model_tag(
        &self,
        name: &str,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        self.set_registered_model_tag_impl(name, key, value)
    }
    fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<(), TrackingError> {
        self.delete_registered_model_tag_impl(name, key)
    }
    fn create_model_version(&self, new: &NewModelVersion) -> Result<ModelVersion, TrackingError> {
        self.create_model_version_impl(new)
    }
    fn get_model_version(&self, name: &str, version: u64) -> Result<ModelVersion, TrackingError> {
        self.get_model_version_impl(name, version)
    }
    fn search_model_versions(
        &self,
        query: &ModelVersionQuery,
    ) -> Result<Vec<ModelVersion>, TrackingError> {
        self.search_model_versions_impl(query)
    }
    fn update_model_version(
        &self,
        name: &str,
        version: u64,
        description: &str,
    ) -> Result<(), TrackingError> {
        self.update_model_version_impl(name, version, description)
    }
    fn transition_model_version_stage(
        &self,
        name: &str,
        version: u64,
        stage: Stage,
        archive_existing: bool,
    ) -> Result<ModelVersion, TrackingError> {
        self.transition_model_version_stage_impl(name, version, stage, archive_existing)
    }
    fn delete_model_version(&self, name: &str, version: u64) -> Result<(), TrackingError> {
        self.delete_model_version_impl(name, version)
    }
    fn set_model_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        self.set_model_version_tag_impl(name, version, key, value)
    }
    fn delete_model_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
    ) -> Result<(), TrackingError> {
        self.delete_model_version_tag_impl(name, version, key)
    }
    fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: u64,
    ) -> Result<(), TrackingError> {
        self.set_registered_model_alias_impl(name, alias, version)
    }
    fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<(), TrackingError> {
        self.delete_registered_model_alias_impl(name, alias)
    }
    fn get_model_version_by_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<ModelVersion, TrackingError> {
        self.get_model_version_by_alias_impl(name, alias)
    }
}

#[cfg(test)]
mod tests;
