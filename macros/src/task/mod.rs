//! `#[task]`: parse → typed AST → validate → generate.

mod args;
mod ast;
mod check;
mod codegen;

use proc_macro2::TokenStream;
use quote::quote;

use crate::common::Errors;

pub(crate) use args::TaskArgs;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let option_errors = Errors::default();
    let args = args::TaskArgs::parse(args, &option_errors);
    expand_parsed(
        args,
        option_errors,
        item,
        "`#[task]` goes on a function: `#[task] fn name(..) -> T { .. }`",
    )
}

/// The rest of `#[task]` (and of `#[sensor]`) once the options are parsed: the function's
/// AST, its checks, the generated code.
pub(crate) fn expand_parsed(
    args: TaskArgs,
    option_errors: Errors,
    item: TokenStream,
    not_a_function: &str,
) -> TokenStream {
    let item_fn = match crate::common::parse_fn_item(item, not_a_function) {
        Ok(f) => f,
        Err(tokens) => return tokens,
    };
    let errors = Errors::default();
    let task = ast::TaskFn::from_item(&item_fn, &errors);
    check::check(&task, &args, &errors);
    match (errors.finish(), option_errors.finish()) {
        (Ok(()), Ok(())) => codegen::generate(&args, &task),
        // Only options are wrong: generate the task from the valid ones, so a `#[dag]` calling
        // it adds no error of its own (tokio-macros builds from a default config likewise).
        (Ok(()), Err(e)) => {
            let e = e.to_compile_error();
            let generated = codegen::generate(&args, &task);
            quote!(#generated #e)
        }
        // Keep the user's function so other code and rust-analyzer still see it.
        (Err(mut e), option_errors) => {
            if let Err(o) = option_errors {
                // Options first, in source order.
                let mut all = o;
                all.combine(e);
                e = all;
            }
            let e = e.to_compile_error();
            if task.stub_possible() {
                // A definition that never runs, so DAGs calling the task type-check against
                // the intended signature instead of reporting that it is not a task.
                let stub = codegen::generate_stub(&args, &task);
                quote!(#stub #e)
            } else {
                let item = codegen::generate_unusable(&task);
                quote!(#item #e)
            }
        }
    }
}
