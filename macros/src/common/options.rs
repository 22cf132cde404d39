//! The task options (`retries`, `retry_delay`, `backoff`, `max_retry_delay`, `timeout`,
//! `trigger`, `persist`) as `#[task]` and `#[dag(default_args(...))]` hold them, and the
//! runtime's `TaskOptions` constant they become.

use std::time::Duration;

use proc_macro2::{Span, TokenStream};
use quote::quote;

use super::Errors;
use super::attr::{Site, TRIGGER_RULES, Values};

/// Task options as written; every value remembers where its option was written.
#[derive(Default)]
pub(crate) struct TaskOptionArgs {
    pub(crate) retries: Option<(u32, Span)>,
    pub(crate) retry_delay: Option<(Duration, Span)>,
    pub(crate) backoff: Option<(f64, Span)>,
    pub(crate) max_retry_delay: Option<(Duration, Span)>,
    pub(crate) timeout: Option<(Duration, Span)>,
    /// The rule's Airflow name, such as `all_done`.
    pub(crate) trigger: Option<(&'static str, Span)>,
    pub(crate) persist: Option<(bool, Span)>,
}

impl TaskOptionArgs {
    /// Takes the task options out of an attribute's parsed values.
    pub(crate) fn from_values(v: &Values) -> TaskOptionArgs {
        TaskOptionArgs {
            retries: v
                .count("retries")
                .map(|(n, s)| (u32::try_from(n).unwrap_or(u32::MAX), s)),
            retry_delay: v.duration("retry_delay"),
            backoff: v.float("backoff"),
            max_retry_delay: v.duration("max_retry_delay"),
            timeout: v.duration("timeout"),
            trigger: v.trigger("trigger"),
            persist: v.bool("persist"),
        }
    }

    /// Whether the trigger rule, if set, runs the task only when every upstream succeeded.
    pub(crate) fn trigger_needs_success(&self) -> bool {
        self.trigger.is_none_or(|(t, _)| t == "all_success")
    }
}

/// The retry delay cannot be capped below itself: `retry_delay = "1m", max_retry_delay = "10s"`
/// is a mistake.
pub(crate) fn check_retry_delays(opts: &TaskOptionArgs, site: &Site, errors: &Errors) {
    if let (Some((delay, _)), Some((max, span))) = (opts.retry_delay, opts.max_retry_delay)
        && max < delay
    {
        errors.at(
            span,
            format!(
                "`{}` is below `retry_delay` ({} < {}), so no wait would ever be as long as the first; raise `max_retry_delay` or lower `retry_delay`",
                site.key("max_retry_delay"),
                humantime::format_duration(max),
                humantime::format_duration(delay)
            ),
        );
    }
}

/// A duration as a `::core::time::Duration` expression.
pub(crate) fn duration_tokens(d: Duration) -> TokenStream {
    let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
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
    let trigger = opt(&opts.trigger, |name| {
        let variant = TRIGGER_RULES
            .iter()
            .find(|(n, _)| n == name)
            .map_or("AllSuccess", |(_, v)| v);
        let v = syn::Ident::new(variant, Span::call_site());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::common::attr::{TASK, parse};

    #[test]
    fn a_retry_cap_below_the_delay_is_reported_at_the_cap() {
        let errors = Errors::default();
        let v = parse(
            &TASK,
            quote!(retry_delay = "1m", max_retry_delay = "10s"),
            &errors,
        );
        check_retry_delays(&TaskOptionArgs::from_values(&v), &TASK, &errors);
        let e = errors.finish().unwrap_err();
        assert_eq!(
            e.to_string(),
            "`#[task(max_retry_delay = ...)]` is below `retry_delay` (10s < 1m), so no wait would ever be as long as the first; raise `max_retry_delay` or lower `retry_delay`"
        );
        let errors = Errors::default();
        let v = parse(
            &TASK,
            quote!(retry_delay = "1m", max_retry_delay = "1m"),
            &errors,
        );
        check_retry_delays(&TaskOptionArgs::from_values(&v), &TASK, &errors);
        assert!(errors.finish().is_ok());
    }

    #[test]
    fn only_all_success_promises_every_input() {
        let errors = Errors::default();
        for (tokens, needs) in [
            (quote!(), true),
            (quote!(trigger = "all_success"), true),
            (quote!(trigger = "none_failed"), false),
        ] {
            let v = parse(&TASK, tokens, &errors);
            assert_eq!(
                TaskOptionArgs::from_values(&v).trigger_needs_success(),
                needs
            );
        }
    }
}
