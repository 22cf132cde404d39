//! Running attempts, separate from deciding which to run.
//!
//! The scheduler decides (trigger rules, retries, states) and hands each attempt it starts to
//! an [`Executor`]; the executor runs it and reports its end as an [`Event`] on the run's
//! channel. [`LocalExecutor`] runs attempts as tokio tasks in this process (sync tasks on the
//! blocking pool); an executor that hands attempts to workers elsewhere implements the same
//! trait.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use tokio::sync::mpsc::UnboundedSender;
use tracing::Instrument;
use tracing::instrument::WithSubscriber;

use super::record::{AttemptLogs, RecordError, TaskRun};
use super::tasklog::AttemptLog;
use crate::schedule::{DataInterval, RunType};
use crate::task::{
    AttemptRun, BodyEnd, BodyGuard, InputValue, Inputs, Invocation, RunConnections, RunSlot,
    TaskContext, TaskDef, TaskError, TaskFuture, TaskOutput, TaskRunHandle, panic_message,
};
use crate::tracking::{Run, TrackingError};

/// One attempt the scheduler decided to start.
pub(crate) struct Attempt {
    /// The scheduler's entry: a DAG node, or an instance of a mapped one.
    pub(crate) node: usize,
    pub(crate) map_index: Option<usize>,
    pub(crate) task: &'static TaskDef,
    pub(crate) dag_id: Arc<str>,
    pub(crate) dag_run_id: Arc<str>,
    pub(crate) task_id: Arc<str>,
    pub(crate) run: (RunType, Option<DataInterval>),
    pub(crate) try_number: u32,
    pub(crate) max_tries: u32,
    pub(crate) timeout: Option<Duration>,
    pub(crate) inputs: Vec<InputValue>,
    pub(crate) params: Option<TaskOutput>,
    /// The connections of the run, which the task reads those it declared from.
    pub(crate) connections: Option<Arc<RunConnections>>,
    /// The task's run and where its attempts log, when the run is recorded.
    pub(crate) record: Option<AttemptRecording>,
}

/// What an attempt of a recorded run needs.
pub(crate) struct AttemptRecording {
    pub(crate) task_run: TaskRun,
    pub(crate) logs: Arc<AttemptLogs>,
    pub(crate) started_ms: i64,
}

/// The end of an attempt, as the executor reports it.
pub(crate) struct AttemptEnd {
    pub(crate) node: usize,
    pub(crate) try_number: u32,
    pub(crate) result: Result<TaskOutput, TaskError>,
    pub(crate) elapsed: Duration,
    /// The task's body is still running although the attempt has ended (a sync body past its
    /// timeout: a thread cannot be stopped). [`Event::BodyEnded`] follows when it returns.
    pub(crate) body_running: bool,
    /// Boxed: the message stays small on the hot path, where there is no log.
    pub(crate) log: Option<Box<AttemptLog>>,
}

/// What reaches the scheduling loop.
pub(crate) enum Event {
    /// An attempt ended.
    Attempt(AttemptEnd),
    /// The body of an attempt that had already ended (timed out) returned.
    BodyEnded { node: usize, try_number: u32 },
    /// The recorder could not write; the run must stop.
    RecordFailed(RecordError),
}

/// Runs the attempts a scheduler starts.
pub(crate) trait Executor {
    /// Starts an attempt; its end comes back as [`Event::Attempt`].
    fn start(&mut self, attempt: Attempt);

    /// Forgets the attempt of `node`, whose end the scheduler has received.
    fn ended(&mut self, node: usize);

    /// Stops every running attempt and returns once each has been dropped, so its clean-up
    /// (a shell task's process group kill) has run. A sync body cannot be stopped: it is
    /// abandoned, still running.
    fn stop_all(&mut self) -> impl Future<Output = ()> + Send;
}

/// Runs attempts as tokio tasks of this process.
pub(crate) struct LocalExecutor {
    events: UnboundedSender<Event>,
    /// Abort handles rather than join handles: dropping a join handle per attempt costs a
    /// little on the hot path, and only a stop needs to wait.
    handles: Vec<Option<tokio::task::AbortHandle>>,
}

impl LocalExecutor {
    pub(crate) fn new(tasks: usize, events: UnboundedSender<Event>) -> Self {
        LocalExecutor {
            events,
            handles: (0..tasks).map(|_| None).collect(),
        }
    }
}

const BODY_ENDED: u8 = 1;
const RESULT_SENT: u8 = 2;

/// Builds the attempt's [`Invocation`] and calls the task's generated `invoke`.
fn invoke(
    attempt: Attempt,
    log: Option<(&AttemptLog, std::path::PathBuf)>,
    source: Option<AttemptRun>,
    body: Option<Arc<BodyWatch>>,
) -> TaskFuture {
    let (log, log_path) = match log {
        Some((l, p)) => (Some(l.scope.clone()), Some(p)),
        None => (None, None),
    };
    let slot = RunSlot {
        source: source.clone(),
        dag_id: attempt.dag_id.clone(),
        task_id: attempt.task_id.clone(),
        run: None,
    };
    let ctx = TaskContext::new(
        attempt.dag_id,
        attempt.dag_run_id,
        attempt.task_id,
        attempt.try_number,
        attempt.max_tries,
        source.map(|s| s.run),
        log_path,
        attempt.run,
    )
    .with_connections(attempt.connections, attempt.task);
    (attempt.task.invoke)(Invocation {
        inputs: Inputs::new(attempt.inputs, attempt.task.inputs),
        ctx,
        params: attempt.params,
        run: slot,
        log,
        body: body.map(|b| BodyGuard(b)),
    })
}

