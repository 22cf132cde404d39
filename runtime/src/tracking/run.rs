//! [`Run`]: the handle a program logs through, like `mlflow.start_run()`.

use std::collections::HashMap;
use std::fmt::Display;
use std::path::Path;

use super::TrackingStore;
use super::entities::{Dataset, DatasetInput, Metric, RunInfo, RunOptions, RunRecord, RunStatus};
use super::validation::artifact_segments;
use super::{TAG_SOURCE_NAME, TAG_SOURCE_TYPE, TAG_USER, TrackingError, now_ms};

/// A run being recorded: owns a store handle and the run id.
///
/// Ending is explicit with [`Run::end`]; a run dropped without it ends FINISHED, or FAILED
/// while the thread unwinds from a panic.
///
/// ```
/// use oxflow_runtime::tracking::{FileStore, Run, RunOptions, RunStatus, TrackingStore};
///
/// # let dir = tempfile::tempdir()?;
/// let store = TrackingStore::from(FileStore::open(dir.path())?);
/// let mut run = Run::start(&store, "iris", RunOptions::default())?;
/// run.log_param("n_trees", 100)?;
/// for loss in [0.9, 0.5, 0.3] {
///     run.log_metric("loss", loss)?; // steps 0, 1, 2
/// }
/// run.log_text("notes/summary.txt", "converged")?;
/// let id = run.id().to_string();
/// run.end(RunStatus::Finished)?;
///
/// let rec = store.get_run(&id)?;
/// assert_eq!(rec.info.status, RunStatus::Finished);
/// assert_eq!(rec.metrics["loss"].step, 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Run {
    store: TrackingStore,
    info: RunInfo,
    steps: HashMap<String, i64>,
    /// Metrics mirrored to Prometheus ([`Run::mirror_metric`]), by key.
    mirrors: HashMap<String, metrics::Gauge>,
    ended: bool,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("run_id", &self.info.run_id)
            .finish()
    }
}

impl Run {
    /// Starts a run in the experiment named `experiment` (created if missing), with the tags
    /// MLflow's fluent API sets (`mlflow.user`, `mlflow.source.name`, `mlflow.source.type`).
    ///
    /// `store` is a `&FileStore`, a `&RestStore` or a `&TrackingStore`.
    pub fn start(
        store: impl Into<TrackingStore>,
        experiment: &str,
        mut opts: RunOptions,
    ) -> Result<Run, TrackingError> {
        let store: TrackingStore = store.into();
        let exp = store.get_or_create_experiment(experiment)?;
        let defaults = [
            (TAG_USER, super::user::current_user()),
            (TAG_SOURCE_NAME, source_name()),
            (TAG_SOURCE_TYPE, "LOCAL".to_string()),
        ];
        for (k, v) in defaults {
            if !opts.tags.iter().any(|(t, _)| t == k) {
                opts.tags.insert(0, (k.to_string(), v));
            }
        }
        let info = store.create_run(&exp.experiment_id, opts)?;
        Ok(Run {
            store,
            info,
            steps: HashMap::new(),
            mirrors: HashMap::new(),
            ended: false,
        })
    }

    /// Starts a child run of this run, in the same experiment (tag `mlflow.parentRunId`).
    pub fn start_child(&self, mut opts: RunOptions) -> Result<Run, TrackingError> {
        opts.parent_run_id = Some(self.info.run_id.clone());
        let info = self.store.create_run(&self.info.experiment_id, opts)?;
        Ok(Run {
            store: self.store.clone(),
            info,
            steps: HashMap::new(),
            mirrors: HashMap::new(),
            ended: false,
        })
    }

