//! The `Schema` impl of a row struct.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::ast::RowStruct;

pub(crate) fn expand(row: &RowStruct) -> TokenStream {
    let ident = &row.ident;
    let columns = row.fields.iter().map(|f| {
        let ty = &f.ty;
        let name = &f.column;
        // Spanned at the field's type: a type MLflow cannot express is reported there, with
        // `ColumnValue`'s message listing the types it can.
        let cv = quote_spanned!(f.ty_span()=> <#ty as ::oxflow::__private::ColumnValue>);
        quote! {
            ::oxflow::__private::ColSpec::new(#name, #cv::column_type(), #cv::REQUIRED)
        }
    });
    let reads = row.fields.iter().map(|f| {
        let member = &f.member;
        let ty = &f.ty;
        let name = &f.column;
        quote!(#member: row.get::<#ty>(#name)?)
    });
    let writes = row.fields.iter().map(|f| {
        let member = &f.member;
        let ty = &f.ty;
        let name = &f.column;
        quote! {
            map.insert(
                ::std::string::String::from(#name),
                <#ty as ::oxflow::__private::ColumnValue>::to_json(&self.#member),
            );
        }
    });
    quote! {
        const _: () = {
            #[automatically_derived]
            impl ::oxflow::__private::Schema for #ident {
                fn columns() -> ::std::vec::Vec<::oxflow::__private::ColSpec> {
                    ::std::vec![#(#columns),*]
                }
                fn from_row(
                    row: &::oxflow::__private::Row<'_>,
                ) -> ::core::result::Result<Self, ::oxflow::__private::ModelError> {
                    ::core::result::Result::Ok(#ident { #(#reads),* })
                }
                fn to_row(
                    &self,
                ) -> ::oxflow::__private::serde_json::Map<
                    ::std::string::String,
                    ::oxflow::__private::serde_json::Value,
                > {
                    let mut map = ::oxflow::__private::serde_json::Map::new();
                    #(#writes)*
                    map
                }
            }
        };
    }
}

/// The errors, and (for a struct that was read) an impl that is never called, so a model
/// naming this row type does not add errors of its own.
pub(crate) fn fallback(ident: &syn::Ident, stub: bool, e: syn::Error) -> TokenStream {
    let err = e.to_compile_error();
    if !stub {
        return err;
    }
    quote! {
        #err
        const _: () = {
            #[automatically_derived]
            impl ::oxflow::__private::Schema for #ident {
                fn columns() -> ::std::vec::Vec<::oxflow::__private::ColSpec> {
                    ::core::unreachable!()
                }
                fn from_row(
                    _: &::oxflow::__private::Row<'_>,
                ) -> ::core::result::Result<Self, ::oxflow::__private::ModelError> {
                    ::core::unreachable!()
                }
                fn to_row(
                    &self,
                ) -> ::oxflow::__private::serde_json::Map<
                    ::std::string::String,
                    ::oxflow::__private::serde_json::Value,
                > {
                    ::core::unreachable!()
                }
            }
        };
    }
}
