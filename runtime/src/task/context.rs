//! What a task can learn about the run it is part of.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::attempt::TaskRunHandle;
use super::def::TaskDef;
use crate::conn::{ConnError, Connection, env_var_for};
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
    connections: Option<Arc<RunConnections>>,
    /// What the task declared with `#[task(conns = [..])]`; `None` in a test context, where
    /// every connection given with [`TaskContext::with_connection`] may be read.
    declared: Option<&'static [&'static str]>,
}

/// The connections of a DAG run by id, looked up before its first task started.
pub(crate) type RunConnections = BTreeMap<String, Arc<Connection>>;

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
                connections: None,
                declared: None,
            },
        }
    }

    /// The run's connections, of which `task` may read those it declared.
    pub(crate) fn with_connections(
        mut self,
        connections: Option<Arc<RunConnections>>,
        task: &'static TaskDef,
    ) -> Self {
        self.inner.connections = connections;
        self.inner.declared = Some(task.conns);
        self
    }

    /// This context with `conn` available through [`TaskContext::connection`], for unit tests
    /// of tasks that read a connection.
    ///
    /// ```
    /// use oxflow_runtime::conn::Connection;
    /// use oxflow_runtime::exec::TaskContext;
    /// let ctx = TaskContext::for_test("etl", "load").with_connection(Connection::new("warehouse", "postgres"));
    /// assert_eq!(ctx.connection("warehouse").unwrap().conn_type, "postgres");
    /// ```
    pub fn with_connection(mut self, conn: Connection) -> Self {
        let map = self
            .inner
            .connections
            .get_or_insert_with(|| Arc::new(BTreeMap::new()));
        Arc::make_mut(map).insert(conn.id.clone(), Arc::new(conn));
        self
    }

    /// The connection `id`, which the task declared with `#[task(conns = ["id"])]`.
    ///
    /// Every declared connection was looked up (`OXFLOW_CONN_<ID>`, then the connections
    /// file) and parsed before the DAG run's first task started, so this fails only for an id
    /// the task did not declare: declare it, and a missing connection stops the run at its
    /// start instead of in the middle.
    ///
    /// ```
    /// use oxflow_runtime::exec::TaskContext;
    /// let ctx = TaskContext::for_test("etl", "load");
    /// assert!(ctx.connection("warehouse").is_err());
    /// ```
    pub fn connection(&self, id: &str) -> Result<&Connection, ConnError> {
        if let Some(declared) = self.inner.declared
            && !declared.contains(&id)
        {
            return Err(ConnError::NotDeclared {
                id: id.to_owned(),
                task: self.inner.task_id.to_string(),
                declared: declared.iter().map(|d| (*d).to_owned()).collect(),
            });
        }
        self.inner
            .connections
            .as_ref()
            .and_then(|m| m.get(id))
            .map(|c| &**c)
            .ok_or_else(|| ConnError::Missing {
                id: id.to_owned(),
                env_var: env_var_for(id),
                file: None,
            })
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
