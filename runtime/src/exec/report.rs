//! What a DAG run produced: its state, each task's report, the outputs nobody else read.

use std::collections::HashMap;
use std::time::Duration;

use super::state::TaskState;
use crate::task::TaskOutput;

/// Final state of a DAG run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DagRunState {
    /// Every task succeeded or was skipped.
    Success,
    /// At least one task failed or was upstream_failed, or the run passed its
    /// `dagrun_timeout`.
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
    /// The number of its last attempt (0 if it never ran). Try numbers keep counting across
    /// resumes, as in Airflow.
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
    pub(crate) outputs: Vec<Option<TaskOutput>>,
    pub(crate) ids: HashMap<String, usize>,
}

impl DagRunReport {
    /// The report of the task with this id.
    pub fn task(&self, id: &str) -> Option<&TaskReport> {
        self.ids.get(id).map(|&i| &self.tasks[i])
    }

    /// The output of a succeeded task that no other task reads (the DAG's results), if it has
    /// type `T`. An output other tasks read is freed once the last of them has finished, so a
    /// chain of large outputs never holds more than a task's inputs and its output.
    pub fn output<T: 'static>(&self, id: &str) -> Option<&T> {
        let i = *self.ids.get(id)?;
        self.outputs[i].as_ref()?.downcast_ref::<T>()
    }
}
