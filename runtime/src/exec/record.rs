//! Recording a DAG run in the tracking store (DESIGN.md §3) and task logs in Airflow's
//! layout; reading a run back for resume is [`super::resume`].
//!
//! A DAG run is a run in the experiment named after the DAG, tagged `oxflow.dag`,
//! `oxflow.dag_run_id` and `oxflow.state`, with the params logged; each task instance is a nested
//! run (`mlflow.parentRunId`) named after the task and tagged `oxflow.task_id`, `oxflow.state`,
//! `oxflow.try_number` and, after a failure, `oxflow.error`.
//! Outputs are the task run's artifact `xcom/return_value.json`. Logs go to
//! `<log root>/dag_id=<dag>/run_id=<run>/task_id=<task>/attempt=<n>.log`.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::report::DagRunState;
use super::state::TaskState;
use super::tasklog::{self, AttemptLog};
use super::transition::SensorFacts;
use crate::dag::DagSpec;
use crate::schedule::{DataInterval, RunType};
use crate::task::{LogScope, OutputCodec, TaskOutput};
use crate::tracking::{
    RunOptions, RunStatus, TAG_PARENT_RUN_ID, TrackingError, TrackingStore, now_ms,
};

/// Tag naming the DAG of a DAG run and of its task runs.
pub const TAG_DAG: &str = "oxflow.dag";
/// Tag holding the DAG run id on the DAG run and its task runs.
pub const TAG_DAG_RUN_ID: &str = "oxflow.dag_run_id";
/// Tag holding a task run's task id.
pub const TAG_TASK_ID: &str = "oxflow.task_id";
/// Tag holding the index of a mapped task's instance in its list (Airflow's `map_index`).
pub const TAG_MAP_INDEX: &str = "oxflow.map_index";
/// Tag holding a task's (or the DAG run's) state.
pub use crate::tracking::TAG_STATE;
/// Tag holding a task's number of attempts so far.
pub const TAG_TRY_NUMBER: &str = "oxflow.try_number";
/// Tag holding the last error of a task.
pub const TAG_ERROR: &str = "oxflow.error";
/// Tag holding the Rust type of a task's stored output, so a resume notices a changed type.
pub const TAG_OUTPUT_TYPE: &str = "oxflow.output_type";
/// Tag holding the id of the process executing a DAG run.
pub const TAG_PID: &str = "oxflow.pid";
/// Tag holding the host of the process executing a DAG run.
pub const TAG_HOST: &str = "oxflow.host";
/// Tag on a sensor's task run: when its first poke started (RFC 3339, UTC, in ms). Its timeout
/// counts from then, also in a resumed run.
pub const TAG_SENSOR_FIRST_POKE: &str = "oxflow.sensor.first_poke";
/// Tag on a sensor's task run: how many pokes found its condition not met.
pub const TAG_SENSOR_POKES: &str = "oxflow.sensor.pokes";
/// Tag on a sensor's task run while it waits: when its next poke is due (RFC 3339, UTC, in
/// ms). Removed once the sensor ends.
pub const TAG_SENSOR_NEXT_POKE: &str = "oxflow.sensor.next_poke";
/// Artifact path of a task's stored output: JSON as Python's `json` module reads and writes it
/// (`NaN` and `Infinity` included, see [`crate::exec::xcom`]).
pub const XCOM_ARTIFACT: &str = "xcom/return_value.json";

/// This machine's name, as recorded on the DAG runs it executes ([`TAG_HOST`]).
pub(crate) fn host_name() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// MLflow's limit on tag values.
const MAX_TAG_VALUE: usize = 8000;

