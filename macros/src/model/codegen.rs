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
    let model_type = quote_spanned!(ident.span()=>
        #[automatically_derived]
        impl ::oxflow::__private::ModelType for #ident {
            const INFO: ::oxflow::__private::ModelTypeInfo = ::oxflow::__private::ModelTypeInfo {
                name: #name,
                type_path: ::core::concat!(::core::module_path!(), "::", #ident_text),
                crate_name: ::core::env!("CARGO_PKG_NAME"),
                crate_version: ::core::env!("CARGO_PKG_VERSION"),
            };
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
