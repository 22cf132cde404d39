//! `#[model]`: parse → typed AST → validate → generate.
//!
//! On a struct or enum that implements `Predict` (and serde), it implements `ModelType` (the
//! type's name, path and crate, and its MLflow signature from `input`/`output`), checks that
//! `input` and `output` are the `Predict` impl's row types and derive `Schema`, and registers
//! the type with `inventory` so a binary can load a stored model of it by name.

mod args;
mod ast;
mod check;
mod codegen;

use proc_macro2::TokenStream;

/// Expands `#[model(args)] item`; on errors, the user's item unchanged plus `compile_error!`s.
pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let item: syn::Item = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(e) => {
            let err = e.to_compile_error();
            return quote::quote!(#input #err);
        }
    };
    let cx = args::Ctxt::default();
    let model_args = args::ModelArgs::parse(&cx, args);
    let model = ast::ModelItem::from_syn(&cx, &model_args, &item);
    if let Some(model) = &model {
        check::check_generics(&cx, model);
    }
    match (cx.finish(), model) {
        (Ok(()), Some(model)) => codegen::expand(&item, &model),
        (Err(e), _) => {
            let err = e.to_compile_error();
            quote::quote!(#item #err)
        }
        (Ok(()), None) => unreachable!("an item that cannot be read has reported an error"),
    }
}
