//! `RegistryAliasSensor`: a registered model's alias points at a new version.

use super::{Poke, SensorError};
use crate::exec::{TAG_DAG, TAG_STATE, TAG_TASK_ID, TaskContext, XCOM_ARTIFACT};
use crate::tracking::{TAG_PARENT_RUN_ID, TrackingError, TrackingStore};

/// Ready once alias `@alias` of registered model `name` points at a version newer than a
/// given one, or (by default) newer than the version this same sensor returned in the
/// previous successful run of its DAG: "a new champion was promoted since we last ran". The
/// ready value is the version number.
///
/// An alias not set yet is "not ready". With no earlier successful run to compare with (the
/// DAG's first run, or the sensor's output was not stored), any version is new.
///
/// ```
/// use oxflow_runtime::exec::TaskContext;
/// use oxflow_runtime::sensor::{Poke, RegistryAliasSensor};
/// use oxflow_runtime::tracking::TrackingStore;
/// let store = TrackingStore::in_memory()?;
/// let ctx = TaskContext::for_test("deploy", "champion_moved");
/// let sensor = RegistryAliasSensor::new(&store, "churn", "champion").newer_than(3);
/// assert_eq!(sensor.poke(&ctx)?, Poke::NotReady); // no such model or alias yet
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct RegistryAliasSensor {
    store: TrackingStore,
    name: String,
    alias: String,
    newer_than: Option<u64>,
}

impl RegistryAliasSensor {
    /// Waits on alias `alias` of registered model `name` in `store`.
    ///
    /// ```
    /// # let store = oxflow_runtime::tracking::TrackingStore::in_memory().unwrap();
    /// let sensor = oxflow_runtime::sensor::RegistryAliasSensor::new(&store, "churn", "champion");
    /// ```
    pub fn new(
        store: impl Into<TrackingStore>,
        name: impl Into<String>,
        alias: impl Into<String>,
    ) -> RegistryAliasSensor {
        RegistryAliasSensor {
            store: store.into(),
            name: name.into(),
            alias: alias.into(),
            newer_than: None,
        }
    }

    /// Ready for a version above `version`, instead of above the previous run's.
    ///
    /// ```
    /// # let store = oxflow_runtime::tracking::TrackingStore::in_memory().unwrap();
    /// let sensor = oxflow_runtime::sensor::RegistryAliasSensor::new(&store, "churn", "champion")
    ///     .newer_than(7);
    /// ```
    pub fn newer_than(mut self, version: u64) -> RegistryAliasSensor {
        self.newer_than = Some(version);
        self
    }

    /// Looks once: `Ready` with the version the alias points at, or `NotReady`.
    ///
    /// ```
    /// use oxflow_runtime::exec::TaskContext;
    /// use oxflow_runtime::sensor::{Poke, RegistryAliasSensor};
    /// use oxflow_runtime::tracking::{NewModelVersion, TrackingStore};
    /// let store = TrackingStore::in_memory()?;
    /// store.create_registered_model("churn", None, &[])?;
    /// let v = store.create_model_version(&NewModelVersion {
    ///     name: "churn".into(),
    ///     source: "/models/churn".into(),
    ///     ..Default::default()
    /// })?;
    /// store.set_registered_model_alias("churn", "champion", v.version)?;
    /// let ctx = TaskContext::for_test("deploy", "champion_moved");
    /// let sensor = RegistryAliasSensor::new(&store, "churn", "champion");
    /// assert_eq!(sensor.poke(&ctx)?, Poke::Ready(v.version)); // no earlier run: any version is new
    /// assert_eq!(sensor.newer_than(v.version).poke(&ctx)?, Poke::NotReady);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn poke(&self, ctx: &TaskContext) -> Result<Poke<u64>, SensorError> {
        let store_error = |source| SensorError::Store {
            sensor: "RegistryAliasSensor",
            source,
        };
        let current = match self
            .store
            .get_model_version_by_alias(&self.name, &self.alias)
        {
            Ok(v) => v.version,
            Err(
                TrackingError::AliasNotFound { .. }
                | TrackingError::ModelNotFound { .. }
                | TrackingError::ModelVersionNotFound { .. },
            ) => return Ok(Poke::NotReady),
            Err(e) => return Err(store_error(e)),
        };
        let floor = match self.newer_than {
            Some(v) => Some(v),
            None => self.previous_version(ctx).map_err(store_error)?,
        };
        let ready = floor.is_none_or(|f| current > f);
        if !ready {
            tracing::info!(
                "`{}@{}` is version {current}; waiting for one above {}",
                self.name,
                self.alias,
                floor.unwrap_or(0)
            );
        }
        Ok(Poke::when(ready, current))
    }

    /// The version this sensor returned in the latest successful run of its DAG other than
    /// this one, if that run stored it.
    fn previous_version(&self, ctx: &TaskContext) -> Result<Option<u64>, TrackingError> {
        let Some(experiment) = self.store.get_experiment_by_name(ctx.dag_id())? else {
            return Ok(None);
        };
        let exp = experiment.experiment_id.as_str();
        let filter = format!(
            "tags.`{TAG_DAG}` = '{}' and tags.`{TAG_STATE}` = 'success'",
            ctx.dag_id()
        );
        let runs = self
            .store
            .search_runs(&[exp], &filter, &["attributes.start_time DESC"], 20)?;
        let Some(previous) = runs
            .iter()
            .find(|r| r.info.run_id != ctx.dag_run_id() && !r.tags.contains_key(TAG_PARENT_RUN_ID))
        else {
            return Ok(None);
        };
        let filter = format!(
            "tags.`{TAG_PARENT_RUN_ID}` = '{}' and tags.`{TAG_TASK_ID}` = '{}'",
            previous.info.run_id,
            ctx.task_id()
        );
        let Some(task_run) = self
            .store
            .search_runs(&[exp], &filter, &[], 10)?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        match self
            .store
            .read_artifact(&task_run.info.run_id, XCOM_ARTIFACT)
        {
            Ok(bytes) => Ok(serde_json::from_slice::<u64>(&bytes).ok()),
            Err(TrackingError::ArtifactNotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
