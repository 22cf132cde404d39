//! [`FileStore`]: experiments and runs in MLflow's file-store layout.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use super::entities::{
    ArtifactEntry, Experiment, LIFECYCLE_ACTIVE, LIFECYCLE_DELETED, Metric, RunInfo, RunOptions,
    RunRecord, RunStatus,
};
use super::fsutil::{self, path_to_file_uri, python_float_repr, write_atomic};
use super::meta::{self, DeletedTime};
use super::validation::{self as v, artifact_segments};
use super::{TAG_FAILURE, TAG_PARENT_RUN_ID, TAG_RUN_NAME, TrackingError, now_ms};

/// Directory names inside an experiment that are not runs (MLflow's reserved folders).
const RESERVED_EXPERIMENT_FOLDERS: [&str; 4] = ["tags", "datasets", "models", "traces"];
/// Where deleted experiments go; we also keep temporary files there (plain files, which
/// MLflow's listing of deleted experiments ignores), on the store's own file system.
const TRASH: &str = ".trash";
/// Prefix of the per-process files in `.trash/` listing the runs a process created, so runs
/// left RUNNING by a crashed process can be found: `.oxflow-owner~<host>~<pid>~<start>~<n>`,
/// one `<experiment id> <run id>` line per run.
const OWNER_PREFIX: &str = ".oxflow-owner~";
const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_millis(1000);
/// Buffered metric bytes that trigger a flush regardless of time.
const MAX_BUFFERED_BYTES: usize = 1 << 20;

/// A tracking store in MLflow's file-store layout (`mlruns/`), readable by the `mlflow` Python
/// package (`MLFLOW_ALLOW_FILE_STORE=true`) and by `mlflow migrate-filestore`.
///
/// Cheap to clone (an `Arc` inside), `Send + Sync`. Whole files are written to a temporary file
/// and renamed into place, so a reader never sees a torn file; metric values are buffered and
/// appended as whole lines on [`FileStore::flush`], when a run ends, and at least every second.
/// Several processes may write to one store at once.
///
/// ```
/// use oxflow_runtime::tracking::{FileStore, RunOptions, RunStatus, now_ms};
///
/// let dir = tempfile::tempdir()?;
/// let store = FileStore::open(dir.path().join("mlruns"))?;
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
    buffer: Mutex<MetricBuffer>,
    flush_interval_ms: AtomicU64,
    flusher_started: AtomicBool,
    /// This handle's owner file, opened on the first run it creates.
    owner: Mutex<Option<(PathBuf, fs::File)>>,
}

#[derive(Clone)]
struct CachedRun {
    dir: PathBuf,
    info: RunInfo,
}

