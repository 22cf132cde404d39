//! One task changing state ([`Transition`]), told once to everything that watches a run (the
//! recorder, telemetry, and the progress display through [`ExecEvent`]s).

use std::sync::Arc;
use std::time::Duration;

use super::state::TaskState;
use super::tasklog::AttemptLog;
use crate::task::TaskOutput;

/// A state change, for progress displays.
#[derive(Clone, Debug, PartialEq)]
pub enum ExecEvent {
    /// The DAG run started with this many tasks (and this many reused from an earlier run).
    Started {
        /// The DAG run's id.
        dag_run_id: String,
        /// Number of tasks.
        tasks: usize,
        /// Tasks whose state was carried over by a resume.
        reused: usize,
    },
    /// A resumed run runs a task again although it succeeded before.
    Rerun {
        /// The task id.
        task: String,
        /// Why, such as "its output type changed from `u32` to `String`".
        reason: String,
    },
    /// A task changed state.
    Task {
        /// The task id.
        task: String,
        /// For an instance of a mapped task, its index in the list.
        map_index: Option<usize>,
        /// Its new state.
        state: TaskState,
        /// The attempt number (0 before the first attempt).
        try_number: u32,
        /// The error of a failed attempt.
        error: Option<String>,
    },
}

/// Receives every [`ExecEvent`] of a run.
pub type EventCallback = Arc<dyn Fn(&ExecEvent) + Send + Sync>;

/// One task changing state, as the scheduler decided it.
pub(crate) struct Transition {
    /// The DAG node.
    pub(crate) node: usize,
    /// The instance of a mapped node, if this is one.
    pub(crate) map_index: Option<usize>,
    pub(crate) state: TaskState,
    pub(crate) try_number: u32,
    pub(crate) error: Option<String>,
    /// The attempt this transition starts or ends, if any.
    pub(crate) attempt: Option<AttemptFacts>,
    /// A sensor's wait so far, to record beside its state.
    pub(crate) sensor: Option<SensorFacts>,
}

/// Where a sensor's wait stands, as recorded on its task run.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SensorFacts {
    /// When its first poke started, in ms since the epoch: the timeout counts from it.
    pub(crate) first_poke_ms: i64,
    /// Pokes that found the condition not met, in this DAG run's process.
    pub(crate) pokes: u32,
    /// When the next poke is due, in ms since the epoch, while it waits.
    pub(crate) next_poke_ms: Option<i64>,
}

/// What an attempt's record needs.
pub(crate) struct AttemptFacts {
    /// When the attempt started, in ms since the epoch.
    pub(crate) started_ms: i64,
    /// How long it ran; `None` when the transition starts it.
    pub(crate) elapsed: Option<Duration>,
    /// Its output, when it succeeded.
    pub(crate) output: Option<TaskOutput>,
    /// Its log, for the executor's own lines about it.
    pub(crate) log: Option<AttemptLog>,
    /// Stopped from outside (interrupt, DAG-run timeout), not ended by the task.
    pub(crate) killed: bool,
}
