//! Pieces shared by the macros: error collection and the task options both `#[task]` and
//! `#[dag(default_args(...))]` accept.

mod errors;
mod options;

pub(crate) use errors::Errors;
pub(crate) use options::{
    Site, TASK_OPTIONS, TaskOptionArgs, example, literal, option_value, parse_duration,
    parse_task_option, set_once, set_once_id, task_options_tokens,
};

/// Skips the value of an option that was reported as unknown (`= value` or `(...)`), so the
/// options after it are still checked.
pub(crate) fn skip_option_value(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(syn::Token![=]) {
        let _: syn::Expr = meta.value()?.parse()?;
    } else if meta.input.peek(syn::token::Paren) {
        let _ = meta.parse_nested_meta(|inner| {
            if inner.input.peek(syn::Token![=]) {
                let _: syn::Expr = inner.value()?.parse()?;
            }
            Ok(())
        });
    }
    Ok(())
}

/// Parses the item a function attribute is on; anything else gets `message`, with the item
/// emitted unchanged so other code still sees it.
pub(crate) fn parse_fn_item(
    item: proc_macro2::TokenStream,
    message: &str,
) -> Result<syn::ItemFn, proc_macro2::TokenStream> {
    syn::parse2(item.clone()).map_err(|_| {
        let e = syn::Error::new_spanned(&item, message).to_compile_error();
        quote::quote!(#item #e)
    })
}
