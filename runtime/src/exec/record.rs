//! Recording a DAG run in the tracking store (DESIGN.md §3), task logs in Airflow's layout,
//! and reading a run back to resume it.
//!
//! A DAG run is a run in the experiment named after the DAG, tagged `oxflow.dag`,
//! `oxflow.dag_run_id` and `oxflow.state`, with the params logged; each task instance is a nested
//! run (`mlflow.parentRunId`) named after the task and tagged `oxflow.task_id`, `oxflow.state`,
//! `oxflow.try_number` and, after a failure, `oxflow.error`.
//! Outputs are the task run's artifact `xcom/return_value.json`. Logs go to
//! `<log root>/dag_id=<dag>/run_id=<run>/task_id=<task>/attempt=<n>.log`.

use std::collections::HashMap;
use std::fs::{self, OpenOptions};
use std::path::{Path, PathBuf};

use super::engine::DagRunState;
use super::invoke::TaskOutput;
use super::state::TaskState;
use super::tasklog::{self, AttemptLog};
use crate::dag::{DagSpec, OutputCodec};
use crate::tracking::{
    FileStore, RunOptions, RunStatus, TAG_PARENT_RUN_ID as TAG_PARENT, TrackingError, now_ms,
};

/// Tag naming the DAG of a DAG run and of its task runs.
pub const TAG_DAG: &str = "oxflow.dag";
/// Tag holding the DAG run id on the DAG run and its task runs.
pub const TAG_DAG_RUN_ID: &str = "oxflow.dag_run_id";
/// Tag holding a task run's task id.
pub const TAG_TASK_ID: &str = "oxflow.task_id";
/// Tag holding a task's (or the DAG run's) state.
pub const TAG_STATE: &str = "oxflow.state";
/// Tag holding a task's number of attempts so far.
pub const TAG_TRY_NUMBER: &str = "oxflow.try_number";
/// Tag holding the last error of a task.
pub const TAG_ERROR: &str = "oxflow.error";
/// Artifact path of a task's stored output.
pub const XCOM_ARTIFACT: &str = "xcom/return_value.json";

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

/// `logs/` beside the store's root: where task logs go unless configured otherwise.
pub fn log_dir_for(store_root: &Path) -> PathBuf {
    let abs = std::path::absolute(store_root).unwrap_or_else(|_| store_root.to_path_buf());
    abs.parent()
        .map_or_else(|| PathBuf::from("logs"), |p| p.join("logs"))
}

