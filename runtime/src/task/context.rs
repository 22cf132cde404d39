//! What a task can learn about the run it is part of.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::attempt::TaskRunHandle;

/// Facts about the running task instance, injected into a task that takes `ctx: &TaskContext`.
///
/// ```
/// use oxflow_runtime::exec::TaskContext;
/// let ctx = TaskContext::for_test("etl", "extract");
/// assert_eq!((ctx.dag_id(), ctx.task_id(), ctx.try_number()), ("etl", "extract", 1));
/// ```
// The fields are held directly (the strings are shared `Arc`s), not behind one `Arc` of their
// own: one allocation less per attempt, freed on another thread, which the allocator's lock
// made a measurable share of a no-op task's cost.
#[derive(Clone)]
pub struct TaskContext {
    inner: ContextInner,
}

#[derive(Clone)]
struct ContextInner {
    dag_id: Arc<str>,
    dag_run_id: Arc<str>,
    task_id: Arc<str>,
    try_number: u32,
    max_tries: u32,
    task_run: Option<Arc<dyn TaskRunHandle>>,
    log_path: Option<PathBuf>,
}

impl std::fmt::Debug for TaskContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskContext")
            .field("dag_id", &self.inner.dag_id)
            .field("dag_run_id", &self.inner.dag_run_id)
            .field("task_id", &self.inner.task_id)
            .field("try_number", &self.inner.try_number)
            .finish()
    }
}

impl TaskContext {
    pub(crate) fn new(
        dag_id: Arc<str>,
        dag_run_id: Arc<str>,
        task_id: Arc<str>,
        try_number: u32,
        max_tries: u32,
        task_run: Option<Arc<dyn TaskRunHandle>>,
        log_path: Option<PathBuf>,
    ) -> Self {
        TaskContext {
            inner: ContextInner {
                dag_id,
                dag_run_id,
                task_id,
                try_number,
                max_tries,
                task_run,
                log_path,
            },
        }
    }

    /// A context for calling a task directly in a unit test: try 1 of 1, run id `test`.
    pub fn for_test(dag_id: &str, task_id: &str) -> Self {
        Self::new(
            dag_id.into(),
            "test".into(),
            task_id.into(),
            1,
            1,
            None,
            None,
        )
    }

    /// The DAG's id.
    pub fn dag_id(&self) -> &str {
        &self.inner.dag_id
    }

    /// The DAG run's id (the MLflow run id of the DAG run, or a generated id in memory).
    pub fn dag_run_id(&self) -> &str {
        &self.inner.dag_run_id
    }

    /// The task's id in its DAG.
    pub fn task_id(&self) -> &str {
        &self.inner.task_id
    }

    /// The attempt's number, from 1.
    pub fn try_number(&self) -> u32 {
        self.inner.try_number
    }

    /// How many attempts the task gets in all (`retries + 1`).
    pub fn max_tries(&self) -> u32 {
        self.inner.max_tries
    }

    /// The MLflow run id of this task instance, when the run is recorded.
    ///
    /// A task's run is written when the attempt ends, after it has run for a second, or when the
    /// task takes `&mut Run`; before that this is `None`.
    pub fn task_run_id(&self) -> Option<String> {
        self.inner.task_run.as_ref().and_then(|r| r.run_id())
    }

    /// The attempt's log file, when the run is recorded.
    pub fn log_path(&self) -> Option<&Path> {
        self.inner.log_path.as_deref()
    }
}
