//! One task changing state ([`Transition`]), told once to everything that watches a run: the
//! recorder, telemetry and the progress display ([`ExecEvent`]).

use std::sync::Arc;
use std::time::Duration;

use super::config::EventCallback;
use super::invoke::TaskOutput;
use super::recorder::RecorderHandle;
use super::state::TaskState;
use super::tasklog::AttemptLog;
use crate::telemetry as t;

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
        /// Its new state.
        state: TaskState,
        /// The attempt number (0 before the first attempt).
        try_number: u32,
        /// The error of a failed attempt.
        error: Option<String>,
    },
}

/// One task changing state, as the scheduler decided it.
pub(crate) struct Transition {
    pub(crate) node: usize,
    pub(crate) state: TaskState,
    pub(crate) try_number: u32,
    pub(crate) error: Option<String>,
    /// The attempt this transition starts or ends, if any.
    pub(crate) attempt: Option<AttemptFacts>,
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

/// Everything that watches a run.
pub(crate) struct Observers {
    dag_id: &'static str,
    task_ids: Arc<[Arc<str>]>,
    events: Option<EventCallback>,
    recorder: Option<RecorderHandle>,
    running: metrics::Gauge,
}

impl Observers {
    pub(crate) fn new(
        dag_id: &'static str,
        task_ids: Arc<[Arc<str>]>,
        events: Option<EventCallback>,
        recorder: Option<RecorderHandle>,
    ) -> Self {
        Observers {
            dag_id,
            task_ids,
            running: metrics::gauge!(t::TASKS_RUNNING, "dag" => dag_id),
            events,
            recorder,
        }
    }

    pub(crate) fn recorder(&self) -> Option<&RecorderHandle> {
        self.recorder.as_ref()
    }

    pub(crate) fn take_recorder(&mut self) -> Option<RecorderHandle> {
        self.recorder.take()
    }

    /// Tells progress displays, without telling the recorder or telemetry.
    pub(crate) fn event(&self, e: impl FnOnce() -> ExecEvent) {
        if let Some(f) = &self.events {
            f(&e());
        }
    }

    /// A state change that nothing records (scheduled, queued).
    pub(crate) fn progress(&self, node: usize, state: TaskState, try_number: u32) {
        if let Some(f) = &self.events {
            f(&ExecEvent::Task {
                task: self.task_ids[node].to_string(),
                state,
                try_number,
                error: None,
            });
        }
    }

    /// Feeds one transition to telemetry, progress and the recorder.
    pub(crate) fn transition(&self, tr: Transition) {
        // Metric labels share the ids instead of copying them per task.
        let label = || metrics::SharedString::from(self.task_ids[tr.node].clone());
        let dag = self.dag_id;
        if let Some(a) = &tr.attempt {
            match a.elapsed {
                None => self.running.increment(1.0),
                Some(elapsed) => {
                    self.running.decrement(1.0);
                    metrics::histogram!(t::TASK_DURATION_SECONDS, "dag" => dag, "task" => label())
                        .record(elapsed.as_secs_f64());
                }
            }
        }
        match tr.state {
            TaskState::UpForRetry => {
                metrics::counter!(t::TASK_RETRIES_TOTAL, "dag" => dag, "task" => label())
                    .increment(1);
            }
            s if s.is_finished() => {
                metrics::counter!(t::TASK_RUNS_TOTAL, "dag" => dag, "task" => label(), "state" => s.as_str())
                    .increment(1);
            }
            _ => {}
        }
        if let Some(f) = &self.events {
            f(&ExecEvent::Task {
                task: self.task_ids[tr.node].to_string(),
                state: tr.state,
                try_number: tr.try_number,
                error: tr.error.clone(),
            });
        }
        if let Some(r) = &self.recorder {
            r.transition(tr);
        }
    }
}
