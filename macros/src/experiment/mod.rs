//! `#[experiment]`: parse → typed AST → validate → generate.
//!
//! On a struct of parameters it implements `ParamSet` (defaults, schema, typed overrides, range
//! validation, logging pairs), `NamedExperiment` and serde; on a function
//! `fn train(params: P, run: &mut Run) -> Result<T, E>` it makes an entry point that parses
//! `-P key=value` overrides, records a run and ends it with the body's outcome.

mod args;
mod ast;
mod check;
mod codegen;

use proc_macro2::TokenStream;

/// Expands `#[experiment(args)] item`; on errors, the user's item (cleaned of `#[param]`
/// attributes) plus `compile_error!`s and stubs, so the rest of the crate still type-checks.
pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let item: syn::Item = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(e) => {
            let err = e.to_compile_error();
            return quote::quote!(#input #err);
        }
    };
    let ctxt = args::Ctxt::default();
    let exp_args = args::ExperimentArgs::parse(&ctxt, args);
    match item {
        syn::Item::Struct(item) => {
            let model = ast::ParamStruct::from_syn(&ctxt, &exp_args, item);
            check::check_struct(&ctxt, &model);
            match ctxt.finish() {
                Ok(()) => codegen::expand_struct(&model),
                Err(e) => codegen::fallback_struct(&model, e),
            }
        }
        syn::Item::Fn(item) => {
            let model = ast::EntryFn::from_syn(&ctxt, &exp_args, item);
            match ctxt.finish() {
                Ok(()) => codegen::expand_fn(&model),
                Err(e) => codegen::fallback_fn(&model, e),
            }
        }
        other => {
            let err = syn::Error::new_spanned(
                &other,
                "`#[experiment]` goes on a struct of parameters or on a function `fn train(params: P, run: &mut Run)`",
            )
            .to_compile_error();
            quote::quote!(#other #err)
        }
    }
}
