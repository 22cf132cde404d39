//! Task metric handles kept across runs of a DAG.
//!
//! A `counter!`/`histogram!` call builds its key and looks the series up in the recorder's
//! registry every time (0.4–1.3 µs with the Prometheus recorder, measured in
//! `benches/telemetry.rs`); incrementing a handle that is kept costs about 0.015 µs. A
//! scheduler runs the same DAG again and again, so the executor keeps each task's handles per
//! DAG, made on first use (a series appears only once something happened to it, as with the
//! macros).
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

/// The finished states a task run is counted under: success, failed, upstream_failed, skipped.
const FINISHED: usize = 4;

/// One task's handles, made on first use.
#[derive(Default)]
struct TaskHandles {
    duration: OnceLock<Histogram>,
    retries: OnceLock<Counter>,
    runs: [OnceLock<Counter>; FINISHED],
}

/// The handles of one DAG's tasks, in the order of its task ids.
pub(crate) struct DagHandles {
    dag: &'static str,
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
        let h = Arc::new(DagHandles {
            dag,
            task_ids: task_ids.clone(),
            tasks: task_ids.iter().map(|_| TaskHandles::default()).collect(),
        });
        kept.insert(dag, h.clone());
        Some(h)
    }

    fn label(&self, node: usize) -> SharedString {
        SharedString::from(self.task_ids[node].clone())
    }

    /// Records a finished attempt's duration.
    pub(crate) fn duration(&self, node: usize, seconds: f64) {
        self.tasks[node]
            .duration
            .get_or_init(|| {
                metrics::histogram!(TASK_DURATION_SECONDS, "dag" => self.dag, "task" => self.label(node))
            })
            .record(seconds);
    }

    /// Counts a retry.
    pub(crate) fn retry(&self, node: usize) {
        self.tasks[node]
            .retries
            .get_or_init(|| {
                metrics::counter!(TASK_RETRIES_TOTAL, "dag" => self.dag, "task" => self.label(node))
            })
            .increment(1);
    }

    /// Counts a finished task run (`state` is one of the finished states).
    pub(crate) fn finished(&self, node: usize, state: TaskState) {
        let slot = match state {
            TaskState::Success => 0,
            TaskState::Failed => 1,
            TaskState::UpstreamFailed => 2,
            _ => 3,
        };
        self.tasks[node].runs[slot]
            .get_or_init(|| {
                metrics::counter!(TASK_RUNS_TOTAL, "dag" => self.dag, "task" => self.label(node), "state" => state.as_str())
            })
            .increment(1);
    }
}
