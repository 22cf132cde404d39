//! [`FileStore`]: experiments and runs in MLflow's file-store layout.
//!
//! One module per concern: this one opens the store and keeps experiments; [`runs`] the run
//! directories (meta.yaml, params, tags); [`metrics`] the buffered metric files; [`artifacts`]
//! the artifact tree; [`search`] MLflow's `search_runs` over the files; [`registry`] the model
//! registry under `models/`.

mod artifacts;
mod inputs;
mod logged_models;
mod metrics;
mod registry;
mod runs;
mod search;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::backend::Store;
use super::entities::{
    ArtifactEntry, DatasetInput, Experiment, LIFECYCLE_ACTIVE, LIFECYCLE_DELETED, Metric, RunInfo,
    RunOptions, RunRecord, RunStatus,
};
use super::fsutil::{self, path_to_file_uri, write_atomic};
use super::logged_model::{LoggedModel, LoggedModelStatus, NewLoggedModel};
use super::matching::ViewType;
use super::meta::{self, DeletedTime};
use super::registry::{ModelVersion, ModelVersionQuery, NewModelVersion, RegisteredModel, Stage};
use super::ui_hint::shell_quote;
use super::validation as v;
use super::{TrackingError, now_ms};

pub(crate) use runs::read_run_info;

/// Directory names inside an experiment that are not runs (MLflow's reserved folders).
const RESERVED_EXPERIMENT_FOLDERS: [&str; 4] = ["tags", "datasets", "models", "traces"];
/// Where deleted experiments go; we also keep temporary files there (plain files, which
/// MLflow's listing of deleted experiments ignores), on the store's own file system.
const TRASH: &str = ".trash";

/// A tracking store in MLflow's file-store layout (`mlruns/`), readable by the `mlflow` Python
/// package (`MLFLOW_ALLOW_FILE_STORE=true`) and by `mlflow migrate-filestore`.
///
/// Cheap to clone (an `Arc` inside), `Send + Sync`. Whole files are written to a temporary file
/// and renamed into place, so a reader never sees a torn file; metric values are buffered and
/// appended as whole lines on [`Store::flush`], when a run ends, and at least every second.
/// Several processes may write to one store at once.
///
/// Use it through [`TrackingStore`](super::TrackingStore), which validates every key and value
/// with MLflow's rules before the store sees it:
///
/// ```
/// use oxflow_runtime::tracking::{FileStore, RunOptions, RunStatus, TrackingStore, now_ms};
///
/// let dir = tempfile::tempdir()?;
/// let store = TrackingStore::from(FileStore::open(dir.path().join("mlruns"))?);
/// let exp = store.get_or_create_experiment("iris")?;
/// let run = store.create_run(&exp.experiment_id, RunOptions::default())?;
/// store.log_param(&run.run_id, "n_trees", "100")?;
/// store.log_metric(&run.run_id, "accuracy", 0.93, now_ms(), 0)?;
/// store.set_terminated(&run.run_id, RunStatus::Finished, now_ms())?;
/// let rec = store.get_run(&run.run_id)?;
/// assert_eq!(rec.params["n_trees"], "100");
/// assert_eq!(rec.metrics["accuracy"].value, 0.93);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct FileStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for FileStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileStore")
            .field("root", &self.inner.root)
            .finish()
    }
}

struct Inner {
    root: PathBuf,
    tmp: PathBuf,
    user: String,
    /// Where each run known to this process lives, and its `meta.yaml` as last written or read.
    runs: Mutex<HashMap<String, CachedRun>>,
    buffer: Mutex<metrics::MetricBuffer>,
    flush_interval_ms: AtomicU64,
    flusher_started: AtomicBool,
}

