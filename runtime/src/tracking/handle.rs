//! [`TrackingStore`]: the one handle on a tracking backend, chosen by URI. It validates every
//! input with MLflow's rules before the backend sees it, so all backends refuse the same things
//! with the same messages, and nothing invalid is ever half-written.

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::TrackingError;
use super::backend::Store;
use super::entities::{
    ArtifactEntry, DatasetInput, Experiment, Metric, RunInfo, RunOptions, RunRecord, RunStatus,
};
use super::logged_model::{LoggedModel, LoggedModelStatus, NewLoggedModel, validate_model_id};
use super::matching::{MAX_SEARCH_RESULTS, ViewType, check_max_results};
use super::owner::{self, TAG_OWNER};
use super::registry::{ModelVersion, ModelVersionQuery, NewModelVersion, RegisteredModel, Stage};
use super::validation::{self as v, artifact_segments};
use super::{FileStore, RestStore, SqlStore, TAG_FAILURE, TAG_RUN_NAME, TAG_STATE};

/// A tracking store: MLflow's SQLite schema, MLflow's file store, or an MLflow server, picked
/// from a tracking URI (see [`TrackingStore::open_uri`]). Cheap to clone; clones share the
/// backend.
///
/// ```
/// use oxflow_runtime::tracking::{RunOptions, RunStatus, TrackingStore};
/// # let dir = tempfile::tempdir()?;
/// let store = TrackingStore::open_uri(&dir.path().join("mlruns").display().to_string())?;
/// let exp = store.get_or_create_experiment("iris")?;
/// let run = store.create_run(&exp.experiment_id, RunOptions::default())?;
/// store.log_param(&run.run_id, "n_trees", "200")?;
/// assert!(store.log_param(&run.run_id, "bad key?", "1").is_err());
/// store.set_terminated(&run.run_id, RunStatus::Finished, oxflow_runtime::tracking::now_ms())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct TrackingStore {
    backend: Arc<dyn Store>,
}

impl<S: Store + 'static> From<S> for TrackingStore {
    fn from(s: S) -> Self {
        TrackingStore {
            backend: Arc::new(s),
        }
    }
}

impl From<&FileStore> for TrackingStore {
    fn from(s: &FileStore) -> Self {
        s.clone().into()
    }
}

impl From<&RestStore> for TrackingStore {
    fn from(s: &RestStore) -> Self {
        s.clone().into()
    }
}

impl From<&SqlStore> for TrackingStore {
    fn from(s: &SqlStore) -> Self {
        s.clone().into()
    }
}

impl From<&TrackingStore> for TrackingStore {
    fn from(s: &TrackingStore) -> Self {
        s.clone()
    }
}

/// Checks a run's tags: valid keys and values, no key twice.
fn validate_tags<'a>(
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(), TrackingError> {
    let mut seen = HashSet::new();
    for (k, val) in tags {
        v::validate_key("tag", k)?;
        v::validate_tag_value(k, val)?;
        if !seen.insert(k) {
            return Err(TrackingError::DuplicateKey {
                kind: "tag",
                key: k.to_string(),
            });
        }
    }
    Ok(())
}

fn validate_metrics(metrics: &[Metric]) -> Result<(), TrackingError> {
    // A batch usually repeats a few keys many times: check each distinct key once.
    let mut checked: HashSet<&str> = HashSet::new();
    for m in metrics {
        if checked.insert(&m.key) {
            v::validate_key("metric", &m.key)?;
        }
        v::validate_timestamp(&m.key, m.timestamp_ms)?;
    }
    Ok(())
}

fn validate_params(params: &[(String, String)]) -> Result<(), TrackingError> {
    let mut seen = HashSet::new();
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
    Ok(())
}

fn validate_model_name(name: &str) -> Result<(), TrackingError> {
    if name.trim().is_empty() || name.chars().any(char::is_control) {
        return Err(TrackingError::InvalidArgument {
            what: "registered model name",
            value: name.to_string(),
            reason: "must be a non-empty name on one line".into(),
        });
    }
    // MLflow's `_validate_model_name`: the name is a directory of the file store.
    if name.contains(['/', ':']) || name.contains('\\') || name == "." || name == ".." {
        return Err(TrackingError::InvalidArgument {
            what: "registered model name",
            value: name.to_string(),
            reason: "cannot contain '/' or ':' (nor be `.` or `..`)".into(),
        });
    }
    v::validate_tag_value("name", name)
}

