//! Task options: `retries`, `retry_delay`, `backoff`, `max_retry_delay`, `timeout`, `trigger`,
//! `persist`. Each keyword is declared once, in [`TASK_OPTIONS`], and set through one helper that
//! rejects repeats.

use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::meta::ParseNestedMeta;
use syn::{Expr, Lit, LitStr, Token, token};

use super::Errors;

/// The option keywords, in the order messages list them.
pub(crate) const TASK_OPTIONS: &[&str] = &[
    "retries",
    "retry_delay",
    "backoff",
    "max_retry_delay",
    "timeout",
    "trigger",
    "persist",
];

/// Airflow's trigger rules, as the runtime's `TriggerRule` names them.
const TRIGGER_RULES: &[(&str, &str)] = &[
    ("all_success", "AllSuccess"),
    ("all_failed", "AllFailed"),
    ("all_done", "AllDone"),
    ("all_done_min_one_success", "AllDoneMinOneSuccess"),
    ("one_success", "OneSuccess"),
    ("one_failed", "OneFailed"),
    ("one_done", "OneDone"),
    ("none_failed", "NoneFailed"),
    ("none_failed_min_one_success", "NoneFailedMinOneSuccess"),
    ("none_skipped", "NoneSkipped"),
    ("all_skipped", "AllSkipped"),
    ("always", "Always"),
];

/// Task options as written; every value remembers its span.
#[derive(Default)]
pub(crate) struct TaskOptionArgs {
    pub(crate) retries: Option<(u32, Span)>,
    pub(crate) retry_delay: Option<(Duration, Span)>,
    pub(crate) backoff: Option<(f64, Span)>,
    pub(crate) max_retry_delay: Option<(Duration, Span)>,
    pub(crate) timeout: Option<(Duration, Span)>,
    pub(crate) trigger: Option<(&'static str, Span)>,
    pub(crate) persist: Option<(bool, Span)>,
}

/// Where an option is written, so messages quote the syntax the user typed.
#[derive(Clone, Copy)]
pub(crate) enum Site {
    /// `#[task(...)]`
    Task,
    /// `#[dag(...)]`
    Dag,
    /// `#[dag(default_args(...))]`
    DagDefaults,
}

impl Site {
    /// The attribute, such as `#[dag(default_args(...))]`.
    pub(crate) fn attr(self) -> &'static str {
        match self {
            Site::Task => "#[task]",
            Site::Dag => "#[dag]",
            Site::DagDefaults => "#[dag(default_args(...))]",
        }
    }

    /// The option's syntax, such as `#[dag(default_args(timeout = ...))]`.
    pub(crate) fn key(self, name: &str) -> String {
        match self {
            Site::Task => format!("#[task({name} = ...)]"),
            Site::Dag => format!("#[dag({name} = ...)]"),
            Site::DagDefaults => format!("#[dag(default_args({name} = ...))]"),
        }
    }
}

/// Stores `value` in `slot` unless the option was given before.
pub(crate) fn set_once<T>(
    slot: &mut Option<(T, Span)>,
    value: T,
    span: Span,
    site: Site,
    name: &str,
    errors: &mut Errors,
) {
    if slot.is_some() {
        errors.at(
            span,
            format!("`{name}` given twice in `{}`; keep one", site.attr()),
        );
    } else {
        *slot = Some((value, span));
    }
}

/// Parses a duration such as "30s", "5m", "1h 30m" or "250ms".
pub(crate) fn parse_duration(lit: &LitStr, site: Site, name: &str) -> syn::Result<Duration> {
    let text = lit.value();
    humantime::parse_duration(text.trim()).map_err(|e| {
        syn::Error::new(
            lit.span(),
            format!(
                "`{}` expects a duration such as \"30s\", \"5m\" or \"1h 30m\"; \"{text}\" is not one ({e})",
                site.key(name)
            ),
        )
    })
}

/// An example value of each option, for messages.
pub(crate) fn example(name: &str) -> &'static str {
    match name {
        "retries" => "3",
        "retry_delay" => "\"30s\"",
        "backoff" => "2.0",
        "max_retry_delay" => "\"10m\"",
        "timeout" => "\"1h\"",
        "trigger" => "\"all_done\"",
        "persist" => "false",
        "id" => "\"load_data\"",
        "description" => "\"what it does\"",
        "schedule" => "\"@daily\"",
        "params" => "MyParams",
        "max_active_tasks" => "4",
        "dagrun_timeout" => "\"1h\"",
        "tags" => "[\"ml\"]",
        _ => "...",
    }
}

/// Parses `= value` of an option as an expression. A bare key (`retries`) or a list
/// (`retries(3)`) is reported, skipped, and gives `None`, so the other options are still
/// checked.
pub(crate) fn option_value(
    meta: &ParseNestedMeta<'_>,
    site: Site,
    name: &str,
    errors: &mut Errors,
) -> syn::Result<Option<Expr>> {
    if meta.input.peek(Token![=]) {
        return Ok(Some(meta.value()?.parse()?));
    }
    errors.spanned(
        &meta.path,
        format!(
            "`{}` needs a value, such as `{name} = {}`",
            site.key(name),
            example(name)
        ),
    );
    if meta.input.peek(token::Paren) {
        let _: proc_macro2::Group = meta.input.parse()?;
    }
    Ok(None)
}

