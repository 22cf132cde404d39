//! Generates, beside the untouched function: a hidden struct of the same name in the type
//! namespace (functions live in the value namespace, so both coexist, as Rocket's routes do)
//! that implements `Task` with the task's constant definition, its calling adapter and a
//! signature of its inputs that `#[dag]` uses to let rustc check every edge.
//!
//! What the return type means is left to the compiler: the adapter, the codec and `#[dag]`'s
//! type check find the output type by autoref dispatch on a `Probe` of the return type (see
//! `oxflow_runtime::task::support`), so `Result` under any name fails the attempt on `Err`.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::args::TaskArgs;
use super::ast::{InputMode, TaskFn, TaskParam};
use crate::common::{duration_tokens, task_options_tokens};

pub(crate) fn generate(args: &TaskArgs, task: &TaskFn<'_>) -> TokenStream {
    generate_with(args, task, false)
}

/// The definition of a task whose function has errors (already reported): the same items, but
/// the adapter never calls the function, so nothing more is reported about it.
pub(crate) fn generate_stub(args: &TaskArgs, task: &TaskFn<'_>) -> TokenStream {
    generate_with(args, task, true)
}

/// `use` of the dispatch traits; the methods they give are found only when they are in scope.
fn dispatch_traits() -> TokenStream {
    quote! {
        #[allow(unused_imports)]
        use ::oxflow::__private::{
            ErrorIsBoxable as _, ErrorIsDisplay as _, InputIsData as _, InputIsInjected as _,
            ReturnsResult as _, ReturnsValue as _, PokeOutcome as _, NotAPoke as _,
        };
    }
}