/// MLflow's `_validate_logged_model_name`.
fn validate_logged_model_name(name: &str) -> Result<(), TrackingError> {
    const BAD: [char; 7] = ['/', ':', '.', '%', '"', '\'', '\\'];
    if name.is_empty() || name.contains(BAD) || name.chars().any(char::is_control) {
        return Err(TrackingError::InvalidArgument {
            what: "logged model name",
            value: name.to_string(),
            reason: "must be a non-empty name without / : . % \" ' or \\".into(),
        });
    }
    Ok(())
}

fn validate_alias(alias: &str) -> Result<(), TrackingError> {
    // MLflow: aliases are `^[\w\-]*$`, at most 255 characters, and not `latest` or `vN`.
    let bad = |reason: &str| TrackingError::InvalidArgument {
        what: "alias",
        value: alias.to_string(),
        reason: reason.to_string(),
    };
    if alias.is_empty() || alias.len() > 255 {
        return Err(bad("must be 1 to 255 characters"));
    }
    if !alias
        .chars()
        .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return Err(bad("may hold only letters, digits, `_` and `-`"));
    }
    let lower = alias.to_ascii_lowercase();
    if lower == "latest"
        || (lower.starts_with('v')
            && lower.len() > 1
            && lower[1..].bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(bad(
            "`latest` and version-like names (`v3`) are reserved by MLflow",
        ));
    }
    Ok(())
}

impl TrackingStore {
    /// Wraps a backend.
    pub fn new(backend: impl Store + 'static) -> TrackingStore {
        backend.into()
    }

    /// Opens the store a tracking URI names:
    /// - `sqlite:///abs/path.db`, `sqlite:///rel.db`: MLflow's SQLite schema
    ///   ([`SqlStore`](super::SqlStore)), created if missing;
    /// - `http://…`, `https://…`: an MLflow tracking server ([`RestStore`]);
    /// - `file:///…` or a plain path: MLflow's file store ([`FileStore`]).
    pub fn open_uri(uri: &str) -> Result<TrackingStore, TrackingError> {
        super::uri::open(uri)
    }

    /// Opens the store named by `OXFLOW_TRACKING_URI`, else `MLFLOW_TRACKING_URI`, else MLflow's
    /// default: `./mlruns` when it already holds file-store data, else `sqlite:///mlflow.db`.
    pub fn from_env() -> Result<TrackingStore, TrackingError> {
        TrackingStore::open_uri(&super::uri::tracking_uri_from_env())
    }

