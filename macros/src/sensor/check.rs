//! Rules a sensor's options follow, one function each. (The function itself follows a task's
//! rules; that it returns a `Poke` is the compiler's check, by type.)

use super::args::SensorArgs;
use crate::common::Errors;
use crate::common::attr::SENSOR;

pub(crate) fn check(args: &SensorArgs, errors: &Errors) {
    check_interval_within_timeout(args, errors);
    check_max_wait_needs_backoff(args, errors);
}

/// A sensor pokes at least twice within its timeout only if the interval is shorter:
/// `poke_interval = "2h", timeout = "1h"` is a mistake.
fn check_interval_within_timeout(args: &SensorArgs, errors: &Errors) {
    if let (Some((interval, span)), Some((timeout, _))) = (args.poke_interval, args.timeout)
        && interval > timeout
    {
        errors.at(
            span,
            format!(
                "`{}` is longer than the sensor's `timeout` ({} > {}), so it would time out before its second poke; shorten `poke_interval` or lengthen `timeout`",
                SENSOR.key("poke_interval"),
                humantime::format_duration(interval),
                humantime::format_duration(timeout)
            ),
        );
    }
}

/// `max_wait` caps the growing wait of `exponential_backoff`; without it, it means nothing:
/// `#[sensor(max_wait = "10m")]` alone is a mistake.
fn check_max_wait_needs_backoff(args: &SensorArgs, errors: &Errors) {
    let backoff = matches!(args.exponential_backoff, Some((true, _)));
    if let Some((_, span)) = args.max_wait
        && !backoff
    {
        errors.at(
            span,
            "`max_wait` caps the wait of `exponential_backoff`, which is off; add `exponential_backoff = true` or remove `max_wait`",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(tokens: proc_macro2::TokenStream) -> Vec<String> {
        let errors = Errors::default();
        let args = super::super::args::parse(tokens, &errors);
        check(args.sensor.as_ref().unwrap(), &errors);
        match errors.finish() {
            Ok(()) => Vec::new(),
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn the_interval_fits_in_the_timeout() {
        assert_eq!(
            errors_of(quote::quote!(poke_interval = "2h", timeout = "1h")),
            [
                "`#[sensor(poke_interval = ...)]` is longer than the sensor's `timeout` (2h > 1h), so it would time out before its second poke; shorten `poke_interval` or lengthen `timeout`"
            ]
        );
        assert!(errors_of(quote::quote!(poke_interval = "1h", timeout = "1h")).is_empty());
    }

    #[test]
    fn max_wait_needs_backoff() {
        assert_eq!(errors_of(quote::quote!(max_wait = "1m")).len(), 1);
        assert!(errors_of(quote::quote!(max_wait = "1m", exponential_backoff = true)).is_empty());
    }

    #[test]
    fn modes_are_poke_or_reschedule() {
        assert_eq!(
            errors_of(quote::quote!(mode = "deferrable")),
            [
                "unknown `mode` \"deferrable\"; `#[sensor(mode = ...)]` expects \"poke\" or \"reschedule\""
            ]
        );
    }
}
