//! oxflow: the machine-learning operations loop in one Rust library.
//!
//! Pipelines are plain functions: [`task`](macro@task) turns a function into a pipeline step that stays
//! callable and unit-testable, and [`dag`](macro@dag) wires tasks into a graph whose edges the compiler
//! type-checks. The runtime executes the graph on tokio and records every run in a tracking
//! store laid out exactly as MLflow's file store, so `mlflow ui` and the MLflow client read it.
//! [`experiment`] gives typed parameters; [`model`](macro@model) and [`Schema`](derive@Schema)
//! give a model its MLflow signature at compile time, and [`model`](mod@model) logs, registers
//! and loads it; [`drift`] compares data with a reference.
//!
//! ```
//! use oxflow::prelude::*;
//!
//! #[task]
//! fn load() -> Vec<f64> {
//!     vec![1.0, 2.0, 3.0]
//! }
//!
//! #[task(retries = 2, retry_delay = "1s", timeout = "5m")]
//! async fn mean(rows: &Vec<f64>) -> Result<f64, String> {
//!     if rows.is_empty() { return Err("no rows".into()) }
//!     Ok(rows.iter().sum::<f64>() / rows.len() as f64)
//! }
//!
//! #[task(trigger = "all_done")]
//! fn report(mean: Option<&f64>) -> String {
//!     format!("mean: {mean:?}")
//! }
//!
//! /// Averages the rows.
//! #[dag(schedule = "@daily", max_active_tasks = 4)]
//! fn averages() {
//!     let rows = load();
//!     let m = mean(&rows);
//!     report(&m);
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! // A binary's `main` is usually `oxflow::main()` (`run averages`, `graph averages`, ...);
//! // a test runs the graph directly, in memory:
//! let spec = averages().spec().unwrap();
//! let run = oxflow::exec::execute(&spec, oxflow::exec::RunConfig::in_memory()).await.unwrap();
//! assert_eq!(run.output::<String>("report").unwrap(), "mean: Some(2.0)");
//! # }
//! ```
//!
//! See `examples/quickstart.rs` for a complete pipeline and the README for the tour.

pub use oxflow_macros::{Schema, dag, experiment, model, sensor, task};
pub use oxflow_runtime::model::{Predict, Schema};
pub use oxflow_runtime::*;

/// The names most pipelines need, in one import: `use oxflow::prelude::*;`.
pub mod prelude {
    pub use oxflow_macros::{Schema, dag, model, sensor, task};
    pub use oxflow_runtime::exec::TaskContext;
    pub use oxflow_runtime::model::{Predict, PredictParams, Schema};
    pub use oxflow_runtime::params::Params;
    pub use oxflow_runtime::sensor::Poke;
    pub use oxflow_runtime::shell::{Shell, ShellOutput};
    pub use oxflow_runtime::tracking::Run;
}

/// Runs the command line of a pipeline binary: `list`, `show`, `graph`, `run`, `runs`, `logs`.
///
/// Call it from `main` of a binary that defines DAGs; it exits the process with the command's
/// status ([`cli::Exit`]: 0 success, 1 a failed DAG run, 2 an error, 130 interrupted by Ctrl-C,
/// 143 stopped by SIGTERM). The standalone `oxflow` binary runs the same command line without
/// DAGs of its own ([`cli::standalone_main`]).
///
/// ```no_run
/// // the whole `main` of a pipeline binary:
/// oxflow::main();
/// ```
pub fn main() {
    oxflow_runtime::cli::main()
}

/// Items the macros' generated code refers to. Not a public API: names and shapes change without
/// notice.
#[doc(hidden)]
pub mod __private {
    pub use oxflow_runtime::__macro_support::*;
}
