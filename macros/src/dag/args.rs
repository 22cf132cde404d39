//! The options of `#[dag(...)]`, read against the shared option table.

use proc_macro2::{Span, TokenStream};
use syn::Type;

use crate::common::attr::{self, DAG, DAG_DEFAULTS};
use crate::common::{Errors, TaskOptionArgs, check_retry_delays};

pub(crate) struct DagArgs {
    pub(crate) id: Option<(String, Span)>,
    pub(crate) description: Option<(String, Span)>,
    pub(crate) schedule: Option<(String, Span)>,
    pub(crate) params: Option<(Type, Span)>,
    pub(crate) max_active_tasks: Option<(usize, Span)>,
    pub(crate) dagrun_timeout: Option<(std::time::Duration, Span)>,
    pub(crate) tags: Option<(Vec<String>, Span)>,
    pub(crate) max_map_length: Option<(usize, Span)>,
    pub(crate) defaults: TaskOptionArgs,
}

impl DagArgs {
    pub(crate) fn parse(args: TokenStream, errors: &Errors) -> DagArgs {
        let values = attr::parse(&DAG, args, errors);
        let defaults = values
            .nested("default_args")
            .map(TaskOptionArgs::from_values)
            .unwrap_or_default();
        check_retry_delays(&defaults, &DAG_DEFAULTS, errors);
        DagArgs {
            id: values.string("id"),
            description: values.string("description"),
            schedule: values.string("schedule"),
            params: values.ty("params"),
            max_active_tasks: values
                .count("max_active_tasks")
                .map(|(n, s)| (usize::try_from(n).unwrap_or(usize::MAX), s)),
            dagrun_timeout: values.duration("dagrun_timeout"),
            tags: values.list("tags"),
            max_map_length: values
                .count("max_map_length")
                .map(|(n, s)| (usize::try_from(n).unwrap_or(usize::MAX), s)),
            defaults,
        }
    }
}
