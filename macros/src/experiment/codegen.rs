//! Code generation. Generated code names the runtime only through `::oxflow::__private` and
//! `::core`/`::std`; support items live inside `const _: () = { ... };`.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, Lit};

use super::ast::{EntryFn, Inner, Kind, ParamField, ParamStruct};

fn inner_of(kind: Kind) -> Inner {
    match kind {
        Kind::Opt(i) => i,
        Kind::Int => Inner::Int,
        Kind::Float => Inner::Float,
        Kind::Bool => Inner::Bool,
        Kind::Str => Inner::Str,
        Kind::Path => Inner::Path,
        Kind::Other => Inner::Other,
    }
}

/// An integer literal written for a float field becomes a float literal (`1` -> `1.0`).
fn floatify(e: &Expr) -> TokenStream {
    match e {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Int(i), ..
        }) => {
            let f = syn::LitFloat::new(&format!("{}.0", i.base10_digits()), i.span());
            quote!(#f)
        }
        Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => {
            let inner = floatify(&u.expr);
            quote!(-#inner)
        }
        other => other.to_token_stream(),
    }
}

/// The default value expression of a field, typed by the field.
fn default_expr(f: &ParamField) -> TokenStream {
    let ty = &f.ty;
    let Some(d) = &f.default else {
        return quote_spanned!(ty.span()=> <#ty as ::core::default::Default>::default());
    };
    let is_lit = matches!(d, Expr::Lit(_) | Expr::Unary(_));
    let value = match (inner_of(f.kind), is_lit) {
        (Inner::Float, true) => floatify(d),
        (Inner::Str, true) => quote_spanned!(d.span()=> ::std::string::String::from(#d)),
        (Inner::Path, true) => quote_spanned!(d.span()=> ::std::path::PathBuf::from(#d)),
        _ => d.to_token_stream(),
    };
    match f.kind {
        Kind::Opt(_) if is_lit => quote_spanned!(d.span()=> ::core::option::Option::Some(#value)),
        _ => value,
    }
}

/// The default as text for the schema: a literal's value, else the expression as written.
fn default_text(f: &ParamField) -> Option<String> {
    let d = f.default.as_ref()?;
    fn lit_text(e: &Expr) -> Option<String> {
        match e {
            Expr::Lit(l) => Some(match &l.lit {
                Lit::Str(s) => s.value(),
                Lit::Int(i) => i.base10_digits().to_string(),
                Lit::Float(x) => x.base10_digits().to_string(),
                Lit::Bool(b) => b.value.to_string(),
                other => other.to_token_stream().to_string(),
            }),
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Neg(_)) => {
                lit_text(&u.expr).map(|t| format!("-{t}"))
            }
            _ => None,
        }
    }
    Some(lit_text(d).unwrap_or_else(|| d.to_token_stream().to_string()))
}

fn range_tokens(f: &ParamField) -> Option<(TokenStream, String)> {
    let r = f.range.as_ref()?;
    let text = r.to_token_stream().to_string().replace(' ', "");
    if inner_of(f.kind) == Inner::Float {
        let start = r.start.as_deref().map(floatify);
        let end = r.end.as_deref().map(floatify);
        let limits = &r.limits;
        Some((quote!(#start #limits #end), text))
    } else {
        Some((r.to_token_stream(), text))
    }
}

pub(crate) fn expand_struct(s: &ParamStruct) -> TokenStream {
    let item = &s.item;
    let ident = &item.ident;
    let name = &s.name;
    let p = quote!(::oxflow::__private);

    let defaults = s.fields.iter().map(|f| {
        let id = &f.ident;
        let e = default_expr(f);
        quote!(#id: #e)
    });
    let specs = s.fields.iter().map(|f| {
        let key = &f.key;
        let ty = f.ty.to_token_stream().to_string().replace(' ', "");
        let default = match default_text(f) {
            Some(t) => quote!(::core::option::Option::Some(#t)),
            None => quote!(::core::option::Option::None),
        };
        let help = &f.help;
        let range = match range_tokens(f) {
            Some((_, t)) => quote!(::core::option::Option::Some(#t)),
            None => quote!(::core::option::Option::None),
        };
        quote!(#p::ParamSpec { name: #key, type_name: #ty, default: #default, help: #help, range: #range })
    });
    let setters = s.fields.iter().map(|f| {
        let key = &f.key;
        let id = &f.ident;
        let ty = &f.ty;
        // Spanned at the field's type so an unsupported type is reported there.
        let parse = quote_spanned!(ty.span()=> <#ty as #p::ParamValue>::parse_param(key, value)?);
        quote!(#key => self.#id = #parse,)
    });
    let checks = s.fields.iter().filter_map(|f| {
        let (range, text) = range_tokens(f)?;
        let key = &f.key;
        let id = &f.ident;
        Some(match f.kind {
            Kind::Opt(_) => quote! {
                if let ::core::option::Option::Some(v) = &self.#id {
                    #p::check_range(#key, v, &(#range), #text)?;
                }
            },
            _ => quote!(#p::check_range(#key, &self.#id, &(#range), #text)?;),
        })
    });
    let pairs = s.fields.iter().map(|f| {
        let key = &f.key;
        let id = &f.ident;
        let ty = &f.ty;
        quote!((::std::string::String::from(#key), <#ty as #p::ParamValue>::to_param(&self.#id)))
    });
    let serde = if s.serde {
        let defaults_fn = format!("{ident}::__oxflow_defaults");
        quote! {
            #[derive(#p::serde::Serialize, #p::serde::Deserialize)]
            #[serde(crate = "::oxflow::__private::serde", default = #defaults_fn)]
        }
    } else {
        quote!()
    };
    quote! {
        #serde
        #item

        impl #ident {
            /// The experiment runs with these parameters are recorded in.
            pub const EXPERIMENT: &'static str = #name;

            #[doc(hidden)]
            pub fn __oxflow_defaults() -> Self {
                <Self as #p::ParamSet>::defaults()
            }
        }

        const _: () = {
            #[automatically_derived]
            impl #p::ParamSet for #ident {
                fn defaults() -> Self {
                    #ident { #(#defaults,)* }
                }

                fn schema() -> &'static [#p::ParamSpec] {
                    const SCHEMA: &[#p::ParamSpec] = &[#(#specs),*];
                    SCHEMA
                }

                fn set(&mut self, key: &str, value: &str) -> ::core::result::Result<(), #p::ParamError> {
                    match key {
                        #(#setters)*
                        _ => return ::core::result::Result::Err(#p::ParamError::unknown::<Self>(key)),
                    }
                    ::core::result::Result::Ok(())
                }

                fn validate(&self) -> ::core::result::Result<(), #p::ParamError> {
                    #(#checks)*
                    ::core::result::Result::Ok(())
                }

                fn to_pairs(&self) -> ::std::vec::Vec<(::std::string::String, ::std::string::String)> {
                    ::std::vec![#(#pairs),*]
                }
            }

            #[automatically_derived]
            impl #p::NamedExperiment for #ident {
                const EXPERIMENT: &'static str = #name;
            }
        };
    }
}

/// On errors: the struct (without `#[param]`), the errors, and a stub `ParamSet` impl so code
/// using the struct does not pile up more errors.
pub(crate) fn fallback_struct(s: &ParamStruct, err: syn::Error) -> TokenStream {
    let item = &s.item;
    let ident = &item.ident;
    let err = err.to_compile_error();
    let p = quote!(::oxflow::__private);
    if !item.generics.params.is_empty() {
        return quote!(#item #err);
    }
    quote! {
        #item
        #err
        const _: () = {
            // Never runs: the crate does not compile while the errors above remain.
            impl #p::ParamSet for #ident {
                fn defaults() -> Self { ::core::unreachable!() }
                fn schema() -> &'static [#p::ParamSpec] { &[] }
                fn set(&mut self, _: &str, _: &str) -> ::core::result::Result<(), #p::ParamError> { ::core::unreachable!() }
                fn validate(&self) -> ::core::result::Result<(), #p::ParamError> { ::core::unreachable!() }
                fn to_pairs(&self) -> ::std::vec::Vec<(::std::string::String, ::std::string::String)> { ::core::unreachable!() }
            }
        };
    }
}

pub(crate) fn expand_fn(f: &EntryFn) -> TokenStream {
    let p = quote!(::oxflow::__private);
    let item = &f.item;
    let vis = &item.vis;
    let attrs = &item.attrs;
    let ident = &item.sig.ident;
    let program = ident.to_string();
    let params_ty = f.params_ty.as_ref().expect("checked in the AST");
    let name = match &f.name {
        Some(n) => quote!(#n),
        None => quote_spanned!(params_ty.span()=> <#params_ty as #p::NamedExperiment>::EXPERIMENT),
    };
    let mut body_fn = item.clone();
    body_fn.attrs.clear();
    body_fn.vis = syn::Visibility::Inherited;
    body_fn.sig.ident = syn::Ident::new("__oxflow_experiment_body", Span::call_site());
    quote! {
        #(#attrs)*
        #vis fn #ident() -> ::std::process::ExitCode {
            // The user's function, unchanged, called by the runtime with parsed parameters and
            // a started run.
            #body_fn
            #p::run_experiment::<#params_ty, _, _>(#name, #program, __oxflow_experiment_body)
        }
    }
}

pub(crate) fn fallback_fn(f: &EntryFn, err: syn::Error) -> TokenStream {
    let item = &f.item;
    let err = err.to_compile_error();
    quote!(#item #err)
}
