//! Task metric handles kept across runs of a DAG.
//!
//! A `counter!`/`histogram!` call builds its key and looks the series up in the recorder's
//! registry every time (0.4–1.3 µs with the Prometheus recorder, measured in
//! `benches/telemetry.rs`); incrementing a handle that is kept costs about 0.015 µs. A
//! scheduler runs the same DAG again and again, so the executor keeps each task's handles per
//! DAG.
//!
//! All of a DAG's task series are made together, at zero, before its first run: its duration
//! histogram, its retries and its runs in each finished state. Two reasons:
//! - Prometheus's advice for series known in advance. A counter that first appears at 1 has no
//!   `increase()`, so without it the first failure or retry of a task in a long-running
//!   scheduler would never reach an alert built on `increase(...) > 0`.
//! - Made in one go, the handles sit together in memory instead of scattered among the first
//!   run's short-lived allocations, which otherwise slowed the allocator in every later run
//!   (`benches/telemetry.rs`: 1.3 µs added per task on one thread, against 0.4 µs this way).
//!
//! A handle belongs to the recorder that made it. Handles are kept only while the recorder in
//! effect is the process-wide one registered with [`keep_handles_of_global_recorder`] (which
//! [`Exporter::install`](super::export::Exporter::install) calls): a thread-local recorder
//! (`metrics::with_local_recorder`, as tests use) or no registration means the macros, as
//! before, so a handle can never outlive or bypass the recorder it reports to.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use metrics::{Counter, Histogram, SharedString};

use crate::exec::TaskState;

use super::{TASK_DURATION_SECONDS, TASK_RETRIES_TOTAL, TASK_RUNS_TOTAL};

/// The address of the process-wide recorder whose handles may be kept.
static GLOBAL_RECORDER: OnceLock<usize> = OnceLock::new();

/// Kept handles by DAG id.
static KEPT: Mutex<Option<HashMap<&'static str, Arc<DagHandles>>>> = Mutex::new(None);

fn current_recorder() -> usize {
    metrics::with_recorder(|r| std::ptr::from_ref(r).cast::<()>() as usize)
}

/// Lets the executor keep task metric handles across runs, for the recorder installed with
/// `metrics::set_global_recorder`. Call it once, after installing the recorder, from a
/// thread that has no local recorder set; [`Exporter::install`](super::export::Exporter::install)
/// does this for oxflow's own exporter. Without it every task looks its series up again.
///
/// ```
/// // No recorder is installed here: this keeps handles of the no-op recorder, harmlessly.
/// oxflow_runtime::telemetry::keep_handles_of_global_recorder();
/// ```
pub fn keep_handles_of_global_recorder() {
    // Read from a fresh thread: it has no thread-local recorder, so it sees the global one.
    let global = std::thread::spawn(current_recorder)
        .join()
        .expect("reading the recorder does not panic");
    let _ = GLOBAL_RECORDER.set(global);
}

/// The finished states a task run is counted under, in the order of [`TaskHandles::runs`].
const FINISHED: [TaskState; 4] = [
    TaskState::Success,
    TaskState::Failed,
    TaskState::UpstreamFailed,
    TaskState::Skipped,
];

/// One task's handles.
struct TaskHandles {
    duration: Histogram,
    retries: Counter,
    runs: [Counter; FINISHED.len()],
}

/// The handles of one DAG's tasks, in the order of its task ids.
pub(crate) struct DagHandles {
    task_ids: Arc<[Arc<str>]>,
    tasks: Box<[TaskHandles]>,
}

impl DagHandles {
    /// The kept handles of `dag` with these tasks, when the recorder in effect is the
    /// registered global one; `None` means: use the macros.
    pub(crate) fn kept(dag: &'static str, task_ids: &Arc<[Arc<str>]>) -> Option<Arc<DagHandles>> {
        let global = *GLOBAL_RECORDER.get()?;
        if current_recorder() != global {
            return None;
        }
        let mut kept = KEPT.lock().unwrap_or_else(|e| e.into_inner());
        let kept = kept.get_or_insert_with(HashMap::new);
        if let Some(h) = kept.get(dag) {
            // The same id may name another graph (a DAG built at run time): compare the tasks.
            if h.task_ids.len() == task_ids.len()
                && h.task_ids.iter().zip(task_ids.iter()).all(|(a, b)| a == b)
            {
                return Some(h.clone());
            }
        }
        let h = Arc::new(DagHandles::new(dag, task_ids));
        kept.insert(dag, h.clone());
        Some(h)
    }

    /// Every series of every task of `dag`, at zero.
    fn new(dag: &'static str, task_ids: &Arc<[Arc<str>]>) -> DagHandles {
        let tasks = task_ids
            .iter()
            .map(|id| {
                let task = || SharedString::from(id.clone());
                TaskHandles {
                    duration: metrics::histogram!(TASK_DURATION_SECONDS, "dag" => dag, "task" => task()),
                    retries: metrics::counter!(TASK_RETRIES_TOTAL, "dag" => dag, "task" => task()),
                    runs: FINISHED.map(|state| {
                        metrics::counter!(TASK_RUNS_TOTAL, "dag" => dag, "task" => task(), "state" => state.as_str())
                    }),
                }
            })
            .collect();
        DagHandles {
            task_ids: task_ids.clone(),
            tasks,
        }
    }

    /// Records a finished attempt's duration.
    pub(crate) fn duration(&self, node: usize, seconds: f64) {
        self.tasks[node].duration.record(seconds);
    }

    /// Counts a retry.
    pub(crate) fn retry(&self, node: usize) {
        self.tasks[node].retries.increment(1);
    }

    /// Counts a finished task run (`state` is one of the finished states).
    pub(crate) fn finished(&self, node: usize, state: TaskState) {
        if let Some(slot) = FINISHED.iter().position(|&s| s == state) {
            self.tasks[node].runs[slot].increment(1);
        }
    }
}
