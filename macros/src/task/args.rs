//! The options of `#[task(...)]`, read against the shared option table.

use proc_macro2::{Span, TokenStream};

use crate::common::attr::{self, TASK};
use crate::common::{Errors, TaskOptionArgs, check_retry_delays};
use crate::sensor::SensorArgs;

pub(crate) struct TaskArgs {
    pub(crate) id: Option<(String, Span)>,
    /// `#[task(short_circuit)]`.
    pub(crate) short_circuit: Option<(bool, Span)>,
    /// `#[task(conns = ["warehouse"])]`: the connections the task reads, checked before a DAG
    /// run starts.
    pub(crate) conns: Vec<String>,
    pub(crate) options: TaskOptionArgs,
    /// `#[sensor(...)]`: the sensor's own options; `None` for a `#[task]`.
    pub(crate) sensor: Option<SensorArgs>,
}

impl TaskArgs {
    pub(crate) fn parse(args: TokenStream, errors: &Errors) -> TaskArgs {
        let values = attr::parse(&TASK, args, errors);
        let options = TaskOptionArgs::from_values(&values);
        check_retry_delays(&options, &TASK, errors);
        TaskArgs {
            id: values.string("id"),
            short_circuit: values.bool("short_circuit"),
            conns: values.list("conns").map(|(l, _)| l).unwrap_or_default(),
            options,
            sensor: None,
        }
    }
}
