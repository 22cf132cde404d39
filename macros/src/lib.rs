//! Attribute macros of oxflow. Use them through the `oxflow` facade crate, which documents them.
//!
//! Each macro is one pipeline: parse the attribute and item into a typed AST, validate it
//! (collecting every error), then generate code. Generated code names the runtime only through
//! `::oxflow::__private`.

mod common;
mod dag;
mod experiment;
mod task;

use proc_macro::TokenStream;

/// Turns a function into a pipeline task; see `oxflow::task`.
#[proc_macro_attribute]
pub fn task(args: TokenStream, item: TokenStream) -> TokenStream {
    task::expand(args.into(), item.into()).into()
}

/// Turns a function whose body wires tasks into a registered pipeline graph; see `oxflow::dag`.
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
