//! The options of `#[dag(...)]`, read against the shared option table.

use proc_macro2::{Span, TokenStream};
use syn::Type;

use crate::common::attr::{self, DAG, DAG_DEFAULTS};
use crate::common::{Errors, TaskOptionArgs, check_retry_delays};

pub(crate) struct DagArgs {
    pub(crate) id: Option<(String, Span)>,
    pub(crate) description: Option<(String, Span)>,
    /// `Some(None)`: `schedule = None`.
    pub(crate) schedule: Option<(Option<String>, Span)>,
    pub(crate) start_date: Option<(i64, Span)>,
    pub(crate) catchup: Option<(bool, Span)>,
    pub(crate) max_active_runs: Option<(u64, Span)>,
    pub(crate) overlap: Option<(String, Span)>,
    pub(crate) params: Option<(Type, Span)>,
    pub(crate) max_active_tasks: Option<(usize, Span)>,
    pub(crate) dagrun_timeout: Option<(std::time::Duration, Span)>,
    pub(crate) tags: Option<(Vec<String>, Span)>,
    pub(crate) max_map_length: Option<(usize, Span)>,
    pub(crate) defaults: TaskOptionArgs,
    /// `alerts(stale_after = ..)`.
    pub(crate) alert_stale_after: Option<(std::time::Duration, Span)>,
    /// `alerts(max_retries = ..)`.
    pub(crate) alert_max_retries: Option<(u32, Span)>,
}

impl DagArgs {
    pub(crate) fn parse(args: TokenStream, errors: &Errors) -> DagArgs {
        let values = attr::parse(&DAG, args, errors);
        let defaults = values
            .nested("default_args")
            .map(TaskOptionArgs::from_values)
            .unwrap_or_default();
        check_retry_delays(&defaults, &DAG_DEFAULTS, errors);
        let alerts = values.nested("alerts");
        let args = DagArgs {
            id: values.string("id"),
            description: values.string("description"),
            schedule: values.schedule("schedule"),
            start_date: values.timestamp("start_date"),
            catchup: values.bool("catchup"),
            max_active_runs: values.count("max_active_runs"),
            overlap: values.string("overlap"),
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
            alert_stale_after: alerts.and_then(|a| a.duration("stale_after")),
            alert_max_retries: alerts
                .and_then(|a| a.count("max_retries"))
                .map(|(n, s)| (u32::try_from(n).unwrap_or(u32::MAX), s)),
        };
        args.check_scheduling(errors);
        args
    }

    /// The schedule's text, if the DAG has one.
    pub(crate) fn schedule_text(&self) -> Option<&str> {
        self.schedule.as_ref().and_then(|(s, _)| s.as_deref())
    }

    /// `catchup = true` needs a `start_date` to catch up from; `@continuous` runs one run at a
    /// time (Airflow refuses `max_active_runs` above 1 for it).
    fn check_scheduling(&self, errors: &Errors) {
        if let Some((true, span)) = self.catchup
            && self.start_date.is_none()
        {
            errors.at(
                span,
                "`#[dag(catchup = true)]` runs the intervals missed since `start_date`; add one, such as `start_date = \"2026-01-01\"`".to_owned(),
            );
        }
        if self.schedule_text().map(str::trim) == Some("@continuous")
            && let Some((n, span)) = self.max_active_runs
            && n != 1
        {
            errors.at(
                span,
                "a `schedule = \"@continuous\"` DAG runs one run after another: `max_active_runs` must be 1 (or left out)".to_owned(),
            );
        }
    }
}
