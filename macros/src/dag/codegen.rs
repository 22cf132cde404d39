//! Generates the DAG function: it returns a `static` definition (nodes in topological order,
//! edges, options) built by the compiler and registered with `inventory`, and holds a never-run
//! witness function that makes rustc type-check every edge and every task's params against the
//! DAG's. Both name each called task through one type alias spanned at the user's path, so
//! whatever rustc says about a task lands on the call, once.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::ItemFn;

use super::args::DagArgs;
use super::ast::{DagBody, alias};
use crate::common::{duration_tokens, task_options_tokens};

fn doc_text(item: &ItemFn) -> String {
    let mut lines = Vec::new();
    for attr in &item.attrs {
        if let syn::Meta::NameValue(nv) = &attr.meta
            && nv.path.is_ident("doc")
            && let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &nv.value
        {
            lines.push(s.value().trim().to_owned());
        }
    }
    lines.join("\n").trim().to_owned()
}

pub(crate) fn generate(
    args: &DagArgs,
    item: &ItemFn,
    body: &DagBody,
    order: &[usize],
) -> TokenStream {
    let attrs = &item.attrs;
    let vis = &item.vis;
    let ident = &item.sig.ident;
    let id = args
        .id
        .as_ref()
        .map_or_else(|| ident.to_string(), |(s, _)| s.clone());
    let description = args
        .description
        .as_ref()
        .map_or_else(|| doc_text(item), |(s, _)| s.clone());
    let schedule = match args.schedule_text() {
        Some(s) => quote!(::core::option::Option::Some(#s)),
        None => quote!(::core::option::Option::None),
    };
    let scheduling = scheduling_tokens(args);
    let tags: Vec<&String> = args
        .tags
        .as_ref()
        .map(|(t, _)| t.iter().collect())
        .unwrap_or_default();
    let max_active = match &args.max_active_tasks {
        Some((n, _)) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };
    let dagrun_timeout = match &args.dagrun_timeout {
        Some((d, _)) => {
            let d = duration_tokens(*d);
            quote!(::core::option::Option::Some(#d))
        }
        None => quote!(::core::option::Option::None),
    };
    let defaults = task_options_tokens(&args.defaults);
    let params = match &args.params {
        // Spanned at the user's type: a type that is not a parameter set is reported there.
        Some((ty, _)) => {
            let span = syn::spanned::Spanned::span(ty);
            let def = quote_spanned!(span=> ::oxflow::__private::params_def::<#ty>());
            quote!(::core::option::Option::Some(#def))
        }
        None => quote!(::core::option::Option::None),
    };

    let traits = quote! {
        #[allow(unused_imports)]
        use ::oxflow::__private::{ReturnsResult as _, ReturnsValue as _};
    };
    // Position of each original node in the generated (topological) order.
    let mut position = vec![0usize; body.nodes.len()];
    for (p, &i) in order.iter().enumerate() {
        position[i] = p;
    }
    let mut projections = Vec::new();
    let mut projected = std::collections::HashSet::new();
    let mut flow_fns = Vec::new();
    let nodes = order.iter().map(|&i| {
        let node = &body.nodes[i];
        let span = syn::spanned::Spanned::span(&node.path);
        let task_alias = alias(i, span);
        let node_id = if node.explicit_id {
            let s = &node.raw_id;
            quote!(::core::option::Option::Some(#s))
        } else {
            quote!(::core::option::Option::None)
        };
        let inputs = node.inputs.iter().map(|input| {
            let from = position[input.node];
            match input.element {
                None => quote! {
                    ::oxflow::__private::InputDef { node: #from, element: ::core::option::Option::None, project: ::core::option::Option::None }
                },
                Some(e) => {
                    let f = format_ident!("__oxflow_project_{}_{}", input.node, e);
                    let upstream = alias(input.node, syn::spanned::Spanned::span(&body.nodes[input.node].path));
                    let index = syn::Index::from(e);
                    // One projection per tuple element, however many tasks consume it.
                    if projected.insert((input.node, e)) { projections.push(quote! {
                        fn #f(
                            __oxflow_output: &(dyn ::core::any::Any + ::core::marker::Send + ::core::marker::Sync),
                        ) -> ::core::option::Option<&(dyn ::core::any::Any + ::core::marker::Send + ::core::marker::Sync)> {
                            #traits
                            // The output type is found by dispatch on the task's return type.
                            let __oxflow_type = (&&::oxflow::__private::Probe::<<#upstream as ::oxflow::__private::Task>::Return>::new()).output_type();
                            ::oxflow::__private::downcast_output(__oxflow_output, __oxflow_type)
                                .map(|__oxflow_tuple| &__oxflow_tuple.#index as &(dyn ::core::any::Any + ::core::marker::Send + ::core::marker::Sync))
                        }
                    }); }
                    quote! {
                        ::oxflow::__private::InputDef { node: #from, element: ::core::option::Option::Some(#e), project: ::core::option::Option::Some(#f) }
                    }
                }
            }
        }).collect::<Vec<_>>();
        let mut after: Vec<usize> = body.order_edges.iter().filter(|e| e.to == i).map(|e| position[e.from]).collect();
        after.sort_unstable();
        after.dedup();
        let task = quote_spanned!(span=> &<#task_alias as ::oxflow::__private::Task>::DEF);
        let flow = flow_tokens(body, i, &position, &mut flow_fns);
        quote! {
            ::oxflow::__private::NodeDef {
                id: #node_id,
                task: #task,
                inputs: &[#(#inputs),*],
                after: &[#(#after),*],
                flow: #flow,
            }
        }
    }).collect::<Vec<_>>();
    let groups = body.groups.iter().map(|g| {
        let id = &g.id;
        let parent = match g.parent {
            Some(p) => quote!(::core::option::Option::Some(#p)),
            None => quote!(::core::option::Option::None),
        };
        let defaults = task_options_tokens(&g.defaults);
        quote!(::oxflow::__private::GroupDef { id: #id, parent: #parent, defaults: #defaults })
    });
    let alert_stale_after = match &args.alert_stale_after {
        Some((d, _)) => {
            let d = duration_tokens(*d);
            quote!(::core::option::Option::Some(#d))
        }
        None => quote!(::core::option::Option::None),
    };
    let alert_max_retries = match &args.alert_max_retries {
        Some((n, _)) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };
    let max_map_length = match &args.max_map_length {
        Some((n, _)) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };
    // Every task can run with the DAG's params: one check per node, at the call.
    let params_ty = match &args.params {
        Some((ty, _)) => quote!(#ty),
        None => quote!(::oxflow::__private::NoParams),
    };
    let params_checks = body.nodes.iter().enumerate().map(|(i, node)| {
        let span = syn::spanned::Spanned::span(&node.path);
        let task_alias = alias(i, span);
        quote_spanned!(span=> ::oxflow::__private::uses_params::<#task_alias, #params_ty>();)
    });
    let witness = &body.witness;
    let aliases = &body.aliases;
    let const_checks = const_checks(args, body);
    let doc = format!("`{ident}` is a `#[dag]`: a DAG body cannot call it like a task.");

    quote! {
        #(#attrs)*
        #vis fn #ident() -> &'static ::oxflow::__private::DagDef {
            #(#aliases)*
            // Never called: rustc type-checks it, so a task input fed the wrong handle is an
            // error at the user's argument.
            #[allow(unused_variables, unused_mut, dead_code, unreachable_code, clippy::all)]
            fn __oxflow_check_edges() {
                #traits
                // A fresh value of a handle's type, so a handle passed by value can feed
                // several tasks.
                fn __oxflow_reuse<T>(_: &T) -> T {
                    ::core::unreachable!()
                }
                #(#witness)*
                #(#params_checks)*
            }
            #(#projections)*
            #(#flow_fns)*
            #const_checks
            static __OXFLOW_DAG: ::oxflow::__private::DagDef = ::oxflow::__private::DagDef {
                id: #id,
                description: #description,
                schedule: #schedule,
                scheduling: #scheduling,
                tags: &[#(#tags),*],
                max_active_tasks: #max_active,
                dagrun_timeout: #dagrun_timeout,
                defaults: #defaults,
                params: #params,
                nodes: &[#(#nodes),*],
                groups: &[#(#groups),*],
                max_map_length: #max_map_length,
                alerts: ::oxflow::__private::DagAlerts {
                    stale_after: #alert_stale_after,
                    max_retries: #alert_max_retries,
                },
                file: ::core::file!(),
                line: ::core::line!(),
            };
            ::oxflow::__private::inventory::submit! {
                ::oxflow::__private::DagRegistration(&__OXFLOW_DAG)
            }
            &__OXFLOW_DAG
        }

        #[doc = #doc]
        #[doc(hidden)]
        #[allow(non_camel_case_types)]
        #vis struct #ident<__OxflowMarker = ::oxflow::__private::DagMarker> {
            _oxflow_private: ::core::marker::PhantomData<__OxflowMarker>,
        }

        // A DAG named where a task is expected (another DAG's body calling it) is reported with
        // `CalledDag`'s message rather than as "not a task": the impls hold only for a marker
        // that implements it, and none does.
        const _: () = {
            #[automatically_derived]
            impl<__OxflowMarker: ::oxflow::__private::CalledDag> ::oxflow::__private::Task for #ident<__OxflowMarker> {
                type Return = ();
                type Signature = fn();
                const DEF: ::oxflow::__private::TaskDef = ::oxflow::__private::DAG_IS_NOT_A_TASK;
            }
            #[automatically_derived]
            impl<__OxflowMarker: ::oxflow::__private::CalledDag, P> ::oxflow::__private::UsesParams<P> for #ident<__OxflowMarker> {}
        };
    }
}

fn dispatch_traits() -> TokenStream {
    quote! {
        #[allow(unused_imports)]
        use ::oxflow::__private::{
            ListIsNotVec as _, ListIsVec as _, ReturnsResult as _, ReturnsValue as _,
        };
    }
}

/// The output type of node `i` as a value (`OutputType<T>`), as its handle sees it: a mapped
/// node's is the `Vec` of its outputs.
fn handle_type(body: &DagBody, i: usize) -> TokenStream {
    let node = &body.nodes[i];
    let a = alias(i, syn::spanned::Spanned::span(&node.path));
    let ty = quote! {
        (&&::oxflow::__private::Probe::<<#a as ::oxflow::__private::Task>::Return>::new()).output_type()
    };
    match node.mapped {
        Some(_) => quote!(::oxflow::__private::mapped_type(#ty)),
        None => ty,
    }
}

/// The `NodeFlow` of node `i` (original index), and the functions it points at.
fn flow_tokens(
    body: &DagBody,
    i: usize,
    position: &[usize],
    fns: &mut Vec<TokenStream>,
) -> TokenStream {
    let node = &body.nodes[i];
    let traits = dispatch_traits();
    let none = quote!(::core::option::Option::None);
    let branch = match body.branches.iter().find(|b| b.node == i) {
        // One `match` per branch task (`Builder::branch` rejects a second one).
        Some(b) => {
            let f = format_ident!("__oxflow_branch_{}", i);
            let ty = handle_type(body, i);
            let pats = &b.arms;
            let ks = 0..b.arms.len();
            let texts = b.arms.iter().map(|p| {
                quote::ToTokens::to_token_stream(p)
                    .to_string()
                    .replace(" :: ", "::")
                    .replace(" (", "(")
                    .replace("( ", "(")
                    .replace(" )", ")")
            });
            fns.push(quote! {
                // The DAG body's own patterns, so the arm chosen at run time is the arm rustc
                // checked. Exhaustiveness is reported on the witness, once: here a last arm
                // catches what the witness rejects.
                #[allow(unused_variables, unreachable_patterns, clippy::all)]
                fn #f(
                    __oxflow_output: &(dyn ::core::any::Any + ::core::marker::Send + ::core::marker::Sync),
                ) -> ::core::option::Option<usize> {
                    #traits
                    let __oxflow_value = ::oxflow::__private::downcast_output(__oxflow_output, #ty)?;
                    ::core::option::Option::Some(match __oxflow_value {
                        #(#pats => #ks,)*
                        _ => return ::core::option::Option::None,
                    })
                }
            });
            quote!(::core::option::Option::Some(&::oxflow::__private::BranchDef {
                choose: #f,
                arms: &[#(#texts),*],
            }))
        }
        None => none.clone(),
    };
    let follows = match node.follows {
        Some((b, k)) => {
            let from = position[body.branches[b].node];
            quote!(::core::option::Option::Some((#from, #k)))
        }
        None => none.clone(),
    };
    let map = match node.mapped {
        Some(k) => {
            let input = &node.inputs[k];
            let mut source = handle_type(body, input.node);
            if let Some(e) = input.element {
                let index = syn::Index::from(e);
                source = quote!(::oxflow::__private::project_type(#source, |__oxflow_t| &__oxflow_t.#index));
            }
            let span = input.span;
            let len = format_ident!("__oxflow_map_len_{}", i);
            let element = format_ident!("__oxflow_map_element_{}", i);
            // A list that is not a `Vec` is reported by the witness, at the user's argument; here
            // dispatch on the list's type finds no-op functions for it instead of a second error.
            let _ = span;
            let len_call = quote! {
                (&&::oxflow::__private::probe_of(#source)).list_len(__oxflow_v)
            };
            let element_call = quote! {
                (&&::oxflow::__private::probe_of(#source)).list_element(__oxflow_v, __oxflow_k)
            };
            fns.push(quote! {
                #[allow(clippy::all)]
                fn #len(
                    __oxflow_v: &(dyn ::core::any::Any + ::core::marker::Send + ::core::marker::Sync),
                ) -> ::core::option::Option<usize> {
                    #traits
                    #len_call
                }
                #[allow(clippy::all)]
                fn #element(
                    __oxflow_v: &(dyn ::core::any::Any + ::core::marker::Send + ::core::marker::Sync),
                    __oxflow_k: usize,
                ) -> ::core::option::Option<&(dyn ::core::any::Any + ::core::marker::Send + ::core::marker::Sync)> {
                    #traits
                    #element_call
                }
            });
            // The `Vec` of outputs is built only when a task reads it.
            let consumed = body
                .nodes
                .iter()
                .any(|n| n.inputs.iter().any(|x| x.node == i));
            let collect = if consumed {
                let f = format_ident!("__oxflow_map_collect_{}", i);
                let a = alias(i, syn::spanned::Spanned::span(&node.path));
                let out_span = syn::spanned::Spanned::span(&node.path);
                let call = quote_spanned! {out_span=>
                    ::oxflow::__private::collect_outputs(
                        __oxflow_outputs,
                        (&&::oxflow::__private::Probe::<<#a as ::oxflow::__private::Task>::Return>::new()).output_type(),
                    )
                };
                fns.push(quote! {
                    #[allow(clippy::all)]
                    fn #f(
                        __oxflow_outputs: ::std::vec::Vec<::oxflow::__private::TaskOutput>,
                    ) -> ::core::option::Option<::oxflow::__private::TaskOutput> {
                        #traits
                        #call
                    }
                });
                quote!(::core::option::Option::Some(#f))
            } else {
                none.clone()
            };
            quote!(::core::option::Option::Some(&::oxflow::__private::MapDef {
                input: #k,
                len: #len,
                element: #element,
                collect: #collect,
            }))
        }
        None => none.clone(),
    };
    let join = node.join;
    let group = match node.group {
        Some(g) => quote!(::core::option::Option::Some(#g)),
        None => none,
    };
    quote! {
        ::oxflow::__private::NodeFlow {
            branch: #branch,
            follows: #follows,
            map: #map,
            join: #join,
            group: #group,
        }
    }
}

/// Checks over what the tasks declare, which the macro cannot see: `const` items whose
/// evaluation fails, at the user's call, when a check does not hold.
fn const_checks(args: &DagArgs, body: &DagBody) -> TokenStream {
    let mut out = TokenStream::new();
    let def = |i: usize| {
        let node = &body.nodes[i];
        let a = alias(i, syn::spanned::Spanned::span(&node.path));
        quote!(<#a as ::oxflow::__private::Task>::DEF)
    };
    // Unique ids, including those a `#[task(id = ...)]` sets.
    if body.nodes.len() > 1 {
        // (group prefix, id): a task's id is prefixed with its groups' at run time.
        let ids = body.nodes.iter().enumerate().map(|(i, node)| {
            let prefix = &node.id[..node.id.len() - node.raw_id.len()];
            if node.explicit_id {
                let id = &node.raw_id;
                quote!((#prefix, #id))
            } else {
                let d = def(i);
                quote!((#prefix, #d.name))
            }
        });
        let n = body.nodes.len();
        out.extend(quote! {
            const __OXFLOW_IDS: [(&str, &str); #n] = [#(#ids),*];
        });
        for (k, node) in body.nodes.iter().enumerate().skip(1) {
            let message = format!(
                "this call's task id is already used by an earlier task in this `#[dag]` (a `#[task(id = \"...\")]` gives both the same id); give this call its own: `#[task_id = \"{}_2\"]`",
                node.id
            );
            let span = node.id_span;
            out.extend(quote_spanned! {span=>
                const _: () = if ::oxflow::__private::grouped_id_repeats(&__OXFLOW_IDS, #k) {
                    ::core::panic!(#message)
                };
            });
        }
    }
    // A default trigger rule that can run a task without an input needs optional inputs, in
    // the tasks that leave their rule to the default.
    // The innermost group's rule wins over the DAG's.
    for (i, node) in body.nodes.iter().enumerate() {
        let mut rule = None;
        let mut g = node.group;
        while let Some(gi) = g {
            let group = &body.groups[gi];
            if let Some((r, _)) = group.defaults.trigger {
                rule = Some((
                    r,
                    format!(
                        "group!(\"{}\", default_args(trigger = \"{r}\"), ..)",
                        group.id
                    ),
                ));
                break;
            }
            g = group.parent;
        }
        let rule = rule.or_else(|| {
            args.defaults
                .trigger
                .map(|(r, _)| (r, format!("#[dag(default_args(trigger = \"{r}\"))]")))
        });
        let Some((rule, source)) = rule else { continue };
        if rule == "all_success" {
            continue;
        }
        {
            let d = def(i);
            for (k, input) in node.inputs.iter().enumerate() {
                let message = format!(
                    "`{source}` can run `{}` when the upstream of this argument did not succeed, and then there is no value to pass: declare the parameter as `Option<&T>` (or `Option<T>`), or give the task a rule of its own, such as `#[task(trigger = \"all_success\")]`",
                    node.id
                );
                let span = input.span;
                out.extend(quote_spanned! {span=>
                    const _: () = if ::oxflow::__private::input_needs_success(&#d, #k) {
                        ::core::panic!(#message)
                    };
                });
            }
        }
    }
    // A retry cap below the retry delay, one of them set by `default_args`.
    if args.defaults.retry_delay.is_some() || args.defaults.max_retry_delay.is_some() {
        let defaults = task_options_tokens(&args.defaults);
        for (i, node) in body.nodes.iter().enumerate() {
            let d = def(i);
            let message = format!(
                "`{}` gets a `max_retry_delay` below its `retry_delay`, one from `#[task(...)]` and the other from `#[dag(default_args(...))]`; raise `max_retry_delay` or lower `retry_delay`",
                node.id
            );
            let span = syn::spanned::Spanned::span(&node.path);
            out.extend(quote_spanned! {span=>
                const _: () = if ::oxflow::__private::retry_cap_below_delay(&#d.options, &#defaults) {
                    ::core::panic!(#message)
                };
            });
        }
    }
    out
}

/// The DAG's `ScheduleOptions`: Airflow's defaults for what is not given; `@continuous` runs
/// one run at a time.
fn scheduling_tokens(args: &DagArgs) -> TokenStream {
    let start = match args.start_date {
        Some((t, _)) => quote!(::core::option::Option::Some(#t)),
        None => quote!(::core::option::Option::None),
    };
    let catchup = args.catchup.is_some_and(|(c, _)| c);
    let continuous = args.schedule_text().map(str::trim) == Some("@continuous");
    let max_runs = match args.max_active_runs {
        Some((n, _)) => usize::try_from(n).unwrap_or(usize::MAX),
        None if continuous => 1,
        None => 16,
    };
    let overlap = match args.overlap.as_ref().map(|(o, _)| o.as_str()) {
        Some("skip") => quote!(::oxflow::__private::Overlap::Skip),
        _ => quote!(::oxflow::__private::Overlap::Wait),
    };
    quote! {
        ::oxflow::__private::ScheduleOptions {
            start_date: #start,
            catchup: #catchup,
            max_active_runs: #max_runs,
            overlap: #overlap,
        }
    }
}
