//! What `#[task]` and `#[dag]` generate to describe a task: the [`Task`] trait on a hidden type
//! named after the function, its constant [`TaskDef`], and a DAG's params type ([`ParamsDef`]).

use std::any::TypeId;
use std::fmt;

use super::codec::OutputCodec;
use super::invocation::{InputParam, InvokeFn, TaskOutput};
use super::options::TaskOptions;
use super::sensor::SensorDef;
use crate::params::{ParamError, ParamSpec};

/// A `#[task]` function, seen as a pipeline node. `#[task]` implements it on a hidden struct of
/// the function's name; `#[dag]` uses it to find the task's definition and to type-check edges.
///
/// Whether the task is fallible is decided by the type it returns, not by how the type is
/// written: `Result<T, E>` under any name (an alias, `io::Result<T>`, `use ... as`) outputs `T`
/// and fails the attempt on `Err`; any other type is the output itself.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a `#[task]`",
    label = "not a task",
    note = "add `#[task]` to the function, or call it from inside a task: a `#[dag]` body only wires tasks"
)]
pub trait Task {
    /// The function's return type, as the compiler sees it: `T`, or `Result<T, E>`.
    type Return;
    /// A function pointer type taking the task's inputs (injected arguments left out) and
    /// returning [`Task::Return`].
    type Signature;
    /// The task's definition.
    const DEF: TaskDef;
}

/// One task, as `#[task]` describes it. Generated code builds it as a constant.
#[derive(Clone, Copy, Debug)]
pub struct TaskDef {
    /// The task id: the function's name, or `#[task(id = "...")]`.
    pub name: &'static str,
    /// The task's options as written on the function (unset ones fall back to the DAG's).
    pub options: TaskOptions,
    /// The parameters that receive upstream outputs, in order.
    pub inputs: &'static [InputParam],
    /// The output type as written, for display.
    pub output_type: &'static str,
    /// Whether the function is `async`.
    pub is_async: bool,
    /// Runs one attempt.
    pub invoke: InvokeFn,
    /// Stores and restores outputs; `None` with `#[task(persist = false)]`.
    pub codec: Option<OutputCodec>,
    /// The `P` of an injected `&Params<P>`, when the task takes one.
    pub params_type: Option<ParamsType>,
    /// `#[task(short_circuit)]`: the task returns `bool`, and `false` skips every task
    /// downstream of it, whatever their trigger rules (Airflow's `@task.short_circuit` with
    /// `ignore_downstream_trigger_rules=True`, its default).
    pub short_circuit: bool,
    /// `#[task(conns = ["warehouse"])]`: the ids of the connections the task reads through
    /// `ctx.connection(..)`. A DAG run looks every one up before any task starts.
    pub conns: &'static [&'static str],
    /// `#[sensor(...)]`: the task is a sensor, poked until it returns `Poke::Ready` or its
    /// timeout passes; `None` for a `#[task]`.
    pub sensor: Option<SensorDef>,
}

/// The `TypeId` and name of a params type.
pub type ParamsType = (fn() -> TypeId, &'static str);

/// Builds a DAG's params from overrides: the injected `Params<T>` and the pairs to log.
pub type BuildParams =
    fn(&[(String, String)]) -> Result<(TaskOutput, Vec<(String, String)>), ParamError>;

/// The params type of a DAG (`#[dag(params = T)]`), as functions over type-erased values.
#[derive(Clone, Copy)]
pub struct ParamsDef {
    /// The Rust type's name, for messages.
    pub type_name: fn() -> &'static str,
    /// The `TypeId` of the params type.
    pub type_id: fn() -> TypeId,
    /// Name, type, default and help of every parameter.
    pub schema: fn() -> &'static [ParamSpec],
    /// Defaults plus `key=value` overrides, validated: the injected `Params<T>` and the values to
    /// log, one pair per parameter.
    pub build: BuildParams,
}

impl fmt::Debug for ParamsDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParamsDef")
            .field("type_name", &(self.type_name)())
            .finish()
    }
}