    /// A store that keeps nothing: MLflow's schema in an in-memory SQLite database, artifacts in
    /// a temporary directory, both gone when the last clone is dropped.
    ///
    /// ```
    /// use oxflow_runtime::tracking::{RunOptions, TrackingStore};
    /// let store = TrackingStore::in_memory()?;
    /// let exp = store.get_or_create_experiment("scratch")?;
    /// let run = store.create_run(&exp.experiment_id, RunOptions::default())?;
    /// store.log_metric(&run.run_id, "loss", 0.5, 1, 0)?;
    /// assert_eq!(store.get_run(&run.run_id)?.metrics["loss"].value, 0.5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn in_memory() -> Result<TrackingStore, TrackingError> {
        Ok(SqlStore::in_memory()?.into())
    }

    /// The backend, for code that needs an operation the handle does not wrap.
    pub fn backend(&self) -> &dyn Store {
        &*self.backend
    }

    /// The tracking URI.
    pub fn uri(&self) -> String {
        self.backend.uri()
    }

    /// What a user types to see this store's runs in MLflow's UI.
    pub fn ui_command(&self) -> String {
        self.backend.ui_command()
    }

    /// Where task logs go unless configured otherwise.
    pub fn default_log_root(&self) -> PathBuf {
        self.backend.default_log_root()
    }

    /// Sends or appends buffered metric values now.
    pub fn flush(&self) -> Result<(), TrackingError> {
        self.backend.flush()
    }

    /// Runs `f` as one unit of writes. On a SQL store the writes inside share one transaction
    /// (one commit instead of one per call, and all or nothing); on the file and REST stores `f`
    /// simply runs. The executor's recorder groups the records of many tasks this way.
    ///
    /// ```
    /// use oxflow_runtime::tracking::{RunOptions, TrackingStore};
    /// # let dir = tempfile::tempdir()?;
    /// let store = TrackingStore::open_uri(&dir.path().join("mlruns").display().to_string())?;
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
        let mut f = Some(f);
        let mut out = None;
        self.backend.batch(&mut || {
            let f = f.take().expect("a batch body runs once");
            out = Some(f()?);
            Ok(())
        })?;
        Ok(out.expect("the batch body ran"))
    }

    // ---------------------------------------------------------------- experiments

    /// The experiment with this name, if any.
    pub fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>, TrackingError> {
        self.backend.get_experiment_by_name(name)
    }

    /// The experiment with this id.
    pub fn get_experiment(&self, experiment_id: &str) -> Result<Experiment, TrackingError> {
        v::validate_experiment_id(experiment_id)?;
        self.backend.get_experiment(experiment_id)
    }

    /// The experiment with this name, created if missing.
    pub fn get_or_create_experiment(&self, name: &str) -> Result<Experiment, TrackingError> {
        v::validate_experiment_name(name)?;
        self.backend.get_or_create_experiment(name)
    }

    /// All experiments, sorted by name.
    pub fn list_experiments(
        &self,
        include_deleted: bool,
    ) -> Result<Vec<Experiment>, TrackingError> {
        self.backend.list_experiments(include_deleted)
    }

    /// Sets an experiment tag.
    pub fn set_experiment_tag(
        &self,
        experiment_id: &str,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        v::validate_experiment_id(experiment_id)?;
        validate_tags([(key, value)])?;
        self.backend.set_experiment_tag(experiment_id, key, value)
    }

    /// Sets experiment tag `key` to `value` only if its value is now `expected` (`None`: the
    /// tag is absent); `true` when it did. Atomic across processes on the SQL and file stores
    /// ([`Store::compare_and_set_experiment_tag`]).
    ///
    /// ```
    /// # use oxflow_runtime::tracking::TrackingStore;
    /// let store = TrackingStore::in_memory()?;
    /// let exp = store.get_or_create_experiment("etl")?.experiment_id;
    /// assert!(store.compare_and_set_experiment_tag(&exp, "owner", None, "a")?);
    /// assert!(!store.compare_and_set_experiment_tag(&exp, "owner", None, "b")?);
    /// assert!(store.compare_and_set_experiment_tag(&exp, "owner", Some("a"), "b")?);
    /// # Ok::<(), oxflow_runtime::tracking::TrackingError>(())
    /// ```
    pub fn compare_and_set_experiment_tag(
        &self,
        experiment_id: &str,
        key: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool, TrackingError> {
        v::validate_experiment_id(experiment_id)?;
        validate_tags([(key, value)])?;
        self.backend
            .compare_and_set_experiment_tag(experiment_id, key, expected, value)
    }

    // ----------------------------------------------------------------------- runs

    /// Creates a run.
    pub fn create_run(
        &self,
        experiment_id: &str,
        opts: RunOptions,
    ) -> Result<RunInfo, TrackingError> {
        v::validate_experiment_id(experiment_id)?;
        validate_tags(opts.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        if let Some(name) = &opts.run_name {
            v::validate_tag_value(TAG_RUN_NAME, name)?;
        }
        if let Some(parent) = &opts.parent_run_id {
            v::validate_run_id(parent)?;
        }
        if let Some(t) = opts.start_time_ms {
            v::validate_timestamp("start_time", t)?;
        }
        for (path, _) in &opts.artifacts {
            artifact_segments(path)?;
        }
        let mut opts = opts;
        for (_, value) in &mut opts.tags {
            *value = masked(value);
        }
        if opts.end.is_none() && !opts.tags.iter().any(|(k, _)| k == TAG_OWNER) {
            // Lets `mark_stale_runs_failed` find the run if this process dies before ending it.
            opts.tags
                .push((TAG_OWNER.to_string(), owner::this_process().to_string()));
        }
        self.backend.create_run(experiment_id, opts)
    }

    /// Marks FAILED every RUNNING run whose owning process on this machine has died without
    /// ending it (a crash, `kill -9`, or a killed process not yet reaped). Looks in one
    /// experiment, or in all when `None`. Works on every backend: the owner is the run's
    /// `oxflow.owner` tag. Each marked run gets `oxflow.failure` saying why, and an
    /// `oxflow.state` tag (set by the executor) is moved to `failed`, so status and tags agree.
    /// Returns the ids of the runs marked.
    pub fn mark_stale_runs_failed(
        &self,
        experiment_id: Option<&str>,
    ) -> Result<Vec<String>, TrackingError> {
        let ids: Vec<String> = match experiment_id {
            Some(e) => vec![e.to_string()],
            None => self
                .list_experiments(false)?
                .into_iter()
                .map(|e| e.experiment_id)
                .collect(),
        };
        let mut marked = Vec::new();
        for exp in ids {
            let running = self.search_runs(
                &[exp.as_str()],
                "attributes.status = 'RUNNING'",
                &[],
                MAX_SEARCH_RESULTS,
            )?;
            for run in running {
                let Some(owner) = run.tags.get(TAG_OWNER) else {
                    continue;
                };
                if owner::owner_is_dead(owner) != Some(true) {
                    continue;
                }
                let why = format!("process {owner} (host:pid:start) exited without ending the run");
                let mut tags = vec![(TAG_FAILURE, why.as_str())];
                if run.tags.contains_key(TAG_STATE) {
                    tags.push((TAG_STATE, "failed"));
                }
                let id = run.info.run_id.as_str();
                self.batch(|| {
                    self.set_tags(id, &tags)?;
                    self.set_terminated(id, RunStatus::Failed, super::now_ms())
                })?;
                marked.push(run.info.run_id);
            }
        }
        Ok(marked)
    }

    /// A run with params, latest metrics and tags.
    pub fn get_run(&self, run_id: &str) -> Result<RunRecord, TrackingError> {
        v::validate_run_id(run_id)?;
        self.backend.get_run(run_id)
    }

    /// Every value of one metric.
    pub fn get_metric_history(
        &self,
        run_id: &str,
        key: &str,
    ) -> Result<Vec<Metric>, TrackingError> {
        v::validate_run_id(run_id)?;
        v::validate_key("metric", key)?;
        self.backend.get_metric_history(run_id, key)
    }

    /// Records datasets as inputs of a run (MLflow's `log_inputs`), checked first with
    /// MLflow's limits; the run's record then lists them in
    /// [`RunRecord::inputs`](super::RunRecord::inputs), and searches can filter on
    /// `dataset.name`, `dataset.digest` and `dataset.context`.
    ///
    /// ```
    /// use oxflow_runtime::tracking::{Dataset, DatasetInput, RunOptions, TrackingStore};
    /// let store = TrackingStore::in_memory()?;
    /// let exp = store.get_or_create_experiment("e")?;
    /// let run = store.create_run(&exp.experiment_id, RunOptions::default())?;
    /// let train = Dataset::new("train", "ab12cd34", "local", r#"{"uri": "train.csv"}"#);
    /// store.log_inputs(&run.run_id, &[DatasetInput::new(train, Some("training"))])?;
    /// assert_eq!(store.get_run(&run.run_id)?.inputs[0].context(), Some("training"));
    /// let hits = store.search_runs(&[&exp.experiment_id], "dataset.context = 'training'", &[], 10)?;
    /// assert_eq!(hits.len(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn log_inputs(&self, run_id: &str, inputs: &[DatasetInput]) -> Result<(), TrackingError> {
        v::validate_run_id(run_id)?;
        for input in inputs {
            v::validate_dataset_input(input)?;
        }
        if inputs.is_empty() {
            return Ok(());
        }
        // MLflow keeps the first of two inputs with the same name and digest in one call.
        let mut seen = HashSet::new();
        let unique: Vec<DatasetInput> = inputs
            .iter()
            .filter(|i| seen.insert((i.dataset.name.as_str(), i.dataset.digest.as_str())))
            .cloned()
            .collect();
        self.backend.log_inputs(run_id, &unique)
    }

    /// Logs a param (immutable: the same value again is a no-op, another value an error).
    pub fn log_param(&self, run_id: &str, key: &str, value: &str) -> Result<(), TrackingError> {
        v::validate_run_id(run_id)?;
        v::validate_key("param", key)?;
        v::validate_param_value(key, value)?;
        self.backend
            .log_param(run_id, key, &crate::conn::mask::redact(value))
    }

    /// Logs a metric value (buffered by local stores; see [`TrackingStore::flush`]).
    pub fn log_metric(
        &self,
        run_id: &str,
        key: &str,
        value: f64,
        timestamp_ms: i64,
        step: i64,
    ) -> Result<(), TrackingError> {
        v::validate_run_id(run_id)?;
        v::validate_key("metric", key)?;
        v::validate_timestamp(key, timestamp_ms)?;
        self.backend.log_metric(
            run_id,
            &Metric {
                key: key.to_string(),
                value,
                timestamp_ms,
                step,
            },
        )
    }

    /// Logs metrics, params and tags at once; everything is validated first, so on error
    /// nothing is written.
    pub fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<(), TrackingError> {
        v::validate_run_id(run_id)?;
        validate_metrics(metrics)?;
        validate_params(params)?;
        validate_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        let mask = |pairs: &[(String, String)]| -> Vec<(String, String)> {
            pairs.iter().map(|(k, v)| (k.clone(), masked(v))).collect()
        };
        self.backend
            .log_batch(run_id, metrics, &mask(params), &mask(tags))
    }

    /// Sets a run tag.
    pub fn set_tag(&self, run_id: &str, key: &str, value: &str) -> Result<(), TrackingError> {
        self.set_tags(run_id, &[(key, value)])
    }

    /// Sets several run tags; all are validated before any is written.
    pub fn set_tags(&self, run_id: &str, tags: &[(&str, &str)]) -> Result<(), TrackingError> {
        v::validate_run_id(run_id)?;
        validate_tags(tags.iter().copied())?;
        let values: Vec<Cow<'_, str>> = tags
            .iter()
            .map(|(_, v)| crate::conn::mask::redact(v))
            .collect();
        if values.iter().all(|v| matches!(v, Cow::Borrowed(_))) {
            // No secret in any value (the common case): no copy on the hot path.
            return self.backend.set_tags(run_id, tags);
        }
        let tags: Vec<(&str, &str)> = tags
            .iter()
            .zip(&values)
            .map(|((k, _), v)| (*k, v.as_ref()))
            .collect();
        self.backend.set_tags(run_id, &tags)
    }

    /// Removes a run tag.
    pub fn delete_tag(&self, run_id: &str, key: &str) -> Result<(), TrackingError> {
        v::validate_run_id(run_id)?;
        v::validate_key("tag", key)?;
        self.backend.delete_tag(run_id, key)
    }

    /// Ends a run.
    pub fn set_terminated(
        &self,
        run_id: &str,
        status: RunStatus,
        end_time_ms: i64,
    ) -> Result<(), TrackingError> {
        self.update_run(run_id, Some(status), Some(end_time_ms))
    }

    /// Changes a run's status and end time.
    pub fn update_run(
        &self,
        run_id: &str,
        status: Option<RunStatus>,
        end_time_ms: Option<i64>,
    ) -> Result<(), TrackingError> {
        v::validate_run_id(run_id)?;
        if let Some(t) = end_time_ms {
            v::validate_timestamp("end_time", t)?;
        }
        self.backend.update_run(run_id, status, end_time_ms)
    }

    /// Marks a run deleted.
    pub fn delete_run(&self, run_id: &str) -> Result<(), TrackingError> {
        v::validate_run_id(run_id)?;
        self.backend.delete_run(run_id)
    }

    /// Restores a deleted run.
    pub fn restore_run(&self, run_id: &str) -> Result<(), TrackingError> {
        v::validate_run_id(run_id)?;
        self.backend.restore_run(run_id)
    }

    /// Searches active runs with an MLflow filter (`metrics.acc > 0.9 and params.lr = '0.1'`).
    pub fn search_runs(
        &self,
        experiment_ids: &[&str],
        filter: &str,
        order_by: &[&str],
        max_results: usize,
    ) -> Result<Vec<RunRecord>, TrackingError> {
        self.search_runs_view(
            experiment_ids,
            filter,
            order_by,
            max_results,
            ViewType::ActiveOnly,
        )
    }

    /// Searches active, deleted or all runs.
    pub fn search_runs_view(
        &self,
        experiment_ids: &[&str],
        filter: &str,
        order_by: &[&str],
        max_results: usize,
        view: ViewType,
    ) -> Result<Vec<RunRecord>, TrackingError> {
        check_max_results(max_results)?;
        for id in experiment_ids {
            v::validate_experiment_id(id)?;
        }
        // Parse once here so every backend rejects the same filters with the same message.
        super::filter::Filter::parse(filter)?;
        for o in order_by {
            super::filter::OrderBy::parse(o)?;
        }
        self.backend
            .search_runs(experiment_ids, filter, order_by, max_results, view)
    }

    /// The experiment's active runs, newest first.
    pub fn list_runs(&self, experiment_id: &str) -> Result<Vec<RunInfo>, TrackingError> {
        Ok(self
            .search_runs(&[experiment_id], "", &[], MAX_SEARCH_RESULTS)?
            .into_iter()
            .map(|r| r.info)
            .collect())
    }

    // ------------------------------------------------------------------ artifacts

    /// Writes an artifact file.
    pub fn log_artifact_bytes(
        &self,
        run_id: &str,
        rel_path: &str,
        bytes: &[u8],
    ) -> Result<(), TrackingError> {
        v::validate_run_id(run_id)?;
        artifact_segments(rel_path)?;
        self.backend.log_artifact_bytes(run_id, rel_path, bytes)
    }

    /// Copies a local file into the run's artifacts as `rel_path`.
    pub fn log_artifact_file(
        &self,
        run_id: &str,
        local: &Path,
        rel_path: &str,
    ) -> Result<(), TrackingError> {
        let bytes = std::fs::read(local).map_err(|e| TrackingError::io("read", local, e))?;
        self.log_artifact_bytes(run_id, rel_path, &bytes)
    }

    /// Reads an artifact file.
    pub fn read_artifact(&self, run_id: &str, rel_path: &str) -> Result<Vec<u8>, TrackingError> {
        v::validate_run_id(run_id)?;
        artifact_segments(rel_path)?;
        self.backend.read_artifact(run_id, rel_path)
    }

    /// Lists an artifact directory (`""` for the root).
    pub fn list_artifacts(
        &self,
        run_id: &str,
        dir: &str,
    ) -> Result<Vec<ArtifactEntry>, TrackingError> {
        v::validate_run_id(run_id)?;
        if !dir.is_empty() {
            artifact_segments(dir)?;
        }
        self.backend.list_artifacts(run_id, dir)
    }

    /// Where an artifact is, for messages: its local file, or `runs:/<run>/<path>`.
    pub fn artifact_location(
        &self,
        run_id: &str,
        rel_path: &str,
    ) -> Result<PathBuf, TrackingError> {
        v::validate_run_id(run_id)?;
        artifact_segments(rel_path)?;
        self.backend.artifact_location(run_id, rel_path)
    }

    // ------------------------------------------------------------------- registry

    /// Creates a registered model.
    pub fn create_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<RegisteredModel, TrackingError> {
        validate_model_name(name)?;
        validate_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        self.backend
            .create_registered_model(name, description, tags)
    }

    /// A registered model with its latest versions, tags and aliases.
    pub fn get_registered_model(&self, name: &str) -> Result<RegisteredModel, TrackingError> {
        validate_model_name(name)?;
        self.backend.get_registered_model(name)
    }

    /// Registered models, by name; `name_like` is an SQL `LIKE` pattern (`%` and `_`).
    pub fn search_registered_models(
        &self,
        name_like: Option<&str>,
    ) -> Result<Vec<RegisteredModel>, TrackingError> {
        self.backend.search_registered_models(name_like)
    }

    /// Changes a registered model's description.
    pub fn update_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> Result<(), TrackingError> {
        validate_model_name(name)?;
        self.backend.update_registered_model(name, description)
    }

    /// Deletes a registered model with its versions.
    pub fn delete_registered_model(&self, name: &str) -> Result<(), TrackingError> {
        validate_model_name(name)?;
        self.backend.delete_registered_model(name)
    }

    /// Sets a registered model tag.
    pub fn set_registered_model_tag(
        &self,
        name: &str,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        validate_model_name(name)?;
        validate_tags([(key, value)])?;
        self.backend.set_registered_model_tag(name, key, value)
    }

    /// Removes a registered model tag.
    pub fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<(), TrackingError> {
        validate_model_name(name)?;
        v::validate_key("tag", key)?;
        self.backend.delete_registered_model_tag(name, key)
    }

    // -------------------------------------------------------------- logged models

    /// Creates a LoggedModel (PENDING) in an experiment, with params and tags validated by
    /// MLflow's rules first.
    pub fn create_logged_model(&self, new: &NewLoggedModel) -> Result<LoggedModel, TrackingError> {
        validate_logged_model_name(&new.name)?;
        if let Some(run) = &new.source_run_id {
            v::validate_run_id(run)?;
        }
        validate_params(&new.params)?;
        validate_tags(new.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        self.backend.create_logged_model(new)
    }

    /// A LoggedModel by id (`m-…`).
    pub fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel, TrackingError> {
        validate_model_id(model_id)?;
        self.backend.get_logged_model(model_id)
    }

    /// The LoggedModel named `name` that run `run_id` logged, if any: what `runs:/<run>/<name>`
    /// names in MLflow 3.
    pub fn find_logged_model(
        &self,
        run_id: &str,
        name: &str,
    ) -> Result<Option<LoggedModel>, TrackingError> {
        v::validate_run_id(run_id)?;
        let run = self.get_run(run_id)?;
        self.backend
            .find_logged_model(&run.info.experiment_id, run_id, name)
    }

    /// Records metric values of a run on a LoggedModel.
    pub fn log_model_metrics(
        &self,
        model: &LoggedModel,
        run_id: &str,
        metrics: &[Metric],
    ) -> Result<(), TrackingError> {
        v::validate_run_id(run_id)?;
        validate_metrics(metrics)?;
        self.backend.log_model_metrics(model, run_id, metrics)
    }

    /// Sets a LoggedModel's final status.
    pub fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel, TrackingError> {
        validate_model_id(model_id)?;
        self.backend.finalize_logged_model(model_id, status)
    }

    /// Sets LoggedModel tags.
    pub fn set_logged_model_tags(
        &self,
        model_id: &str,
        tags: &[(String, String)],
    ) -> Result<(), TrackingError> {
        validate_model_id(model_id)?;
        validate_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        self.backend.set_logged_model_tags(model_id, tags)
    }

    /// Records that a run produced a LoggedModel (MLflow's run outputs).
    pub fn link_model_to_run(&self, run_id: &str, model_id: &str) -> Result<(), TrackingError> {
        v::validate_run_id(run_id)?;
        validate_model_id(model_id)?;
        self.backend.link_model_to_run(run_id, model_id)
    }

    /// Writes a file of a LoggedModel's artifacts; paths leaving the artifact directory are
    /// refused before anything is written.
    pub fn log_model_artifact(
        &self,
        model: &LoggedModel,
        rel_path: &str,
        bytes: &[u8],
    ) -> Result<(), TrackingError> {
        artifact_segments(rel_path)?;
        self.backend.log_model_artifact(model, rel_path, bytes)
    }

    /// Reads a file of a LoggedModel's artifacts.
    pub fn read_model_artifact(
        &self,
        model: &LoggedModel,
        rel_path: &str,
    ) -> Result<Vec<u8>, TrackingError> {
        artifact_segments(rel_path)?;
        self.backend.read_model_artifact(model, rel_path)
    }

    /// Creates the next version of a registered model. A `models:/<model_id>` source is
    /// resolved to the LoggedModel's artifact location (and its run), as MLflow does.
    pub fn create_model_version(
        &self,
        new: &NewModelVersion,
    ) -> Result<ModelVersion, TrackingError> {
        if let Some(id) = super::registry::model_id_of_source(&new.source)
            && new.storage_location.is_none()
        {
            let model = self.get_logged_model(id)?;
            let mut resolved = new.clone();
            resolved.storage_location = Some(model.artifact_location);
            if resolved.run_id.is_none() {
                resolved.run_id = model.source_run_id;
            }
            return self.create_model_version(&resolved);
        }
        validate_model_name(&new.name)?;
        if let Some(run) = &new.run_id {
            v::validate_run_id(run)?;
        }
        if new.source.is_empty() {
            return Err(TrackingError::InvalidArgument {
                what: "model version source",
                value: String::new(),
                reason: "must name where the model's files are (`runs:/<run id>/model`, a path)"
                    .into(),
            });
        }
        validate_tags(new.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        self.backend.create_model_version(new)
    }

    /// One model version.
    pub fn get_model_version(
        &self,
        name: &str,
        version: u64,
    ) -> Result<ModelVersion, TrackingError> {
        validate_model_name(name)?;
        self.backend.get_model_version(name, version)
    }

    /// Model versions matching a query, newest first.
    pub fn search_model_versions(
        &self,
        query: &ModelVersionQuery,
    ) -> Result<Vec<ModelVersion>, TrackingError> {
        if let Some(name) = &query.name {
            validate_model_name(name)?;
        }
        if let Some(run) = &query.run_id {
            v::validate_run_id(run)?;
        }
        self.backend.search_model_versions(query)
    }

    /// The newest version in each of these stages (all stages when empty), like MLflow's
    /// `get_latest_versions`.
    pub fn get_latest_versions(
        &self,
        name: &str,
        stages: &[Stage],
    ) -> Result<Vec<ModelVersion>, TrackingError> {
        let model = self.get_registered_model(name)?;
        Ok(model
            .latest_versions
            .into_iter()
            .filter(|v| stages.is_empty() || stages.contains(&v.current_stage))
            .collect())
    }

    /// Changes a version's description.
    pub fn update_model_version(
        &self,
        name: &str,
        version: u64,
        description: &str,
    ) -> Result<(), TrackingError> {
        validate_model_name(name)?;
        self.backend
            .update_model_version(name, version, description)
    }

    /// Moves a version to a stage; with `archive_existing`, the other versions in that stage
    /// (Staging or Production) move to Archived.
    pub fn transition_model_version_stage(
        &self,
        name: &str,
        version: u64,
        stage: Stage,
        archive_existing: bool,
    ) -> Result<ModelVersion, TrackingError> {
        validate_model_name(name)?;
        self.backend
            .transition_model_version_stage(name, version, stage, archive_existing)
    }

    /// Deletes a model version.
    pub fn delete_model_version(&self, name: &str, version: u64) -> Result<(), TrackingError> {
        validate_model_name(name)?;
        self.backend.delete_model_version(name, version)
    }

    /// Sets a model version tag.
    pub fn set_model_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        validate_model_name(name)?;
        validate_tags([(key, value)])?;
        self.backend
            .set_model_version_tag(name, version, key, value)
    }

    /// Removes a model version tag.
    pub fn delete_model_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
    ) -> Result<(), TrackingError> {
        validate_model_name(name)?;
        v::validate_key("tag", key)?;
        self.backend.delete_model_version_tag(name, version, key)
    }

    /// Points an alias at a version.
    pub fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: u64,
    ) -> Result<(), TrackingError> {
        validate_model_name(name)?;
        validate_alias(alias)?;
        self.backend
            .set_registered_model_alias(name, alias, version)
    }

    /// Removes an alias.
    pub fn delete_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<(), TrackingError> {
        validate_model_name(name)?;
        validate_alias(alias)?;
        self.backend.delete_registered_model_alias(name, alias)
    }

    /// The version an alias points at.
    pub fn get_model_version_by_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<ModelVersion, TrackingError> {
        validate_model_name(name)?;
        validate_alias(alias)?;
        self.backend.get_model_version_by_alias(name, alias)
    }
}

/// `value` with connection secrets masked ([`crate::conn::mask`]): params and tags are what
/// MLflow's UI shows to anyone who can read the store.
fn masked(value: &str) -> String {
    crate::conn::mask::redact(value).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_follow_mlflow_rules() {
        assert!(validate_alias("champion").is_ok());
        assert!(validate_alias("blue-green_2").is_ok());
        for bad in ["", "latest", "v3", "V12", "a b", "x/y"] {
            assert!(validate_alias(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
