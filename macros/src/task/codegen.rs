//! Generates, beside the untouched function: a hidden struct of the same name in the type
//! namespace (functions live in the value namespace, so both coexist, as Rocket's routes do)
//! that implements `Task` with the task's constant definition, its calling adapter and a
//! signature of its inputs that `#[dag]` uses to let rustc check every edge.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

use super::args::TaskArgs;
use super::ast::{InputMode, Output, TaskFn, TaskParam};
use crate::common::task_options_tokens;

pub(crate) fn generate(args: &TaskArgs, task: &TaskFn<'_>) -> TokenStream {
    generate_with(args, task, false)
}

/// The definition of a task whose function has errors (already reported): the same items, but
/// the adapter never calls the function, so nothing more is reported about it.
pub(crate) fn generate_stub(args: &TaskArgs, task: &TaskFn<'_>) -> TokenStream {
    generate_with(args, task, true)
}

fn generate_with(args: &TaskArgs, task: &TaskFn<'_>, stub: bool) -> TokenStream {
    let item = task.item;
    let vis = &item.vis;
    let ident = task.ident();
    let id = args
        .id
        .as_ref()
        .map_or_else(|| ident.to_string(), |(s, _)| s.clone());
    let out_ty = task.output.ty();
    let is_async = item.sig.asyncness.is_some();
    let options = task_options_tokens(&args.options);

    let witness_tys: Vec<TokenStream> = task
        .inputs()
        .map(|(_, ty, mode, span)| match mode {
            InputMode::Ref | InputMode::Optional => quote_spanned!(span=> &#ty),
            InputMode::Value => quote_spanned!(span=> #ty),
        })
        .collect();
    let input_params = task.inputs().map(|(name, _, mode, _)| {
        let optional = mode == InputMode::Optional;
        quote!(::oxflow::__private::InputParam { name: #name, optional: #optional })
    });

    let mut bindings = Vec::new();
    let mut call_args = Vec::new();
    let mut input_index = 0usize;
    let mut params_type = quote!(::core::option::Option::None);
    // Every params type, unless the task reads one: `#[dag]` checks it against its own.
    let mut uses_params = quote! {
        #[automatically_derived]
        impl<P> ::oxflow::__private::UsesParams<P> for #ident {}
    };
    for (i, p) in task.params.iter().enumerate() {
        let var = quote::format_ident!("__oxflow_arg{}", i);
        let fetch = match p {
            TaskParam::Input { ty, mode, span, .. } => {
                let k = input_index;
                input_index += 1;
                match mode {
                    InputMode::Ref => quote!(__inputs.get::<#ty>(#k)),
                    InputMode::Optional => {
                        quote!(::core::result::Result::Ok(__inputs.get_opt::<#ty>(#k)))
                    }
                    InputMode::Value => quote_spanned! {*span=>
                        __inputs.get::<#ty>(#k).map(::core::clone::Clone::clone)
                    },
                }
            }
            TaskParam::Context => quote!(::core::result::Result::Ok(__ctx)),
            TaskParam::Params { ty } => {
                uses_params = quote! {
                    #[automatically_derived]
                    impl ::oxflow::__private::UsesParams<#ty> for #ident {}
                };
                params_type = quote! {
                    ::core::option::Option::Some((
                        ::oxflow::__private::type_id_of::<#ty>,
                        ::core::stringify!(#ty),
                    ))
                };
                quote!(::oxflow::__private::params_ref::<#ty>(__params))
            }
            TaskParam::Run => quote!(::oxflow::__private::run_mut(__run)),
            TaskParam::Invalid => unreachable!("invalid parameters stop generation"),
        };
        // `match` rather than `?`: inside the async adapter `?` would leave the error type to
        // inference, which fails.
        bindings.push(quote! {
            let #var = match #fetch {
                ::core::result::Result::Ok(v) => v,
                ::core::result::Result::Err(e) => return ::core::result::Result::Err(e),
            };
        });
        call_args.push(var);
    }
    let await_call = if is_async { quote!(.await) } else { quote!() };
    let convert = match &task.output {
        Output::Result(_, err_span) => {
            // Spanned at the error type: an error type without `Display` is reported there.
            let failed = quote_spanned!(*err_span=> ::oxflow::__private::failed(e));
            quote! {
                match __r {
                    ::core::result::Result::Ok(v) => ::core::result::Result::Ok(__oxflow_output::<#ident>(v)),
                    ::core::result::Result::Err(e) => ::core::result::Result::Err(#failed),
                }
            }
        }
        Output::Plain(_) | Output::Unit => {
            quote!(::core::result::Result::Ok(__oxflow_output::<#ident>(__r)))
        }
    };
    let body = quote! {
        #[allow(unused_variables, unused_mut)]
        let (__inputs, __ctx, __params, __run) = __inv.parts();
        #(#bindings)*
        let __r = #ident(#(#call_args),*) #await_call;
        #convert
    };
    let adapter = if stub {
        quote!(::core::unreachable!(
            "a task with compile errors never runs"
        ))
    } else if let Some(asyncness) = &item.sig.asyncness {
        // Spanned at `async`: a future that is not `Send` is reported on the user's function.
        let span = asyncness.span;
        quote_spanned! {span=>
            ::oxflow::__private::run_async(__inv, |mut __inv: ::oxflow::__private::Invocation| async move {
                #body
            })
        }
    } else {
        quote! {
            ::oxflow::__private::run_blocking(__inv, |__inv: &mut ::oxflow::__private::Invocation| {
                #body
            })
        }
    };
    let persist_off = matches!(args.options.persist, Some((false, _)));
    let out_span = match &task.output {
        Output::Plain(t) | Output::Result(t, _) => syn::spanned::Spanned::span(t),
        Output::Unit => ident.span(),
    };
    let codec = if persist_off {
        quote!(::core::option::Option::None)
    } else {
        quote_spanned!(out_span=> ::core::option::Option::Some(::oxflow::__private::codec::<#out_ty>()))
    };
    let doc = format!("The `#[task]` definition of [`{ident}()`]: used by `#[dag]`.");

    quote! {
        // A task's input type is its upstream's output type: `&Vec<T>` is not a style choice.
        #[allow(clippy::ptr_arg)]
        #item

        #[doc = #doc]
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #vis struct #ident {
            _oxflow_private: (),
        }

        const _: () = {
            // `do_not_recommend` keeps the tasks out of the list of implementors rustc prints when
            // something that is not a task is called in a `#[dag]`.
            #[automatically_derived]
            #[diagnostic::do_not_recommend]
            impl ::oxflow::__private::Task for #ident {
                type Output = #out_ty;
                type Signature = fn(#(#witness_tys),*) -> #out_ty;
                const DEF: ::oxflow::__private::TaskDef = ::oxflow::__private::TaskDef {
                    name: #id,
                    options: #options,
                    inputs: &[#(#input_params),*],
                    output_type: ::core::stringify!(#out_ty),
                    is_async: #is_async,
                    invoke: __oxflow_invoke,
                    codec: #codec,
                    params_type: #params_type,
                };
            }

            #uses_params

            // Generic over the task so the output's `Send + Sync + 'static` bound is taken from
            // `Task::Output`: an output type that breaks it is reported once, at the return type,
            // not again here.
            #[allow(dead_code)]
            fn __oxflow_output<T: ::oxflow::__private::Task>(
                value: T::Output,
            ) -> ::oxflow::__private::TaskOutput {
                ::oxflow::__private::output(value)
            }

            #[allow(unused_variables, unreachable_code)]
            fn __oxflow_invoke(
                __inv: ::oxflow::__private::Invocation,
            ) -> ::oxflow::__private::TaskFuture {
                #adapter
            }
        };
    }
}
