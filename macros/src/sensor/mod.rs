//! `#[sensor]`: a task that is poked until ready. Its options are parsed and checked here
//! (`args`, `check`); the function is a task's (`task::ast`, `task::check`), and its code a
//! task's with a sensor definition and a poke outcome (`task::codegen`).

mod args;
mod check;

pub(crate) use args::SensorArgs;

use proc_macro2::TokenStream;

use crate::common::Errors;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let option_errors = Errors::default();
    let args = args::parse(args, &option_errors);
    if let Some(sensor) = &args.sensor {
        check::check(sensor, &option_errors);
    }
    crate::task::expand_parsed(
        args,
        option_errors,
        item,
        "`#[sensor]` goes on a function returning a poke: `#[sensor] fn name(..) -> Poke<T> { .. }`",
    )
}
