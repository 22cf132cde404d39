//! The options of `#[sensor(...)]`: a task's (its id, connections, retries, trigger rule,
//! persistence) and the sensor's own, read against the shared option table.

use std::time::Duration;

use proc_macro2::{Span, TokenStream};

use crate::common::attr::{self, SENSOR};
use crate::common::{Errors, TaskOptionArgs, check_retry_delays};
use crate::task::TaskArgs;

/// The sensor's own options as written; every value remembers where its option was written.
#[derive(Default)]
pub(crate) struct SensorArgs {
    pub(crate) poke_interval: Option<(Duration, Span)>,
    /// The sensor's whole wait (not a per-attempt limit, as `#[task(timeout)]` is).
    pub(crate) timeout: Option<(Duration, Span)>,
    /// `true` for `mode = "reschedule"`.
    pub(crate) reschedule: Option<(bool, Span)>,
    pub(crate) soft_fail: Option<(bool, Span)>,
    pub(crate) exponential_backoff: Option<(bool, Span)>,
    pub(crate) max_wait: Option<(Duration, Span)>,
}

/// Parses `#[sensor(...)]`: the task's options and the sensor's.
pub(crate) fn parse(args: TokenStream, errors: &Errors) -> TaskArgs {
    let values = attr::parse(&SENSOR, args, errors);
    let mut options = TaskOptionArgs::from_values(&values);
    // On a sensor, `timeout` is the sensor's own; no per-poke limit is set here.
    let timeout = options.timeout.take();
    check_retry_delays(&options, &SENSOR, errors);
    let sensor = SensorArgs {
        poke_interval: values.duration("poke_interval"),
        timeout,
        reschedule: values
            .string("mode")
            .map(|(m, span)| (m == "reschedule", span)),
        soft_fail: values.bool("soft_fail"),
        exponential_backoff: values.bool("exponential_backoff"),
        max_wait: values.duration("max_wait"),
    };
    TaskArgs {
        id: values.string("id"),
        short_circuit: None,
        conns: values.list("conns").map(|(l, _)| l).unwrap_or_default(),
        options,
        sensor: Some(sensor),
    }
}
