//! How to run a DAG ([`RunConfig`]) and why a run could not start or be recorded
//! ([`ExecError`]).

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;

use super::record::RecordError;
use super::transition::{EventCallback, ExecEvent};
use crate::conn::{ConnError, Connections};
use crate::dag::DagDef;
use crate::params::ParamError;
use crate::schedule::{DataInterval, RunType};
use crate::task::TaskOutput;
use crate::tracking::TrackingStore;

/// How to run a DAG.
///
/// ```
/// use oxflow_runtime::exec::RunConfig;
/// let cfg = RunConfig::in_memory().param("n_trees", "200").max_active_tasks(2);
/// assert_eq!(cfg.params.len(), 1);
/// ```
#[derive(Default)]
pub struct RunConfig {
    /// Where to record the run; `None` runs in memory without records (and without resume).
    pub store: Option<TrackingStore>,
    /// Root of the Airflow-style task log tree; defaults to `logs/` beside the store.
    pub log_root: Option<PathBuf>,
    /// `key=value` overrides of the DAG's params. A resumed run keeps the params it started
    /// with, so overrides and [`RunConfig::resume`] are refused together.
    pub params: Vec<(String, String)>,
    /// Continue this earlier DAG run: rerun only what did not succeed, and its downstream.
    pub resume: Option<String>,
    /// Record the DAG run into this existing run instead of a new one: the run `project run`
    /// or `mlflow run` created with the project's source tags, named by `MLFLOW_RUN_ID` (the
    /// task runs are nested under it, in its experiment). Ignored with [`RunConfig::resume`].
    pub attach: Option<String>,
    /// Overrides the DAG's `max_active_tasks`.
    pub max_active_tasks: Option<usize>,
    /// Completes when the run should stop (Ctrl-C, SIGTERM): no task starts after it, running
    /// attempts are stopped (a shell task's process group is killed before the run returns)
    /// and recorded as killed.
    pub cancel: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    /// Called on every state change, for progress displays.
    pub on_event: Option<EventCallback>,
    /// What started the run (recorded as `oxflow.run_type`, counted by trigger).
    pub run_type: RunType,
    /// The data interval the run processes (scheduled and backfill runs); tasks read it from
    /// [`TaskContext`](crate::task::TaskContext) and the run records it as tags.
    pub interval: Option<DataInterval>,
    /// Run this DAG run record, which the scheduler created, instead of a new one.
    pub queued_run: Option<QueuedRun>,
    /// Where the tasks' declared connections are looked up; `None` is
    /// [`Connections::from_env`]: `OXFLOW_CONN_<ID>`, then the file `OXFLOW_CONNECTIONS_FILE`
    /// names.
    pub connections: Option<Connections>,
}

/// A DAG run record the scheduler created for an interval, for [`RunConfig::queued_run`].
///
/// ```
/// use oxflow_runtime::exec::QueuedRun;
/// let q = QueuedRun { run_id: "0123".into(), experiment_id: "1".into(), running: false };
/// assert!(!q.running);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedRun {
    /// The DAG run's MLflow run id.
    pub run_id: String,
    /// Its experiment.
    pub experiment_id: String,
    /// Already recorded `running` by this process, params logged: starting it writes nothing
    /// (a run the scheduler started with its claim). Otherwise it is `queued` and is marked
    /// running when it starts.
    pub running: bool,
}

impl RunConfig {
    /// Runs without recording anything.
    pub fn in_memory() -> Self {
        RunConfig::default()
    }

    /// Records into `store`: a `FileStore`, or an MLflow server through a `TrackingStore`.
    pub fn recorded(store: impl Into<TrackingStore>) -> Self {
        RunConfig {
            store: Some(store.into()),
            ..RunConfig::default()
        }
    }

