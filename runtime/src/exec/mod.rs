//! The executor: runs a DAG's tasks on tokio and records what happened.
//!
//! Ready tasks run concurrently up to the DAG's `max_active_tasks`; synchronous tasks run on
//! tokio's blocking pool so they never stall the async workers. Each attempt may time out, fail
//! or panic without affecting other tasks; failed attempts are retried with backoff; trigger
//! rules decide what runs after a failure. Outputs are shared between consumers through `Arc`,
//! never copied, freed once their last reader has finished, and (unless `persist = false`)
//! stored as JSON artifacts of the task's run ([`xcom`]) so [`RunConfig::resume`] reruns only
//! what did not succeed.
//!
//! Inside, deciding and running are apart: a scheduler (trigger rules, retries, states; no I/O)
//! hands attempts to an executor (tokio tasks in this process), and each task transition goes
//! once to the recorder (an actor on its own thread that batches writes to the store),
//! telemetry and the progress display.
//!
//! What a task is written against ([`TaskContext`], [`TaskError`], [`Skip`], [`Fail`],
//! [`Invocation`], [`xcom`]) is defined beneath this module and `dag`, which share it, and is
//! public here.
//!
//! ```no_run
//! # async fn demo() -> Result<(), oxflow_runtime::exec::ExecError> {
//! use oxflow_runtime::{dag, exec};
//! let spec = dag::find("quickstart").unwrap().spec().unwrap();
//! let report = exec::execute(&spec, exec::RunConfig::in_memory()).await?;
//! println!("{}: {}", report.dag_run_id, report.state);
//! # Ok(()) }
//! ```

mod config;
mod executor;
mod observers;
mod record;
pub(crate) use record::{Begin, host_name, queued_run};
pub(crate) use resume::process_alive;
pub(crate) use run::spec_series_at_zero;
mod recorder;
mod report;
mod resume;
mod run;
mod scheduler;
mod state;
mod tasklog;
mod threads;
mod transition;
pub mod trigger;

pub use crate::task::xcom;
pub use crate::task::{
    BoxError, Fail, InputValue, Inputs, Invocation, InvokeFn, RunSlot, Skip, Task, TaskContext,
    TaskError, TaskFuture, TaskOutput,
};
pub use config::{ExecError, QueuedRun, ResolvedParams, RunConfig, resolve_params};
pub use record::{
    RecordError, TAG_DAG, TAG_DAG_RUN_ID, TAG_ERROR, TAG_HOST, TAG_MAP_INDEX, TAG_OUTPUT_TYPE,
    TAG_PID, TAG_SENSOR_FIRST_POKE, TAG_SENSOR_NEXT_POKE, TAG_SENSOR_POKES, TAG_STATE, TAG_TASK_ID,
    TAG_TRY_NUMBER, XCOM_ARTIFACT, default_log_root, load_task_log, log_dir_for,
};
pub use report::{DagRunReport, DagRunState, TaskReport};
pub use run::execute;
pub use state::{TaskState, TaskStateParseError};
pub use transition::{EventCallback, ExecEvent};