#[derive(Clone)]
struct CachedRun {
    dir: PathBuf,
    info: RunInfo,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Err(e) = metrics::flush_buffer(&mut lock(&self.buffer)) {
            tracing::warn!(error = %e, "could not flush buffered metrics");
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves consistent data (whole entries), so carry on.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl FileStore {
    /// Opens (creating if needed) a store rooted at `root`, with the `Default` experiment `0`.
    ///
    /// Reading needs read access only: a store someone else owns, or on a read-only mount, can
    /// be listed and searched. A directory that must be created and cannot be fails with
    /// [`TrackingError::NotWritable`]; so does every later write, naming the path.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let store = oxflow_runtime::tracking::FileStore::open(dir.path().join("mlruns"))?;
    /// assert!(store.root().join("0/meta.yaml").exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(root: impl AsRef<Path>) -> Result<FileStore, TrackingError> {
        let root = root.as_ref();
        if !root.is_dir() {
            fs::create_dir_all(root).map_err(|source| TrackingError::NotWritable {
                dir: root.to_path_buf(),
                source,
            })?;
        }
        let root = fs::canonicalize(root).map_err(|e| TrackingError::io("resolve", root, e))?;
        let tmp = root.join(TRASH);
        match fs::create_dir(&tmp) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            // A store we may only read: writes will say so, naming the path.
            Err(e) if is_permission_error(&e) => {}
            Err(e) => return Err(TrackingError::io("create directory", &tmp, e)),
        }
        let store = FileStore {
            inner: Arc::new(Inner {
                root,
                tmp,
                user: super::user::current_user(),
                runs: Mutex::new(HashMap::new()),
                buffer: Mutex::new(metrics::MetricBuffer::default()),
                flush_interval_ms: AtomicU64::new(
                    metrics::DEFAULT_FLUSH_INTERVAL.as_millis() as u64
                ),
                flusher_started: AtomicBool::new(false),
            }),
        };
        if !store.exp_dir("0").join("meta.yaml").exists() {
            let created = store.with_lock(|| {
                if !store.exp_dir("0").join("meta.yaml").exists() {
                    store.create_experiment_locked("0", "Default")?;
                }
                Ok(())
            });
            match created {
                // A read-only store without `Default` is still readable.
                Err(TrackingError::NotWritable { .. }) => {}
                other => other?,
            }
        }
        Ok(store)
    }