#[derive(Default)]
struct MetricBuffer {
    /// Metric file -> complete lines not yet appended.
    files: HashMap<PathBuf, Vec<u8>>,
    bytes: usize,
    since: Option<Instant>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Err(e) = flush_buffer(&mut lock(&self.buffer)) {
            tracing::warn!(error = %e, "could not flush buffered metrics");
        }
        // Every run this handle created has ended: nothing for stale-run detection to find.
        let all_ended = lock(&self.runs)
            .values()
            .all(|c| c.info.status != RunStatus::Running);
        if all_ended && let Some((path, _)) = lock(&self.owner).take() {
            let _ = fs::remove_file(path);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves consistent data (whole entries), so carry on.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn flush_buffer(buf: &mut MetricBuffer) -> Result<(), TrackingError> {
    let mut first_err = None;
    for (path, bytes) in buf.files.drain() {
        if let Err(e) = append(&path, &bytes)
            && first_err.is_none()
        {
            first_err = Some(e);
        }
    }
    buf.bytes = 0;
    buf.since = None;
    first_err.map_or(Ok(()), Err)
}

fn append(path: &Path, bytes: &[u8]) -> Result<(), TrackingError> {
    let open = || fs::OpenOptions::new().create(true).append(true).open(path);
    let mut f = match open() {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(p) = path.parent() {
                fsutil::create_dir_all(p)?;
            }
            open().map_err(|e| TrackingError::io("open", path, e))?
        }
        Err(e) => return Err(TrackingError::io("open", path, e)),
    };
    // One write of whole lines with O_APPEND: a killed process leaves all of them or none,
    // and lines from several processes never interleave.
    f.write_all(bytes)
        .map_err(|e| TrackingError::io("append to", path, e))
}

impl FileStore {
    /// Opens (creating if needed) a store rooted at `root`, with the `Default` experiment `0`.
    ///
    /// Fails with [`TrackingError::NotWritable`] naming the directory if it cannot be written.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// let store = oxflow_runtime::tracking::FileStore::open(dir.path().join("mlruns"))?;
    /// assert!(store.root().join("0/meta.yaml").exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(root: impl AsRef<Path>) -> Result<FileStore, TrackingError> {
        let root = root.as_ref();
        let not_writable = |source| TrackingError::NotWritable {
            dir: root.to_path_buf(),
            source,
        };
        fs::create_dir_all(root).map_err(not_writable)?;
        let root = fs::canonicalize(root).map_err(|e| TrackingError::io("resolve", root, e))?;
        let tmp = root.join(TRASH);
        if let Err(e) = fs::create_dir(&tmp)
            && e.kind() != std::io::ErrorKind::AlreadyExists
        {
            return Err(TrackingError::NotWritable {
                dir: root,
                source: e,
            });
        }
        let probe = fsutil::tmp_name(&tmp);
        let probe_res = fs::write(&probe, b"probe").and_then(|()| fs::remove_file(&probe));
        if let Err(e) = probe_res {
            return Err(TrackingError::NotWritable {
                dir: root,
                source: e,
            });
        }
        let store = FileStore {
            inner: Arc::new(Inner {
                root,
                tmp,
                user: current_user(),
                runs: Mutex::new(HashMap::new()),
                buffer: Mutex::new(MetricBuffer::default()),
                flush_interval_ms: AtomicU64::new(DEFAULT_FLUSH_INTERVAL.as_millis() as u64),
                flusher_started: AtomicBool::new(false),
                owner: Mutex::new(None),
            }),
        };
        if !store.exp_dir("0").join("meta.yaml").exists() {
            store.with_lock(|| {
                if !store.exp_dir("0").join("meta.yaml").exists() {
                    store.create_experiment_locked("0", "Default")?;
                }
                Ok(())
            })?;
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

    /// Appends every buffered metric value to its file.
    pub fn flush(&self) -> Result<(), TrackingError> {
        flush_buffer(&mut lock(&self.inner.buffer))
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
        let text = fsutil::read_to_string(&path)?;
        let mut exp = meta::parse_experiment_meta(&path, &text)?;
        exp.tags = read_kv_dir(&dir.join("tags"))?;
        Ok(exp)
    }

    /// Every experiment, active and deleted (deleted ones live in `.trash/`), sorted by name.
    pub fn list_experiments(
        &self,
        include_deleted: bool,
    ) -> Result<Vec<Experiment>, TrackingError> {
        let mut out = Vec::new();
        let mut dirs = self.experiment_dirs(&self.inner.root)?;
        if include_deleted {
            dirs.extend(self.experiment_dirs(&self.inner.tmp)?);
        }
        for dir in dirs {
            match self.read_experiment_dir(&dir) {
                Ok(e) => out.push(e),
                Err(TrackingError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
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

    /// The active experiment with this name, if any.
    pub fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>, TrackingError> {
        Ok(self
            .list_experiments(false)?
            .into_iter()
            .find(|e| e.name == name))
    }

    /// The experiment with this id (active or deleted).
    pub fn get_experiment(&self, experiment_id: &str) -> Result<Experiment, TrackingError> {
        v::validate_experiment_id(experiment_id)?;
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

    /// The active experiment named `name`, created if missing. Safe when several processes
    /// race: they all get the same experiment.
    ///
    /// ```
    /// # let dir = tempfile::tempdir()?;
    /// # let store = oxflow_runtime::tracking::FileStore::open(dir.path())?;
    /// let a = store.get_or_create_experiment("iris")?;
    /// let b = store.get_or_create_experiment("iris")?;
    /// assert_eq!(a.experiment_id, b.experiment_id);
    /// assert_eq!(a.experiment_id.len(), 18);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn get_or_create_experiment(&self, name: &str) -> Result<Experiment, TrackingError> {
        v::validate_experiment_name(name)?;
        if let Some(e) = self.get_experiment_by_name(name)? {
            return Ok(e);
        }
        self.with_lock(|| {
            let all = self.list_experiments(true)?;
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

    /// Sets a tag on an experiment (`mlflow.note.content` is its description).
    pub fn set_experiment_tag(
        &self,
        experiment_id: &str,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        v::validate_experiment_id(experiment_id)?;
        v::validate_key("tag", key)?;
        if value.chars().count() > v::MAX_EXPERIMENT_TAG_VALUE_LENGTH {
            return Err(TrackingError::ValueTooLong {
                kind: "experiment tag value",
                key: key.to_string(),
                len: value.chars().count(),
                max: v::MAX_EXPERIMENT_TAG_VALUE_LENGTH,
            });
        }
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

    // ---------------------------------------------------------------- runs

    /// Creates a run in the experiment, RUNNING, with the given name, tags and parent.
    ///
    /// The run directory is assembled aside and renamed into the experiment, so it appears
    /// complete (meta.yaml and tags) or not at all.
    pub fn create_run(
        &self,
        experiment_id: &str,
        opts: RunOptions,
    ) -> Result<RunInfo, TrackingError> {
        v::validate_experiment_id(experiment_id)?;
        let exp_dir = self.exp_dir(experiment_id);
        let mut tags: Vec<(String, String)> = Vec::with_capacity(opts.tags.len() + 2);
        for (k, val) in &opts.tags {
            v::validate_key("tag", k)?;
            v::validate_tag_value(k, val)?;
        }
        let run_name = match opts.run_name {
            Some(n) => n,
            None => opts
                .tags
                .iter()
                .find(|(k, _)| k == TAG_RUN_NAME)
                .map(|(_, val)| val.clone())
                .unwrap_or_else(random_run_name),
        };
        v::validate_tag_value(TAG_RUN_NAME, &run_name)?;
        if let Some(parent) = &opts.parent_run_id {
            v::validate_run_id(parent)?;
        }
        let start = opts.start_time_ms.unwrap_or_else(now_ms);
        let mut artifacts = Vec::with_capacity(opts.artifacts.len());
        for (rel, bytes) in &opts.artifacts {
            let segs = artifact_segments(rel)?;
            if segs.is_empty() || rel.ends_with('/') {
                return Err(TrackingError::InvalidArtifactPath {
                    path: rel.clone(),
                    reason: "an artifact file needs a file name".into(),
                });
            }
            artifacts.push((segs, bytes));
        }
        if let Some((_, end)) = opts.end
            && end < start
        {
            return Err(TrackingError::InvalidArgument {
                what: "end time",
                value: end.to_string(),
                reason: format!("is before the start time {start}"),
            });
        }
        if start < 0 {
            return Err(TrackingError::InvalidArgument {
                what: "start time",
                value: start.to_string(),
                reason: "must be milliseconds since the Unix epoch".into(),
            });
        }
        tags.push((TAG_RUN_NAME.to_string(), run_name.clone()));
        if let Some(parent) = &opts.parent_run_id {
            tags.push((TAG_PARENT_RUN_ID.to_string(), parent.clone()));
        }
        for (k, val) in opts.tags {
            if k != TAG_RUN_NAME && !(k == TAG_PARENT_RUN_ID && opts.parent_run_id.is_some()) {
                tags.push((k, val));
            }
        }

        let run_id = uuid::Uuid::new_v4().simple().to_string();
        let run_dir = exp_dir.join(&run_id);
        let info = RunInfo {
            run_id: run_id.clone(),
            experiment_id: experiment_id.to_string(),
            run_name,
            status: opts.end.map_or(RunStatus::Running, |(status, _)| status),
            start_time_ms: start,
            end_time_ms: opts.end.map(|(_, end)| end),
            artifact_uri: path_to_file_uri(&run_dir.join("artifacts")),
            lifecycle_stage: LIFECYCLE_ACTIVE.into(),
            user_id: self.inner.user.clone(),
        };

        let tmp = fsutil::tmp_name(&self.inner.tmp);
        let build = || -> Result<(), TrackingError> {
            fsutil::create_dir(&tmp)?;
            // MLflow's `get_run` only accepts a run directory that has `metrics/`, `params/`
            // and `artifacts/` (`FileStore._is_valid_run_directory`, a path-traversal guard), so
            // all three are made up front even when empty.
            for sub in ["metrics", "params", "artifacts", "tags"] {
                fsutil::create_dir(&tmp.join(sub))?;
            }
            fsutil::write_new(
                &tmp.join("meta.yaml"),
                meta::run_meta_yaml(&info, DeletedTime::Null).as_bytes(),
            )?;
            for (k, val) in &tags {
                let p = tmp.join("tags").join(k);
                if k.contains('/')
                    && let Some(parent) = p.parent()
                {
                    fsutil::create_dir_all(parent)?;
                }
                // A repeated key in `opts.tags`: the last value wins, as with set_tags.
                let _ = fs::remove_file(&p);
                fsutil::write_new(&p, val.as_bytes())?;
            }
            for (segs, bytes) in &artifacts {
                let mut p = tmp.join("artifacts");
                p.extend(segs);
                if let Some(parent) = p.parent() {
                    fsutil::create_dir_all(parent)?;
                }
                fsutil::write_new(&p, bytes)?;
            }
            match fs::rename(&tmp, &run_dir) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound || !exp_dir.exists() => {
                    Err(TrackingError::ExperimentNotFound {
                        experiment: experiment_id.to_string(),
                    })
                }
                Err(e) => Err(TrackingError::io("create", &run_dir, e)),
            }
        };
        if !exp_dir.join("meta.yaml").exists() {
            return Err(TrackingError::ExperimentNotFound {
                experiment: experiment_id.to_string(),
            });
        }
        if let Err(e) = build() {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        // Only a running run has an owner that may die with it.
        if opts.end.is_none() {
            self.record_owner(experiment_id, &run_id)?;
        }
        lock(&self.inner.runs).insert(
            run_id,
            CachedRun {
                dir: run_dir,
                info: info.clone(),
            },
        );
        Ok(info)
    }

    /// Finds a run: from this process's cache, else by looking in every experiment.
    fn locate(&self, run_id: &str) -> Result<CachedRun, TrackingError> {
        if let Some(c) = lock(&self.inner.runs).get(run_id) {
            return Ok(c.clone());
        }
        v::validate_run_id(run_id)?;
        for exp in self.experiment_dirs(&self.inner.root)? {
            let dir = exp.join(run_id);
            let meta_path = dir.join("meta.yaml");
            if let Ok(text) = fs::read_to_string(&meta_path) {
                let info = meta::parse_run_meta(&meta_path, &text)?;
                let c = CachedRun { dir, info };
                lock(&self.inner.runs).insert(run_id.to_string(), c.clone());
                return Ok(c);
            }
        }
        Err(TrackingError::RunNotFound {
            run_id: run_id.to_string(),
        })
    }

    /// Like `locate`, and refuses deleted runs (MLflow logs only to active runs).
    fn active(&self, run_id: &str) -> Result<CachedRun, TrackingError> {
        let c = self.locate(run_id)?;
        if c.info.is_deleted() {
            return Err(TrackingError::RunDeleted {
                run_id: run_id.to_string(),
            });
        }
        Ok(c)
    }

    /// Re-reads a run's `meta.yaml` from disk (another process may have changed it).
    fn reload(&self, run_id: &str) -> Result<CachedRun, TrackingError> {
        let c = self.locate(run_id)?;
        let path = c.dir.join("meta.yaml");
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                lock(&self.inner.runs).remove(run_id);
                return self.locate(run_id).and_then(|_| self.reload_once(run_id));
            }
            Err(e) => return Err(TrackingError::io("read", &path, e)),
        };
        let info = meta::parse_run_meta(&path, &text)?;
        let c = CachedRun { dir: c.dir, info };
        lock(&self.inner.runs).insert(run_id.to_string(), c.clone());
        Ok(c)
    }

    fn reload_once(&self, run_id: &str) -> Result<CachedRun, TrackingError> {
        let c = self.locate(run_id)?;
        let path = c.dir.join("meta.yaml");
        let text = fsutil::read_to_string(&path)?;
        let info = meta::parse_run_meta(&path, &text)?;
        Ok(CachedRun { dir: c.dir, info })
    }

    fn write_run_meta(
        &self,
        dir: &Path,
        info: &RunInfo,
        deleted: DeletedTime,
    ) -> Result<(), TrackingError> {
        write_atomic(
            &self.inner.tmp,
            &dir.join("meta.yaml"),
            meta::run_meta_yaml(info, deleted).as_bytes(),
        )?;
        lock(&self.inner.runs).insert(
            info.run_id.clone(),
            CachedRun {
                dir: dir.to_path_buf(),
                info: info.clone(),
            },
        );
        Ok(())
    }

    /// A run's metadata, params, latest metrics and tags.
    pub fn get_run(&self, run_id: &str) -> Result<RunRecord, TrackingError> {
        self.flush()?;
        let c = self.reload(run_id)?;
        self.read_record(&c.dir, c.info)
    }

    pub(super) fn read_record(
        &self,
        dir: &Path,
        info: RunInfo,
    ) -> Result<RunRecord, TrackingError> {
        let params = read_kv_dir(&dir.join("params"))?;
        let tags = read_kv_dir(&dir.join("tags"))?;
        let mut metrics = BTreeMap::new();
        let mdir = dir.join("metrics");
        for (key, path) in walk_files(&mdir)? {
            let mut latest: Option<Metric> = None;
            for m in read_metric_file(&path, &key)? {
                if latest.as_ref().is_none_or(|l| m.is_later_than(l)) {
                    latest = Some(m);
                }
            }
            if let Some(m) = latest {
                metrics.insert(key, m);
            }
        }
        Ok(RunRecord {
            info,
            params,
            metrics,
            tags,
        })
    }

    /// Every value logged for one metric of a run, in logging order.
    pub fn get_metric_history(
        &self,
        run_id: &str,
        key: &str,
    ) -> Result<Vec<Metric>, TrackingError> {
        v::validate_key("metric", key)?;
        self.flush()?;
        let c = self.locate(run_id)?;
        let path = c.dir.join("metrics").join(key);
        if !path.is_file() {
            return Ok(Vec::new());
        }
        read_metric_file(&path, key)
    }

    /// The experiment's active runs, newest first (by start time, then run id).
    pub fn list_runs(&self, experiment_id: &str) -> Result<Vec<RunInfo>, TrackingError> {
        Ok(self
            .list_run_infos(experiment_id, false)?
            .into_iter()
            .filter(|i| !i.is_deleted())
            .collect())
    }

    /// The experiment's runs, deleted ones too when `include_deleted`, newest first.
    pub fn list_run_infos(
        &self,
        experiment_id: &str,
        include_deleted: bool,
    ) -> Result<Vec<RunInfo>, TrackingError> {
        Ok(self
            .run_dirs(experiment_id)?
            .into_iter()
            .map(|(_, i)| i)
            .filter(|i| include_deleted || !i.is_deleted())
            .collect())
    }

    /// Run directories of an experiment with their parsed `meta.yaml`, newest first.
    pub(super) fn run_dirs(
        &self,
        experiment_id: &str,
    ) -> Result<Vec<(PathBuf, RunInfo)>, TrackingError> {
        let mut out: Vec<(PathBuf, RunInfo)> = self
            .run_dir_entries(experiment_id)?
            .into_iter()
            .filter_map(|(dir, name)| read_run_info(&dir, &name).map(|i| (dir, i)))
            .collect();
        out.sort_by(|a, b| {
            b.1.start_time_ms
                .cmp(&a.1.start_time_ms)
                .then_with(|| a.1.run_id.cmp(&b.1.run_id))
        });
        Ok(out)
    }

    /// The candidate run directories of an experiment, as (path, directory name), unsorted and
    /// unread.
    pub(super) fn run_dir_entries(
        &self,
        experiment_id: &str,
    ) -> Result<Vec<(PathBuf, String)>, TrackingError> {
        v::validate_experiment_id(experiment_id)?;
        let dir = self.exp_dir(experiment_id);
        if !dir.join("meta.yaml").exists() {
            return Err(TrackingError::ExperimentNotFound {
                experiment: experiment_id.to_string(),
            });
        }
        let rd = fs::read_dir(&dir).map_err(|e| TrackingError::io("list", &dir, e))?;
        let mut out = Vec::new();
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || RESERVED_EXPERIMENT_FOLDERS.contains(&name.as_str()) {
                continue;
            }
            out.push((entry.path(), name));
        }
        Ok(out)
    }

    /// Full records of an experiment's runs (deleted ones too when `include_deleted`), newest
    /// first.
    pub fn list_run_records(
        &self,
        experiment_id: &str,
        include_deleted: bool,
    ) -> Result<Vec<RunRecord>, TrackingError> {
        self.flush()?;
        self.run_dirs(experiment_id)?
            .into_iter()
            .filter(|(_, i)| include_deleted || !i.is_deleted())
            .map(|(d, i)| self.read_record(&d, i))
            .collect()
    }

    /// Logs a param. Params are immutable: logging the same value again is fine, another value
    /// is [`TrackingError::ParamChanged`].
    pub fn log_param(&self, run_id: &str, key: &str, value: &str) -> Result<(), TrackingError> {
        v::validate_key("param", key)?;
        v::validate_param_value(key, value)?;
        let c = self.active(run_id)?;
        self.write_param(&c.dir, run_id, key, value)
    }

    fn write_param(
        &self,
        dir: &Path,
        run_id: &str,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        let path = dir.join("params").join(key);
        if fsutil::create_atomic(&self.inner.tmp, &path, value.as_bytes())? {
            return Ok(());
        }
        let old = fsutil::read_to_string(&path)?;
        if old == value {
            Ok(())
        } else {
            Err(TrackingError::ParamChanged {
                key: key.to_string(),
                run_id: run_id.to_string(),
                old,
                new: value.to_string(),
            })
        }
    }

    /// Logs a metric value at a step. Buffered: see [`FileStore::flush`].
    pub fn log_metric(
        &self,
        run_id: &str,
        key: &str,
        value: f64,
        timestamp_ms: i64,
        step: i64,
    ) -> Result<(), TrackingError> {
        v::validate_key("metric", key)?;
        v::validate_timestamp(key, timestamp_ms)?;
        let c = self.active(run_id)?;
        let path = c.dir.join("metrics").join(key);
        let line = format!("{timestamp_ms} {} {step}\n", python_float_repr(value));
        self.buffer_lines(std::iter::once((path, line)))
    }

    fn buffer_lines(
        &self,
        lines: impl IntoIterator<Item = (PathBuf, String)>,
    ) -> Result<(), TrackingError> {
        let mut buf = lock(&self.inner.buffer);
        for (path, line) in lines {
            buf.bytes += line.len();
            buf.files
                .entry(path)
                .or_default()
                .extend_from_slice(line.as_bytes());
        }
        let interval = Duration::from_millis(self.inner.flush_interval_ms.load(Ordering::Relaxed));
        let since = *buf.since.get_or_insert_with(Instant::now);
        if buf.bytes >= MAX_BUFFERED_BYTES || since.elapsed() >= interval {
            flush_buffer(&mut buf)?;
        }
        drop(buf);
        self.start_flusher();
        Ok(())
    }

    /// Starts, once per store, a thread that flushes buffered metrics at the flush interval,
    /// so a value never waits longer than that even when nothing else is logged.
    fn start_flusher(&self) {
        if self.inner.flusher_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let spawned = std::thread::Builder::new()
            .name("oxflow-tracking-flush".into())
            .spawn(move || {
                loop {
                    let interval = match weak.upgrade() {
                        Some(inner) => {
                            Duration::from_millis(inner.flush_interval_ms.load(Ordering::Relaxed))
                        }
                        None => return,
                    };
                    std::thread::sleep(interval.min(Duration::from_millis(250)));
                    let Some(inner) = weak.upgrade() else { return };
                    let mut buf = lock(&inner.buffer);
                    if buf.since.is_some_and(|s| s.elapsed() >= interval)
                        && let Err(e) = flush_buffer(&mut buf)
                    {
                        tracing::warn!(error = %e, "could not flush buffered metrics");
                    }
                }
            });
        if spawned.is_err() {
            // Without the thread, values are still flushed on the next log call past the
            // interval, on flush() and when the run ends.
            self.inner.flusher_started.store(false, Ordering::Release);
        }
    }

    /// Logs metrics, params and tags in one call; everything is validated first, so on error
    /// nothing is written.
    pub fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<(), TrackingError> {
        // A batch usually repeats a few keys many times: check each distinct key once.
        let mut checked: std::collections::HashSet<&str> = std::collections::HashSet::new();
        for m in metrics {
            if checked.insert(&m.key) {
                v::validate_key("metric", &m.key)?;
            }
            v::validate_timestamp(&m.key, m.timestamp_ms)?;
        }
        let mut seen = std::collections::HashSet::new();
        for (k, val) in params {
            v::validate_key("param", k)?;
            v::validate_param_value(k, val)?;
            if !seen.insert(k.as_str()) {
                return Err(TrackingError::DuplicateKey {
                    kind: "param",
                    key: k.clone(),
                });
            }
        }
        seen.clear();
        for (k, val) in tags {
            v::validate_key("tag", k)?;
            v::validate_tag_value(k, val)?;
            if !seen.insert(k.as_str()) {
                return Err(TrackingError::DuplicateKey {
                    kind: "tag",
                    key: k.clone(),
                });
            }
        }
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
        let mdir = c.dir.join("metrics");
        let mut lines: HashMap<&str, String> = HashMap::new();
        for m in metrics {
            let s = lines.entry(&m.key).or_default();
            use std::fmt::Write as _;
            let _ = writeln!(
                s,
                "{} {} {}",
                m.timestamp_ms,
                python_float_repr(m.value),
                m.step
            );
        }
        self.buffer_lines(lines.into_iter().map(|(k, s)| (mdir.join(k), s)))
    }

    /// Sets a run tag (overwriting). Setting `mlflow.runName` also renames the run.
    pub fn set_tag(&self, run_id: &str, key: &str, value: &str) -> Result<(), TrackingError> {
        self.set_tags(run_id, &[(key, value)])
    }

    /// Sets several run tags; all are validated before any is written.
    pub fn set_tags(&self, run_id: &str, tags: &[(&str, &str)]) -> Result<(), TrackingError> {
        for (k, val) in tags {
            v::validate_key("tag", k)?;
            v::validate_tag_value(k, val)?;
        }
        let c = self.active(run_id)?;
        self.write_tags(&c, tags.iter().copied())
    }

    fn write_tags<'a>(
        &self,
        c: &CachedRun,
        tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(), TrackingError> {
        let tdir = c.dir.join("tags");
        let mut new_name = None;
        for (k, val) in tags {
            write_atomic(&self.inner.tmp, &tdir.join(k), val.as_bytes())?;
            if k == TAG_RUN_NAME {
                new_name = Some(val.to_string());
            }
        }
        if let Some(name) = new_name {
            let mut info = self.reload(&c.info.run_id)?.info;
            if info.run_name != name {
                info.run_name = name;
                self.write_run_meta(&c.dir, &info, DeletedTime::Omit)?;
            }
        }
        Ok(())
    }

    /// Removes a run tag.
    pub fn delete_tag(&self, run_id: &str, key: &str) -> Result<(), TrackingError> {
        v::validate_key("tag", key)?;
        let c = self.active(run_id)?;
        let path = c.dir.join("tags").join(key);
        fs::remove_file(&path).map_err(|e| TrackingError::io("remove", &path, e))
    }

    /// Ends a run with a status and end time; buffered metrics are flushed first.
    pub fn set_terminated(
        &self,
        run_id: &str,
        status: RunStatus,
        end_time_ms: i64,
    ) -> Result<(), TrackingError> {
        self.update_run(run_id, Some(status), Some(end_time_ms))
    }

    /// Changes a run's status (and end time, if given), as MLflow's `runs/update` does.
    pub fn update_run(
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

    /// Marks a run deleted (`lifecycle_stage: deleted`); its directory stays, as in MLflow.
    pub fn delete_run(&self, run_id: &str) -> Result<(), TrackingError> {
        self.flush()?;
        let c = self.reload(run_id)?;
        let mut info = c.info;
        info.lifecycle_stage = LIFECYCLE_DELETED.into();
        self.write_run_meta(&c.dir, &info, DeletedTime::At(now_ms()))
    }

    /// Restores a deleted run.
    pub fn restore_run(&self, run_id: &str) -> Result<(), TrackingError> {
        let c = self.reload(run_id)?;
        let mut info = c.info;
        info.lifecycle_stage = LIFECYCLE_ACTIVE.into();
        self.write_run_meta(&c.dir, &info, DeletedTime::Omit)
    }

    /// Appends the new run to this handle's owner file (opened once; one write per run).
    fn record_owner(&self, experiment_id: &str, run_id: &str) -> Result<(), TrackingError> {
        static HANDLES: AtomicU64 = AtomicU64::new(0);
        let mut owner = lock(&self.inner.owner);
        if owner.is_none() {
            let pid = std::process::id().to_string();
            let start = process_start(&pid).unwrap_or_else(|| "0".into());
            let n = HANDLES.fetch_add(1, Ordering::Relaxed);
            let path = self
                .inner
                .tmp
                .join(format!("{OWNER_PREFIX}{}~{pid}~{start}~{n}", hostname()));
            let file = fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(|e| TrackingError::io("create", &path, e))?;
            *owner = Some((path, file));
        }
        if let Some((path, file)) = owner.as_mut() {
            file.write_all(format!("{experiment_id} {run_id}\n").as_bytes())
                .map_err(|e| TrackingError::io("append to", path.as_path(), e))?;
        }
        Ok(())
    }

    /// Marks FAILED every RUNNING run created by a process on this machine that has exited
    /// without ending it (a crash or `kill -9`). Looks in one experiment, or in all when `None`.
    /// Returns the ids of the runs it marked; they get tag `oxflow.failure` saying why.
    pub fn mark_stale_runs_failed(
        &self,
        experiment_id: Option<&str>,
    ) -> Result<Vec<String>, TrackingError> {
        let host = hostname();
        let mut marked = Vec::new();
        let rd = fs::read_dir(&self.inner.tmp)
            .map_err(|e| TrackingError::io("list", &self.inner.tmp, e))?;
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix(OWNER_PREFIX) else {
                continue;
            };
            let parts: Vec<&str> = rest.split('~').collect();
            let [h, pid, start, _n] = parts[..] else {
                continue;
            };
            if h != host || process_alive(pid, start) {
                continue;
            }
            let text = fs::read_to_string(entry.path()).unwrap_or_default();
            let mut all_done = true;
            for line in text.lines() {
                let Some((exp, run_id)) = line.split_once(' ') else {
                    continue;
                };
                if experiment_id.is_some_and(|e| e != exp) {
                    all_done = false;
                    continue;
                }
                let c = match self.reload(run_id) {
                    Ok(c) => c,
                    Err(TrackingError::RunNotFound { .. } | TrackingError::InvalidId { .. }) => {
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                if c.info.status != RunStatus::Running || c.info.is_deleted() {
                    continue;
                }
                let why = format!("process {pid} on {h} exited without ending the run");
                self.write_tags(&c, [(TAG_FAILURE, why.as_str())])?;
                self.set_terminated(run_id, RunStatus::Failed, now_ms())?;
                marked.push(run_id.to_string());
            }
            if all_done {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(marked)
    }

    // ---------------------------------------------------------------- artifacts

    fn artifact_root(&self, c: &CachedRun) -> PathBuf {
        fsutil::file_uri_to_path(&c.info.artifact_uri).unwrap_or_else(|| c.dir.join("artifacts"))
    }

    /// The local path of a run artifact (which need not exist yet). Refuses paths that would
    /// leave the run's artifact directory.
    pub fn artifact_path(&self, run_id: &str, rel_path: &str) -> Result<PathBuf, TrackingError> {
        let segs = artifact_segments(rel_path)?;
        let c = self.locate(run_id)?;
        let mut p = self.artifact_root(&c);
        p.extend(segs);
        Ok(p)
    }

    /// Writes an artifact file from bytes (whole file, by rename).
    pub fn log_artifact_bytes(
        &self,
        run_id: &str,
        rel_path: &str,
        bytes: &[u8],
    ) -> Result<(), TrackingError> {
        let segs = artifact_segments(rel_path)?;
        if segs.is_empty() || rel_path.ends_with('/') {
            return Err(TrackingError::InvalidArtifactPath {
                path: rel_path.to_string(),
                reason: "an artifact file needs a file name".into(),
            });
        }
        let c = self.active(run_id)?;
        let mut p = self.artifact_root(&c);
        p.extend(segs);
        write_atomic(&self.inner.tmp, &p, bytes)
    }

    /// Copies a local file into the run's artifacts as `rel_path`.
    pub fn log_artifact_file(
        &self,
        run_id: &str,
        local: &Path,
        rel_path: &str,
    ) -> Result<(), TrackingError> {
        let bytes = fs::read(local).map_err(|e| TrackingError::io("read", local, e))?;
        self.log_artifact_bytes(run_id, rel_path, &bytes)
    }

    /// Reads an artifact file.
    pub fn read_artifact(&self, run_id: &str, rel_path: &str) -> Result<Vec<u8>, TrackingError> {
        let p = self.artifact_path(run_id, rel_path)?;
        fs::read(&p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => TrackingError::ArtifactNotFound {
                run_id: run_id.to_string(),
                path: rel_path.to_string(),
            },
            _ => TrackingError::io("read", &p, e),
        })
    }

    /// Lists one artifact directory (`""` for the root), sorted by path, as MLflow lists it.
    pub fn list_artifacts(
        &self,
        run_id: &str,
        dir: &str,
    ) -> Result<Vec<ArtifactEntry>, TrackingError> {
        let segs = artifact_segments(dir)?;
        let base = self.artifact_path(run_id, dir)?;
        let rd = match fs::read_dir(&base) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(TrackingError::io("list", &base, e)),
        };
        let prefix = segs.join("/");
        let mut out = Vec::new();
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let md = entry
                .metadata()
                .map_err(|e| TrackingError::io("stat", entry.path(), e))?;
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            out.push(ArtifactEntry {
                path,
                is_dir: md.is_dir(),
                file_size: if md.is_dir() { None } else { Some(md.len()) },
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }
}

/// A run directory's `meta.yaml`, or `None` (with a warning for a malformed one) if the
/// directory is not a readable run: one malformed run must not hide the others, as in MLflow.
pub(super) fn read_run_info(dir: &Path, name: &str) -> Option<RunInfo> {
    let path = dir.join("meta.yaml");
    // No meta.yaml: not a run directory (MLflow skips these too).
    let text = fs::read_to_string(&path).ok()?;
    match meta::parse_run_meta(&path, &text) {
        Ok(info) if info.run_id == name => Some(info),
        Ok(info) => {
            tracing::warn!(path = %path.display(), run_id = %info.run_id, "skipping run whose meta.yaml names another run id");
            None
        }
        Err(e) => {
            tracing::warn!(error = %e, "skipping malformed run");
            None
        }
    }
}

/// Reads a directory of one-file-per-key values (params, tags); keys with `/` are nested.
fn read_kv_dir(dir: &Path) -> Result<BTreeMap<String, String>, TrackingError> {
    let mut out = BTreeMap::new();
    for (key, path) in walk_files(dir)? {
        let val = fsutil::read_to_string(&path)?;
        out.insert(key, val);
    }
    Ok(out)
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

/// Parses a metric file: lines `ts value [step [dataset_name dataset_digest]]`.
fn read_metric_file(path: &Path, key: &str) -> Result<Vec<Metric>, TrackingError> {
    let text = fsutil::read_to_string(path)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(' ').collect();
        let bad = || {
            TrackingError::corrupt(
                path,
                format!("line {}: `{line}` is not `timestamp value step`", i + 1),
            )
        };
        if !matches!(f.len(), 2 | 3 | 5) {
            return Err(bad());
        }
        let timestamp_ms = f[0].parse().map_err(|_| bad())?;
        let value = fsutil::parse_python_float(f[1]).ok_or_else(bad)?;
        let step = if f.len() >= 3 {
            f[2].parse().map_err(|_| bad())?
        } else {
            0
        };
        out.push(Metric {
            key: key.to_string(),
            value,
            timestamp_ms,
            step,
        });
    }
    Ok(out)
}

/// A random 18-digit experiment id, as MLflow's file store makes them.
fn new_experiment_id() -> String {
    let n = uuid::Uuid::new_v4().as_u128();
    let s = n.to_string();
    s[..18.min(s.len())].to_string()
}

fn current_user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty() && !s.contains(char::is_whitespace))
        .unwrap_or_else(|| "localhost".to_string())
}

/// Start time of a process in clock ticks since boot (field 22 of `/proc/<pid>/stat`), which
/// tells a live process from a later one that reuses its pid.
fn process_start(pid: &str) -> Option<String> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; fields after it follow the last `)`.
    let after = &stat[stat.rfind(')')? + 1..];
    after.split_whitespace().nth(19).map(str::to_string)
}

fn process_alive(pid: &str, start: &str) -> bool {
    if !Path::new("/proc/self/stat").exists() {
        // No procfs: we cannot tell, so never declare a run stale.
        return true;
    }
    process_start(pid).is_some_and(|s| s == start || start == "0")
}

const ADJECTIVES: [&str; 16] = [
    "able", "bold", "brave", "calm", "clever", "crisp", "eager", "fair", "gentle", "keen", "lucky",
    "merry", "nimble", "quiet", "swift", "wise",
];
const NOUNS: [&str; 16] = [
    "ant", "bee", "crab", "deer", "eel", "finch", "goat", "hawk", "ibis", "jay", "koi", "lark",
    "mole", "newt", "owl", "wren",
];

/// A run name like MLflow's generated ones: `adjective-noun-number`.
pub(crate) fn random_run_name() -> String {
    let n = uuid::Uuid::new_v4().as_u128();
    format!(
        "{}-{}-{}",
        ADJECTIVES[(n % 16) as usize],
        NOUNS[((n >> 8) % 16) as usize],
        (n >> 16) % 1000
    )
}