fn attempt_log_path(root: &Path, dag: &str, run: &str, task: &str, attempt: u32) -> PathBuf {
    root.join(format!("dag_id={dag}"))
        .join(format!("run_id={run}"))
        .join(format!("task_id={task}"))
        .join(format!("attempt={attempt}.log"))
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

/// What one attempt needs from the record.
pub(crate) struct AttemptRecord {
    /// Where a task taking `&mut Run` logs: the store and its task run.
    pub(crate) run: Option<(FileStore, String)>,
    pub(crate) log_path: PathBuf,
    pub(crate) log: AttemptLog,
}

/// A task of an earlier run, read back for resume.
pub(crate) struct PreviousTask {
    pub(crate) run_id: String,
    pub(crate) tries: u32,
    /// The stored output, when the task succeeded and its output was persisted.
    pub(crate) output: Option<TaskOutput>,
}

/// Writes one DAG run.
pub(crate) struct Recorder {
    /// The subscriber every attempt of this run logs through.
    logs: tracing::Dispatch,
    store: FileStore,
    experiment_id: String,
    dag_id: String,
    dag_run_id: String,
    log_root: PathBuf,
}

impl Recorder {
    fn log_root(store: &FileStore, log_root: Option<PathBuf>) -> Result<PathBuf, RecordError> {
        let root = log_root.unwrap_or_else(|| log_dir_for(store.root()));
        fs::create_dir_all(&root).map_err(|source| RecordError::Log {
            path: root.clone(),
            source,
        })?;
        Ok(root)
    }

    /// Starts a new DAG run: the parent run with its params and tags.
    pub(crate) fn start(
        store: FileStore,
        log_root: Option<PathBuf>,
        spec: &DagSpec,
        params: &[(String, String)],
    ) -> Result<Recorder, RecordError> {
        let log_root = Self::log_root(&store, log_root)?;
        let dag = spec.def;
        let experiment = store.get_or_create_experiment(dag.id)?;
        let mut tags = vec![
            (TAG_DAG.to_owned(), dag.id.to_owned()),
            (TAG_STATE.to_owned(), "running".to_owned()),
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
        let stamp = now_ms();
        let run = store.create_run(
            &experiment.experiment_id,
            RunOptions {
                run_name: Some(format!("{}__{stamp}", dag.id)),
                tags,
                ..Default::default()
            },
        )?;
        store.set_tag(&run.run_id, TAG_DAG_RUN_ID, &run.run_id)?;
        for (k, v) in params {
            store.log_param(&run.run_id, k, v)?;
        }
        Ok(Recorder {
            logs: tasklog::run_dispatch(),
            store,
            experiment_id: experiment.experiment_id,
            dag_id: dag.id.to_owned(),
            dag_run_id: run.run_id,
            log_root,
        })
    }

    /// Reads an earlier DAG run back: every task's run, tries and stored output. Writes nothing
    /// until every record has been read, so a corrupt record aborts with the store unchanged.
    pub(crate) fn resume(
        store: FileStore,
        log_root: Option<PathBuf>,
        spec: &DagSpec,
        dag_run_id: &str,
    ) -> Result<(Recorder, Vec<Option<PreviousTask>>), RecordError> {
        let dag = spec.def;
        let parent = store.get_run(dag_run_id)?;
        let found = parent.tags.get(TAG_DAG).cloned();
        if found.as_deref() != Some(dag.id) {
            return Err(RecordError::NotThisDag {
                run_id: dag_run_id.to_owned(),
                dag: dag.id.to_owned(),
                found,
            });
        }
        let experiment_id = parent.info.experiment_id.clone();
        let mut previous: Vec<Option<PreviousTask>> = (0..spec.nodes.len()).map(|_| None).collect();
        let index: HashMap<&str, usize> = spec
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.as_str(), i))
            .collect();
        for info in store.list_runs(&experiment_id)? {
            let record = store.get_run(&info.run_id)?;
            if record.tags.get(TAG_PARENT).map(String::as_str) != Some(dag_run_id) {
                continue;
            }
            let Some(&i) = record
                .tags
                .get(TAG_TASK_ID)
                .and_then(|t| index.get(t.as_str()))
            else {
                continue; // a task since removed from the DAG
            };
            let tries = record
                .tags
                .get(TAG_TRY_NUMBER)
                .and_then(|t| t.parse().ok())
                .unwrap_or(0);
            let succeeded = record.tags.get(TAG_STATE).map(String::as_str) == Some("success");
            let output =
                match (
                    succeeded,
                    spec.nodes[i].task.codec,
                    spec.nodes[i].options.persist,
                ) {
                    (true, Some(codec), true) => {
                        let file = store.artifact_path(&info.run_id, XCOM_ARTIFACT)?;
                        match fs::read(&file) {
                            Ok(bytes) => Some((codec.decode)(&bytes).map_err(|reason| {
                                RecordError::Corrupt {
                                    file: file.clone(),
                                    reason,
                                }
                            })?),
                            // Success recorded but no output stored (persisted off, or the
                            // process died between the two writes): rerun the task.
                            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                            Err(e) => {
                                return Err(RecordError::Corrupt {
                                    file,
                                    reason: e.to_string(),
                                });
                            }
                        }
                    }
                    _ => None,
                };
            previous[i] = Some(PreviousTask {
                run_id: info.run_id.clone(),
                tries,
                output,
            });
        }
        let log_root = Self::log_root(&store, log_root)?;
        store.set_tags(dag_run_id, &[(TAG_STATE, "running")])?;
        store.update_run(dag_run_id, Some(RunStatus::Running), None)?;
        let rec = Recorder {
            logs: tasklog::run_dispatch(),
            store,
            experiment_id,
            dag_id: dag.id.to_owned(),
            dag_run_id: dag_run_id.to_owned(),
            log_root,
        };
        Ok((rec, previous))
    }

    pub(crate) fn dag_run_id(&self) -> &str {
        &self.dag_run_id
    }

    fn task_run(
        &self,
        task: &str,
        state: TaskState,
        try_number: u32,
    ) -> Result<String, RecordError> {
        let try_text = try_number.to_string();
        // The DAG and DAG run ids are the parent's tags: every tag is one more file to create,
        // and creating files is most of the cost of recording a task.
        let tags = [
            (TAG_PARENT, self.dag_run_id.as_str()),
            (TAG_TASK_ID, task),
            (TAG_STATE, state.as_str()),
            (TAG_TRY_NUMBER, try_text.as_str()),
        ];
        let run = self.store.create_run(
            &self.experiment_id,
            RunOptions {
                run_name: Some(task.to_owned()),
                tags: tags
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                parent_run_id: Some(self.dag_run_id.clone()),
                ..Default::default()
            },
        )?;
        Ok(run.run_id)
    }

    /// Records a task that will not run (skipped or upstream_failed).
    pub(crate) fn task_not_run(
        &self,
        task: &str,
        run_id: Option<&str>,
        state: TaskState,
        error: Option<&str>,
    ) -> Result<(), RecordError> {
        let run_id = match run_id {
            Some(id) => {
                self.store.set_tags(id, &[(TAG_STATE, state.as_str())])?;
                id.to_owned()
            }
            None => self.task_run(task, state, 0)?,
        };
        if let Some(e) = error {
            self.store.set_tag(&run_id, TAG_ERROR, clip(e))?;
        }
        self.store
            .set_terminated(&run_id, status_for(state), now_ms())?;
        Ok(())
    }

    /// Records the start of an attempt and opens its log.
    pub(crate) fn attempt_started(
        &self,
        task: &str,
        run_id: &mut Option<String>,
        try_number: u32,
    ) -> Result<AttemptRecord, RecordError> {
        let id = match run_id {
            Some(id) => {
                let try_text = try_number.to_string();
                self.store
                    .set_tags(id, &[(TAG_STATE, "running"), (TAG_TRY_NUMBER, &try_text)])?;
                self.store.update_run(id, Some(RunStatus::Running), None)?;
                id.clone()
            }
            None => {
                let id = self.task_run(task, TaskState::Running, try_number)?;
                *run_id = Some(id.clone());
                id
            }
        };
        let log_path = attempt_log_path(
            &self.log_root,
            &self.dag_id,
            &self.dag_run_id,
            task,
            try_number,
        );
        let log_err = |source| RecordError::Log {
            path: log_path.clone(),
            source,
        };
        if let Some(dir) = log_path.parent() {
            fs::create_dir_all(dir).map_err(log_err)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .map_err(log_err)?;
        let log = AttemptLog {
            span: tasklog::attempt_span(&self.logs, file),
            dispatch: self.logs.clone(),
        };
        log.in_scope(|| {
            tracing::info!(
                target: "oxflow",
                "starting attempt {try_number} of task `{task}` (dag `{}`, run `{}`)",
                self.dag_id,
                self.dag_run_id
            )
        });
        Ok(AttemptRecord {
            run: Some((self.store.clone(), id)),
            log_path,
            log,
        })
    }

    /// Records a successful attempt and stores the output.
    pub(crate) fn attempt_succeeded(
        &self,
        log: Option<&AttemptLog>,
        run_id: Option<&str>,
        output: &TaskOutput,
        codec: Option<OutputCodec>,
    ) -> Result<(), RecordError> {
        let Some(id) = run_id else { return Ok(()) };
        if let Some(codec) = codec {
            match (codec.encode)(&**output) {
                Ok(bytes) => self.store.log_artifact_bytes(id, XCOM_ARTIFACT, &bytes)?,
                Err(e) => {
                    log_event(
                        log,
                        || tracing::warn!(target: "oxflow", "output not stored: {e}"),
                    );
                    self.store
                        .set_tag(id, TAG_ERROR, clip(&format!("output not stored: {e}")))?;
                }
            }
        }
        log_event(log, || tracing::info!(target: "oxflow", "task succeeded"));
        // The try number was recorded when the attempt started.
        self.store.set_tag(id, TAG_STATE, "success")?;
        self.store
            .set_terminated(id, RunStatus::Finished, now_ms())?;
        Ok(())
    }

    /// Records a failed attempt: its error goes to the log and the task run's tags.
    pub(crate) fn attempt_failed(
        &self,
        log: Option<&AttemptLog>,
        run_id: Option<&str>,
        try_number: u32,
        state: TaskState,
        error: &str,
        killed: bool,
    ) -> Result<(), RecordError> {
        log_event(
            log,
            || tracing::error!(target: "oxflow", "attempt {try_number} failed: {error}"),
        );
        let Some(id) = run_id else { return Ok(()) };
        let try_text = try_number.to_string();
        self.store.set_tags(
            id,
            &[
                (TAG_STATE, state.as_str()),
                (TAG_TRY_NUMBER, &try_text),
                (TAG_ERROR, clip(error)),
            ],
        )?;
        if state == TaskState::Failed {
            let status = if killed {
                RunStatus::Killed
            } else {
                RunStatus::Failed
            };
            self.store.set_terminated(id, status, now_ms())?;
        }
        Ok(())
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

/// Writes the executor's own line about an attempt to the attempt's log.
fn log_event(log: Option<&AttemptLog>, f: impl FnOnce()) {
    if let Some(l) = log {
        l.in_scope(f);
    }
}

/// Every attempt log of `task` in DAG run `dag_run_id`, concatenated with a header per attempt.
pub fn load_task_log(
    store: &FileStore,
    log_root: Option<&Path>,
    dag_run_id: &str,
    task: &str,
) -> Result<String, RecordError> {
    let parent = store.get_run(dag_run_id)?;
    let Some(dag) = parent.tags.get(TAG_DAG) else {
        return Err(RecordError::NotThisDag {
            run_id: dag_run_id.to_owned(),
            dag: "?".into(),
            found: None,
        });
    };
    let root = log_root.map_or_else(|| log_dir_for(store.root()), Path::to_path_buf);
    let dir = root
        .join(format!("dag_id={dag}"))
        .join(format!("run_id={dag_run_id}"))
        .join(format!("task_id={task}"));
    let entries = fs::read_dir(&dir).map_err(|source| RecordError::Log {
        path: dir.clone(),
        source,
    })?;
    let mut attempts: Vec<(u32, PathBuf)> = entries
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
        .collect();
    attempts.sort();
    let mut out = String::new();
    for (n, path) in attempts {
        let text = fs::read_to_string(&path).map_err(|source| RecordError::Log {
            path: path.clone(),
            source,
        })?;
        out.push_str(&format!("--- attempt {n}: {} ---\n", path.display()));
        out.push_str(&text);
    }
    Ok(out)
}
