//! What a task can learn about the run it is part of.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::attempt::TaskRunHandle;
use crate::schedule::{DataInterval, RunType};

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
    interval: Option<DataInterval>,
    run_type: RunType,
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
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        dag_id: Arc<str>,
        dag_run_id: Arc<str>,
        task_id: Arc<str>,
        try_number: u32,
        max_tries: u32,
        task_run: Option<Arc<dyn TaskRunHandle>>,
        log_path: Option<PathBuf>,
        (run_type, interval): (RunType, Option<DataInterval>),
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
                interval,
                run_type,
            },
        }
    }

    /// This context for a run of `interval` started by `run_type`, for unit tests of tasks
    /// that read their data interval.
    ///
    /// ```
    /// use oxflow_runtime::exec::TaskContext;
    /// use oxflow_runtime::schedule::{DataInterval, RunType};
    /// let (start, end) = ("2026-03-01T00:00:00Z".parse().unwrap(), "2026-03-02T00:00:00Z".parse().unwrap());
    /// let ctx = TaskContext::for_test("etl", "extract").with_interval(RunType::Scheduled, DataInterval { start, end });
    /// assert_eq!(ctx.logical_date(), Some(start));
    /// ```
    pub fn with_interval(mut self, run_type: RunType, interval: DataInterval) -> Self {
        self.inner.run_type = run_type;
        self.inner.interval = Some(interval);
        self
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
            (RunType::Manual, None),
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

    /// The run's logical date (Airflow's `logical_date`): the start of its data interval.
    /// `None` for a run started by hand, as in Airflow 3.
    pub fn logical_date(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.inner.interval.map(|i| i.start)
    }

    /// The data interval the run processes (`data_interval_start`, `data_interval_end`);
    /// `None` for a run started by hand.
    pub fn data_interval(&self) -> Option<DataInterval> {
        self.inner.interval
    }

    /// What started the run: the scheduler, a backfill or a person.
    pub fn run_type(&self) -> RunType {
        self.inner.run_type
    }

    /// The attempt's log file, when the run is recorded.
    pub fn log_path(&self) -> Option<&Path> {
        self.inner.log_path.as_deref()
    }
}
