//! Schedule state in the tracking store, as tags on the DAG's experiment (the experiment named
//! after the DAG, which holds its runs):
//!
//! | tag | value |
//! | --- | --- |
//! | `oxflow.schedule.last_interval_end` | end of the latest interval the scheduler has taken (RFC 3339, UTC) |
//! | `oxflow.schedule.paused` | `true` while the DAG is paused |
//! | `oxflow.schedule.recovered_by` | the scheduler (`host:pid`) that last took over runs left `queued` |
//!
//! Why tags, not a table: MLflow's schema has no place for schedules, every backend (SQLite in
//! MLflow's schema, the file store, an MLflow server) has experiment tags, and MLflow shows them
//! (and keeps working: `mlflow db upgrade` and `mlflow server` never look at them). A table of
//! our own in the SQLite file would leave the file store and MLflow servers out.
//!
//! Taking an interval is a compare-and-set of `last_interval_end` from the value read to the
//! interval's end ([`TrackingStore::compare_and_set_experiment_tag`]), together with the
//! interval's DAG run record in one store batch (one transaction on SQLite): of two schedulers
//! reading the same state, one moves the tag and records the run, the other's compare fails and
//! it reads the state again. The claim survives a restart because it is the store's, so a
//! scheduler started again neither repeats nor loses an interval.

use chrono::{DateTime, Utc};

use super::{DataInterval, RunType, format_time};
use crate::dag::DagSpec;
use crate::exec::RecordError;
use crate::tracking::{TrackingError, TrackingStore};

/// Experiment tag: the end of the latest interval the scheduler has taken.
pub const TAG_LAST_INTERVAL_END: &str = "oxflow.schedule.last_interval_end";
/// Experiment tag: `true` while the DAG is paused.
pub const TAG_PAUSED: &str = "oxflow.schedule.paused";
/// Experiment tag: the scheduler (`host:pid`) that last took over the runs a stopped
/// scheduler left queued; a compare-and-set on it makes one starting scheduler do it.
pub const TAG_RECOVERED_BY: &str = "oxflow.schedule.recovered_by";

/// A DAG's schedule state, as read from the store.
///
/// ```
/// use oxflow_runtime::schedule::state;
/// use oxflow_runtime::tracking::TrackingStore;
/// let store = TrackingStore::in_memory()?;
/// let s = state::read(&store, "nightly")?;
/// assert!(s.last_end.is_none() && !s.paused);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleState {
    /// The DAG's experiment.
    pub experiment_id: String,
    /// `last_interval_end` exactly as stored: what a claim compares against.
    pub last_end_raw: Option<String>,
    /// The end of the latest interval taken.
    pub last_end: Option<DateTime<Utc>>,
    /// Whether the DAG is paused.
    pub paused: bool,
}

/// A stored schedule state that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The store failed.
    #[error(transparent)]
    Tracking(#[from] TrackingError),
    /// A run record could not be written.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The batch of claims this one was part of could not be committed: none was taken.
    #[error(
        "the store refused the batch of claims ({reason}); nothing was taken, the scheduler tries again"
    )]
    BatchFailed {
        /// The store's error.
        reason: String,
    },
    /// The tag holds something that is not a time; nothing is taken until it is fixed.
    #[error(
        "experiment `{dag}` has tag `{TAG_LAST_INTERVAL_END}` = \"{value}\", which is not an RFC 3339 time; fix or delete the tag (the scheduler then starts from the schedule)"
    )]
    Corrupt {
        /// The DAG.
        dag: String,
        /// The stored value.
        value: String,
    },
}

/// Reads a DAG's schedule state (creating its experiment if it has none yet).
pub fn read(store: &TrackingStore, dag: &str) -> Result<ScheduleState, StateError> {
    let exp = store.get_or_create_experiment(dag)?;
    let raw = exp.tags.get(TAG_LAST_INTERVAL_END).cloned();
    let last_end = match &raw {
        Some(v) => Some(
            DateTime::parse_from_rfc3339(v)
                .map_err(|_| StateError::Corrupt {
                    dag: dag.to_owned(),
                    value: v.clone(),
                })?
                .with_timezone(&Utc),
        ),
        None => None,
    };
    Ok(ScheduleState {
        experiment_id: exp.experiment_id,
        last_end_raw: raw,
        last_end,
        paused: exp.tags.get(TAG_PAUSED).is_some_and(|v| v == "true"),
    })
}

/// Pauses (`true`) or unpauses a DAG: a paused DAG gets no scheduled runs; runs already going
/// finish. Kept in the store, so every scheduler on it sees it, also after a restart.
///
/// ```
/// use oxflow_runtime::schedule::state;
/// use oxflow_runtime::tracking::TrackingStore;
/// let store = TrackingStore::in_memory()?;
/// state::set_paused(&store, "nightly", true)?;
/// assert!(state::read(&store, "nightly")?.paused);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn set_paused(store: &TrackingStore, dag: &str, paused: bool) -> Result<(), StateError> {
    let exp = store.get_or_create_experiment(dag)?;
    store.set_experiment_tag(
        &exp.experiment_id,
        TAG_PAUSED,
        if paused { "true" } else { "false" },
    )?;
    Ok(())
}

