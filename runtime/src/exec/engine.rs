//! The scheduling loop.
//!
//! One coordinating future owns all task states; attempts run as spawned tokio tasks (sync
//! tasks on the blocking pool) and report back through a `FuturesUnordered`. Trigger rules are
//! evaluated from per-task upstream counters ([`super::trigger`]), and newly decidable tasks go
//! through a work list rather than recursion, so a 10,000-task chain of skips cannot overflow
//! the stack.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use tracing::Instrument;
use tracing::instrument::WithSubscriber;

use super::context::TaskContext;
use super::invoke::{InputValue, Inputs, Invocation, RunSlot, TaskOutput, panic_message};
use super::record::{RecordError, Recorder, TaskRun, VISIBLE_AFTER};
use super::state::{TaskError, TaskState};
use super::tasklog::AttemptLog;
use super::trigger::{Decision, UpstreamCounts, decide};
use crate::dag::{DagDef, DagSpec, TriggerRule};
use crate::params::ParamError;
use crate::telemetry as t;
use crate::tracking::{TrackingStore, now_ms};

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
    /// `key=value` overrides of the DAG's params.
    pub params: Vec<(String, String)>,
    /// Continue this earlier DAG run: rerun only what did not succeed, and its downstream.
    pub resume: Option<String>,
    /// Overrides the DAG's `max_active_tasks`.
    pub max_active_tasks: Option<usize>,
    /// Completes when the run should stop (Ctrl-C): running attempts are killed and recorded so.
    pub cancel: Option<Pin<Box<dyn Future<Output = ()> + Send>>>,
    /// Called on every state change, for progress displays.
    pub on_event: Option<EventCallback>,
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

    /// Continues an earlier DAG run.
    pub fn resume(mut self, dag_run_id: &str) -> Self {
        self.resume = Some(dag_run_id.to_owned());
        self
    }

    /// Stops the run when `signal` completes.
    pub fn cancel_on(mut self, signal: impl Future<Output = ()> + Send + 'static) -> Self {
        self.cancel = Some(Box::pin(signal));
        self
    }

    /// Calls `f` on every state change.
    pub fn on_event(mut self, f: impl Fn(&ExecEvent) + Send + Sync + 'static) -> Self {
        self.on_event = Some(Arc::new(f));
        self
    }
}

/// Receives every [`ExecEvent`] of a run.
pub type EventCallback = Arc<dyn Fn(&ExecEvent) + Send + Sync>;

/// A state change, for progress displays.
#[derive(Clone, Debug, PartialEq)]
pub enum ExecEvent {
    /// The DAG run started with this many tasks (and this many reused from an earlier run).
    Started {
        /// The DAG run's id.
        dag_run_id: String,
        /// Number of tasks.
        tasks: usize,
        /// Tasks whose output was reused by a resume.
        reused: usize,
    },
    /// A task changed state.
    Task {
        /// The task id.
        task: String,
        /// Its new state.
        state: TaskState,
        /// The attempt number (0 before the first attempt).
        try_number: u32,
        /// The error of a failed attempt.
        error: Option<String>,
    },
}

/// Final state of a DAG run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DagRunState {
    /// Every task succeeded or was skipped.
    Success,
    /// At least one task failed or was upstream_failed.
    Failed,
    /// Interrupted.
    Killed,
}

impl std::fmt::Display for DagRunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DagRunState::Success => "success",
            DagRunState::Failed => "failed",
            DagRunState::Killed => "killed",
        })
    }
}

/// What happened to one task.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskReport {
    /// The task id.
    pub id: String,
    /// Its final state (`none` if the run was interrupted before it was reached).
    pub state: TaskState,
    /// Attempts made in this run.
    pub tries: u32,
    /// Whether the output came from an earlier run (resume).
    pub reused: bool,
    /// The last error.
    pub error: Option<String>,
}

/// The outcome of a DAG run.
pub struct DagRunReport {
    /// The DAG's id.
    pub dag_id: String,
    /// The DAG run's id (the MLflow run id when recorded).
    pub dag_run_id: String,
    /// The final state.
    pub state: DagRunState,
    /// One report per task, in the DAG's order.
    pub tasks: Vec<TaskReport>,
    /// Wall time of the run.
    pub duration: Duration,
    outputs: Vec<Option<TaskOutput>>,
    ids: HashMap<String, usize>,
}

