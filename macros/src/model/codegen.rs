//! The `ModelType` impl, the row checks and the `inventory` registration of a model type.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::ast::ModelItem;

pub(crate) fn expand(item: &syn::Item, model: &ModelItem) -> TokenStream {
    let ident = &model.ident;
    let ident_text = ident.to_string();
    let name = &model.name;
    let input = &model.input;
    let output = &model.output;
    // Each check is spanned at the type the user wrote, so "is not a row type" points at
    // `input = ...` and "does not implement `Predict`" at the model's name.
    let input_schema = quote_spanned!(input.span()=> schema::<#input>();
    );
    let output_schema = quote_spanned!(output.span()=> schema::<#output>();
    );
    let rows_match = quote_spanned!(input.span()=>
        rows::<#ident, #input, #output>();
    );
    // With `params = P`: the params schema and the scoring entry point come from
    // `PredictParams`, whose `Params` must be `P` (checked at `P`'s tokens).
    let (params_fns, params_check) = match &model.params {
        Some(params) => (
            quote! {
                fn params() -> ::std::vec::Vec<::oxflow::__private::InferenceParamSpec> {
                    <#params as ::oxflow::__private::InferenceParams>::param_specs()
                }
                fn score_json(
                    &self,
                    body: &::oxflow::__private::serde_json::Value,
                ) -> ::core::result::Result<::oxflow::__private::serde_json::Value, ::oxflow::__private::ModelError> {
                    ::oxflow::__private::predict_json_with_params(self, body)
                }
            },
            quote_spanned!(params.span()=>
                fn with_params<M, P>()
                where
                    M: ::oxflow::__private::PredictParams<Params = P>,
                {
                }
                with_params::<#ident, #params>();
            ),
        ),
        None => (quote!(), quote!()),
    };
    let model_type = quote_spanned!(ident.span()=>
        #[automatically_derived]
        impl ::oxflow::__private::ModelType for #ident {
            const INFO: ::oxflow::__private::ModelTypeInfo = ::oxflow::__private::ModelTypeInfo {
                name: #name,
                type_path: ::core::concat!(::core::module_path!(), "::", #ident_text),
                crate_name: ::core::env!("CARGO_PKG_NAME"),
                crate_version: ::core::env!("CARGO_PKG_VERSION"),
            };
            #params_fns
        }
    );
    quote! {
        #item
        const _: () = {
            #model_type

            // Never called: these only make rustc check that `input`/`output` derive `Schema`
            // and are the row types of the model's `Predict` impl.
            #[allow(dead_code)]
            fn __oxflow_model_checks() {
                fn schema<T: ::oxflow::__private::Schema>() {}
                fn rows<M, I, O>()
                where
                    M: ::oxflow::__private::Predict<Input = I, Output = O>,
                {
                }
                #input_schema
                #output_schema
                #rows_match
                #params_check
            }

            ::oxflow::__private::inventory::submit! {
                ::oxflow::__private::ModelRegistration {
                    info: <#ident as ::oxflow::__private::ModelType>::INFO,
                    signature: <#ident as ::oxflow::__private::ModelType>::signature,
                    from_json: ::oxflow::__private::dyn_from_json::<#ident>,
                }
            }
        };
    }
}