/// Takes `interval` for this process if the state is still `state`, and records its DAG run
/// as `begin` says. `None`: another scheduler moved the state first.
pub(crate) fn claim(
    store: &TrackingStore,
    spec: &DagSpec,
    state: &ScheduleState,
    interval: &DataInterval,
    begin: crate::exec::Begin,
) -> Result<Option<String>, StateError> {
    let end = format_time(interval.end);
    // One batch: on SQLite the claim and the run record commit together, so no crash leaves a
    // taken interval without its run.
    let out = store.batch(|| {
        if !store.compare_and_set_experiment_tag(
            &state.experiment_id,
            TAG_LAST_INTERVAL_END,
            state.last_end_raw.as_deref(),
            &end,
        )? {
            return Ok(None);
        }
        crate::exec::queued_run(
            store,
            &state.experiment_id,
            spec,
            RunType::Scheduled,
            interval,
            begin,
        )
        .map(Some)
    })?;
    Ok(out)
}

/// Takes over the scheduled runs a scheduler that has ended left `queued` (it was stopped
/// while they waited for a slot): the scheduler starting now runs them, so their intervals are
/// not lost. Only one of several schedulers starting at once does it (a compare-and-set on
/// [`TAG_RECOVERED_BY`]); a run queued by a process that is still alive, or by another
/// machine (whose processes cannot be checked), is left to its owner. Returns (run id,
/// interval) by logical date.
///
/// Also takes over, to resume, the scheduled runs it left stopped (`killed`, or `running` by a
/// process that died) while a sensor of theirs was `up_for_reschedule`: a sensor waiting
/// between pokes holds nothing, so the wait goes on in this scheduler, with the timeout clock
/// of its first poke. Those come back with `true`.
pub(crate) fn take_over_queued(
    store: &TrackingStore,
    state: &ScheduleState,
    dag: &str,
) -> Result<Vec<(String, DataInterval, bool)>, StateError> {
    use crate::exec::{TAG_HOST, TAG_PID, TAG_STATE};
    let mut runs = Vec::new();
    for (wanted, resume) in [("queued", false), ("killed", true), ("running", true)] {
        let filter = format!(
            "tags.`{TAG_STATE}` = '{wanted}' and tags.`{}` = 'scheduled'",
            super::TAG_RUN_TYPE
        );
        let found = store.search_runs(
            &[&state.experiment_id],
            &filter,
            &[],
            crate::tracking::MAX_SEARCH_RESULTS,
        )?;
        runs.extend(found.into_iter().map(|r| (r, resume)));
    }
    let here = crate::exec::host_name();
    let me = std::process::id();
    let sensor_waits = |run_id: &str| -> Result<bool, StateError> {
        let filter = format!(
            "tags.`{}` = '{run_id}' and tags.`{TAG_STATE}` = 'up_for_reschedule'",
            crate::tracking::TAG_PARENT_RUN_ID
        );
        Ok(!store
            .search_runs(&[&state.experiment_id], &filter, &[], 1)?
            .is_empty())
    };
    let stale: Vec<_> = runs
        .into_iter()
        .filter(|(r, _)| !r.tags.contains_key(crate::tracking::TAG_PARENT_RUN_ID))
        .filter(|(r, _)| r.tags.get(crate::exec::TAG_DAG).is_some_and(|d| d == dag))
        .filter(|(r, _)| r.tags.get(TAG_HOST).is_some_and(|h| *h == here))
        .filter(|(r, _)| {
            r.tags
                .get(TAG_PID)
                .and_then(|p| p.parse::<u32>().ok())
                .is_some_and(|p| p != me && !crate::exec::process_alive(p))
        })
        .collect();
    let mut kept = Vec::with_capacity(stale.len());
    for (r, resume) in stale {
        if !resume || sensor_waits(&r.info.run_id)? {
            kept.push((r, resume));
        }
    }
    let stale = kept;
    if stale.is_empty() {
        return Ok(Vec::new());
    }
    let exp = store.get_experiment(&state.experiment_id)?;
    let before = exp.tags.get(TAG_RECOVERED_BY).cloned();
    if !store.compare_and_set_experiment_tag(
        &state.experiment_id,
        TAG_RECOVERED_BY,
        before.as_deref(),
        &format!("{here}:{me}"),
    )? {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (r, resume) in stale {
        let parse = |k: &str| {
            r.tags
                .get(k)
                .and_then(|v| DateTime::parse_from_rfc3339(v).ok())
                .map(|t| t.with_timezone(&Utc))
        };
        let (Some(start), Some(end)) = (
            parse(super::TAG_INTERVAL_START),
            parse(super::TAG_INTERVAL_END),
        ) else {
            continue;
        };
        // A resumed run is marked ours by the resume itself, which refuses a run marked
        // running by a live process (this one, too).
        if !resume {
            store.set_tag(&r.info.run_id, TAG_PID, &me.to_string())?;
        }
        out.push((r.info.run_id, DataInterval { start, end }, resume));
    }
    out.sort_by_key(|(_, i, _)| *i);
    Ok(out)
}
