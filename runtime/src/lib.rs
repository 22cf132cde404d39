//! The runtime behind oxflow's attribute macros.
//!
//! Users depend on the `oxflow` facade crate, which re-exports this crate and the macros. One
//! module per concept:
//!
//! - [`dag`]: the graph model that `#[dag]` produces, its validation and rendering, and the
//!   registry of every DAG a binary contains;
//! - [`exec`]: the tokio executor: concurrency limits, retries, timeouts, trigger rules, task
//!   states, output hand-off, resume;
//! - [`model`]: typed MLflow signatures, the JSON predict entry point, the model types a
//!   binary contains;
//! - [`params`]: typed parameter sets and `-P key=value` overrides;
//! - [`conn`]: connections by id (`OXFLOW_CONN_<ID>`, `connections.ron`), the secrets masker,
//!   and hooks (HTTP; PostgreSQL with the `postgres` feature);
//! - [`tracking`]: experiments, runs, params, metrics, tags and artifacts in a store MLflow reads;
//! - [`telemetry`]: every metric name oxflow records, in one place;
//! - [`drift`]: data, label and concept drift detection;
//! - [`shell`]: shell commands inside tasks (Airflow's `BashOperator`);
//! - [`project`]: `oxflow.ron` and MLflow's `MLproject`: entry points run by name with typed
//!   parameters from a directory or a git URL, recorded with their source;
//! - [`cli`]: the command line every pipeline binary gets through `oxflow::main()`;
//! - [`error`]: the root [`Error`] every concept's error converts into.
//!
//! Beneath `dag` and `exec` lies what both build on: the types a task is written and generated
//! against (`TaskDef`, `TaskOptions`, `TaskContext`, `TaskError`, the output codec), public
//! through those two modules.

pub mod cli;
pub mod conn;
pub mod dag;
pub mod drift;
pub mod error;
pub mod exec;
pub mod model;
pub mod monitor;
pub mod params;
pub mod project;
pub mod schedule;
pub mod sensor;
pub mod serve;
pub mod shell;
mod task;
pub mod telemetry;
pub mod tracking;

pub use error::Error;

/// Items the generated code of `oxflow-macros` refers to, re-exported by the facade as
/// `oxflow::__private`. Not a public API.
#[doc(hidden)]
pub mod __macro_support {
    pub use crate::dag::{
        BranchDef, DagAlerts, DagDef, DagRegistration, GroupDef, InputDef, MapDef, NodeDef,
        NodeFlow,
    };
    pub use crate::schedule::{Overlap, ScheduleOptions};
    pub use crate::task::sensor::{Poke, SensorDef, SensorMode};
    pub use crate::task::support::*;
    pub use crate::task::{
        InputParam, InputType, Invocation, Persist, Task, TaskDef, TaskFuture, TaskOptions,
        TaskOutput, TriggerRule, codec, codec_from, run_async, run_blocking,
    };
    pub use inventory;
    // #[experiment]
    pub use crate::cli::run_experiment;
    pub use crate::params::{
        NamedExperiment, ParamError, ParamSet, ParamSpec, ParamValue, check_range,
    };
    pub use serde;
    // #[model], #[derive(Schema)]
    pub use crate::model::ParamSpec as InferenceParamSpec;
    pub use crate::model::{
        ColSpec, ColType, ColumnValue, InferenceParams, ModelError, ModelRegistration, ModelType,
        ModelTypeInfo, Predict, PredictParams, Row, Schema, dyn_from_json,
        predict_json_with_params,
    };
    pub use serde_json;
}
