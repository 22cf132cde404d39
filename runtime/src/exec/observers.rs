//! Everything that watches a run ([`Observers`]): each [`Transition`] the scheduler decides goes
//! once to telemetry, the progress display and the recorder.

use std::sync::Arc;

use super::recorder::RecorderHandle;
use super::state::TaskState;
use super::transition::{EventCallback, ExecEvent, Transition};
use crate::telemetry as t;
use crate::telemetry::handles::DagHandles;

/// What one sensor poke found, as [`t::SENSOR_POKES_TOTAL`] labels it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PokeResult {
    NotReady,
    Ready,
    Error,
}

impl PokeResult {
    fn as_str(self) -> &'static str {
        match self {
            PokeResult::NotReady => "not_ready",
            PokeResult::Ready => "ready",
            PokeResult::Error => "error",
        }
    }
}

/// Everything that watches a run.
pub(crate) struct Observers {
    dag_id: &'static str,
    task_ids: Arc<[Arc<str>]>,
    events: Option<EventCallback>,
    recorder: Option<RecorderHandle>,
    running: metrics::Gauge,
    /// Task metric handles kept across runs, when the recorder allows it.
    kept: Option<Arc<DagHandles>>,
    /// Task figures decided but not yet given to the kept handles: see [`Observers::flush`].
    pending: Vec<(usize, Figure)>,
    /// Attempts started less attempts ended since the last flush, not yet added to `running`.
    running_change: i64,
}

/// One task figure waiting in [`Observers::pending`].
#[derive(Clone, Copy)]
enum Figure {
    Duration(f64),
    Retry,
    Finished(TaskState),
}

/// How many figures wait at most before [`Observers::flush`] hands them over.
const PENDING_FIGURES: usize = 64;

impl Observers {
    /// Watchers of a run of `dag_id`; `kept` are its task metric handles, when the recorder
    /// allows keeping them (`DagHandles::kept`).
    pub(crate) fn new(
        dag_id: &'static str,
        task_ids: Arc<[Arc<str>]>,
        kept: Option<Arc<DagHandles>>,
        events: Option<EventCallback>,
        recorder: Option<RecorderHandle>,
    ) -> Self {
        Observers {
            dag_id,
            kept,
            task_ids,
            running: metrics::gauge!(t::TASKS_RUNNING, "dag" => dag_id),
            events,
            recorder,
            pending: Vec::new(),
            running_change: 0,
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
    pub(crate) fn progress(
        &self,
        node: usize,
        map_index: Option<usize>,
        state: TaskState,
        try_number: u32,
    ) {
        if let Some(f) = &self.events {
            f(&ExecEvent::Task {
                task: self.task_ids[node].to_string(),
                map_index,
                state,
                try_number,
                error: None,
            });
        }
    }

    /// Counts one poke of the sensor at DAG node `node`. (Sensors are few and poke seldom, so
    /// the macros' lookup per poke costs nothing worth keeping handles for.)
    pub(crate) fn sensor_poke(&self, node: usize, result: PokeResult) {
        let task = metrics::SharedString::from(self.task_ids[node].clone());
        metrics::counter!(
            t::SENSOR_POKES_TOTAL,
            "dag" => self.dag_id,
            "task" => task,
            t::LABEL_POKE_RESULT => result.as_str()
        )
        .increment(1);
    }

    /// Counts a sensor that timed out.
    pub(crate) fn sensor_timed_out(&self, node: usize) {
        let task = metrics::SharedString::from(self.task_ids[node].clone());
        metrics::counter!(t::SENSOR_TIMEOUTS_TOTAL, "dag" => self.dag_id, "task" => task)
            .increment(1);
    }

    /// Feeds one transition to telemetry, progress and the recorder.
    pub(crate) fn transition(&mut self, tr: Transition) {
        if self.kept.is_some() {
            self.count_kept(&tr);
        } else {
            self.count(&tr);
        }
        if let Some(f) = &self.events {
            f(&ExecEvent::Task {
                task: self.task_ids[tr.node].to_string(),
                map_index: tr.map_index,
                state: tr.state,
                try_number: tr.try_number,
                error: tr.error.clone(),
            });
        }
        if let Some(r) = &self.recorder {
            r.transition(tr);
        }
    }

    /// Telemetry through the kept handles, in batches: see [`Observers::flush`].
    fn count_kept(&mut self, tr: &Transition) {
        if let Some(a) = &tr.attempt {
            match a.elapsed {
                None => self.running_change += 1,
                Some(elapsed) => {
                    self.running_change -= 1;
                    self.pending
                        .push((tr.node, Figure::Duration(elapsed.as_secs_f64())));
                }
            }
        }
        match tr.state {
            TaskState::UpForRetry => self.pending.push((tr.node, Figure::Retry)),
            s if s.is_finished() => self.pending.push((tr.node, Figure::Finished(s))),
            _ => {}
        }
        if self.pending.len() >= PENDING_FIGURES {
            self.flush();
        }
    }

    /// Hands the waiting task figures to their kept handles. The run loop calls this whenever
    /// it is about to wait and when the run ends, so a figure waits at most until the
    /// scheduler next has nothing to do.
    ///
    /// Why wait at all: each task's handles live in memory of their own, which a run of many
    /// tasks has long evicted from the cache by the time the task ends. One update at a time,
    /// in between the scheduler's own work, pays each miss in full; a batch of updates in one
    /// tight loop overlaps them (`benches/telemetry.rs` measures both).
    pub(crate) fn flush(&mut self) {
        let Some(kept) = &self.kept else { return };
        if self.running_change != 0 {
            // An increment, not a set: runs of one DAG at the same time share the gauge.
            self.running.increment(self.running_change as f64);
            self.running_change = 0;
        }
        for &(node, figure) in &self.pending {
            match figure {
                Figure::Duration(seconds) => kept.duration(node, seconds),
                Figure::Retry => kept.retry(node),
                Figure::Finished(state) => kept.finished(node, state),
            }
        }
        self.pending.clear();
    }

    /// Telemetry through the macros: the recorder is thread-local or its handles are not kept.
    fn count(&self, tr: &Transition) {
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
    }
}