impl DagRunReport {
    /// The report of the task with this id.
    pub fn task(&self, id: &str) -> Option<&TaskReport> {
        self.ids.get(id).map(|&i| &self.tasks[i])
    }

    /// The output of a succeeded task, if it has type `T`.
    pub fn output<T: 'static>(&self, id: &str) -> Option<&T> {
        let i = *self.ids.get(id)?;
        self.outputs[i].as_ref()?.downcast_ref::<T>()
    }
}

/// A DAG run that could not start or could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// A params override was rejected.
    #[error(transparent)]
    Params(#[from] ParamError),
    /// The tracking store failed.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// `--resume` without a store.
    #[error("resuming a run needs a tracking store; this run is in memory")]
    ResumeNeedsStore,
    /// The runtime shut down while the DAG ran.
    #[error("the tokio runtime shut down while the DAG was running")]
    Aborted,
}

struct Node {
    state: TaskState,
    counts: UpstreamCounts,
    data_total: usize,
    data_done: usize,
    try_number: u32,
    output: Option<TaskOutput>,
    error: Option<String>,
    /// When the current attempt started (ms since the epoch), for its record.
    started_ms: i64,
    reused: bool,
    /// Excluded from this run (resume: succeeded before).
    frozen: bool,
}

enum Completion {
    Attempt {
        node: usize,
        result: Result<TaskOutput, TaskError>,
        elapsed: Duration,
    },
    RetryDue(usize),
}

/// Runs a DAG to completion.
///
/// The scheduling loop runs as a task of its own on the current tokio runtime, whatever thread
/// awaits this future: attempts it spawns then start on the same worker (tokio's LIFO slot) and
/// wake it there, with no thread hand-off per task.
pub async fn execute(spec: &DagSpec, cfg: RunConfig) -> Result<DagRunReport, ExecError> {
    let spec = Arc::new(spec.clone());
    match tokio::spawn(async move { run(&spec, cfg).await }).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(ExecError::Aborted),
    }
}