/// Recording or reading back a DAG run failed.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The tracking store refused a write or a read.
    #[error(transparent)]
    Tracking(#[from] TrackingError),
    /// A log file or directory could not be written or read.
    #[error("cannot use task log `{path}`: {source}")]
    Log {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A stored record cannot be read back; nothing was overwritten.
    #[error("corrupt record `{file}`: {reason}; nothing was overwritten")]
    Corrupt {
        /// The file.
        file: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A task has no attempt logs in a DAG run.
    #[error("no logs for task `{task}` in run `{run_id}` (under {}); tasks of this run: {}", dir.display(), if tasks.is_empty() { "none".to_owned() } else { tasks.join(", ") })]
    NoLogs {
        /// The DAG run.
        run_id: String,
        /// The task asked for.
        task: String,
        /// The run's log directory.
        dir: PathBuf,
        /// The tasks recorded in the run.
        tasks: Vec<String>,
    },
    /// Recording one task failed.
    #[error("recording task `{task}`: {source}")]
    Task {
        /// The task.
        task: String,
        /// What failed.
        source: Box<RecordError>,
    },
    /// The run to resume is not a DAG run of this DAG.
    #[error("run `{run_id}` is not a run of DAG `{dag}`{}", found.as_ref().map(|f| format!(" (it belongs to `{f}`)")).unwrap_or_default())]
    NotThisDag {
        /// The run id given.
        run_id: String,
        /// The DAG being run.
        dag: String,
        /// The DAG the run belongs to, if any.
        found: Option<String>,
    },
}

/// Where task logs go unless configured otherwise: `logs/` beside a file store, `./logs` when
/// runs go to an MLflow server.
pub fn default_log_root(store: &TrackingStore) -> PathBuf {
    store.default_log_root()
}

/// `logs/` beside the store's root: where task logs go unless configured otherwise.
pub fn log_dir_for(store_root: &Path) -> PathBuf {
    let abs = std::path::absolute(store_root).unwrap_or_else(|_| store_root.to_path_buf());
    abs.parent()
        .map_or_else(|| PathBuf::from("logs"), |p| p.join("logs"))
}

/// Airflow's layout; an instance of a mapped task logs under `map_index=<k>/`, as in Airflow.
fn attempt_log_path(
    root: &Path,
    dag: &str,
    run: &str,
    task: &str,
    map_index: Option<usize>,
    attempt: u32,
) -> PathBuf {
    let dir = root
        .join(format!("dag_id={dag}"))
        .join(format!("run_id={run}"))
        .join(format!("task_id={task}"));
    let dir = match map_index {
        Some(k) => dir.join(format!("map_index={k}")),
        None => dir,
    };
    dir.join(format!("attempt={attempt}.log"))
}

fn clip(s: &str) -> &str {
    if s.len() <= MAX_TAG_VALUE {
        return s;
    }
    let mut end = MAX_TAG_VALUE;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn status_for(state: TaskState) -> RunStatus {
    match state {
        TaskState::Success | TaskState::Skipped => RunStatus::Finished,
        TaskState::Failed | TaskState::UpstreamFailed => RunStatus::Failed,
        _ => RunStatus::Running,
    }
}

/// The tags of a DAG run in `state`: its DAG, description, what started it and its data
/// interval.
fn dag_run_tags(
    spec: &DagSpec,
    state: &str,
    run_type: RunType,
    interval: Option<&DataInterval>,
) -> Vec<(String, String)> {
    let dag = spec.def;
    let mut tags = vec![
        (TAG_DAG.to_owned(), dag.id.to_owned()),
        (TAG_STATE.to_owned(), state.to_owned()),
    ];
    if !dag.tags.is_empty() {
        tags.push(("oxflow.dag_tags".to_owned(), dag.tags.join(",")));
    }
    if !dag.description.is_empty() {
        tags.push((
            "mlflow.note.content".to_owned(),
            clip(dag.description).to_owned(),
        ));
    }
    tags.extend(crate::schedule::run_tags(run_type, interval));
    tags
}

/// How a DAG run the scheduler records for an interval begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Begin {
    /// `queued`: it waits for a slot, and starts when [`RunConfig::queued_run`](super::RunConfig::queued_run) names it.
    Queued,
    /// `running` in this process already (with its params logged), so starting it writes
    /// nothing more: the scheduler's claim and the run's start are one transaction.
    Running,
    /// `skipped`: ended at once, it never runs.
    Skipped,
}

/// Records a DAG run of `interval` that the scheduler has just taken ([`Begin`]). Returns its
/// run id.
pub(crate) fn queued_run(
    store: &TrackingStore,
    experiment_id: &str,
    spec: &DagSpec,
    run_type: RunType,
    interval: &DataInterval,
    begin: Begin,
) -> Result<String, TrackingError> {
    let state = match begin {
        Begin::Queued => "queued",
        Begin::Running => "running",
        Begin::Skipped => "skipped",
    };
    let mut tags = dag_run_tags(spec, state, run_type, Some(interval));
    let now_text = crate::schedule::format_time(chrono::Utc::now());
    tags.push((crate::schedule::TAG_QUEUED_AT.to_owned(), now_text.clone()));
    if begin == Begin::Running {
        tags.push((crate::schedule::TAG_STARTED_AT.to_owned(), now_text));
    }
    // The scheduler that will start it: a scheduler started after this one ended takes over
    // the runs it left queued.
    tags.push((TAG_PID.to_owned(), std::process::id().to_string()));
    tags.push((TAG_HOST.to_owned(), host_name()));
    let now = now_ms();
    let run = store.create_run(
        experiment_id,
        RunOptions {
            run_name: Some(crate::schedule::run_name(run_type, interval)),
            tags,
            start_time_ms: Some(now),
            end: (begin == Begin::Skipped).then_some((RunStatus::Finished, now)),
            ..Default::default()
        },
    )?;
    if begin == Begin::Queued {
        // MLflow has no "queued" status: SCHEDULED is what its UI shows for a run not started.
        store.update_run(&run.run_id, Some(RunStatus::Scheduled), None)?;
    }
    store.set_tag(&run.run_id, TAG_DAG_RUN_ID, &run.run_id)?;
    if begin == Begin::Running {
        // A scheduled run gets its DAG's default params, as `run` without `-P` does.
        if let Ok((_, pairs)) = super::resolve_params(spec.def, &[]) {
            for (k, v) in pairs {
                store.log_param(&run.run_id, &k, &v)?;
            }
        }
    }
    Ok(run.run_id)
}

/// How long an attempt runs before its task run is written as RUNNING, if it has not ended by
/// then.
pub(crate) const VISIBLE_AFTER: std::time::Duration = std::time::Duration::from_secs(1);

/// The MLflow run of one task instance, written when first needed. Shared by the executor and
/// the attempt (a task taking `&mut Run` creates it on first use); the lock makes sure only one
/// of them creates it.
#[derive(Clone)]
pub(crate) struct TaskRun {
    store: TrackingStore,
    experiment_id: Arc<str>,
    dag_run_id: Arc<str>,
    task: Arc<str>,
    /// The instance of a mapped task this records.
    map_index: Option<usize>,
    run_id: Arc<Mutex<Option<String>>>,
}

impl TaskRun {
    /// The record of instance `map_index` of this (mapped) task, with the id of its run if an
    /// earlier run wrote one.
    pub(crate) fn instance(&self, map_index: usize, run_id: Option<String>) -> TaskRun {
        TaskRun {
            store: self.store.clone(),
            experiment_id: self.experiment_id.clone(),
            dag_run_id: self.dag_run_id.clone(),
            task: self.task.clone(),
            map_index: Some(map_index),
            run_id: Arc::new(Mutex::new(run_id)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<String>> {
        self.run_id
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The run's id, if it has been written.
    pub(crate) fn id(&self) -> Option<String> {
        self.lock().clone()
    }

    /// The store the run is in.
    pub(crate) fn store(&self) -> &TrackingStore {
        &self.store
    }

    fn create(
        &self,
        state: TaskState,
        try_number: u32,
        error: Option<&str>,
        end: Option<(RunStatus, i64)>,
        started_ms: i64,
        artifacts: Vec<(String, Vec<u8>)>,
    ) -> Result<String, TrackingError> {
        self.create_with(state, try_number, error, None, end, started_ms, artifacts)
    }

    #[allow(clippy::too_many_arguments)]
    fn create_with(
        &self,
        state: TaskState,
        try_number: u32,
        error: Option<&str>,
        output_type: Option<&str>,
        end: Option<(RunStatus, i64)>,
        started_ms: i64,
        artifacts: Vec<(String, Vec<u8>)>,
    ) -> Result<String, TrackingError> {
        // The DAG and DAG run ids are the parent's tags: every tag is one more file to create,
        // and creating files is most of the cost of recording a task.
        let mut tags = vec![
            (TAG_TASK_ID.to_owned(), self.task.to_string()),
            (TAG_STATE.to_owned(), state.as_str().to_owned()),
            (TAG_TRY_NUMBER.to_owned(), try_number.to_string()),
        ];
        if let Some(e) = error {
            tags.push((TAG_ERROR.to_owned(), clip(e).to_owned()));
        }
        if let Some(t) = output_type {
            tags.push((TAG_OUTPUT_TYPE.to_owned(), t.to_owned()));
        }
        let run_name = match self.map_index {
            Some(k) => {
                tags.push((TAG_MAP_INDEX.to_owned(), k.to_string()));
                format!("{}[{k}]", self.task)
            }
            None => self.task.to_string(),
        };
        let run = self.store.create_run(
            &self.experiment_id,
            RunOptions {
                run_name: Some(run_name),
                tags,
                parent_run_id: Some(self.dag_run_id.to_string()),
                start_time_ms: Some(started_ms),
                end,
                artifacts,
            },
        )?;
        Ok(run.run_id)
    }

    /// The run's id, writing the run as RUNNING for attempt `try_number` if it does not exist.
    pub(crate) fn ensure_running(
        &self,
        try_number: u32,
        started_ms: i64,
    ) -> Result<String, TrackingError> {
        if let Some(existing) = self.id() {
            return Ok(existing);
        }
        // The store first, then this run's lock: the order the recorder takes them in (it
        // holds a store batch, which on a SQL store is the connection, while it records), so
        // the two never wait for each other.
        self.store.batch(|| {
            let mut id = self.lock();
            if let Some(existing) = &*id {
                return Ok(existing.clone());
            }
            let created = self.create(
                TaskState::Running,
                try_number,
                None,
                None,
                started_ms,
                Vec::new(),
            )?;
            *id = Some(created.clone());
            Ok(created)
        })
    }
}

/// Where the attempts of one DAG run log: the run's subscriber and the log tree.
pub(crate) struct AttemptLogs {
    dispatch: tracing::Dispatch,
    root: PathBuf,
    dag_id: String,
    dag_run_id: String,
}

impl AttemptLogs {
    /// The log of attempt `try_number` of `task`: no I/O, the file is created with its first
    /// line.
    pub(crate) fn open(
        &self,
        task: &str,
        map_index: Option<usize>,
        try_number: u32,
    ) -> (PathBuf, AttemptLog) {
        let log_path = attempt_log_path(
            &self.root,
            &self.dag_id,
            &self.dag_run_id,
            task,
            map_index,
            try_number,
        );
        let instance = map_index.map_or_else(String::new, |k| format!(" [{k}]"));
        let header = tasklog::line(
            &tracing::Level::INFO,
            "oxflow",
            &format!(
                "starting attempt {try_number} of task `{task}`{instance} (dag `{}`, run `{}`)",
                self.dag_id, self.dag_run_id
            ),
        );
        let file = Arc::new(tasklog::LazyFile::new(log_path.clone(), header));
        let log = AttemptLog {
            scope: LogScope {
                span: tasklog::attempt_span(&self.dispatch, file.clone()),
                dispatch: self.dispatch.clone(),
            },
            file,
        };
        (log_path, log)
    }
}

/// A task's encoded output, to store as its run's [`XCOM_ARTIFACT`] once the run's record is
/// committed.
pub(crate) struct PendingOutput {
    /// The task run.
    pub(crate) run_id: String,
    /// The output as JSON.
    pub(crate) bytes: Vec<u8>,
}

/// Writes one DAG run.
pub(crate) struct Recorder {
    store: TrackingStore,
    experiment_id: String,
    dag_run_id: String,
    logs: Arc<AttemptLogs>,
}

impl Recorder {
    fn log_root(store: &TrackingStore, log_root: Option<PathBuf>) -> Result<PathBuf, RecordError> {
        let root = log_root.unwrap_or_else(|| default_log_root(store));
        fs::create_dir_all(&root).map_err(|source| RecordError::Log {
            path: root.clone(),
            source,
        })?;
        Ok(root)
    }

    fn new(
        store: TrackingStore,
        experiment_id: String,
        dag: &str,
        dag_run_id: String,
        root: PathBuf,
    ) -> Recorder {
        Recorder {
            logs: Arc::new(AttemptLogs {
                dispatch: tasklog::run_dispatch(),
                root,
                dag_id: dag.to_owned(),
                dag_run_id: dag_run_id.clone(),
            }),
            store,
            experiment_id,
            dag_run_id,
        }
    }

    /// Starts a new DAG run: the parent run with its params and tags.
    pub(crate) fn start(
        store: TrackingStore,
        log_root: Option<PathBuf>,
        spec: &DagSpec,
        params: &[(String, String)],
        (run_type, interval): (RunType, Option<&DataInterval>),
    ) -> Result<Recorder, RecordError> {
        let log_root = Self::log_root(&store, log_root)?;
        let dag = spec.def;
        let experiment = store.get_or_create_experiment(dag.id)?;
        let mut tags = dag_run_tags(spec, "running", run_type, interval);
        tags.push((TAG_PID.to_owned(), std::process::id().to_string()));
        tags.push((TAG_HOST.to_owned(), host_name()));
        let run_name = match interval {
            Some(i) => crate::schedule::run_name(run_type, i),
            None => format!("{}__{}", dag.id, now_ms()),
        };
        let run = store.create_run(
            &experiment.experiment_id,
            RunOptions {
                run_name: Some(run_name),
                tags,
                ..Default::default()
            },
        )?;
        store.set_tag(&run.run_id, TAG_DAG_RUN_ID, &run.run_id)?;
        for (k, v) in params {
            store.log_param(&run.run_id, k, v)?;
        }
        Ok(Recorder::new(
            store,
            experiment.experiment_id,
            dag.id,
            run.run_id,
            log_root,
        ))
    }

    /// Makes an existing, fresh run (created by `project run` or `mlflow run` with the
    /// project's tags) the DAG run: adds the DAG's tags and the params it does not hold yet
    /// (a project runner logs them before starting the binary, from the same `-P` values).
    pub(crate) fn attach(
        store: TrackingStore,
        log_root: Option<PathBuf>,
        spec: &DagSpec,
        params: &[(String, String)],
        run_id: &str,
    ) -> Result<Recorder, RecordError> {
        let log_root = Self::log_root(&store, log_root)?;
        let dag = spec.def;
        let existing = store.get_run(run_id)?;
        let mut tags = vec![
            (TAG_DAG, dag.id.to_owned()),
            (TAG_DAG_RUN_ID, run_id.to_owned()),
            (TAG_STATE, "running".to_owned()),
            (TAG_PID, std::process::id().to_string()),
            (TAG_HOST, host_name()),
        ];
        if !dag.tags.is_empty() {
            tags.push(("oxflow.dag_tags", dag.tags.join(",")));
        }
        let tags: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (*k, v.as_str())).collect();
        store.set_tags(run_id, &tags)?;
        for (k, v) in params {
            if !existing.params.contains_key(k) {
                store.log_param(run_id, k, v)?;
            }
        }
        store.update_run(run_id, Some(RunStatus::Running), None)?;
        Ok(Recorder::new(
            store,
            existing.info.experiment_id,
            dag.id,
            run_id.to_owned(),
            log_root,
        ))
    }

    /// Takes an earlier DAG run (`run_id`, in experiment `experiment_id`) over: marks it running
    /// in this process.
    pub(crate) fn reopen(
        store: TrackingStore,
        log_root: Option<PathBuf>,
        spec: &DagSpec,
        run_id: &str,
        experiment_id: &str,
    ) -> Result<Recorder, RecordError> {
        let log_root = Self::log_root(&store, log_root)?;
        let id = run_id;
        let pid = std::process::id().to_string();
        let host = host_name();
        store.set_tags(
            id,
            &[(TAG_STATE, "running"), (TAG_PID, &pid), (TAG_HOST, &host)],
        )?;
        store.update_run(id, Some(RunStatus::Running), None)?;
        Ok(Recorder::new(
            store,
            experiment_id.to_owned(),
            spec.def.id,
            id.to_owned(),
            log_root,
        ))
    }

    pub(crate) fn store(&self) -> &TrackingStore {
        &self.store
    }

    /// Starts a DAG run this process's scheduler recorded `running` with its claim
    /// ([`Begin::Running`]): nothing to write or read.
    pub(crate) fn recorded(
        store: TrackingStore,
        log_root: Option<PathBuf>,
        spec: &DagSpec,
        run_id: &str,
        experiment_id: &str,
    ) -> Result<Recorder, RecordError> {
        let log_root = Self::log_root(&store, log_root)?;
        Ok(Recorder::new(
            store,
            experiment_id.to_owned(),
            spec.def.id,
            run_id.to_owned(),
            log_root,
        ))
    }

    /// Starts a DAG run the scheduler recorded `queued` ([`queued_run`]): marks it running in
    /// this process and logs its params.
    pub(crate) fn adopt(
        store: TrackingStore,
        log_root: Option<PathBuf>,
        spec: &DagSpec,
        run_id: &str,
        params: &[(String, String)],
    ) -> Result<Recorder, RecordError> {
        let log_root = Self::log_root(&store, log_root)?;
        let run = store.get_run(run_id)?;
        if run.tags.get(TAG_DAG).map(String::as_str) != Some(spec.def.id) {
            return Err(RecordError::NotThisDag {
                run_id: run_id.to_owned(),
                dag: spec.def.id.to_owned(),
                found: run.tags.get(TAG_DAG).cloned(),
            });
        }
        let pid = std::process::id().to_string();
        let host = host_name();
        let started = crate::schedule::format_time(chrono::Utc::now());
        store.batch(|| {
            store.set_tags(
                run_id,
                &[
                    (TAG_STATE, "running"),
                    (TAG_PID, &pid),
                    (TAG_HOST, &host),
                    (crate::schedule::TAG_STARTED_AT, &started),
                ],
            )?;
            for (k, v) in params {
                store.log_param(run_id, k, v)?;
            }
            Ok(())
        })?;
        Ok(Recorder::new(
            store,
            run.info.experiment_id,
            spec.def.id,
            run_id.to_owned(),
            log_root,
        ))
    }

    pub(crate) fn logs(&self) -> Arc<AttemptLogs> {
        self.logs.clone()
    }

    pub(crate) fn dag_run_id(&self) -> &str {
        &self.dag_run_id
    }

    /// The record of one task of this run, with the id of its run if it already has one.
    pub(crate) fn task_run(&self, task: &str, run_id: Option<String>) -> TaskRun {
        TaskRun {
            store: self.store.clone(),
            experiment_id: Arc::from(self.experiment_id.as_str()),
            dag_run_id: Arc::from(self.dag_run_id.as_str()),
            task: Arc::from(task),
            map_index: None,
            run_id: Arc::new(Mutex::new(run_id)),
        }
    }

    /// Records a task that will not run (skipped or upstream_failed).
    pub(crate) fn task_not_run(
        &self,
        run: &TaskRun,
        state: TaskState,
        try_number: u32,
        error: Option<&str>,
    ) -> Result<(), TrackingError> {
        let now = now_ms();
        let mut id = run.lock();
        match &*id {
            Some(existing) => {
                let mut tags = vec![(TAG_STATE, state.as_str())];
                if let Some(e) = error {
                    tags.push((TAG_ERROR, clip(e)));
                }
                self.store.set_tags(existing, &tags)?;
                self.store
                    .set_terminated(existing, status_for(state), now)?;
            }
            None => {
                let created = run.create(
                    state,
                    try_number,
                    error,
                    Some((status_for(state), now)),
                    now,
                    Vec::new(),
                )?;
                *id = Some(created);
            }
        }
        Ok(())
    }

    /// Shows a new attempt on a task run that already exists (a retry, or a task of a resumed
    /// run). A task's run is otherwise written only when the attempt ends, or when it has been
    /// running for [`VISIBLE_AFTER`], or when the task asks for its `&mut Run`: a quick task then
    /// costs one atomic write of a complete run instead of a write at start and rewrites at the
    /// end.
    pub(crate) fn attempt_started(
        &self,
        run: &TaskRun,
        try_number: u32,
        _started_ms: i64,
    ) -> Result<(), TrackingError> {
        if let Some(id) = &*run.lock() {
            let try_text = try_number.to_string();
            self.store
                .set_tags(id, &[(TAG_STATE, "running"), (TAG_TRY_NUMBER, &try_text)])?;
            self.store.update_run(id, Some(RunStatus::Running), None)?;
        }
        Ok(())
    }

    /// Records a successful attempt with the type of its output. A task run that carried the
    /// error of an earlier attempt loses it. Returns whether the run now carries an error tag
    /// (an output that could not be encoded), and the encoded output, which the caller stores
    /// once this record is committed ([`PendingOutput`]).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn attempt_succeeded(
        &self,
        log: Option<&AttemptLog>,
        run: &TaskRun,
        try_number: u32,
        started_ms: i64,
        output: Option<&TaskOutput>,
        codec: Option<OutputCodec>,
        error_tagged: bool,
    ) -> Result<(bool, Option<PendingOutput>), TrackingError> {
        let mut stored = None;
        let mut encode_error = None;
        // `()` is not stored: a file per task that returns nothing would cost more than the
        // rest of its record, for an output a resume can rebuild.
        let codec = codec.filter(|c| !c.is_unit());
        if let (Some(codec), Some(output)) = (codec, output) {
            match (codec.encode)(&**output) {
                Ok(bytes) => stored = Some((bytes, (codec.type_name)())),
                Err(e) => {
                    log_event(
                        log,
                        || tracing::warn!(target: "oxflow", "output not stored: {e}"),
                    )?;
                    encode_error = Some(format!("output not stored: {e}"));
                }
            }
        }
        // A quiet attempt keeps no log file (see `tasklog`); one that logged gets its end line.
        if log.is_some_and(|l| l.file.is_created()) {
            log_event(log, || tracing::info!(target: "oxflow", "task succeeded"))?;
        }
        let now = now_ms();
        let mut id = run.lock();
        let try_text = try_number.to_string();
        match &*id {
            Some(existing) => {
                let mut tags = vec![(TAG_STATE, "success"), (TAG_TRY_NUMBER, try_text.as_str())];
                if let Some((_, type_name)) = &stored {
                    tags.push((TAG_OUTPUT_TYPE, type_name));
                }
                match &encode_error {
                    Some(e) => tags.push((TAG_ERROR, clip(e))),
                    // The error of an earlier attempt no longer describes the task.
                    None if error_tagged => self.store.delete_tag(existing, TAG_ERROR)?,
                    None => {}
                }
                self.store.set_tags(existing, &tags)?;
                self.store
                    .set_terminated(existing, RunStatus::Finished, now)?;
            }
            None => {
                let created = run.create_with(
                    TaskState::Success,
                    try_number,
                    encode_error.as_deref(),
                    stored.as_ref().map(|(_, t)| *t),
                    Some((RunStatus::Finished, now)),
                    started_ms,
                    Vec::new(),
                )?;
                *id = Some(created);
            }
        }
        let pending = match (stored, &*id) {
            (Some((bytes, _)), Some(run_id)) => Some(PendingOutput {
                run_id: run_id.clone(),
                bytes,
            }),
            _ => None,
        };
        Ok((encode_error.is_some(), pending))
    }

    /// Records a failed attempt: its error goes to the log and the task run's tags.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn attempt_failed(
        &self,
        log: Option<&AttemptLog>,
        run: &TaskRun,
        try_number: u32,
        started_ms: i64,
        state: TaskState,
        error: &str,
        killed: bool,
    ) -> Result<(), TrackingError> {
        log_event(
            log,
            || tracing::error!(target: "oxflow", "attempt {try_number} failed: {error}"),
        )?;
        let now = now_ms();
        let end = match (state, killed) {
            (TaskState::UpForRetry, _) => None, // the task run goes on
            (_, true) => Some((RunStatus::Killed, now)),
            (state, false) => Some((status_for(state), now)),
        };
        self.attempt_state(run, state, try_number, Some(error), end, started_ms)
    }

    /// Writes where an attempt stands on its task run: the state, the try number and `error`
    /// as tags, and the run's end when `end` is given; creates the run with them if it does
    /// not exist yet.
    fn attempt_state(
        &self,
        run: &TaskRun,
        state: TaskState,
        try_number: u32,
        error: Option<&str>,
        end: Option<(RunStatus, i64)>,
        started_ms: i64,
    ) -> Result<(), TrackingError> {
        let mut id = run.lock();
        match &*id {
            Some(existing) => {
                let try_text = try_number.to_string();
                let mut tags = vec![(TAG_STATE, state.as_str()), (TAG_TRY_NUMBER, &try_text)];
                if let Some(e) = error {
                    tags.push((TAG_ERROR, clip(e)));
                }
                self.store.set_tags(existing, &tags)?;
                if let Some((status, at)) = end {
                    self.store.set_terminated(existing, status, at)?;
                }
            }
            None => {
                let created = run.create(state, try_number, error, end, started_ms, Vec::new())?;
                *id = Some(created);
            }
        }
        Ok(())
    }

    /// Ends a DAG run that could not start: failed, with why as its `oxflow.error` tag.
    pub(crate) fn fail_before_start(&self, error: &str) -> Result<(), RecordError> {
        self.store
            .set_tags(&self.dag_run_id, &[(TAG_ERROR, clip(error))])?;
        self.finish(DagRunState::Failed)
    }

    /// Ends the DAG run.
    pub(crate) fn finish(&self, state: DagRunState) -> Result<(), RecordError> {
        let status = match state {
            DagRunState::Success => RunStatus::Finished,
            DagRunState::Failed => RunStatus::Failed,
            DagRunState::Killed => RunStatus::Killed,
        };
        self.store
            .set_tags(&self.dag_run_id, &[(TAG_STATE, &state.to_string())])?;
        self.store
            .set_terminated(&self.dag_run_id, status, now_ms())?;
        Ok(())
    }
}

/// A time in ms since the epoch as a sensor tag holds it: RFC 3339 in UTC, to the millisecond.
pub(crate) fn format_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A sensor tag's time back in ms since the epoch.
pub(crate) fn parse_ms(text: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

impl Recorder {
    /// Records a sensor in `reschedule` mode waiting for its next poke: `up_for_reschedule`,
    /// the run still RUNNING (created if its first poke was quick).
    pub(crate) fn sensor_rescheduled(
        &self,
        log: Option<&AttemptLog>,
        run: &TaskRun,
        try_number: u32,
        started_ms: i64,
        next_poke_ms: Option<i64>,
    ) -> Result<(), TrackingError> {
        if let Some(next) = next_poke_ms {
            log_event(
                log,
                || tracing::info!(target: "oxflow", "not ready; next poke at {}", format_ms(next)),
            )?;
        }
        self.attempt_state(
            run,
            TaskState::UpForReschedule,
            try_number,
            None,
            None,
            started_ms,
        )
    }

    /// Records where a sensor's wait stands: its first poke, its pokes, its next poke while it
    /// waits (the tag goes once it has ended). The run must exist: `ensure` writes it as
    /// RUNNING first if not.
    pub(crate) fn sensor_facts(
        &self,
        run: &TaskRun,
        facts: &SensorFacts,
        ensure: Option<(u32, i64)>,
    ) -> Result<(), TrackingError> {
        if let Some((try_number, started_ms)) = ensure {
            run.ensure_running(try_number, started_ms)?;
        }
        let Some(id) = run.id() else {
            return Ok(());
        };
        let first = format_ms(facts.first_poke_ms);
        let pokes = facts.pokes.to_string();
        match facts.next_poke_ms {
            Some(next) => {
                let next = format_ms(next);
                self.store.set_tags(
                    &id,
                    &[
                        (TAG_SENSOR_FIRST_POKE, &first),
                        (TAG_SENSOR_POKES, &pokes),
                        (TAG_SENSOR_NEXT_POKE, &next),
                    ],
                )
            }
            None => {
                self.store.set_tags(
                    &id,
                    &[(TAG_SENSOR_FIRST_POKE, &first), (TAG_SENSOR_POKES, &pokes)],
                )?;
                // Gone once the sensor ended (absent if it never waited; backends differ in
                // how they refuse to delete a missing tag, so look first).
                if self
                    .store
                    .get_run(&id)?
                    .tags
                    .contains_key(TAG_SENSOR_NEXT_POKE)
                {
                    self.store.delete_tag(&id, TAG_SENSOR_NEXT_POKE)?;
                }
                Ok(())
            }
        }
    }
}

/// Writes the executor's own line about an attempt to the attempt's log; an error if the log
/// file cannot be written.
fn log_event(log: Option<&AttemptLog>, f: impl FnOnce()) -> Result<(), TrackingError> {
    if let Some(l) = log {
        l.in_scope(f);
        // The line went through the layer, which cannot report; check the file here.
        l.file
            .write(b"")
            .map_err(|e| TrackingError::io("write the task log", l.file.path(), e))?;
    }
    Ok(())
}

/// Every attempt log of `task` in DAG run `dag_run_id`, concatenated with a header per attempt.
pub fn load_task_log(
    store: impl Into<TrackingStore>,
    log_root: Option<&Path>,
    dag_run_id: &str,
    task: &str,
) -> Result<String, RecordError> {
    let store = store.into();
    let parent = store.get_run(dag_run_id)?;
    let Some(dag) = parent.tags.get(TAG_DAG) else {
        return Err(RecordError::NotThisDag {
            run_id: dag_run_id.to_owned(),
            dag: "?".into(),
            found: None,
        });
    };
    let root = log_root.map_or_else(|| default_log_root(&store), Path::to_path_buf);
    let run_dir = root
        .join(format!("dag_id={dag}"))
        .join(format!("run_id={dag_run_id}"));
    let dir = run_dir.join(format!("task_id={task}"));
    let mut attempts: Vec<(u32, PathBuf)> = match fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().into_string().ok()?;
                let n = name
                    .strip_prefix("attempt=")?
                    .strip_suffix(".log")?
                    .parse()
                    .ok()?;
                Some((n, e.path()))
            })
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(source) => {
            return Err(RecordError::Log {
                path: dir.clone(),
                source,
            });
        }
    };
    attempts.sort();
    // A mapped task's instances log under `map_index=<k>/`, as in Airflow.
    let mut instance_logs: Vec<(usize, u32, PathBuf)> = Vec::new();
    if let Ok(entries) = fs::read_dir(&dir) {
        for e in entries.filter_map(|e| e.ok()) {
            let Some(k) = e
                .file_name()
                .to_str()
                .and_then(|n| n.strip_prefix("map_index="))
                .and_then(|k| k.parse::<usize>().ok())
            else {
                continue;
            };
            let Ok(files) = fs::read_dir(e.path()) else {
                continue;
            };
            for f in files.filter_map(|f| f.ok()) {
                let n = f
                    .file_name()
                    .to_str()
                    .and_then(|n| n.strip_prefix("attempt="))
                    .and_then(|n| n.strip_suffix(".log"))
                    .and_then(|n| n.parse::<u32>().ok());
                if let Some(n) = n {
                    instance_logs.push((k, n, f.path()));
                }
            }
        }
    }
    instance_logs.sort();
    // The task runs of the DAG run: the record of an attempt that logged nothing (it has no
    // file), and the names of the tasks when this one is unknown.
    let filter = format!("tags.`{TAG_PARENT_RUN_ID}` = '{dag_run_id}'");
    let task_runs = store.search_runs(
        &[&parent.info.experiment_id],
        &filter,
        &[],
        crate::tracking::MAX_SEARCH_RESULTS,
    )?;
    let task_run = task_runs.iter().find(|r| {
        r.tags.get(TAG_TASK_ID).is_some_and(|t| t == task) && !r.tags.contains_key(TAG_MAP_INDEX)
    });
    let quiet_success = task_run.and_then(|r| {
        let tries: u32 = r.tags.get(TAG_TRY_NUMBER)?.parse().ok()?;
        let succeeded = r.tags.get(TAG_STATE).is_some_and(|s| s == "success");
        (succeeded && tries > 0 && !attempts.iter().any(|(n, _)| *n == tries)).then_some((tries, r))
    });
    if attempts.is_empty() && quiet_success.is_none() && instance_logs.is_empty() {
        let mut tasks: Vec<String> = task_runs
            .iter()
            .filter_map(|r| r.tags.get(TAG_TASK_ID).cloned())
            .collect();
        tasks.sort();
        tasks.dedup();
        return Err(RecordError::NoLogs {
            run_id: dag_run_id.to_owned(),
            task: task.to_owned(),
            dir: run_dir,
            tasks,
        });
    }
    let mut out = String::new();
    for (n, path) in attempts {
        let text = fs::read_to_string(&path).map_err(|source| RecordError::Log {
            path: path.clone(),
            source,
        })?;
        out.push_str(&format!("--- attempt {n}: {} ---\n", path.display()));
        out.push_str(&text);
    }
    for (k, n, path) in instance_logs {
        let text = fs::read_to_string(&path).map_err(|source| RecordError::Log {
            path: path.clone(),
            source,
        })?;
        out.push_str(&format!("--- [{k}] attempt {n}: {} ---\n", path.display()));
        out.push_str(&text);
    }
    if let Some((n, run)) = quiet_success {
        let at = |ms: Option<i64>| {
            let ms = u64::try_from(ms.unwrap_or(0)).unwrap_or(0);
            humantime::format_rfc3339_micros(
                std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms),
            )
            .to_string()
        };
        out.push_str(&format!(
            "--- attempt {n}: logged nothing, so it has no file; from task run {} ---\n",
            run.info.run_id
        ));
        if n == 1 {
            out.push_str(&format!(
                "{}  INFO oxflow: starting attempt 1 of task `{task}` (dag `{dag}`, run `{dag_run_id}`)\n",
                at(Some(run.info.start_time_ms))
            ));
        }
        out.push_str(&format!(
            "{}  INFO oxflow: task succeeded\n",
            at(run.info.end_time_ms)
        ));
    }
    Ok(out)
}