    /// A handle on an existing run that leaves its lifecycle to its owner: dropping it does not
    /// end the run. The executor hands one to each task attempt that takes `&mut Run`, since the
    /// task's run outlives the attempt (retries continue it).
    ///
    /// ```
    /// use oxflow_runtime::tracking::{FileStore, Run, RunOptions, RunStatus, TrackingStore};
    /// # let dir = tempfile::tempdir()?;
    /// let store = TrackingStore::from(FileStore::open(dir.path())?);
    /// let owner = Run::start(&store, "e", RunOptions::default())?;
    /// drop(Run::attach(&store, owner.id())?);
    /// assert_eq!(store.get_run(owner.id())?.info.status, RunStatus::Running);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn attach(store: impl Into<TrackingStore>, run_id: &str) -> Result<Run, TrackingError> {
        let store = store.into();
        let info = store.get_run(run_id)?.info;
        Ok(Run {
            store,
            info,
            steps: HashMap::new(),
            mirrors: HashMap::new(),
            ended: true,
        })
    }

    /// Resumes an existing run, as `mlflow.start_run(run_id=...)` does: marks it RUNNING and
    /// returns a handle that ends it like a started one. A project runner creates the run with
    /// the project's source tags and names it in `MLFLOW_RUN_ID` ([`Run::run_id_from_env`]).
    ///
    /// ```
    /// use oxflow_runtime::tracking::{Run, RunOptions, RunStatus, TrackingStore};
    /// let store = TrackingStore::in_memory()?;
    /// let created = Run::start(&store, "e", RunOptions::default())?;
    /// let id = created.id().to_string();
    /// created.end(RunStatus::Failed)?;
    /// let run = Run::resume(&store, &id)?;
    /// assert_eq!(store.get_run(&id)?.info.status, RunStatus::Running);
    /// run.end(RunStatus::Finished)?;
    /// assert_eq!(store.get_run(&id)?.info.status, RunStatus::Finished);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resume(store: impl Into<TrackingStore>, run_id: &str) -> Result<Run, TrackingError> {
        let store = store.into();
        let info = store.get_run(run_id)?.info;
        if info.status != RunStatus::Running {
            store.update_run(run_id, Some(RunStatus::Running), None)?;
        }
        Ok(Run {
            store,
            info,
            steps: HashMap::new(),
            mirrors: HashMap::new(),
            ended: false,
        })
    }

    /// The run a project runner created for this process: `MLFLOW_RUN_ID`, as MLflow's
    /// `mlflow run` and oxflow's `project run` set it (`None` when unset or empty).
    pub fn run_id_from_env() -> Option<String> {
        std::env::var("MLFLOW_RUN_ID")
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    /// The run id (32 hex digits).
    pub fn id(&self) -> &str {
        &self.info.run_id
    }

    /// The run's metadata as of its start.
    pub fn info(&self) -> &RunInfo {
        &self.info
    }

    /// The store the run records into.
    pub fn store(&self) -> &TrackingStore {
        &self.store
    }

    /// The run as currently recorded (flushes buffered metrics first).
    pub fn record(&self) -> Result<RunRecord, TrackingError> {
        self.store.get_run(&self.info.run_id)
    }

    /// Logs a param; any `Display` value is recorded as its text.
    pub fn log_param(&mut self, key: &str, value: impl Display) -> Result<(), TrackingError> {
        self.store
            .log_param(&self.info.run_id, key, &value.to_string())
    }

    /// Logs several params, all validated before any is written.
    pub fn log_params<K: AsRef<str>, V: AsRef<str>>(
        &mut self,
        params: &[(K, V)],
    ) -> Result<(), TrackingError> {
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string()))
            .collect();
        self.store.log_batch(&self.info.run_id, &[], &params, &[])
    }

    /// Records a dataset as an input of the run, with what it was used for (`Some("training")`,
    /// `Some("evaluation")`, ...), as `mlflow.log_input(dataset, context=...)` does. MLflow's
    /// UI lists it under the run's datasets, and searches can filter on it:
    /// `dataset.name = 'reference' AND dataset.context = 'drift'`.
    ///
    /// ```
    /// use oxflow_runtime::tracking::{Dataset, Run, RunOptions, TrackingStore};
    /// let store = TrackingStore::in_memory()?;
    /// let mut run = Run::start(&store, "drift", RunOptions::default())?;
    /// let reference = Dataset::new("reference", "9c1e3f2a", "local", r#"{"uri": "ref.csv"}"#)
    ///     .with_profile(r#"{"num_rows": 1000}"#);
    /// run.log_input(&reference, Some("reference"))?;
    /// let rec = run.record()?;
    /// assert_eq!(rec.inputs[0].dataset.name, "reference");
    /// assert_eq!(rec.inputs[0].context(), Some("reference"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn log_input(
        &mut self,
        dataset: &Dataset,
        context: Option<&str>,
    ) -> Result<(), TrackingError> {
        self.store.log_inputs(
            &self.info.run_id,
            &[DatasetInput::new(dataset.clone(), context)],
        )
    }

    /// Records several dataset inputs at once (MLflow's `log_inputs`).
    ///
    /// ```
    /// use oxflow_runtime::tracking::{Dataset, DatasetInput, Run, RunOptions, TrackingStore};
    /// let store = TrackingStore::in_memory()?;
    /// let mut run = Run::start(&store, "drift", RunOptions::default())?;
    /// run.log_inputs(&[
    ///     DatasetInput::new(Dataset::new("reference", "9c1e", "local", "{}"), Some("reference")),
    ///     DatasetInput::new(Dataset::new("current", "77ab", "local", "{}"), Some("current")),
    /// ])?;
    /// assert_eq!(run.record()?.inputs.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn log_inputs(&mut self, inputs: &[DatasetInput]) -> Result<(), TrackingError> {
        self.store.log_inputs(&self.info.run_id, inputs)
    }

    /// Logs a metric value at the next step of this key (0, 1, 2, ...), timestamped now.
    pub fn log_metric(&mut self, key: &str, value: f64) -> Result<(), TrackingError> {
        let step = self.steps.get(key).copied().unwrap_or(0);
        self.log_metric_at(key, value, step)
    }

    /// Logs a metric value at an explicit step; later [`Run::log_metric`] calls continue after it.
    pub fn log_metric_at(&mut self, key: &str, value: f64, step: i64) -> Result<(), TrackingError> {
        self.store
            .log_metric(&self.info.run_id, key, value, now_ms(), step)?;
        if let Some(gauge) = self.mirrors.get(key) {
            gauge.set(value);
        }
        let next = self.steps.entry(key.to_string()).or_insert(0);
        *next = (*next).max(step.saturating_add(1));
        Ok(())
    }

    /// Logs many metric values at once (explicit keys, values, timestamps and steps).
    pub fn log_metrics(&mut self, metrics: &[Metric]) -> Result<(), TrackingError> {
        self.store.log_batch(&self.info.run_id, metrics, &[], &[])?;
        for m in metrics {
            if let Some(gauge) = self.mirrors.get(&m.key) {
                gauge.set(m.value);
            }
        }
        Ok(())
    }

    /// Mirrors the metric `key` to Prometheus from now on: every value logged for it also
    /// sets the gauge `oxflow_model_metric{model="<model>", metric="<key>"}` (a training
    /// task's final accuracy, say), which `--metrics-addr` serves and `--pushgateway` pushes
    /// when the DAG run ends. A value the run already has is mirrored at once. Labels stay
    /// bounded: one series per model and metric, whatever the number of runs.
    ///
    /// ```no_run
    /// # fn demo(run: &mut oxflow_runtime::tracking::Run) -> Result<(), oxflow_runtime::tracking::TrackingError> {
    /// run.mirror_metric("accuracy", "house-prices")?;
    /// run.log_metric("accuracy", 0.93)?; // also oxflow_model_metric{model="house-prices",metric="accuracy"} 0.93
    /// # Ok(()) }
    /// ```
    pub fn mirror_metric(&mut self, key: &str, model: &str) -> Result<(), TrackingError> {
        super::validation::validate_key("metric", key)?;
        let gauge = metrics::gauge!(
            crate::telemetry::MODEL_METRIC,
            crate::telemetry::LABEL_MODEL => model.to_owned(),
            "metric" => key.to_owned()
        );
        if let Some(latest) = self.record()?.metrics.get(key) {
            gauge.set(latest.value);
        }
        self.mirrors.insert(key.to_owned(), gauge);
        Ok(())
    }

    /// Sets a tag.
    pub fn set_tag(&mut self, key: &str, value: &str) -> Result<(), TrackingError> {
        self.store.set_tag(&self.info.run_id, key, value)
    }

    /// Sets the description shown by the MLflow UI (tag `mlflow.note.content`).
    pub fn set_description(&mut self, text: &str) -> Result<(), TrackingError> {
        self.store.set_tag(&self.info.run_id, super::TAG_NOTE, text)
    }

    /// Writes `text` as an artifact file.
    pub fn log_text(&mut self, rel_path: &str, text: &str) -> Result<(), TrackingError> {
        self.store
            .log_artifact_bytes(&self.info.run_id, rel_path, text.as_bytes())
    }

    /// Writes a value as a JSON artifact, pretty-printed with two-space indents as MLflow's
    /// `log_dict` does.
    pub fn log_json<T: serde::Serialize + ?Sized>(
        &mut self,
        rel_path: &str,
        value: &T,
    ) -> Result<(), TrackingError> {
        let text = serde_json::to_vec_pretty(value).map_err(|source| TrackingError::Json {
            path: rel_path.to_string(),
            source,
        })?;
        self.store
            .log_artifact_bytes(&self.info.run_id, rel_path, &text)
    }

    /// Writes raw bytes as an artifact file.
    pub fn log_bytes(&mut self, rel_path: &str, bytes: &[u8]) -> Result<(), TrackingError> {
        self.store
            .log_artifact_bytes(&self.info.run_id, rel_path, bytes)
    }

    /// Copies a local file into the artifacts, under `artifact_dir` (`None` for the root),
    /// keeping its file name, as `mlflow.log_artifact` does.
    pub fn log_artifact_file(
        &mut self,
        local: impl AsRef<Path>,
        artifact_dir: Option<&str>,
    ) -> Result<(), TrackingError> {
        let local = local.as_ref();
        let name = local
            .file_name()
            .ok_or_else(|| TrackingError::InvalidArtifactPath {
                path: local.display().to_string(),
                reason: "the local path has no file name".into(),
            })?;
        let rel = join_rel(artifact_dir, &name.to_string_lossy());
        self.store.log_artifact_file(&self.info.run_id, local, &rel)
    }

    /// Copies a local directory's files, recursively, into the artifacts under `artifact_dir`
    /// (`None` for the root), as `mlflow.log_artifacts` does.
    pub fn log_artifact_dir(
        &mut self,
        local_dir: impl AsRef<Path>,
        artifact_dir: Option<&str>,
    ) -> Result<(), TrackingError> {
        let local_dir = local_dir.as_ref();
        if let Some(d) = artifact_dir {
            artifact_segments(d)?;
        }
        let mut stack = vec![(local_dir.to_path_buf(), artifact_dir.map(str::to_string))];
        while let Some((dir, rel)) = stack.pop() {
            let rd = std::fs::read_dir(&dir).map_err(|e| TrackingError::io("list", &dir, e))?;
            for entry in rd {
                let entry = entry.map_err(|e| TrackingError::io("list", &dir, e))?;
                let name = entry.file_name().to_string_lossy().into_owned();
                let child = join_rel(rel.as_deref(), &name);
                let ft = entry
                    .file_type()
                    .map_err(|e| TrackingError::io("stat", entry.path(), e))?;
                if ft.is_dir() {
                    stack.push((entry.path(), Some(child)));
                } else {
                    self.store
                        .log_artifact_file(&self.info.run_id, &entry.path(), &child)?;
                }
            }
        }
        Ok(())
    }

    /// Draws the history of metric `key` as an SVG line chart (step on the x axis) and logs it
    /// as the artifact `plots/<key>.svg`, which the MLflow UI displays; returns its path.
    pub fn log_metric_plot(&mut self, key: &str) -> Result<String, TrackingError> {
        let history = self.store.get_metric_history(&self.info.run_id, key)?;
        let rel = format!("plots/{key}.svg");
        let svg = super::plot::metric_svg(key, &history);
        self.store
            .log_artifact_bytes(&self.info.run_id, &rel, svg.as_bytes())?;
        Ok(rel)
    }

    /// Appends buffered metric values to their files now.
    pub fn flush(&self) -> Result<(), TrackingError> {
        self.store.flush()
    }

    /// Ends the run with `status`, timestamped now.
    pub fn end(mut self, status: RunStatus) -> Result<(), TrackingError> {
        self.ended = true;
        self.store
            .set_terminated(&self.info.run_id, status, now_ms())
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let status = if std::thread::panicking() {
            RunStatus::Failed
        } else {
            RunStatus::Finished
        };
        if let Err(e) = self
            .store
            .set_terminated(&self.info.run_id, status, now_ms())
        {
            tracing::warn!(run_id = %self.info.run_id, error = %e, "could not end run on drop");
        }
    }
}

fn join_rel(dir: Option<&str>, name: &str) -> String {
    match dir.map(|d| d.trim_end_matches('/')) {
        Some(d) if !d.is_empty() => format!("{d}/{name}"),
        _ => name.to_string(),
    }
}

fn source_name() -> String {
    std::env::args()
        .next()
        .and_then(|a| {
            Path::new(&a)
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
        })
        .unwrap_or_default()
}