/// Runs one attempt to its end and reports it, panic or not (cheaper than polling a join
/// handle per task).
async fn run_attempt(
    fut: TaskFuture,
    node: usize,
    try_number: u32,
    timeout: Option<Duration>,
    watch: Option<Arc<BodyWatch>>,
    log: Option<AttemptLog>,
    events: UnboundedSender<Event>,
) {
    let start = Instant::now();
    let timed = async move {
        let result = match timeout {
            // Boxed: the timer is large, and the attempt's future stays small without one.
            Some(limit) => match Box::pin(tokio::time::timeout(limit, fut)).await {
                Ok(r) => r,
                Err(_) => Err(TaskError::TimedOut { after: limit }),
            },
            None => fut.await,
        };
        // An async task that blocks its thread instead of awaiting cannot be interrupted;
        // past its limit it still timed out.
        match (timeout, result) {
            (Some(limit), Ok(_)) if start.elapsed() > limit => {
                Err(TaskError::TimedOut { after: limit })
            }
            (_, r) => r,
        }
    };
    let result = AssertUnwindSafe(timed)
        .catch_unwind()
        .await
        .unwrap_or_else(|payload| {
            Err(TaskError::Panicked {
                message: panic_message(payload),
            })
        });
    let body_running =
        watch.is_some_and(|w| w.state.fetch_or(RESULT_SENT, Ordering::AcqRel) & BODY_ENDED == 0);
    let _ = events.send(Event::Attempt(AttemptEnd {
        node,
        try_number,
        result,
        elapsed: start.elapsed(),
        body_running,
        log: log.map(Box::new),
    }));
}

/// Tells the loop when a sync task's body returns, if its attempt was reported before that.
/// The attempt's [`Invocation`] carries it in a [`BodyGuard`], which is dropped where the body
/// ends: on the blocking thread after a sync body returns (or unwinds).
struct BodyWatch {
    /// [`BODY_ENDED`] and [`RESULT_SENT`], whichever happened.
    state: AtomicU8,
    node: usize,
    try_number: u32,
    events: UnboundedSender<Event>,
}

impl BodyEnd for BodyWatch {
    fn body_ended(&self) {
        if self.state.fetch_or(BODY_ENDED, Ordering::AcqRel) & RESULT_SENT != 0 {
            let _ = self.events.send(Event::BodyEnded {
                node: self.node,
                try_number: self.try_number,
            });
        }
    }
}

impl TaskRunHandle for TaskRun {
    fn run_id(&self) -> Option<String> {
        self.id()
    }

    fn open(&self, try_number: u32, started_ms: i64) -> Result<Run, TrackingError> {
        let id = self.ensure_running(try_number, started_ms)?;
        Run::attach(self.store(), &id)
    }
}

impl Executor for LocalExecutor {
    fn start(&mut self, mut attempt: Attempt) {
        let events = self.events.clone();
        let node = attempt.node;
        let try_number = attempt.try_number;
        // Only a sync body can outlive its attempt; an async one is dropped with it.
        let watch = (!attempt.task.is_async).then(|| {
            Arc::new(BodyWatch {
                state: AtomicU8::new(0),
                node,
                try_number,
                events: events.clone(),
            })
        });
        let body = watch.clone();
        let timeout = attempt.timeout;
        // The task's future is made here, so the spawned future stays small: with 10,000
        // attempts in flight its size shows in the allocator. Making the log does no I/O.
        if node >= self.handles.len() {
            // Instances of a mapped task are added as the run goes.
            self.handles.resize_with(node + 1, || None);
        }
        let handle = match attempt.record.take() {
            None => {
                let fut = invoke(attempt, None, None, body);
                tokio::spawn(run_attempt(
                    fut, node, try_number, timeout, watch, None, events,
                ))
            }
            Some(record) => {
                let (path, log) = record
                    .logs
                    .open(&attempt.task_id, attempt.map_index, try_number);
                let source = AttemptRun {
                    run: Arc::new(record.task_run),
                    try_number,
                    started_ms: record.started_ms,
                };
                let fut = invoke(attempt, Some((&log, path)), Some(source), body);
                let (span, dispatch) = (log.scope.span.clone(), log.scope.dispatch.clone());
                tokio::spawn(
                    run_attempt(fut, node, try_number, timeout, watch, Some(log), events)
                        .instrument(span)
                        .with_subscriber(dispatch),
                )
            }
        };
        self.handles[node] = Some(handle.abort_handle());
    }

    fn ended(&mut self, node: usize) {
        self.handles[node] = None;
    }

    async fn stop_all(&mut self) {
        let running: Vec<_> = self.handles.iter_mut().filter_map(Option::take).collect();
        for h in &running {
            h.abort();
        }
        // A task is finished once its future has been dropped (or had ended on its own).
        while running.iter().any(|h| !h.is_finished()) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}
