//! `#[derive(Schema)]`: parse → typed AST → validate → generate.
//!
//! Each named field of a struct becomes an MLflow column: its type gives the column type
//! (through the runtime's `ColumnValue`, so rustc reports a type MLflow cannot express at the
//! field), its name or `#[schema(rename = "...")]` the column name.

mod args;
mod ast;
mod check;
mod codegen;

use proc_macro2::TokenStream;

/// Expands `#[derive(Schema)] item`; on errors, the `compile_error!`s plus an impl whose
/// bodies never run, so uses of the type as a row do not cascade into more errors.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let item: syn::DeriveInput = match syn::parse2(input) {
        Ok(item) => item,
        Err(e) => return e.to_compile_error(),
    };
    let cx = args::Ctxt::default();
    let row = ast::RowStruct::from_syn(&cx, &item);
    if let Some(row) = &row {
        check::check_generics(&cx, row);
        check::check_unique_columns(&cx, row);
    }
    match (cx.finish(), row) {
        (Ok(()), Some(row)) => codegen::expand(&row),
        (Err(e), row) => {
            let stub = row.is_some_and(|r| r.generics.params.is_empty());
            codegen::fallback(&item.ident, stub, e)
        }
        (Ok(()), None) => unreachable!("a struct that cannot be read has reported an error"),
    }
}
