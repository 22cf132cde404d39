//! The executor: runs a DAG's tasks on tokio and records what happened.
//!
//! Ready tasks run concurrently up to the DAG's `max_active_tasks`; synchronous tasks run on
//! tokio's blocking pool so they never stall the async workers. Each attempt may time out, fail
//! or panic without affecting other tasks; failed attempts are retried with backoff; trigger
//! rules decide what runs after a failure. Outputs are shared between consumers through `Arc`,
//! never copied, and (unless `persist = false`) stored as JSON artifacts of the task's run so
//! [`RunConfig::resume`] reruns only what did not succeed.
//!
//! ```no_run
//! # async fn demo() -> Result<(), oxflow_runtime::exec::ExecError> {
//! use oxflow_runtime::{dag, exec};
//! let spec = dag::find("quickstart").unwrap().spec().unwrap();
//! let report = exec::execute(&spec, exec::RunConfig::in_memory()).await?;
//! println!("{}: {}", report.dag_run_id, report.state);
//! # Ok(()) }
//! ```

mod context;
mod engine;
mod invoke;
mod record;
mod state;
mod tasklog;
pub mod trigger;

pub use context::TaskContext;
pub use engine::{
    DagRunReport, DagRunState, EventCallback, ExecError, ExecEvent, ResolvedParams, RunConfig,
    TaskReport, execute, resolve_params,
};
pub use invoke::{InputValue, Inputs, Invocation, InvokeFn, RunSlot, Task, TaskFuture, TaskOutput};
pub use record::{
    RecordError, TAG_DAG, TAG_DAG_RUN_ID, TAG_ERROR, TAG_STATE, TAG_TASK_ID, TAG_TRY_NUMBER,
    XCOM_ARTIFACT, default_log_root, load_task_log, log_dir_for,
};
pub use state::{BoxError, Fail, Skip, TaskError, TaskState, TaskStateParseError};

#[doc(hidden)]
pub mod __support {
    pub use super::invoke::{
        CalledDag, CloneInput, ContextArg, DAG_IS_NOT_A_TASK, DagMarker, ErrorIsBoxable,
        ErrorIsDisplay, InjectedUnderAnotherName, InputIsData, InputIsInjected, InputType,
        NoParams, OutputType, OutputValue, ParamsArg, Probe, ReturnsResult, ReturnsValue, RunArg,
        Split, UsesParams, clone_input, codec, codec_from, codec_of, context, downcast_output,
        id_repeats, input_needs_success, output, output_value, params_def, params_ref, probe,
        retry_cap_below_delay, run_async, run_blocking, run_mut, type_id_of, uses_params,
    };
}
