//! [`TrackingStore`]: a file store or an MLflow server, chosen by URI.

use std::path::Path;

use super::TrackingError;
use super::entities::{
    ArtifactEntry, Experiment, Metric, RunInfo, RunOptions, RunRecord, RunStatus,
};
use super::rest::RestStore;
use super::search::ViewType;
use super::store::{FileStore, tracking_uri_from_env};

/// Either store, picked from a tracking URI: a path or `file://` URI opens a [`FileStore`], an
/// `http(s)://` URI a [`RestStore`]. Same operations on both.
///
/// ```
/// use oxflow_runtime::tracking::TrackingStore;
/// # let dir = tempfile::tempdir()?;
/// let store = TrackingStore::open_uri(&dir.path().display().to_string())?;
/// assert!(matches!(store, TrackingStore::File(_)));
/// let rest = TrackingStore::open_uri("http://127.0.0.1:5000")?; // nothing is sent yet
/// assert!(matches!(rest, TrackingStore::Rest(_)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub enum TrackingStore {
    /// MLflow's file-store layout on a local directory.
    File(FileStore),
    /// An MLflow tracking server.
    Rest(RestStore),
}

impl From<FileStore> for TrackingStore {
    fn from(s: FileStore) -> Self {
        TrackingStore::File(s)
    }
}

impl From<&FileStore> for TrackingStore {
    fn from(s: &FileStore) -> Self {
        TrackingStore::File(s.clone())
    }
}

impl From<RestStore> for TrackingStore {
    fn from(s: RestStore) -> Self {
        TrackingStore::Rest(s)
    }
}

impl From<&RestStore> for TrackingStore {
    fn from(s: &RestStore) -> Self {
        TrackingStore::Rest(s.clone())
    }
}

impl From<&TrackingStore> for TrackingStore {
    fn from(s: &TrackingStore) -> Self {
        s.clone()
    }
}