/// The literal an option's value is, if it is one.
pub(crate) fn literal(expr: &Expr) -> Option<&Lit> {
    match expr {
        Expr::Lit(l) => Some(&l.lit),
        Expr::Group(g) => literal(&g.expr),
        _ => None,
    }
}

/// Parses the task option `meta` names into `opts`. Returns `Ok(false)` when `meta` is not a task
/// option; errors in the value are collected, not returned, so parsing goes on.
pub(crate) fn parse_task_option(
    meta: &ParseNestedMeta<'_>,
    opts: &mut TaskOptionArgs,
    site: Site,
    errors: &mut Errors,
) -> syn::Result<bool> {
    let Some(ident) = meta.path.get_ident() else {
        return Ok(false);
    };
    let name = ident.to_string();
    if !TASK_OPTIONS.contains(&name.as_str()) {
        return Ok(false);
    }
    let span = ident.span();
    let Some(expr) = option_value(meta, site, &name, errors)? else {
        return Ok(true);
    };
    let key = site.key(&name);
    let lit = literal(&expr);
    match name.as_str() {
        "retries" => match lit {
            Some(Lit::Int(i)) if i.base10_parse::<u32>().is_ok() => {
                let n = i.base10_parse::<u32>().unwrap_or_default();
                set_once(&mut opts.retries, n, span, site, &name, errors);
            }
            _ => errors.spanned(&expr, format!("`{key}` expects a whole number such as 3")),
        },
        "retry_delay" | "max_retry_delay" | "timeout" => match lit {
            Some(Lit::Str(s)) => match parse_duration(s, site, &name) {
                Ok(d) => {
                    let slot = match name.as_str() {
                        "retry_delay" => &mut opts.retry_delay,
                        "max_retry_delay" => &mut opts.max_retry_delay,
                        _ => &mut opts.timeout,
                    };
                    set_once(slot, d, span, site, &name, errors);
                }
                Err(e) => errors.push(e),
            },
            _ => errors.spanned(
                &expr,
                format!("`{key}` expects a duration in a string, such as \"30s\" or \"5m\""),
            ),
        },
        "backoff" => {
            let value = match lit {
                Some(Lit::Float(f)) => f.base10_parse::<f64>().ok(),
                Some(Lit::Int(i)) => i.base10_parse::<f64>().ok(),
                _ => None,
            };
            match value {
                Some(v) if v >= 1.0 && v.is_finite() => {
                    set_once(&mut opts.backoff, v, span, site, &name, errors)
                }
                _ => errors.spanned(
                    &expr,
                    format!("`{key}` expects a multiplier of at least 1.0, such as 2.0"),
                ),
            }
        }
        "trigger" => {
            let rules = TRIGGER_RULES
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ");
            match lit {
                Some(Lit::Str(s)) => {
                    let text = s.value();
                    match TRIGGER_RULES.iter().find(|(n, _)| *n == text) {
                        Some((_, variant)) => {
                            set_once(&mut opts.trigger, *variant, span, site, &name, errors)
                        }
                        None => errors.spanned(
                            s,
                            format!(
                                "unknown trigger rule \"{text}\"; `{key}` expects one of: {rules}"
                            ),
                        ),
                    }
                }
                _ => errors.spanned(
                    &expr,
                    format!("`{key}` expects a trigger rule in a string, such as \"all_done\"; the rules are: {rules}"),
                ),
            }
        }
        "persist" => match lit {
            Some(Lit::Bool(b)) => set_once(&mut opts.persist, b.value, span, site, &name, errors),
            _ => errors.spanned(&expr, format!("`{key}` expects `true` or `false`")),
        },
        _ => return Ok(false),
    }
    Ok(true)
}

fn duration_tokens(d: Duration) -> TokenStream {
    let nanos = d.as_nanos() as u64;
    quote!(::core::time::Duration::from_nanos(#nanos))
}

fn opt<T>(value: &Option<(T, Span)>, f: impl Fn(&T) -> TokenStream) -> TokenStream {
    match value {
        Some((v, _)) => {
            let v = f(v);
            quote!(::core::option::Option::Some(#v))
        }
        None => quote!(::core::option::Option::None),
    }
}

/// The runtime's `TaskOptions` constant for `opts`.
pub(crate) fn task_options_tokens(opts: &TaskOptionArgs) -> TokenStream {
    let retries = opt(&opts.retries, |n| quote!(#n));
    let retry_delay = opt(&opts.retry_delay, |d| duration_tokens(*d));
    let backoff = opt(&opts.backoff, |b| quote!(#b));
    let max_retry_delay = opt(&opts.max_retry_delay, |d| duration_tokens(*d));
    let timeout = opt(&opts.timeout, |d| duration_tokens(*d));
    let trigger = opt(&opts.trigger, |v| {
        let v = syn::Ident::new(v, Span::call_site());
        quote!(::oxflow::__private::TriggerRule::#v)
    });
    let persist = opt(&opts.persist, |p| quote!(#p));
    quote! {
        ::oxflow::__private::TaskOptions {
            retries: #retries,
            retry_delay: #retry_delay,
            backoff: #backoff,
            max_retry_delay: #max_retry_delay,
            timeout: #timeout,
            trigger: #trigger,
            persist: #persist,
        }
    }
}

/// `set_once` for the `id` option, which is not a task option proper.
pub(crate) fn set_once_id(
    slot: &mut Option<(String, Span)>,
    value: String,
    span: Span,
    site: Site,
    errors: &mut Errors,
) {
    set_once(slot, value, span, site, "id", errors);
}
