//! `#[dag]`: parse → typed AST → validate → generate.

mod args;
mod ast;
mod check;
mod codegen;

use proc_macro2::TokenStream;
use quote::quote;

use crate::common::Errors;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let item_fn = match crate::common::parse_fn_item(
        item,
        "`#[dag]` goes on a function whose body wires tasks: `#[dag] fn name() { .. }`",
    ) {
        Ok(f) => f,
        Err(tokens) => return tokens,
    };
    let errors = Errors::default();
    let args = args::DagArgs::parse(args, &errors);
    let body = ast::DagBody::from_item(&item_fn, &errors);
    let order = check::check(&item_fn, &body, &errors);
    match (errors.finish(), order) {
        (Ok(()), Some(order)) => codegen::generate(&args, &item_fn, &body, &order),
        (result, _) => {
            let e = result.err().map(|e| e.to_compile_error());
            // Emit a stand-in with the same signature so callers of the DAG function do not
            // add errors of their own.
            let attrs = &item_fn.attrs;
            let vis = &item_fn.vis;
            let ident = &item_fn.sig.ident;
            quote! {
                #(#attrs)*
                #vis fn #ident() -> &'static ::oxflow::__private::DagDef {
                    ::core::unreachable!()
                }
                #e
            }
        }
    }
}
