//! oxflow: the machine-learning operations loop in one Rust library.
//!
//! Pipelines are plain functions: `#[task]` turns a function into a pipeline step that stays
//! callable and unit-testable, and `#[dag]` wires tasks into a graph whose edges the compiler
//! type-checks. The runtime executes the graph on tokio and records every run in a tracking
//! store laid out exactly as MLflow's file store, so `mlflow ui` and the MLflow client read it.
//!
//! See `examples/quickstart.rs` for a complete pipeline and the README for the tour.

pub use oxflow_runtime::*;

/// The names most pipelines need, in one import: `use oxflow::prelude::*;`.
pub mod prelude {}

/// Runs the command line of a pipeline binary: `list`, `show`, `graph`, `run`, `runs`, `logs`.
///
/// Call it from `main` of a binary that defines DAGs; it exits the process with a non-zero code
/// when the command fails.
///
/// ```no_run
/// fn main() {
///     oxflow::main()
/// }
/// ```
pub fn main() {
    todo!()
}

/// Items the macros' generated code refers to. Not a public API: names and shapes change without
/// notice.
#[doc(hidden)]
pub mod __private {
    pub use oxflow_runtime::__macro_support::*;
}