async fn run(spec: &DagSpec, mut cfg: RunConfig) -> Result<DagRunReport, ExecError> {
    let started = Instant::now();
    let dag = spec.def;
    let dag_id = dag.id;
    let (params_value, param_pairs) = resolve_params(dag, &cfg.params)?;

    let consumers = data_consumers(spec);
    let mut data_total = vec![0usize; spec.nodes.len()];
    for readers in &consumers {
        for &d in readers {
            data_total[d] += 1;
        }
    }
    let mut nodes: Vec<Node> = spec
        .nodes
        .iter()
        .zip(&data_total)
        .map(|(n, &data_total)| Node {
            state: TaskState::None,
            counts: UpstreamCounts {
                total: n.upstream.len(),
                ..Default::default()
            },
            data_total,
            data_done: 0,
            try_number: 0,
            output: None,
            error: None,
            started_ms: 0,
            reused: false,
            frozen: false,
        })
        .collect();

    // Open or resume the record before any task runs, so a bad store or a corrupt record stops
    // the run with nothing written.
    let mut previous_runs: Vec<Option<String>> = Vec::new();
    let recorder = match (&cfg.store, &cfg.resume) {
        (None, Some(_)) => return Err(ExecError::ResumeNeedsStore),
        (None, None) => None,
        (Some(store), None) => Some(Recorder::start(
            store.clone(),
            cfg.log_root.take(),
            spec,
            &param_pairs,
        )?),
        (Some(store), Some(run_id)) => {
            previous_runs = vec![None; spec.nodes.len()];
            let (rec, previous) =
                Recorder::resume(store.clone(), cfg.log_root.take(), spec, run_id)?;
            let redo_roots: Vec<usize> = (0..spec.nodes.len())
                .filter(|&i| previous[i].as_ref().is_none_or(|p| p.output.is_none()))
                .collect();
            let redo = spec.downstream_closure(&redo_roots);
            let mut is_redo = vec![false; spec.nodes.len()];
            for i in redo {
                is_redo[i] = true;
            }
            for (i, prev) in previous.into_iter().enumerate() {
                if let Some(prev) = prev {
                    previous_runs[i] = Some(prev.run_id);
                    nodes[i].try_number = prev.tries;
                    if !is_redo[i] {
                        nodes[i].output = prev.output;
                        nodes[i].state = TaskState::Success;
                        nodes[i].reused = true;
                        nodes[i].frozen = true;
                    }
                }
            }
            Some(rec)
        }
    };
    // Each task's MLflow run, written when first needed (see `TaskRun`).
    let task_runs: Vec<TaskRun> = match &recorder {
        Some(rec) => spec
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| rec.task_run(&n.id, previous_runs.get_mut(i).and_then(Option::take)))
            .collect(),
        None => Vec::new(),
    };
    // Attempts whose run is written as RUNNING if they are still going at the deadline.
    let mut visible: VecDeque<(tokio::time::Instant, usize, u32)> = VecDeque::new();
    let dag_run_id = match &recorder {
        Some(r) => r.dag_run_id().to_owned(),
        None => uuid::Uuid::new_v4().simple().to_string(),
    };
    let events = cfg.on_event.clone();
    let emit = |e: ExecEvent| {
        if let Some(f) = &events {
            f(&e)
        }
    };
    // Builds the event only when someone listens: no id copy per task otherwise.
    macro_rules! emit_task {
        ($id:expr, $state:expr, $try:expr, $error:expr) => {
            if let Some(f) = &events {
                f(&ExecEvent::Task {
                    task: $id.clone(),
                    state: $state,
                    try_number: $try,
                    error: $error,
                })
            }
        };
    }
    let reused = nodes.iter().filter(|n| n.reused).count();
    emit(ExecEvent::Started {
        dag_run_id: dag_run_id.clone(),
        tasks: nodes.len(),
        reused,
    });

    let limit = cfg
        .max_active_tasks
        .or(dag.max_active_tasks)
        .unwrap_or(usize::MAX)
        .max(1);
    let upstream_ids: Vec<Arc<str>> = spec
        .nodes
        .iter()
        .map(|n| Arc::from(n.id.as_str()))
        .collect();
    let dag_id_arc: Arc<str> = Arc::from(dag_id);
    let dag_run_id_arc: Arc<str> = Arc::from(dag_run_id.as_str());
    // Metric labels share the ids instead of copying them per task.
    let label = |i: usize| metrics::SharedString::from(upstream_ids[i].clone());
    let mut work: VecDeque<usize> = VecDeque::new();
    let mut ready: VecDeque<usize> = VecDeque::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Completion>();
    // Attempts and retry timers whose completion has not arrived yet.
    let mut outstanding = 0usize;
    // Completions made up by the executor itself (attempts killed by an interrupt).
    let mut synthetic: VecDeque<Completion> = VecDeque::new();
    let mut aborts: Vec<Option<tokio::task::AbortHandle>> = vec![None; spec.nodes.len()];
    // The log of each task's current attempt, for the executor's own lines about it.
    let mut logs: Vec<Option<AttemptLog>> = vec![None; spec.nodes.len()];
    let mut running = 0usize;
    let mut cancel = cfg.cancel.take();
    let mut killed = false;

    let running_gauge = metrics::gauge!(t::TASKS_RUNNING, "dag" => dag_id);
    // Frozen (reused) nodes count as finished upstreams from the start.
    for i in 0..nodes.len() {
        if nodes[i].frozen {
            propagate(spec, &consumers, &mut nodes, i, &mut work);
        }
    }
    for (i, n) in nodes.iter().enumerate() {
        if !n.frozen && n.counts.total == 0 {
            work.push_back(i);
        }
    }

    loop {
        // Decide every task whose upstream counts changed.
        while let Some(i) = work.pop_front() {
            if nodes[i].state != TaskState::None {
                continue;
            }
            let node = &spec.nodes[i];
            let rule = node.options.trigger;
            let mut decision = if rule == TriggerRule::Always {
                if nodes[i].data_done == nodes[i].data_total {
                    Decision::Run
                } else {
                    Decision::Wait
                }
            } else {
                decide(rule, nodes[i].counts)
            };
            if decision == Decision::Run && nodes[i].data_done < nodes[i].data_total {
                decision = Decision::Wait;
            }
            let finished = match decision {
                Decision::Wait => continue,
                Decision::Skip => Some((TaskState::Skipped, None)),
                Decision::UpstreamFailed => Some((TaskState::UpstreamFailed, None)),
                Decision::Run => {
                    let missing = node.inputs.iter().enumerate().find(|(k, input)| {
                        !node.task.inputs.get(*k).is_some_and(|p| p.optional)
                            && nodes[input.node].state != TaskState::Success
                    });
                    match missing {
                        Some((k, input)) => {
                            let err = TaskError::MissingInput {
                                input: node.task.inputs.get(k).map_or("?", |p| p.name).to_owned(),
                                upstream: spec.nodes[input.node].id.clone(),
                            };
                            Some((TaskState::UpstreamFailed, Some(err.to_string())))
                        }
                        None => None,
                    }
                }
            };
            match finished {
                Some((state, error)) => {
                    nodes[i].state = state;
                    nodes[i].error = error.clone();
                    if let Some(rec) = &recorder {
                        rec.task_not_run(&task_runs[i], state, error.as_deref())?;
                    }
                    metrics::counter!(t::TASK_RUNS_TOTAL, "dag" => dag_id, "task" => label(i), "state" => state.as_str()).increment(1);
                    emit_task!(node.id, state, nodes[i].try_number, error);
                    propagate(spec, &consumers, &mut nodes, i, &mut work);
                }
                None => {
                    nodes[i].state = TaskState::Scheduled;
                    emit_task!(node.id, TaskState::Scheduled, nodes[i].try_number, None);
                    ready.push_back(i);
                }
            }
        }

        // Start attempts while slots are free.
        while running < limit && !killed {
            let Some(i) = ready.pop_front() else { break };
            let node = &spec.nodes[i];
            nodes[i].try_number += 1;
            let try_number = nodes[i].try_number;
            let max_tries = node.options.retries + 1;
            emit_task!(node.id, TaskState::Queued, try_number, None);
            let (task_run, log_path, log) = match &recorder {
                Some(rec) => {
                    nodes[i].started_ms = now_ms();
                    let attempt = rec.attempt_started(&task_runs[i], try_number)?;
                    visible.push_back((tokio::time::Instant::now() + VISIBLE_AFTER, i, try_number));
                    (
                        Some((task_runs[i].clone(), try_number, nodes[i].started_ms)),
                        Some(attempt.log_path),
                        Some(attempt.log),
                    )
                }
                None => (None, None, None),
            };
            let ctx = TaskContext::new(
                dag_id_arc.clone(),
                dag_run_id_arc.clone(),
                upstream_ids[i].clone(),
                try_number,
                max_tries,
                task_run.as_ref().map(|(r, _, _)| r.clone()),
                log_path,
            );
            let values: Vec<InputValue> = node
                .inputs
                .iter()
                .map(|input| InputValue {
                    value: nodes[input.node].output.clone(),
                    project: input.project,
                    upstream: upstream_ids[input.node].clone(),
                })
                .collect();
            let inv = Invocation {
                inputs: Inputs::new(values, node.task.inputs),
                ctx,
                params: params_value.clone(),
                run: RunSlot {
                    source: task_run,
                    run: None,
                },
                log: log.clone(),
            };
            let fut = (node.task.invoke)(inv);
            let timeout = node.options.timeout;
            let tx = tx.clone();
            // The attempt reports back through the channel itself, panic or not: cheaper than
            // polling a join handle per task.
            let attempt = async move {
                let start = Instant::now();
                let timed = async move {
                    match timeout {
                        Some(limit) => match tokio::time::timeout(limit, fut).await {
                            Ok(r) => r,
                            Err(_) => Err(TaskError::TimedOut { after: limit }),
                        },
                        None => fut.await,
                    }
                };
                let result = match AssertUnwindSafe(timed).catch_unwind().await {
                    Ok(r) => r,
                    Err(payload) => Err(TaskError::Panicked {
                        message: panic_message(payload),
                    }),
                };
                let _ = tx.send(Completion::Attempt {
                    node: i,
                    result,
                    elapsed: start.elapsed(),
                });
            };
            let handle = match log {
                Some(l) => {
                    let span = l.span.clone();
                    let dispatch = l.dispatch.clone();
                    logs[i] = Some(l);
                    tokio::spawn(attempt.instrument(span).with_subscriber(dispatch))
                }
                None => tokio::spawn(attempt),
            };
            aborts[i] = Some(handle.abort_handle());
            running += 1;
            outstanding += 1;
            nodes[i].state = TaskState::Running;
            running_gauge.increment(1.0);
            emit_task!(node.id, TaskState::Running, try_number, None);
        }

        if outstanding == 0 {
            break;
        }
        let deadline = visible.front().map(|v| v.0);
        let completion = match synthetic.pop_front() {
            Some(c) => Some(c),
            // Nothing else to wait for: skip building the select below, on the hot path of a
            // run in memory.
            None if cancel.is_none() && deadline.is_none() => rx.recv().await,
            None => tokio::select! {
                biased;
                c = rx.recv() => c,
                () = async {
                    match cancel.as_mut() {
                        Some(signal) => signal.await,
                        None => std::future::pending().await,
                    }
                } => {
                    cancel = None;
                    killed = true;
                    ready.clear();
                    visible.clear();
                    // Stop every attempt and retry timer; each running or waiting task is
                    // then recorded as killed.
                    outstanding = 0;
                    for (i, abort) in aborts.iter_mut().enumerate() {
                        if let Some(a) = abort.take() {
                            a.abort();
                            if matches!(nodes[i].state, TaskState::Running | TaskState::UpForRetry) {
                                if nodes[i].state == TaskState::UpForRetry {
                                    running += 1; // balanced when the completion is handled
                                }
                                synthetic.push_back(Completion::Attempt {
                                    node: i,
                                    result: Err(TaskError::Killed),
                                    elapsed: Duration::ZERO,
                                });
                                outstanding += 1;
                            }
                        }
                    }
                    continue;
                }
                () = async {
                    match deadline {
                        Some(d) => tokio::time::sleep_until(d).await,
                        None => std::future::pending().await,
                    }
                } => {
                    // Attempts running for a while become visible in the store as RUNNING.
                    let now = tokio::time::Instant::now();
                    while let Some(&(due, i, try_number)) = visible.front() {
                        if due > now {
                            break;
                        }
                        visible.pop_front();
                        if nodes[i].state == TaskState::Running && nodes[i].try_number == try_number {
                            task_runs[i].ensure_running(try_number, nodes[i].started_ms).map_err(RecordError::from)?;
                        }
                    }
                    continue;
                }
            },
        };
        let Some(completion) = completion else { break };
        outstanding -= 1;
        match completion {
            Completion::RetryDue(i) => {
                aborts[i] = None;
                nodes[i].state = TaskState::Scheduled;
                emit_task!(
                    spec.nodes[i].id,
                    TaskState::Scheduled,
                    nodes[i].try_number,
                    None
                );
                ready.push_back(i);
            }
            Completion::Attempt {
                node: i,
                result,
                elapsed,
            } => {
                running -= 1;
                aborts[i] = None;
                running_gauge.decrement(1.0);
                let node = &spec.nodes[i];
                metrics::histogram!(t::TASK_DURATION_SECONDS, "dag" => dag_id, "task" => label(i))
                    .record(elapsed.as_secs_f64());
                let try_number = nodes[i].try_number;
                match result {
                    Ok(output) => {
                        if let Some(rec) = &recorder {
                            let codec = if node.options.persist {
                                node.task.codec
                            } else {
                                None
                            };
                            rec.attempt_succeeded(
                                logs[i].take().as_ref(),
                                &task_runs[i],
                                try_number,
                                nodes[i].started_ms,
                                &output,
                                codec,
                            )?;
                        }
                        nodes[i].output = Some(output);
                        nodes[i].state = TaskState::Success;
                        nodes[i].error = None;
                        metrics::counter!(t::TASK_RUNS_TOTAL, "dag" => dag_id, "task" => label(i), "state" => "success").increment(1);
                        emit_task!(node.id, TaskState::Success, try_number, None);
                        propagate(spec, &consumers, &mut nodes, i, &mut work);
                    }
                    Err(err) => {
                        let was_killed = killed || matches!(err, TaskError::Killed);
                        let err = if killed { TaskError::Killed } else { err };
                        // The task's own error with its causes, as anyhow's `{:#}` shows them.
                        let message = err.chain();
                        // A `Skip` ends the task skipped; a `Fail` (like an interrupt) is not
                        // retried.
                        let skipped = matches!(err, TaskError::Skip { .. });
                        let retry = err.is_retryable() && try_number <= node.options.retries;
                        let state = if skipped {
                            TaskState::Skipped
                        } else if retry {
                            TaskState::UpForRetry
                        } else {
                            TaskState::Failed
                        };
                        if let Some(rec) = &recorder {
                            if skipped {
                                logs[i] = None;
                                rec.task_not_run(&task_runs[i], state, Some(&message))?;
                            } else {
                                rec.attempt_failed(
                                    logs[i].take().as_ref(),
                                    &task_runs[i],
                                    try_number,
                                    nodes[i].started_ms,
                                    state,
                                    &message,
                                    was_killed,
                                )?;
                            }
                        }
                        nodes[i].state = state;
                        emit_task!(node.id, state, try_number, Some(message.clone()));
                        nodes[i].error = Some(message);
                        if retry {
                            metrics::counter!(t::TASK_RETRIES_TOTAL, "dag" => dag_id, "task" => label(i)).increment(1);
                            let delay = node.options.delay_before_try(try_number + 1);
                            let tx = tx.clone();
                            let timer = tokio::spawn(async move {
                                tokio::time::sleep(delay).await;
                                let _ = tx.send(Completion::RetryDue(i));
                            });
                            aborts[i] = Some(timer.abort_handle());
                            outstanding += 1;
                        } else {
                            metrics::counter!(t::TASK_RUNS_TOTAL, "dag" => dag_id, "task" => label(i), "state" => state.as_str()).increment(1);
                            if !killed {
                                propagate(spec, &consumers, &mut nodes, i, &mut work);
                            }
                        }
                    }
                }
            }
        }
    }

    let state = if killed {
        DagRunState::Killed
    } else if nodes
        .iter()
        .any(|n| matches!(n.state, TaskState::Failed | TaskState::UpstreamFailed))
    {
        DagRunState::Failed
    } else {
        DagRunState::Success
    };
    if let Some(rec) = &recorder {
        rec.finish(state)?;
    }
    let duration = started.elapsed();
    metrics::counter!(t::DAG_RUNS_TOTAL, "dag" => dag_id, "state" => state.to_string())
        .increment(1);
    metrics::histogram!(t::DAG_RUN_DURATION_SECONDS, "dag" => dag_id)
        .record(duration.as_secs_f64());
    if state == DagRunState::Success {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        metrics::gauge!(t::DAG_LAST_SUCCESS_TIMESTAMP_SECONDS, "dag" => dag_id).set(now);
    }
    let tasks = spec
        .nodes
        .iter()
        .zip(&nodes)
        .map(|(s, n)| TaskReport {
            id: s.id.clone(),
            state: n.state,
            tries: n.try_number,
            reused: n.reused,
            error: n.error.clone(),
        })
        .collect();
    Ok(DagRunReport {
        dag_id: dag_id.to_owned(),
        dag_run_id,
        state,
        tasks,
        duration,
        ids: spec
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.clone(), i))
            .collect(),
        outputs: nodes.into_iter().map(|n| n.output).collect(),
    })
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

/// For each node, the nodes that read its output (each once).
fn data_consumers(spec: &DagSpec) -> Vec<Vec<usize>> {
    let mut consumers = vec![Vec::new(); spec.nodes.len()];
    for (d, node) in spec.nodes.iter().enumerate() {
        for input in &node.inputs {
            if consumers[input.node].last() != Some(&d) {
                consumers[input.node].push(d);
            }
        }
    }
    consumers
}

/// Tells each downstream of `i` that `i` finished, and queues it for a decision.
fn propagate(
    spec: &DagSpec,
    consumers: &[Vec<usize>],
    nodes: &mut [Node],
    i: usize,
    work: &mut VecDeque<usize>,
) {
    let state = nodes[i].state;
    for &d in &spec.nodes[i].downstream {
        let n = &mut nodes[d];
        match state {
            TaskState::Success => n.counts.success += 1,
            TaskState::Skipped => n.counts.skipped += 1,
            _ => n.counts.failed += 1,
        }
        work.push_back(d);
    }
    for &d in &consumers[i] {
        nodes[d].data_done += 1;
    }
}