    /// Adds a `key=value` params override.
    pub fn param(mut self, key: &str, value: &str) -> Self {
        self.params.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Overrides the concurrency limit.
    pub fn max_active_tasks(mut self, n: usize) -> Self {
        self.max_active_tasks = Some(n);
        self
    }

    /// Continues an earlier DAG run, with the params it was started with.
    pub fn resume(mut self, dag_run_id: &str) -> Self {
        self.resume = Some(dag_run_id.to_owned());
        self
    }

    /// Stops the run when `signal` completes.
    pub fn cancel_on(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.cancel = Some(Box::pin(signal));
        self
    }

    /// Runs for a data interval, started by `run_type` (the scheduler, a backfill).
    ///
    /// ```
    /// use oxflow_runtime::exec::RunConfig;
    /// use oxflow_runtime::schedule::{DataInterval, RunType};
    /// let t = "2026-03-01T00:00:00Z".parse().unwrap();
    /// let cfg = RunConfig::in_memory().for_interval(RunType::Backfill, DataInterval { start: t, end: t });
    /// assert_eq!(cfg.run_type, RunType::Backfill);
    /// ```
    pub fn for_interval(mut self, run_type: RunType, interval: DataInterval) -> Self {
        self.run_type = run_type;
        self.interval = Some(interval);
        self
    }

    /// Looks the tasks' connections up in `connections` instead of the environment alone.
    ///
    /// ```
    /// use oxflow_runtime::conn::{Connection, Connections};
    /// use oxflow_runtime::exec::RunConfig;
    /// let cfg = RunConfig::in_memory().connections(Connections::from_env().with(Connection::new("db", "sqlite")));
    /// assert!(cfg.connections.is_some());
    /// ```
    pub fn connections(mut self, connections: Connections) -> Self {
        self.connections = Some(connections);
        self
    }

    /// Calls `f` on every state change.
    pub fn on_event(mut self, f: impl Fn(&ExecEvent) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(f));
        self
    }
}

/// A DAG run that could not start or could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// A params override was rejected.
    #[error(transparent)]
    Params(#[from] ParamError),
    /// The tracking store failed. If the DAG run had started, its attempts were stopped and the
    /// run was marked failed where the store still accepted it.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// A queued run without a store, or with `--resume`.
    #[error("a queued DAG run is run from the tracking store, and not resumed")]
    QueuedNeedsStore,
    /// `--resume` without a store.
    #[error("resuming a run needs a tracking store; this run is in memory")]
    ResumeNeedsStore,
    /// `--resume` with params overrides: the stored outputs were computed with the run's own
    /// params, so the resumed tasks must see those.
    #[error(
        "run `{run_id}` continues with the params it started with ({}); drop {}, or start a new run to use {}",
        pairs(stored),
        given.iter().map(|(k, v)| format!("`-P {k}={v}`")).collect::<Vec<_>>().join(" "),
        if given.len() == 1 { "it" } else { "them" }
    )]
    ResumeWithParams {
        /// The run being resumed.
        run_id: String,
        /// The overrides given.
        given: Vec<(String, String)>,
        /// The params the run was started with.
        stored: Vec<(String, String)>,
    },
    /// Another process is executing the run to resume.
    #[error(
        "run `{run_id}` is being run by pid {pid} on host `{host}`{}; resume it once that process has ended",
        if *checked { "" } else { " (a host this machine cannot check; if that process is gone, start a new run)" }
    )]
    RunInProgress {
        /// The run.
        run_id: String,
        /// The process executing it.
        pid: u32,
        /// The machine it runs on.
        host: String,
        /// Whether the process was seen alive (same host), or could not be checked.
        checked: bool,
    },
    /// A connection a task declared is missing or malformed; no task ran. A recorded run is
    /// marked failed, with this message as its `oxflow.error` tag.
    #[error("{}", connection_errors(.0))]
    Connections(Vec<ConnError>),
    /// The runtime shut down while the DAG ran.
    #[error("the tokio runtime shut down while the DAG was running")]
    Aborted,
}

fn connection_errors(errors: &[ConnError]) -> String {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    match lines.as_slice() {
        [one] => format!("{one}; no task ran"),
        many => format!(
            "{} connections are not usable, so no task ran:\n  {}",
            many.len(),
            many.join("\n  ")
        ),
    }
}

fn pairs(p: &[(String, String)]) -> String {
    if p.is_empty() {
        return "none".to_owned();
    }
    p.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The value tasks receive as `&Params<P>` (if the DAG has params) and the pairs to log.
pub type ResolvedParams = (Option<TaskOutput>, Vec<(String, String)>);

/// The DAG's params with `overrides` applied and validated: the value tasks receive as
/// `&Params<P>` and the pairs logged to the run. A DAG without params accepts no override.
///
/// ```
/// # use oxflow_runtime::{dag, exec};
/// for def in dag::registered() {
///     if def.params.is_none() {
///         assert!(exec::resolve_params(def, &[("x".into(), "1".into())]).is_err());
///     }
/// }
/// ```
pub fn resolve_params(
    dag: &DagDef,
    overrides: &[(String, String)],
) -> Result<ResolvedParams, ParamError> {
    match dag.params {
        Some(p) => {
            let (value, pairs) = (p.build)(overrides)?;
            Ok((Some(value), pairs))
        }
        None => match overrides.first() {
            Some((k, _)) => Err(ParamError::UnknownKey {
                key: k.clone(),
                valid: Vec::new(),
            }),
            None => Ok((None, Vec::new())),
        },
    }
}
