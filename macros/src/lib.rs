//! Attribute macros of oxflow. Use them through the `oxflow` facade crate, which documents them.
//!
//! Each macro is one pipeline: parse the attribute and item into a typed AST, validate it
//! (collecting every error), then generate code. Generated code names the runtime only through
//! `::oxflow::__private`.

mod common;
mod dag;
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