macro_rules! delegate {
    ($( $(#[$m:meta])* fn $name:ident(&self $(, $arg:ident : $ty:ty)*) -> $ret:ty; )*) => {
        $(
            $(#[$m])*
            pub fn $name(&self $(, $arg: $ty)*) -> $ret {
                match self {
                    TrackingStore::File(s) => s.$name($($arg),*),
                    TrackingStore::Rest(s) => s.$name($($arg),*),
                }
            }
        )*
    };
}

impl TrackingStore {
    /// Opens the store a URI names: a path, `file://...` or `http(s)://...`.
    pub fn open_uri(uri: &str) -> Result<TrackingStore, TrackingError> {
        if uri.starts_with("http://") || uri.starts_with("https://") {
            Ok(TrackingStore::Rest(RestStore::new(uri)?))
        } else {
            Ok(TrackingStore::File(FileStore::open_uri(uri)?))
        }
    }

    /// Opens the store named by `OXFLOW_TRACKING_URI`, else `MLFLOW_TRACKING_URI`, else
    /// `./mlruns`.
    pub fn from_env() -> Result<TrackingStore, TrackingError> {
        TrackingStore::open_uri(&tracking_uri_from_env())
    }

    delegate! {
        /// Sends or appends buffered metric values now.
        fn flush(&self) -> Result<(), TrackingError>;
        /// The active experiment with this name, if any.
        fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>, TrackingError>;
        /// The experiment with this id.
        fn get_experiment(&self, experiment_id: &str) -> Result<Experiment, TrackingError>;
        /// The experiment with this name, created if missing.
        fn get_or_create_experiment(&self, name: &str) -> Result<Experiment, TrackingError>;
        /// All experiments, sorted by name.
        fn list_experiments(&self, include_deleted: bool) -> Result<Vec<Experiment>, TrackingError>;
        /// Sets an experiment tag.
        fn set_experiment_tag(&self, experiment_id: &str, key: &str, value: &str) -> Result<(), TrackingError>;
        /// Creates a run.
        fn create_run(&self, experiment_id: &str, opts: RunOptions) -> Result<RunInfo, TrackingError>;
        /// A run with params, latest metrics and tags.
        fn get_run(&self, run_id: &str) -> Result<RunRecord, TrackingError>;
        /// Every value of one metric.
        fn get_metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>, TrackingError>;
        /// Logs a param (immutable).
        fn log_param(&self, run_id: &str, key: &str, value: &str) -> Result<(), TrackingError>;
        /// Logs a metric value (buffered).
        fn log_metric(&self, run_id: &str, key: &str, value: f64, timestamp_ms: i64, step: i64) -> Result<(), TrackingError>;
        /// Logs metrics, params and tags at once.
        fn log_batch(&self, run_id: &str, metrics: &[Metric], params: &[(String, String)], tags: &[(String, String)]) -> Result<(), TrackingError>;
        /// Sets a run tag.
        fn set_tag(&self, run_id: &str, key: &str, value: &str) -> Result<(), TrackingError>;
        /// Sets several run tags.
        fn set_tags(&self, run_id: &str, tags: &[(&str, &str)]) -> Result<(), TrackingError>;
        /// Removes a run tag.
        fn delete_tag(&self, run_id: &str, key: &str) -> Result<(), TrackingError>;
        /// Ends a run.
        fn set_terminated(&self, run_id: &str, status: RunStatus, end_time_ms: i64) -> Result<(), TrackingError>;
        /// Changes a run's status and end time.
        fn update_run(&self, run_id: &str, status: Option<RunStatus>, end_time_ms: Option<i64>) -> Result<(), TrackingError>;
        /// Marks a run deleted.
        fn delete_run(&self, run_id: &str) -> Result<(), TrackingError>;
        /// Restores a deleted run.
        fn restore_run(&self, run_id: &str) -> Result<(), TrackingError>;
        /// Searches active runs with an MLflow filter.
        fn search_runs(&self, experiment_ids: &[&str], filter: &str, order_by: &[&str], max_results: usize) -> Result<Vec<RunRecord>, TrackingError>;
        /// Searches active, deleted or all runs.
        fn search_runs_view(&self, experiment_ids: &[&str], filter: &str, order_by: &[&str], max_results: usize, view: ViewType) -> Result<Vec<RunRecord>, TrackingError>;
        /// Writes an artifact file.
        fn log_artifact_bytes(&self, run_id: &str, rel_path: &str, bytes: &[u8]) -> Result<(), TrackingError>;
        /// Reads an artifact file.
        fn read_artifact(&self, run_id: &str, rel_path: &str) -> Result<Vec<u8>, TrackingError>;
        /// Lists an artifact directory.
        fn list_artifacts(&self, run_id: &str, dir: &str) -> Result<Vec<ArtifactEntry>, TrackingError>;
    }

    /// Copies a local file into the run's artifacts as `rel_path`.
    pub fn log_artifact_file(
        &self,
        run_id: &str,
        local: &Path,
        rel_path: &str,
    ) -> Result<(), TrackingError> {
        match self {
            TrackingStore::File(s) => s.log_artifact_file(run_id, local, rel_path),
            TrackingStore::Rest(s) => {
                let bytes =
                    std::fs::read(local).map_err(|e| TrackingError::io("read", local, e))?;
                s.log_artifact_bytes(run_id, rel_path, &bytes)
            }
        }
    }

    /// The experiment's active runs, newest first.
    pub fn list_runs(&self, experiment_id: &str) -> Result<Vec<RunInfo>, TrackingError> {
        match self {
            TrackingStore::File(s) => s.list_runs(experiment_id),
            TrackingStore::Rest(s) => Ok(s
                .search_runs(&[experiment_id], "", &[], super::MAX_SEARCH_RESULTS)?
                .into_iter()
                .map(|r| r.info)
                .collect()),
        }
    }

    /// Runs `f` as one unit of writes. On a SQL store the writes inside share one transaction
    /// (one commit instead of one per call); on the file and REST stores `f` simply runs. The
    /// executor's recorder groups the records of many tasks this way.
    ///
    /// ```
    /// use oxflow_runtime::tracking::{RunOptions, TrackingStore};
    /// # let dir = tempfile::tempdir()?;
    /// let store = TrackingStore::open_uri(&dir.path().display().to_string())?;
    /// let exp = store.get_or_create_experiment("e")?;
    /// let ids = store.batch(|| {
    ///     let a = store.create_run(&exp.experiment_id, RunOptions::default())?;
    ///     let b = store.create_run(&exp.experiment_id, RunOptions::default())?;
    ///     Ok([a.run_id, b.run_id])
    /// })?;
    /// assert_ne!(ids[0], ids[1]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn batch<T>(
        &self,
        f: impl FnOnce() -> Result<T, TrackingError>,
    ) -> Result<T, TrackingError> {
        f()
    }

    /// The file store, if this is one.
    pub fn as_file(&self) -> Option<&FileStore> {
        match self {
            TrackingStore::File(s) => Some(s),
            TrackingStore::Rest(_) => None,
        }
    }
}