    /// Opens a store from a plain path or a `file://` URI.
    ///
    /// `http(s)://` URIs name an MLflow tracking server and are refused here.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let uri = format!("file://{}", dir.path().join("mlruns").display());
    /// let store = oxflow_runtime::tracking::FileStore::open_uri(&uri)?;
    /// assert!(store.root().ends_with("mlruns"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open_uri(uri: &str) -> Result<FileStore, TrackingError> {
        let bad = |reason: &str| TrackingError::InvalidUri {
            uri: uri.to_string(),
            reason: reason.into(),
        };
        if uri.starts_with("http://") || uri.starts_with("https://") {
            return Err(bad(
                "an MLflow tracking server is reached through `RestStore`, not `FileStore`",
            ));
        }
        if let Some(rest) = uri.strip_prefix("file:") {
            let path = if rest.starts_with("//") {
                fsutil::file_uri_to_path(uri)
                    .ok_or_else(|| bad("a `file://` URI must name a local absolute path"))?
            } else {
                PathBuf::from(rest)
            };
            return FileStore::open(path);
        }
        if let Some((scheme, _)) = uri.split_once("://") {
            return Err(bad(&format!(
                "scheme `{scheme}` is not supported; use a path, `file://` or `http(s)://`"
            )));
        }
        if uri.is_empty() {
            return Err(bad("the URI is empty"));
        }
        FileStore::open(uri)
    }

    /// The store's root directory (absolute).
    pub fn root(&self) -> &Path {
        &self.inner.root
    }

    /// Sets the longest time a logged metric value stays in memory before it is appended to
    /// its file (default one second).
    pub fn set_flush_interval(&self, interval: Duration) {
        self.inner
            .flush_interval_ms
            .store(interval.as_millis().max(1) as u64, Ordering::Relaxed);
    }

    // ---------------------------------------------------------------- experiments

    fn exp_dir(&self, id: &str) -> PathBuf {
        self.inner.root.join(id)
    }

    /// Runs `f` holding the store-wide lock that serialises experiment creation across
    /// processes.
    fn with_lock<T>(
        &self,
        f: impl FnOnce() -> Result<T, TrackingError>,
    ) -> Result<T, TrackingError> {
        let path = self.inner.tmp.join(".oxflow-experiments.lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| TrackingError::io("open", &path, e))?;
        file.lock()
            .map_err(|e| TrackingError::io("lock", &path, e))?;
        let out = f();
        let _ = file.unlock();
        out
    }

    fn create_experiment_locked(&self, id: &str, name: &str) -> Result<Experiment, TrackingError> {
        let now = now_ms();
        let dir = self.exp_dir(id);
        let exp = Experiment {
            experiment_id: id.to_string(),
            name: name.to_string(),
            artifact_location: path_to_file_uri(&dir),
            lifecycle_stage: LIFECYCLE_ACTIVE.into(),
            creation_time_ms: Some(now),
            last_update_time_ms: Some(now),
            tags: BTreeMap::new(),
        };
        // Build the directory aside and rename it in, so readers never see it without meta.yaml.
        let tmp = fsutil::tmp_name(&self.inner.tmp);
        fsutil::create_dir(&tmp)?;
        let res = fsutil::write_new(
            &tmp.join("meta.yaml"),
            meta::experiment_meta_yaml(&exp).as_bytes(),
        )
        .and_then(|()| fs::rename(&tmp, &dir).map_err(|e| TrackingError::io("create", &dir, e)));
        if res.is_err() {
            let _ = fs::remove_dir_all(&tmp);
        }
        res.map(|()| exp)
    }

    fn read_experiment_dir(&self, dir: &Path) -> Result<Experiment, TrackingError> {
        let path = dir.join("meta.yaml");
        let text = read_text(&path)?;
        let mut exp = meta::parse_experiment_meta(&path, &text)?;
        exp.tags = read_kv_dir(&dir.join("tags"), Malformed::Fail)?;
        Ok(exp)
    }

    /// Every experiment, active and deleted (deleted ones live in `.trash/`), sorted by name.
    fn experiments(&self, include_deleted: bool) -> Result<Vec<Experiment>, TrackingError> {
        let mut out = Vec::new();
        let mut dirs = self.experiment_dirs(&self.inner.root)?;
        if include_deleted {
            dirs.extend(self.experiment_dirs(&self.inner.tmp)?);
        }
        for dir in dirs {
            match self.read_experiment_dir(&dir) {
                Ok(e) => out.push(e),
                // One unreadable experiment must not hide the others; it is reported.
                Err(TrackingError::Io { source, path, .. })
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    tracing::warn!(
                        "skipping an experiment that cannot be read: `{}` is missing",
                        path.display()
                    );
                }
                Err(e) => tracing::warn!("skipping an experiment that cannot be read: {e}"),
            }
        }
        out.sort_by(|a, b| {
            a.name
                .cmp(&b.name)
                .then_with(|| a.experiment_id.cmp(&b.experiment_id))
        });
        Ok(out)
    }

    fn experiment_dirs(&self, parent: &Path) -> Result<Vec<PathBuf>, TrackingError> {
        let rd = match fs::read_dir(parent) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(TrackingError::io("list", parent, e)),
        };
        let mut out = Vec::new();
        for entry in rd.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.')
                || name == "models"
                || v::validate_experiment_id(&name).is_err()
            {
                continue;
            }
            if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                out.push(entry.path());
            }
        }
        Ok(out)
    }
}

impl Store for FileStore {
    fn uri(&self) -> String {
        format!("file://{}", self.root().display())
    }

    /// MLflow 3 refuses a file store unless `MLFLOW_ALLOW_FILE_STORE=true`.
    fn ui_command(&self) -> String {
        format!(
            "MLFLOW_ALLOW_FILE_STORE=true mlflow ui --backend-store-uri {}",
            shell_quote(&self.root().display().to_string())
        )
    }

    fn default_log_root(&self) -> PathBuf {
        crate::exec::log_dir_for(self.root())
    }

    /// Appends every buffered metric value to its file.
    fn flush(&self) -> Result<(), TrackingError> {
        metrics::flush_buffer(&mut lock(&self.inner.buffer))
    }

    // ---------------------------------------------------------------- experiments

    fn list_experiments(&self, include_deleted: bool) -> Result<Vec<Experiment>, TrackingError> {
        self.experiments(include_deleted)
    }