/// Checks that each injected argument has the type its shape promises (`&mut Run`, ...), for
/// code that does not fetch them.
fn injected_checks(task: &TaskFn<'_>) -> Vec<TokenStream> {
    task.params
        .iter()
        .filter_map(|p| match p {
            TaskParam::Context { ty } => {
                Some(quote_spanned!(ty.span()=> let _ = ::oxflow::__private::context::<#ty>;))
            }
            TaskParam::Params { ty, .. } => {
                Some(quote_spanned!(ty.span()=> let _ = ::oxflow::__private::params_ref::<#ty>;))
            }
            TaskParam::Run { ty } => {
                Some(quote_spanned!(ty.span()=> let _ = ::oxflow::__private::run_mut::<#ty>;))
            }
            _ => None,
        })
        .collect()
}

/// The user's function unchanged, and the checks of its injected arguments, for a task whose
/// definition cannot be generated: its other mistakes are still reported.
pub(crate) fn generate_unusable(task: &TaskFn<'_>) -> TokenStream {
    let item = task.item;
    let checks = injected_checks(task);
    quote! {
        #item
        const _: () = {
            #[allow(dead_code, clippy::all)]
            fn __oxflow_check_arguments() {
                #(#checks)*
            }
        };
    }
}

fn generate_with(args: &TaskArgs, task: &TaskFn<'_>, stub: bool) -> TokenStream {
    let item = task.item;
    let vis = &item.vis;
    let ident = task.ident();
    let id = args
        .id
        .as_ref()
        .map_or_else(|| ident.to_string(), |(s, _)| s.clone());
    let written_ret = task.output.ty();
    // A sensor is, to a `#[dag]`, a task returning `Result<T, E>`: the `T` of its `Poke<T>`.
    let ret_ty = if args.sensor.is_some() {
        let span = task.output.output_span(ident.span());
        quote_spanned!(span=> <#written_ret as ::oxflow::__private::SensorReturn>::Return)
    } else {
        quote!(#written_ret)
    };
    // A sensor's return type is checked once, at `Return`.
    let sig_ret = if args.sensor.is_some() {
        quote!(<Self as ::oxflow::__private::Task>::Return)
    } else {
        ret_ty.clone()
    };
    let shown = if args.sensor.is_some() {
        task.output.shown_sensor()
    } else {
        task.output.shown()
    };
    let is_async = item.sig.asyncness.is_some();
    let options = task_options_tokens(&args.options);
    let traits = dispatch_traits();

    let witness_tys: Vec<TokenStream> = task
        .inputs()
        .map(|(_, ty, mode, written)| {
            let span = written.span();
            if mode.by_ref() {
                quote_spanned!(span=> &#ty)
            } else {
                quote_spanned!(span=> #ty)
            }
        })
        .collect();
    let input_params = task.inputs().map(|(name, _, mode, _)| {
        let optional = mode.optional();
        quote!(::oxflow::__private::InputParam { name: #name, optional: #optional })
    });
    // Never run: the compiler confirms that no input is an injected type under another name.
    let mut input_checks: Vec<TokenStream> = task
        .inputs()
        .map(|(_, ty, _, _)| {
            let span = ty.span();
            quote_spanned! {span=>
                (&&::oxflow::__private::Probe::<#ty>::new()).check_input();
            }
        })
        .collect();
    // A short-circuit task returns `bool`: checked at the return type as written.
    if matches!(args.short_circuit, Some((true, _))) {
        let span = task.output.output_span(ident.span());
        input_checks.push(quote_spanned! {span=>
            ::oxflow::__private::condition_output(
                (&&::oxflow::__private::Probe::<<#ident as ::oxflow::__private::Task>::Return>::new())
                    .output_type(),
            );
        });
    }
    // A stub's adapter never fetches its injected arguments, so their types are checked here.
    if stub {
        input_checks.extend(injected_checks(task));
    }

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
            TaskParam::Input {
                ty, mode, written, ..
            } => {
                let k = input_index;
                input_index += 1;
                // Spanned at the user's type: a type that cannot be an input, or a by-value input
                // that is not `Clone`, is reported there.
                let span = written.span();
                match mode {
                    InputMode::Ref => quote_spanned!(span=> __inputs.get::<#ty>(#k)),
                    InputMode::Value => quote_spanned! {span=>
                        __inputs.get::<#ty>(#k).map(::oxflow::__private::clone_input)
                    },
                    InputMode::OptionalRef => quote_spanned! {span=>
                        ::core::result::Result::Ok(__inputs.get_opt::<#ty>(#k))
                    },
                    InputMode::OptionalValue => quote_spanned! {span=>
                        ::core::result::Result::Ok(
                            __inputs.get_opt::<#ty>(#k).map(::oxflow::__private::clone_input),
                        )
                    },
                }
            }
            TaskParam::Context { ty } => {
                let span = ty.span();
                quote_spanned!(span=> ::oxflow::__private::context::<#ty>(__ctx))
            }
            TaskParam::Params { ty, set } => {
                uses_params = quote! {
                    #[automatically_derived]
                    impl ::oxflow::__private::UsesParams<#set> for #ident {}
                };
                params_type = quote! {
                    ::core::option::Option::Some((
                        ::oxflow::__private::type_id_of::<#set>,
                        ::core::stringify!(#set),
                    ))
                };
                let span = ty.span();
                quote_spanned!(span=> ::oxflow::__private::params_ref::<#ty>(__params))
            }
            TaskParam::Run { ty } => {
                let span = ty.span();
                quote_spanned!(span=> ::oxflow::__private::run_mut::<#ty>(__run))
            }
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
    // Spanned at the output and error types as written, where the compiler reports an output
    // that is not `Send + Sync + 'static` or an error without `Display`.
    let out_span = task.output.output_span(ident.span());
    let err_span = task.output.error_span(ident.span());
    let wrap_output = quote_spanned!(out_span=> ::oxflow::__private::output(__v));
    let wrap_error = quote_spanned! {err_span=>
        (&&::oxflow::__private::probe(&__e)).task_error()(__e)
    };
    let outcome = if args.sensor.is_some() {
        // Spanned at the return type as written, where a type that is not a `Poke` is reported.
        let poke = quote_spanned! {out_span=>
            ((&&::oxflow::__private::probe(&__r)).poke_outcome())(__r)
        };
        quote! {
            #[allow(unreachable_patterns)]
            match #poke {
                ::core::result::Result::Ok(::core::option::Option::Some(__v)) => {
                    ::core::result::Result::Ok(#wrap_output)
                }
                ::core::result::Result::Ok(::core::option::Option::None) => {
                    ::core::result::Result::Err(::oxflow::__private::not_ready())
                }
                ::core::result::Result::Err(__e) => ::core::result::Result::Err(#wrap_error),
            }
        }
    } else {
        quote! {
            let __outcome = (&&::oxflow::__private::probe(&__r)).outcome();
            #[allow(unreachable_patterns)]
            match __outcome(__r) {
                ::core::result::Result::Ok(__v) => ::core::result::Result::Ok(#wrap_output),
                ::core::result::Result::Err(__e) => ::core::result::Result::Err(#wrap_error),
            }
        }
    };
    let body = quote! {
        #traits
        #[allow(unused_variables, unused_mut)]
        let (__inputs, __ctx, __params, __run) = __inv.parts();
        #(#bindings)*
        let __r = #ident(#(#call_args),*) #await_call;
        #outcome
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
    let codec = if persist_off {
        quote!(::core::option::Option::None)
    } else {
        // Closures, not `codec::<T>()`: only a function body can find the output type `T`.
        let output_type = quote_spanned! {out_span=>
            (&&::oxflow::__private::Probe::<<#ident as ::oxflow::__private::Task>::Return>::new())
                .output_type()
        };
        quote! {
            ::core::option::Option::Some(::oxflow::__private::codec_from(
                |__v| { #traits (::oxflow::__private::codec_of(#output_type).encode)(__v) },
                |__b| { #traits (::oxflow::__private::codec_of(#output_type).decode)(__b) },
                || { #traits (::oxflow::__private::codec_of(#output_type).type_name)() },
            ))
        }
    };
    let short_circuit = matches!(args.short_circuit, Some((true, _)));
    let sensor = match &args.sensor {
        Some(s) => {
            let d = |v: &Option<(std::time::Duration, Span)>, default: TokenStream| match v {
                Some((d, _)) => duration_tokens(*d),
                None => default,
            };
            let interval = d(
                &s.poke_interval,
                quote!(::oxflow::__private::SensorDef::DEFAULT.poke_interval),
            );
            let timeout = d(
                &s.timeout,
                quote!(::oxflow::__private::SensorDef::DEFAULT.timeout),
            );
            let mode = if matches!(s.reschedule, Some((true, _))) {
                quote!(::oxflow::__private::SensorMode::Reschedule)
            } else {
                quote!(::oxflow::__private::SensorMode::Poke)
            };
            let soft_fail = matches!(s.soft_fail, Some((true, _)));
            let backoff = matches!(s.exponential_backoff, Some((true, _)));
            let max_wait = match s.max_wait {
                Some((w, _)) => {
                    let w = duration_tokens(w);
                    quote!(::core::option::Option::Some(#w))
                }
                None => quote!(::core::option::Option::None),
            };
            quote! {
                ::core::option::Option::Some(::oxflow::__private::SensorDef {
                    poke_interval: #interval,
                    timeout: #timeout,
                    mode: #mode,
                    soft_fail: #soft_fail,
                    exponential_backoff: #backoff,
                    max_wait: #max_wait,
                })
            }
        }
        None => quote!(::core::option::Option::None),
    };
    let conns = &args.conns;
    let doc = format!("The `#[task]` definition of [`{ident}()`]: used by `#[dag]`.");
    let check_span = Span::call_site();
    let checks = quote_spanned! {check_span=>
        // Never called: the compiler checks each input's type in it.
        #[allow(dead_code, clippy::all)]
        fn __oxflow_check_inputs() {
            #traits
            #(#input_checks)*
        }
    };

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
                type Return = #ret_ty;
                type Signature = fn(#(#witness_tys),*) -> #sig_ret;
                const DEF: ::oxflow::__private::TaskDef = ::oxflow::__private::TaskDef {
                    name: #id,
                    options: #options,
                    inputs: &[#(#input_params),*],
                    output_type: #shown,
                    is_async: #is_async,
                    invoke: __oxflow_invoke,
                    codec: #codec,
                    params_type: #params_type,
                    short_circuit: #short_circuit,
                    conns: &[#(#conns),*],
                    sensor: #sensor,
                };
            }

            #uses_params

            #checks

            #[allow(unused_variables, unreachable_code)]
            fn __oxflow_invoke(
                __inv: ::oxflow::__private::Invocation,
            ) -> ::oxflow::__private::TaskFuture {
                #adapter
            }
        };
    }
}
