//! `#[task]`: parse → typed AST → validate → generate.

mod args;
pub(crate) use args::is_valid_id;
mod ast;
mod check;
mod codegen;

use proc_macro2::TokenStream;
use quote::quote;

use crate::common::Errors;

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let item_fn: syn::ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let e = syn::Error::new_spanned(
                &item,
                "`#[task]` goes on a function: `#[task] fn name(..) -> T { .. }`",
            );
            let e = e.to_compile_error();
            return quote!(#item #e);
        }
    };
    let mut errors = Errors::default();
    let args = args::TaskArgs::parse(args, &mut errors);
    let task = ast::TaskFn::from_item(&item_fn, &mut errors);
    check::check(&task, &mut errors);
    match errors.finish() {
        Ok(()) => codegen::generate(&args, &task),
        // Keep the user's function so other code and rust-analyzer still see it.
        Err(e) => {
            let e = e.to_compile_error();
            quote!(#item_fn #e)
        }
    }
}