    fn get_experiment(&self, experiment_id: &str) -> Result<Experiment, TrackingError> {
        for parent in [&self.inner.root, &self.inner.tmp] {
            let dir = parent.join(experiment_id);
            if dir.join("meta.yaml").exists() {
                return self.read_experiment_dir(&dir);
            }
        }
        Err(TrackingError::ExperimentNotFound {
            experiment: experiment_id.to_string(),
        })
    }

    fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>, TrackingError> {
        Ok(self
            .experiments(false)?
            .into_iter()
            .find(|e| e.name == name))
    }

    /// Safe when several processes race: they all get the same experiment.
    fn get_or_create_experiment(&self, name: &str) -> Result<Experiment, TrackingError> {
        if let Some(e) = self.get_experiment_by_name(name)? {
            return Ok(e);
        }
        self.with_lock(|| {
            let all = self.experiments(true)?;
            if let Some(e) = all.iter().find(|e| e.name == name) {
                if e.lifecycle_stage == LIFECYCLE_DELETED {
                    return Err(TrackingError::ExperimentDeleted {
                        experiment: name.to_string(),
                    });
                }
                return Ok(e.clone());
            }
            let id = loop {
                let id = new_experiment_id();
                if !self.exp_dir(&id).exists() && !self.inner.tmp.join(&id).exists() {
                    break id;
                }
            };
            self.create_experiment_locked(&id, name)
        })
    }

    fn set_experiment_tag(
        &self,
        experiment_id: &str,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        let dir = self.exp_dir(experiment_id);
        if !dir.join("meta.yaml").exists() {
            return Err(TrackingError::ExperimentNotFound {
                experiment: experiment_id.to_string(),
            });
        }
        write_atomic(
            &self.inner.tmp,
            &dir.join("tags").join(key),
            value.as_bytes(),
        )
    }

