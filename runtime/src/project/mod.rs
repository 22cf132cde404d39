//! Projects: a pipeline packaged for reuse, run by name with typed parameters from a directory
//! or a git URL, and recorded with where its code came from (MLflow Projects' role).
//!
//! A project is a crate (or any directory) with an `oxflow.ron` ([`Manifest`]) or MLflow's
//! `MLproject` ([`MlProject`]) at its root. `oxflow project run <dir | git URL> -e ENTRY -P k=v`
//! ([`run`]):
//!
//! 1. resolves the source ([`SourceSpec`]): a directory runs in place; a git URL (also
//!    `file://`, with MLflow's `#subdirectory`) is fetched into a cache and checked out once
//!    per commit (`--version` picks a commit, branch or tag);
//! 2. reads the project file and checks the parameters against its types, before anything is
//!    built; unknown `-P` keys are errors for `oxflow.ron` and passed on as `--key value` for
//!    an `MLproject`, as MLflow does;
//! 3. builds the entry point's cargo target (`cargo build --release`, output streamed), asks
//!    the binary for its parameter schema and to validate the values
//!    ([`BinarySchema`], hidden flags `--oxflow-schema` / `--oxflow-check`);
//! 4. creates the run with MLflow's source tags (`mlflow.source.type` = `PROJECT`,
//!    `mlflow.source.name`, `mlflow.source.git.commit`, `...repoURL`, `...branch`,
//!    `mlflow.project.entryPoint`, `mlflow.project.env`) and starts the entry point with
//!    `MLFLOW_RUN_ID`, `MLFLOW_TRACKING_URI` and `MLFLOW_EXPERIMENT_ID` set, so it logs into
//!    that run (oxflow's DAG and experiment binaries, and MLflow's Python client, all attach);
//! 5. ends the run with the entry point's outcome and exits with its status.
//!
//! [`rerun`] runs a recorded project run again at the same commit with the same parameters.
//!
//! ```no_run
//! use oxflow_runtime::project::{RunRequest, run};
//! let outcome = run(&RunRequest {
//!     uri: "https://github.com/org/wine#project".into(),
//!     entry: "main".into(),
//!     params: vec!["alpha=0.3".into()],
//!     version: Some("v1.2".into()),
//!     ..RunRequest::default()
//! })?;
//! println!("run {} ended {} (exit {})", outcome.run_id, outcome.status, outcome.exit_code);
//! # Ok::<(), oxflow_runtime::project::ProjectError>(())
//! ```

pub mod cli;
mod command;
mod error;
mod init;
mod manifest;
mod mlproject;
mod param;
mod runner;
mod schema;
mod source;

pub use command::{TemplateError, fill_template, mlflow_command, shell_quote};
pub use error::{ProjectError, SyntaxError};
pub use init::init;
pub use manifest::{EntryKind, EntryPoint, MANIFEST_FILE, Manifest, Param, Target};
pub use mlproject::{MlEntryPoint, MlEnv, MlParam, MlProject};
pub use param::{ParamType, ValueError, param_type_of_rust};
pub use runner::{
    ProjectFile, RunOutcome, RunRequest, TAG_ENTRY_POINT, TAG_GIT_BRANCH, TAG_GIT_COMMIT,
    TAG_GIT_REPO_URL, TAG_PROJECT_ARGS, TAG_PROJECT_BACKEND, TAG_PROJECT_ENV, TAG_PROJECT_FILE,
    TAG_RERUN_OF, rerun, run,
};
pub use schema::{
    BinarySchema, CHECK_FLAG, CheckResult, EntrySchema, ParamSchema, SCHEMA_FLAG, SCHEMA_VERSION,
};
pub(crate) use schema::{answer as answer_schema_flags, dag_schema, experiment_schema};
pub use source::{Fetched, SourceSpec, cache_root};
