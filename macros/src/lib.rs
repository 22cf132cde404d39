//! Attribute macros of oxflow. Use them through the `oxflow` facade crate, which documents them.
//!
//! Each macro is one pipeline: parse the attribute and item into a typed AST, validate it
//! (collecting every error), then generate code. Generated code names the runtime only through
//! `::oxflow::__private`.

mod common;
mod dag;
mod experiment;
mod model;
mod schema;
mod sensor;
mod task;

use proc_macro::TokenStream;

/// Turns a function into a pipeline task. The function stays an ordinary function; `#[dag]`
/// bodies call it to add a node.
///
/// Options: `id = "..."`, `retries = 3`, `retry_delay = "2s"`, `backoff = 2.0`,
/// `max_retry_delay = "1m"` (not below `retry_delay`), `timeout = "5m"` (longer than zero),
/// `trigger = "all_done"` (Airflow's twelve rules), `persist = false` (do not store the output,
/// so a resumed run reruns the task).
///
/// Arguments are inputs fed by upstream tasks (`&T` shared, `T` cloned, `Option<&T>` or
/// `Option<T>`: `None` when the upstream did not succeed), or injected: `&TaskContext`,
/// `&Params<P>`, `&mut Run` (the only `&mut` argument). A trigger rule other than `all_success`
/// can run the task after an upstream failed or skipped, so with one every input must be an
/// `Option`. The return type is the output, or a `Result<T, E>` under any name (an alias,
/// `io::Result<T>`): `T` is the output and an `Err` fails the attempt, keeping the error and its
/// causes; `oxflow::exec::Skip` ends the task skipped and `oxflow::exec::Fail` fails it without
/// retry. The output must be `Serialize + Deserialize` unless `persist = false`.
///
/// ```text
/// #[task(retries = 3, retry_delay = "2s", backoff = 2.0, timeout = "5m")]
/// async fn extract(ctx: &TaskContext) -> Result<Dataset, IoError> { .. }
/// ```
#[proc_macro_attribute]
pub fn task(args: TokenStream, item: TokenStream) -> TokenStream {
    task::expand(args.into(), item.into()).into()
}

/// Turns a function returning `Poke<T>` (or `Result<Poke<T>, E>`) into a sensor: a task the
/// executor pokes until it returns `Poke::Ready(value)`; `value` is its output.
///
/// Options: `poke_interval = "30s"` (default 60 s), `timeout = "1h"` (the whole wait, counted
/// from the first poke; default 7 days), `mode = "poke"` (holds its slot) or `"reschedule"`
/// (frees it between pokes), `soft_fail = true` (a timeout skips rather than fails),
/// `exponential_backoff = true` with an optional `max_wait = "10m"`, and a task's `id`,
/// `conns`, `retries`, `retry_delay`, `backoff`, `max_retry_delay`, `trigger`, `persist`.
/// Inputs and injected arguments are a task's.
///
/// ```text
/// #[sensor(poke_interval = "30s", timeout = "1h", mode = "reschedule", soft_fail = true)]
/// fn landed(ctx: &TaskContext) -> Result<Poke<Vec<PathBuf>>, SensorError> {
///     FileSensor::glob("/data/in/*.csv").poke(ctx)
/// }
/// ```
#[proc_macro_attribute]
pub fn sensor(args: TokenStream, item: TokenStream) -> TokenStream {
    sensor::expand(args.into(), item.into()).into()
}

/// Turns a function whose body wires tasks into a pipeline graph, built and type-checked at
/// compile time and registered so the binary's command line finds it. The function then
/// returns the DAG's definition (`&'static DagDef`).
///
/// The body holds only `let x = task(..);`, `let (a, b) = task(..);`, `task(..);` and order
/// edges `a >> b`, `a >> [b, c]`, `[a, b] >> c`; `#[task_id = "..."]` names a call. Task ids
/// are unique in a DAG, including ids set with `#[task(id = ...)]` (checked at compile time).
/// Options: `id`, `description` (default: the doc comment), `schedule` (a five-field cron
/// expression or a preset such as `"@daily"`), `params = Type`, `max_active_tasks = 4`,
/// `tags = ["ml"]`, `default_args(retries = 2, ...)` (any task option; a default `trigger` other
/// than `all_success` needs `Option` inputs in the tasks that do not set their own).
///
/// ```text
/// #[dag(schedule = "0 3 * * *", params = TrainParams, max_active_tasks = 4)]
/// fn training() {
///     let data = extract();
///     let (train_set, test_set) = split(&data);
///     let model = train(&train_set);
///     report(&model, &test_set) >> cleanup();
/// }
/// ```
#[proc_macro_attribute]
pub fn dag(args: TokenStream, item: TokenStream) -> TokenStream {
    dag::expand(args.into(), item.into()).into()
}

/// Turns a struct of parameters into a typed parameter set, or a function into an experiment
/// entry point.
///
/// On a struct: defaults (`#[param(default = ...)]`), serde, typed parsing of `-P key=value`
/// overrides, range validation (`#[param(range = 0.0..=1.0)]`), the pairs logged to a run, and
/// a schema (name, type, default, help from doc comments) — `oxflow::params::ParamSet`.
///
/// ```ignore
/// #[oxflow::experiment(name = "iris")]
/// struct TrainParams {
///     /// Number of trees.
///     #[param(default = 100, range = 1..=1000)]
///     n_trees: u32,
/// }
/// ```
///
/// On `fn train(params: TrainParams, run: &mut Run) -> Result<T, E>`: `train()` parses the
/// command line's overrides, starts a run in the experiment, logs the params, runs the body
/// and ends the run FINISHED, FAILED (error or panic) or KILLED (Ctrl-C).
#[proc_macro_attribute]
pub fn experiment(args: TokenStream, input: TokenStream) -> TokenStream {
    experiment::expand(args.into(), input.into()).into()
}

/// Marks a type implementing `Predict` as a model: its MLflow signature is computed at compile
/// time from `input` and `output` (row types deriving `Schema`), and the type is registered so a
/// binary can load a stored model of it by name.
///
/// Options: `input = Row` and `output = Prediction` (required; they must be the `Predict`
/// impl's `Input` and `Output`), `name = "..."` (the registered name; default the type's name).
/// The type must also implement `Serialize` and `Deserialize`: it is saved in the Rust flavor.
///
/// ```text
/// #[model(input = House, output = Price)]
/// #[derive(Serialize, Deserialize)]
/// struct PriceModel { per_m2: f64 }
/// ```
#[proc_macro_attribute]
pub fn model(args: TokenStream, item: TokenStream) -> TokenStream {
    model::expand(args.into(), item.into()).into()
}

/// Derives `Schema` for a row struct: each named field is a column of an MLflow signature,
/// typed from the field's type (`f64` double, `f32` float, `i64` long, `i32` integer, `bool`
/// boolean, `String` string, `Vec<u8>` binary, `SystemTime` datetime, `Option<T>` not required,
/// `Vec<T>`/`[T; N]` array). `#[schema(rename = "...")]` names a column that is not a Rust
/// identifier.
///
/// ```text
/// #[derive(Schema)]
/// struct House { area: f64, #[schema(rename = "year built")] year: Option<i32> }
/// ```
#[proc_macro_derive(Schema, attributes(schema))]
pub fn derive_schema(item: TokenStream) -> TokenStream {
    schema::expand(item.into()).into()
}