    /// Under the store-wide lock file (`flock`), which every oxflow process writing this store
    /// takes for experiment changes.
    fn compare_and_set_experiment_tag(
        &self,
        experiment_id: &str,
        key: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool, TrackingError> {
        let path = self.exp_dir(experiment_id).join("tags").join(key);
        self.with_lock(|| {
            let current = match fs::read_to_string(&path) {
                Ok(v) => Some(v),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(TrackingError::io("read", &path, e)),
            };
            if current.as_deref() != expected {
                return Ok(false);
            }
            self.set_experiment_tag(experiment_id, key, value)?;
            Ok(true)
        })
    }

    // ----------------------------------------------------------------------- runs

    fn create_run(&self, experiment_id: &str, opts: RunOptions) -> Result<RunInfo, TrackingError> {
        self.new_run(experiment_id, opts)
    }

    fn get_run(&self, run_id: &str) -> Result<RunRecord, TrackingError> {
        self.flush()?;
        let c = self.reload(run_id)?;
        self.read_record(&c.dir, c.info, Malformed::Fail)
    }

    fn get_metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>, TrackingError> {
        self.flush()?;
        let c = self.locate(run_id)?;
        let path = c.dir.join("metrics").join(key);
        if !path.is_file() {
            return Ok(Vec::new());
        }
        metrics::read_metric_file(&path, key)
    }

    fn log_param(&self, run_id: &str, key: &str, value: &str) -> Result<(), TrackingError> {
        let c = self.active(run_id)?;
        self.write_param(&c.dir, run_id, key, value)
    }

    fn log_metric(&self, run_id: &str, metric: &Metric) -> Result<(), TrackingError> {
        let c = self.active(run_id)?;
        self.buffer_metrics(&c.dir, std::slice::from_ref(metric))
    }

    /// Params are checked against what is recorded before anything is written.
    fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<(), TrackingError> {
        let c = self.active(run_id)?;
        for (k, val) in params {
            if let Ok(old) = fs::read_to_string(c.dir.join("params").join(k))
                && &old != val
            {
                return Err(TrackingError::ParamChanged {
                    key: k.clone(),
                    run_id: run_id.to_string(),
                    old,
                    new: val.clone(),
                });
            }
        }
        for (k, val) in params {
            self.write_param(&c.dir, run_id, k, val)?;
        }
        self.write_tags(&c, tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        self.buffer_metrics(&c.dir, metrics)
    }

    fn log_inputs(&self, run_id: &str, inputs: &[DatasetInput]) -> Result<(), TrackingError> {
        self.write_inputs(run_id, inputs)
    }

    /// Setting `mlflow.runName` also renames the run.
    fn set_tags(&self, run_id: &str, tags: &[(&str, &str)]) -> Result<(), TrackingError> {
        let c = self.active(run_id)?;
        self.write_tags(&c, tags.iter().copied())
    }

    fn delete_tag(&self, run_id: &str, key: &str) -> Result<(), TrackingError> {
        let c = self.active(run_id)?;
        let path = c.dir.join("tags").join(key);
        fs::remove_file(&path).map_err(|e| TrackingError::io("remove", &path, e))
    }

    /// Buffered metrics are flushed first.
    fn update_run(
        &self,
        run_id: &str,
        status: Option<RunStatus>,
        end_time_ms: Option<i64>,
    ) -> Result<(), TrackingError> {
        self.flush()?;
        // The cached meta.yaml is the one this process last wrote or read; re-reading it on
        // every status change would cost a read and a YAML parse per task.
        let c = self.locate(run_id)?;
        if c.info.is_deleted() {
            return Err(TrackingError::RunDeleted {
                run_id: run_id.to_string(),
            });
        }
        let mut info = c.info;
        if let Some(s) = status {
            info.status = s;
        }
        if end_time_ms.is_some() {
            info.end_time_ms = end_time_ms;
        }
        self.write_run_meta(&c.dir, &info, DeletedTime::Omit)
    }

    /// `lifecycle_stage: deleted`; the directory stays, as in MLflow.
    fn delete_run(&self, run_id: &str) -> Result<(), TrackingError> {
        self.flush()?;
        let c = self.reload(run_id)?;
        let mut info = c.info;
        info.lifecycle_stage = LIFECYCLE_DELETED.into();
        self.write_run_meta(&c.dir, &info, DeletedTime::At(now_ms()))
    }

    fn restore_run(&self, run_id: &str) -> Result<(), TrackingError> {
        let c = self.reload(run_id)?;
        let mut info = c.info;
        info.lifecycle_stage = LIFECYCLE_ACTIVE.into();
        self.write_run_meta(&c.dir, &info, DeletedTime::Omit)
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
        search::search_runs(self, experiment_ids, filter, order_by, max_results, view)
    }

    // ------------------------------------------------------------------ artifacts

    fn log_artifact_bytes(
        &self,
        run_id: &str,
        rel_path: &str,
        bytes: &[u8],
    ) -> Result<(), TrackingError> {
        self.write_artifact(run_id, rel_path, bytes)
    }

    fn read_artifact(&self, run_id: &str, rel_path: &str) -> Result<Vec<u8>, TrackingError> {
        self.read_artifact_file(run_id, rel_path)
    }

    fn list_artifacts(&self, run_id: &str, dir: &str) -> Result<Vec<ArtifactEntry>, TrackingError> {
        self.list_artifact_dir(run_id, dir)
    }

    fn artifact_location(&self, run_id: &str, rel_path: &str) -> Result<PathBuf, TrackingError> {
        self.artifact_path(run_id, rel_path)
    }

    // ------------------------------------------------------------------- registry

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
        self.log_model_metrics_impl(&model.model_id, run_id, metrics)
    }

    fn link_model_to_run(&self, run_id: &str, model_id: &str) -> Result<(), TrackingError> {
        self.write_output(run_id, model_id)
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

    fn create_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<RegisteredModel, TrackingError> {
        self.registry().create_model(name, description, tags)
    }
    fn get_registered_model(&self, name: &str) -> Result<RegisteredModel, TrackingError> {
        self.registry().get_model(name)
    }
    fn search_registered_models(
        &self,
        name_like: Option<&str>,
    ) -> Result<Vec<RegisteredModel>, TrackingError> {
        self.registry().search_models(name_like)
    }
    fn update_registered_model(&self, name: &str, description: &str) -> Result<(), TrackingError> {
        self.registry().update_model(name, description)
    }
    fn delete_registered_model(&self, name: &str) -> Result<(), TrackingError> {
        self.registry().delete_model(name)
    }
    fn set_registered_model_tag(
        &self,
        name: &str,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        self.registry().set_model_tag(name, key, value)
    }
    fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<(), TrackingError> {
        self.registry().delete_model_tag(name, key)
    }
    fn create_model_version(&self, new: &NewModelVersion) -> Result<ModelVersion, TrackingError> {
        self.registry().create_version(new)
    }
    fn get_model_version(&self, name: &str, version: u64) -> Result<ModelVersion, TrackingError> {
        self.registry().get_version(name, version)
    }
    fn search_model_versions(
        &self,
        query: &ModelVersionQuery,
    ) -> Result<Vec<ModelVersion>, TrackingError> {
        self.registry().search_versions(query)
    }
    fn update_model_version(
        &self,
        name: &str,
        version: u64,
        description: &str,
    ) -> Result<(), TrackingError> {
        self.registry().update_version(name, version, description)
    }
    fn transition_model_version_stage(
        &self,
        name: &str,
        version: u64,
        stage: Stage,
        archive_existing: bool,
    ) -> Result<ModelVersion, TrackingError> {
        self.registry()
            .transition_stage(name, version, stage, archive_existing)
    }
    fn delete_model_version(&self, name: &str, version: u64) -> Result<(), TrackingError> {
        self.registry().delete_version(name, version)
    }
    fn set_model_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        self.registry().set_version_tag(name, version, key, value)
    }
    fn delete_model_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
    ) -> Result<(), TrackingError> {
        self.registry().delete_version_tag(name, version, key)
    }
    fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: u64,
    ) -> Result<(), TrackingError> {
        self.registry().set_alias(name, alias, version)
    }
    fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<(), TrackingError> {
        self.registry().delete_alias(name, alias)
    }
    fn get_model_version_by_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<ModelVersion, TrackingError> {
        self.registry().version_by_alias(name, alias)
    }
}

