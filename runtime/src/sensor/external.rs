//! `ExternalDagSensor`: another DAG's run for the same logical date succeeded.

use chrono::{DateTime, Utc};

use super::{Poke, SensorError};
use crate::exec::{Fail, TAG_DAG, TAG_STATE, TaskContext};
use crate::schedule::{TAG_LOGICAL_DATE, format_time};
use crate::tracking::{TAG_PARENT_RUN_ID, TrackingStore};

/// Ready once the run of another DAG for this run's logical date has ended in an allowed state
/// (`success` unless set); the ready value is that run's id. Airflow's `ExternalTaskSensor`
/// with `external_task_id=None`, for DAGs recorded in the same store.
///
/// Runs are matched by their `oxflow.logical_date` tag, which the scheduler and `backfill` set
/// on every run of an interval; when several runs have that date (one was rerun), the latest
/// decides. A run in a failed state (`failed` unless set) fails the sensor at once and for good
/// (no retry can change a finished run; its error holds a [`Fail`]); a state in neither list,
/// or no run yet, is "not ready". Unlike Airflow, whose `failed_states` is empty by default,
/// `failed` is a failed state unless [`ExternalDagSensor::failed_states`] says otherwise: a
/// sensor waiting a week on a run that has already failed helps no one.
///
/// ```
/// use oxflow_runtime::exec::TaskContext;
/// use oxflow_runtime::schedule::{DataInterval, RunType};
/// use oxflow_runtime::sensor::{ExternalDagSensor, Poke};
/// use oxflow_runtime::tracking::TrackingStore;
/// let store = TrackingStore::in_memory()?;
/// let day = DataInterval { start: "2026-03-01T00:00:00Z".parse()?, end: "2026-03-02T00:00:00Z".parse()? };
/// let ctx = TaskContext::for_test("train", "features_done").with_interval(RunType::Scheduled, day);
/// let sensor = ExternalDagSensor::new(&store, "features");
/// assert_eq!(sensor.poke(&ctx)?, Poke::NotReady); // no run of `features` yet
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct ExternalDagSensor {
    store: TrackingStore,
    dag_id: String,
    allowed: Vec<String>,
    failed: Vec<String>,
    logical_date: Option<DateTime<Utc>>,
}

impl ExternalDagSensor {
    /// Waits for a run of DAG `dag_id` in `store` (the store this DAG records in, usually).
    ///
    /// ```
    /// # let store = oxflow_runtime::tracking::TrackingStore::in_memory().unwrap();
    /// let sensor = oxflow_runtime::sensor::ExternalDagSensor::new(&store, "features");
    /// ```
    pub fn new(store: impl Into<TrackingStore>, dag_id: impl Into<String>) -> ExternalDagSensor {
        ExternalDagSensor {
            store: store.into(),
            dag_id: dag_id.into(),
            allowed: vec!["success".to_owned()],
            failed: vec!["failed".to_owned()],
            logical_date: None,
        }
    }

    /// The states that make the sensor ready (default `success`), such as `["success",
    /// "skipped"]`.
    ///
    /// ```
    /// # let store = oxflow_runtime::tracking::TrackingStore::in_memory().unwrap();
    /// let sensor = oxflow_runtime::sensor::ExternalDagSensor::new(&store, "features")
    ///     .allowed_states(["success", "skipped"]);
    /// ```
    pub fn allowed_states<S: Into<String>>(
        mut self,
        states: impl IntoIterator<Item = S>,
    ) -> ExternalDagSensor {
        self.allowed = states.into_iter().map(Into::into).collect();
        self
    }

    /// The states that fail the sensor at once (default `failed`); empty to wait through a
    /// failed run until the timeout, as Airflow does by default.
    ///
    /// ```
    /// # let store = oxflow_runtime::tracking::TrackingStore::in_memory().unwrap();
    /// let sensor = oxflow_runtime::sensor::ExternalDagSensor::new(&store, "features")
    ///     .failed_states(["failed", "killed"]);
    /// ```
    pub fn failed_states<S: Into<String>>(
        mut self,
        states: impl IntoIterator<Item = S>,
    ) -> ExternalDagSensor {
        self.failed = states.into_iter().map(Into::into).collect();
        self
    }

    /// Waits for the run of this logical date instead of the run's own (Airflow's
    /// `execution_date_fn`, for DAGs on different schedules); needed in a manual run, which has
    /// no logical date.
    ///
    /// ```
    /// # let store = oxflow_runtime::tracking::TrackingStore::in_memory().unwrap();
    /// let sensor = oxflow_runtime::sensor::ExternalDagSensor::new(&store, "features")
    ///     .logical_date("2026-03-01T00:00:00Z".parse().unwrap());
    /// ```
    pub fn logical_date(mut self, date: DateTime<Utc>) -> ExternalDagSensor {
        self.logical_date = Some(date);
        self
    }

    /// Looks once: `Ready` with the run id, `NotReady`, or an error for a run in a failed state
    /// (or a run without a logical date to match).
    ///
    /// ```
    /// use oxflow_runtime::exec::TaskContext;
    /// # let store = oxflow_runtime::tracking::TrackingStore::in_memory().unwrap();
    /// let sensor = oxflow_runtime::sensor::ExternalDagSensor::new(&store, "features");
    /// // A manual run has no logical date to match.
    /// let err = sensor.poke(&TaskContext::for_test("train", "wait")).unwrap_err();
    /// assert!(err.to_string().contains("no logical date"));
    /// ```
    pub fn poke(&self, ctx: &TaskContext) -> Result<Poke<String>, SensorError> {
        let Some(date) = self.logical_date.or_else(|| ctx.logical_date()) else {
            return Err(SensorError::NoLogicalDate {
                dag: ctx.dag_id().to_owned(),
                waits_for: self.dag_id.clone(),
            });
        };
        let store_error = |source| SensorError::Store {
            sensor: "ExternalDagSensor",
            source,
        };
        let Some(experiment) = self
            .store
            .get_experiment_by_name(&self.dag_id)
            .map_err(store_error)?
        else {
            return Ok(Poke::NotReady);
        };
        let date_text = format_time(date);
        let filter = format!(
            "tags.`{TAG_DAG}` = '{}' and tags.`{TAG_LOGICAL_DATE}` = '{date_text}'",
            self.dag_id
        );
        let runs = self
            .store
            .search_runs(
                &[&experiment.experiment_id],
                &filter,
                &["attributes.start_time DESC"],
                100,
            )
            .map_err(store_error)?;
        // DAG runs only: task runs carry the DAG's tag on their parent, not themselves, but a
        // store written by another tool might.
        let Some(run) = runs
            .iter()
            .find(|r| !r.tags.contains_key(TAG_PARENT_RUN_ID))
        else {
            return Ok(Poke::NotReady);
        };
        let state = run.tags.get(TAG_STATE).map_or("", String::as_str);
        if self.allowed.iter().any(|s| s == state) {
            return Ok(Poke::Ready(run.info.run_id.clone()));
        }
        if self.failed.iter().any(|s| s == state) {
            return Err(SensorError::UpstreamFailed {
                what: format!(
                    "the run of DAG `{}` for logical date {date_text} ended `{state}`, one of the failed states ({}); run `{}`",
                    self.dag_id,
                    self.failed.join(", "),
                    run.info.run_id
                ),
                cause: Fail::new("a finished run does not change state, so no retry is made"),
            });
        }
        tracing::info!(
            "run `{}` of `{}` for {date_text} is `{state}`; waiting for {}",
            run.info.run_id,
            self.dag_id,
            self.allowed.join(" or ")
        );
        Ok(Poke::NotReady)
    }
}
