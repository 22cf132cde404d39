//! Running DAGs on their schedules: schedule expressions and data intervals ([`Schedule`],
//! [`DataInterval`]), the schedule state kept in the tracking store ([`state`]), the scheduler
//! loop ([`Scheduler`]) and backfill ([`backfill()`]).
//!
//! Not to be confused with the executor's scheduling of tasks within one run (`exec`): this
//! module decides when DAG runs start.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use oxflow_runtime::{schedule, tracking::TrackingStore};
//! let store = TrackingStore::from_env()?;
//! let scheduler = schedule::Scheduler::new(store, oxflow_runtime::dag::registered())?;
//! scheduler.run(async { tokio::signal::ctrl_c().await.ok(); }).await?;
//! # Ok(()) }
//! ```

mod backfill;
mod expr;
mod runner;
pub mod state;

pub use backfill::{Backfill, BackfillReport, Reprocess, backfill};
/// The date and time types of [`TaskContext::logical_date`](crate::exec::TaskContext::logical_date)
/// and [`DataInterval`], re-exported so a pipeline uses the same `chrono` as oxflow.
pub use chrono;
pub use expr::{DataInterval, PRESETS, Schedule, ScheduleError, format_time, parse_time};
pub use runner::{Scheduler, SchedulerError, SchedulerOptions, SchedulerReport};

/// What a DAG run does when it is due while `max_active_runs` runs of its DAG are active.
///
/// ```
/// use oxflow_runtime::schedule::Overlap;
/// assert_eq!("skip".parse::<Overlap>(), Ok(Overlap::Skip));
/// assert_eq!(Overlap::default(), Overlap::Wait);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Overlap {
    /// The run is recorded `queued` and starts when a run ends (Airflow's behaviour).
    #[default]
    Wait,
    /// The run is recorded `skipped` and never starts; the schedule moves on.
    Skip,
}

impl std::str::FromStr for Overlap {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "wait" => Ok(Overlap::Wait),
            "skip" => Ok(Overlap::Skip),
            _ => Err(format!(
                "unknown overlap \"{s}\"; expected \"wait\" or \"skip\""
            )),
        }
    }
}

impl std::fmt::Display for Overlap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Overlap::Wait => "wait",
            Overlap::Skip => "skip",
        })
    }
}

/// A DAG's scheduling options from `#[dag(...)]`, beside its `schedule`.
///
/// ```
/// use oxflow_runtime::schedule::ScheduleOptions;
/// let o = ScheduleOptions::DEFAULT;
/// assert_eq!((o.catchup, o.max_active_runs), (false, 16));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleOptions {
    /// The earliest logical date, in seconds since the Unix epoch (`start_date = "2026-01-01"`).
    pub start_date: Option<i64>,
    /// Create the runs missed since `start_date` or the last scheduled run (`catchup = true`).
    pub catchup: bool,
    /// How many runs of the DAG may be active at once (Airflow's default: 16).
    pub max_active_runs: usize,
    /// What a run due while `max_active_runs` are active does.
    pub overlap: Overlap,
}

impl ScheduleOptions {
    /// Airflow 3's defaults: no start date, no catchup, 16 active runs, waiting.
    pub const DEFAULT: ScheduleOptions = ScheduleOptions {
        start_date: None,
        catchup: false,
        max_active_runs: 16,
        overlap: Overlap::Wait,
    };

    /// `start_date` as a time.
    pub fn start(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        self.start_date
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
    }
}

impl Default for ScheduleOptions {
    fn default() -> Self {
        ScheduleOptions::DEFAULT
    }
}

/// What started a DAG run; Airflow's `DagRunType` names, recorded as the tag `oxflow.run_type`.
///
/// ```
/// use oxflow_runtime::schedule::RunType;
/// assert_eq!(RunType::Backfill.as_str(), "backfill");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum RunType {
    /// Started by hand (`run`).
    #[default]
    Manual,
    /// Started by the scheduler for a data interval.
    Scheduled,
    /// Started by `backfill` for a data interval.
    Backfill,
}

impl RunType {
    /// The name recorded and used as the metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            RunType::Manual => "manual",
            RunType::Scheduled => "scheduled",
            RunType::Backfill => "backfill",
        }
    }
}

impl std::fmt::Display for RunType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Tag on a DAG run: what started it ([`RunType`]).
pub const TAG_RUN_TYPE: &str = "oxflow.run_type";
/// Tag on a DAG run: its logical date (the data interval's start), RFC 3339 in UTC.
pub const TAG_LOGICAL_DATE: &str = "oxflow.logical_date";
/// Tag on a DAG run: the data interval's start.
pub const TAG_INTERVAL_START: &str = "oxflow.data_interval_start";
/// Tag on a DAG run: the data interval's end.
pub const TAG_INTERVAL_END: &str = "oxflow.data_interval_end";
/// Tag on a DAG run the scheduler created: when it was queued.
pub const TAG_QUEUED_AT: &str = "oxflow.queued_at";
/// Tag on a DAG run: when it started running (after waiting `queued`).
pub const TAG_STARTED_AT: &str = "oxflow.started_at";

/// The tags that say what started a run and the data interval it covers.
pub(crate) fn run_tags(
    run_type: RunType,
    interval: Option<&DataInterval>,
) -> Vec<(String, String)> {
    let mut tags = vec![(TAG_RUN_TYPE.to_owned(), run_type.as_str().to_owned())];
    if let Some(i) = interval {
        tags.push((TAG_LOGICAL_DATE.to_owned(), format_time(i.start)));
        tags.push((TAG_INTERVAL_START.to_owned(), format_time(i.start)));
        tags.push((TAG_INTERVAL_END.to_owned(), format_time(i.end)));
    }
    tags
}

/// Airflow's run id for a run of an interval: `scheduled__2026-03-01T00:00:00+00:00`; the run's
/// MLflow name.
pub(crate) fn run_name(run_type: RunType, interval: &DataInterval) -> String {
    format!(
        "{}__{}",
        run_type.as_str(),
        interval
            .start
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false)
    )
}
