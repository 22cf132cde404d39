//! `backfill DAG --start DATE --end DATE`: runs for every interval whose logical date lies in
//! the range, in this process.
//!
//! Airflow 3 hands a backfill to its scheduler; here the command runs it itself (as Airflow 2's
//! `dags backfill` did), so a backfill needs no scheduler running and shows its progress where
//! it was started. It does not touch the schedule state: the scheduler's own intervals go on.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{Semaphore, watch};

use super::runner::SchedulerError;
use super::{DataInterval, RunType, Schedule, TAG_LOGICAL_DATE, format_time};
use crate::dag::DagDef;
use crate::exec::{self, DagRunState, RunConfig, TAG_DAG, TAG_STATE};
use crate::tracking::{TAG_PARENT_RUN_ID, TrackingStore};

/// Which intervals that already have a run a backfill runs again (Airflow's
/// `--reprocess-behavior`; Airflow calls `all` `completed`).
///
/// ```
/// use oxflow_runtime::schedule::Reprocess;
/// assert_eq!("failed".parse::<Reprocess>(), Ok(Reprocess::Failed));
/// assert!("some".parse::<Reprocess>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reprocess {
    /// Only intervals without a run (Airflow's default).
    #[default]
    None,
    /// Also intervals whose latest run failed or was killed.
    Failed,
    /// Every interval, except one whose run is queued or running now.
    All,
}

impl std::str::FromStr for Reprocess {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "none" => Ok(Reprocess::None),
            "failed" => Ok(Reprocess::Failed),
            "all" | "completed" => Ok(Reprocess::All),
            _ => Err(format!(
                "unknown reprocess behaviour \"{s}\"; expected none, failed or all"
            )),
        }
    }
}

/// A backfill: a DAG and a range of logical dates, both ends included.
pub struct Backfill {
    /// The DAG.
    pub dag: &'static DagDef,
    /// The first logical date.
    pub start: DateTime<Utc>,
    /// The last logical date.
    pub end: DateTime<Utc>,
    /// What to do with intervals that have a run.
    pub reprocess: Reprocess,
    /// How many runs at once (default: the DAG's `max_active_runs`).
    pub max_active_runs: Option<usize>,
    /// Root of the task log tree.
    pub log_root: Option<PathBuf>,
    /// Where the runs look their connections up; `None` is the environment
    /// (`OXFLOW_CONN_<ID>`, `OXFLOW_CONNECTIONS_FILE`).
    pub connections: Option<crate::conn::Connections>,
}

/// What a backfill did, interval by interval.
#[derive(Debug, Clone, Default)]
pub struct BackfillReport {
    /// Intervals run, with how the run ended (`None`: it could not be recorded).
    pub ran: Vec<(DataInterval, Option<DagRunState>)>,
    /// Intervals left alone, with the state of their existing run.
    pub kept: Vec<(DataInterval, String)>,
}

impl BackfillReport {
    /// Whether every run it started succeeded.
    pub fn succeeded(&self) -> bool {
        self.ran
            .iter()
            .all(|(_, s)| *s == Some(DagRunState::Success))
    }
}

/// Runs a backfill; `stop` completing stops it (running runs are recorded killed).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use oxflow_runtime::schedule::{Backfill, Reprocess, backfill, parse_time};
/// let store = oxflow_runtime::tracking::TrackingStore::from_env()?;
/// let report = backfill(&store, Backfill {
///     dag: oxflow_runtime::dag::find("nightly")?,
///     start: parse_time("2026-03-01")?,
///     end: parse_time("2026-03-07")?,
///     reprocess: Reprocess::Failed,
///     max_active_runs: None,
///     log_root: None,
///     connections: None,
/// }, std::future::pending()).await?;
/// println!("{} runs", report.ran.len());
/// # Ok(()) }
/// ```
pub async fn backfill(
    store: &TrackingStore,
    b: Backfill,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<BackfillReport, SchedulerError> {
    let dag = b.dag;
    let schedule_err = |source| SchedulerError::Schedule {
        dag: dag.id.to_owned(),
        source,
    };
    let Some(text) = dag.schedule else {
        return Err(SchedulerError::NotScheduled {
            dag: dag.id.to_owned(),
        });
    };
    let schedule: Schedule = text.parse().map_err(schedule_err)?;
    let spec = dag.spec()?;
    let intervals = schedule
        .intervals_between(b.start, b.end)
        .map_err(schedule_err)?;
    let mut report = BackfillReport::default();
    let mut todo = Vec::new();
    let state_err = |e: crate::tracking::TrackingError| SchedulerError::State {
        dag: dag.id.to_owned(),
        source: Box::new(e.into()),
    };
    let exp = store.get_or_create_experiment(dag.id).map_err(state_err)?;
    for interval in intervals {
        let existing =
            latest_state(store, &exp.experiment_id, dag.id, &interval).map_err(state_err)?;
        let rerun = match existing.as_deref() {
            None => true,
            Some("queued" | "running") => false,
            Some("failed" | "killed") => b.reprocess != Reprocess::None,
            Some(_) => b.reprocess == Reprocess::All,
        };
        match (rerun, existing) {
            (true, _) => todo.push(interval),
            (false, Some(state)) => report.kept.push((interval, state)),
            (false, None) => {}
        }
    }
    let limit = b
        .max_active_runs
        .unwrap_or(dag.scheduling.max_active_runs)
        .max(1);
    let slots = Arc::new(Semaphore::new(limit));
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        stop.await;
        let _ = stop_tx.send(true);
    });
    let mut set = tokio::task::JoinSet::new();
    for (k, interval) in todo.iter().copied().enumerate() {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            _ = wait_stop(stop_rx.clone()) => break,
        };
        let mut cfg = RunConfig::recorded(store.clone()).for_interval(RunType::Backfill, interval);
        cfg.log_root = b.log_root.clone();
        cfg.connections = b.connections.clone();
        let cfg = cfg.cancel_on(wait_stop(stop_rx.clone()));
        let spec = spec.clone();
        set.spawn(async move {
            let out = exec::execute(&spec, cfg).await;
            drop(permit);
            if let Err(e) = &out {
                tracing::warn!("DAG `{}`, interval {interval}: {e}", spec.def.id);
            }
            (k, out.ok().map(|r| r.state))
        });
    }
    let mut results: Vec<(usize, Option<DagRunState>)> = Vec::new();
    while let Some(r) = set.join_next().await {
        if let Ok(r) = r {
            results.push(r);
        }
    }
    results.sort_by_key(|(k, _)| *k);
    report.ran = results.into_iter().map(|(k, s)| (todo[k], s)).collect();
    Ok(report)
}

async fn wait_stop(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}

/// The state of the latest DAG run of `interval` (by logical date), if it has one.
fn latest_state(
    store: &TrackingStore,
    experiment_id: &str,
    dag: &str,
    interval: &DataInterval,
) -> Result<Option<String>, crate::tracking::TrackingError> {
    let filter = format!(
        "tags.`{TAG_LOGICAL_DATE}` = '{}'",
        format_time(interval.start)
    );
    let runs = store.search_runs(&[experiment_id], &filter, &["start_time DESC"], 100)?;
    Ok(runs
        .iter()
        .filter(|r| !r.tags.contains_key(TAG_PARENT_RUN_ID))
        .find(|r| r.tags.get(TAG_DAG).is_some_and(|d| d == dag))
        .map(|r| r.tags.get(TAG_STATE).cloned().unwrap_or_default()))
}