/// Whether an error means "you may not write here" (permissions, read-only file system).
pub(crate) fn is_permission_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
    )
}

/// Reads a directory of one-file-per-key values (params, tags); keys with `/` are nested.
fn read_kv_dir(
    dir: &Path,
    malformed: Malformed,
) -> Result<BTreeMap<String, String>, TrackingError> {
    let mut out = BTreeMap::new();
    for (key, path) in walk_files(dir)? {
        if let Some(val) = malformed.handle(read_text(&path))? {
            out.insert(key, val);
        }
    }
    Ok(out)
}

/// What to do with a file of the store that cannot be read or parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// Fail with the error, which names the file (the record was asked for by id).
    Fail,
    /// Warn, naming the file, and leave the value out (a listing or a search goes on).
    Warn,
}

impl Malformed {
    /// `Ok(Some)` for a value, `Ok(None)` for a malformed file skipped with a warning.
    pub(crate) fn handle<T>(self, r: Result<T, TrackingError>) -> Result<Option<T>, TrackingError> {
        match (r, self) {
            (Ok(v), _) => Ok(Some(v)),
            (Err(e), Malformed::Fail) => Err(e),
            (Err(e), Malformed::Warn) => {
                tracing::warn!("skipping a value that cannot be read: {e}");
                Ok(None)
            }
        }
    }
}

/// A whole file as UTF-8 text; bytes that are not UTF-8 are [`TrackingError::Corrupt`] naming
/// the file.
pub(crate) fn read_text(path: &Path) -> Result<String, TrackingError> {
    let bytes = fs::read(path).map_err(|e| TrackingError::io("read", path, e))?;
    String::from_utf8(bytes)
        .map_err(|e| TrackingError::corrupt(path, format!("not UTF-8 text: {e}")))
}

/// All files under `dir`, as (key with `/` separators, path); empty if `dir` is missing.
fn walk_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, TrackingError> {
    let mut out = Vec::new();
    let mut stack = vec![(String::new(), dir.to_path_buf())];
    while let Some((prefix, d)) = stack.pop() {
        let rd = match fs::read_dir(&d) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(TrackingError::io("list", &d, e)),
        };
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let key = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push((key, entry.path())),
                Ok(_) => out.push((key, entry.path())),
                Err(_) => {}
            }
        }
    }
    Ok(out)
}

/// A random 18-digit experiment id, as MLflow's file store makes them.
fn new_experiment_id() -> String {
    let n = uuid::Uuid::new_v4().as_u128();
    let s = n.to_string();
    s[..18.min(s.len())].to_string()
}
