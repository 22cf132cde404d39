//! LoggedModels of a [`SqlStore`], in MLflow's `logged_models`, `logged_model_params` and
//! `logged_model_tags` tables; run outputs in `inputs` (`source_type` RUN_OUTPUT,
//! `destination_type` MODEL_OUTPUT), as MLflow's SQLAlchemy store writes them.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};

use super::SqlStore;
use crate::tracking::logged_model::{
    self, LoggedModel, LoggedModelStatus, NewLoggedModel, validate_model_id,
};
use crate::tracking::{LIFECYCLE_ACTIVE, Store, TrackingError, now_ms};

impl SqlStore {
    fn lm_err(&self, op: &'static str) -> impl Fn(rusqlite::Error) -> TrackingError + '_ {
        move |e| self.db().map_err(op, e)
    }

    fn read_logged_model(
        &self,
        c: &Connection,
        model_id: &str,
    ) -> Result<LoggedModel, TrackingError> {
        let row = c
            .prepare_cached(
                "SELECT model_id, experiment_id, name, artifact_location, creation_timestamp_ms, \
                 last_updated_timestamp_ms, status, model_type, source_run_id \
                 FROM logged_models WHERE model_id = ?1 AND lifecycle_stage = 'active'",
            )
            .and_then(|mut st| {
                st.query_row([model_id], |r| {
                    Ok(LoggedModel {
                        model_id: r.get(0)?,
                        experiment_id: r.get::<_, i64>(1)?.to_string(),
                        name: r.get(2)?,
                        artifact_location: r.get(3)?,
                        creation_timestamp_ms: r.get(4)?,
                        last_updated_timestamp_ms: r.get(5)?,
                        status: LoggedModelStatus::from_i32(r.get(6)?)
                            .unwrap_or(LoggedModelStatus::Pending),
                        model_type: r.get(7)?,
                        source_run_id: r.get(8)?,
                        params: BTreeMap::new(),
                        tags: BTreeMap::new(),
                    })
                })
                .optional()
            })
            .map_err(self.lm_err("read a logged model"))?;
        let mut model = row.ok_or_else(|| TrackingError::LoggedModelNotFound {
            model_id: model_id.to_string(),
        })?;
        let kv = |sql: &str| -> Result<BTreeMap<String, String>, TrackingError> {
            c.prepare_cached(sql)
                .and_then(|mut st| {
                    st.query_map([model_id], |r| Ok((r.get(0)?, r.get(1)?)))?
                        .collect()
                })
                .map_err(self.lm_err("read a logged model"))
        };
        model.params =
            kv("SELECT param_key, param_value FROM logged_model_params WHERE model_id = ?1")?;
        model.tags = kv("SELECT tag_key, tag_value FROM logged_model_tags WHERE model_id = ?1")?;
        Ok(model)
    }

    pub(super) fn create_logged_model_impl(
        &self,
        new: &NewLoggedModel,
    ) -> Result<LoggedModel, TrackingError> {
        let exp = self.get_experiment(&new.experiment_id)?;
        if exp.lifecycle_stage != LIFECYCLE_ACTIVE {
            return Err(TrackingError::InvalidArgument {
                what: "experiment",
                value: new.experiment_id.clone(),
                reason: "a model cannot be logged in a deleted experiment".into(),
            });
        }
        let exp_id: i64 =
            new.experiment_id
                .parse()
                .map_err(|_| TrackingError::ExperimentNotFound {
                    experiment: new.experiment_id.clone(),
                })?;
        let model_id = logged_model::new_model_id();
        let location = logged_model::artifact_location(&exp.artifact_location, &model_id);
        let now = now_ms();
        self.db().write(|c| {
            c.execute(
                "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, \
                 creation_timestamp_ms, last_updated_timestamp_ms, status, lifecycle_stage, \
                 model_type, source_run_id, status_message) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, 'active', ?7, ?8, NULL)",
                params![
                    model_id,
                    exp_id,
                    new.name,
                    location,
                    now,
                    LoggedModelStatus::Pending.as_i32(),
                    new.model_type,
                    new.source_run_id
                ],
            )
            .map_err(self.lm_err("create a logged model"))?;
            for (k, v) in &new.params {
                c.execute(
                    "INSERT INTO logged_model_params (model_id, experiment_id, param_key, \
                     param_value) VALUES (?1, ?2, ?3, ?4)",
                    params![model_id, exp_id, k, v],
                )
                .map_err(self.lm_err("log a logged model param"))?;
            }
            self.put_tags(c, &model_id, exp_id, &new.tags)?;
            self.read_logged_model(c, &model_id)
        })
    }

    fn put_tags(
        &self,
        c: &Connection,
        model_id: &str,
        exp_id: i64,
        tags: &[(String, String)],
    ) -> Result<(), TrackingError> {
        for (k, v) in tags {
            c.execute(
                "INSERT INTO logged_model_tags (model_id, experiment_id, tag_key, tag_value) \
                 VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (model_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value",
                params![model_id, exp_id, k, v],
            )
            .map_err(self.lm_err("set a logged model tag"))?;
        }
        Ok(())
    }

    pub(super) fn get_logged_model_impl(
        &self,
        model_id: &str,
    ) -> Result<LoggedModel, TrackingError> {
        validate_model_id(model_id)?;
        let g = self.db().lock();
        self.read_logged_model(&g, model_id)
    }

    pub(super) fn find_logged_model_impl(
        &self,
        experiment_id: &str,
        run_id: &str,
        name: &str,
    ) -> Result<Option<LoggedModel>, TrackingError> {
        let Ok(exp_id) = experiment_id.parse::<i64>() else {
            return Ok(None);
        };
        let g = self.db().lock();
        let id: Option<String> = g
            .prepare_cached(
                "SELECT model_id FROM logged_models WHERE experiment_id = ?1 \
                 AND source_run_id = ?2 AND name = ?3 AND lifecycle_stage = 'active' \
                 ORDER BY creation_timestamp_ms DESC LIMIT 1",
            )
            .and_then(|mut st| {
                st.query_row(params![exp_id, run_id, name], |r| r.get(0))
                    .optional()
            })
            .map_err(self.lm_err("search logged models"))?;
        id.map(|id| self.read_logged_model(&g, &id)).transpose()
    }

    pub(super) fn log_model_metrics_impl(
        &self,
        model: &LoggedModel,
        run_id: &str,
        metrics: &[crate::tracking::Metric],
    ) -> Result<(), TrackingError> {
        let exp_id: i64 = model.experiment_id.parse().unwrap_or_default();
        self.db().write(|c| {
            for m in metrics {
                c.execute(
                    "INSERT INTO logged_model_metrics (model_id, metric_name, metric_timestamp_ms, \
                     metric_step, metric_value, experiment_id, run_id) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT DO NOTHING",
                    params![
                        model.model_id,
                        m.key,
                        m.timestamp_ms,
                        m.step,
                        m.value,
                        exp_id,
                        run_id
                    ],
                )
                .map_err(self.lm_err("log a logged model metric"))?;
            }
            Ok(())
        })
    }

    pub(super) fn finalize_logged_model_impl(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel, TrackingError> {
        validate_model_id(model_id)?;
        self.db().write(|c| {
            self.read_logged_model(c, model_id)?;
            c.execute(
                "UPDATE logged_models SET status = ?2, last_updated_timestamp_ms = ?3 \
                 WHERE model_id = ?1",
                params![model_id, status.as_i32(), now_ms()],
            )
            .map_err(self.lm_err("finalize a logged model"))?;
            self.read_logged_model(c, model_id)
        })
    }

    pub(super) fn set_logged_model_tags_impl(
        &self,
        model_id: &str,
        tags: &[(String, String)],
    ) -> Result<(), TrackingError> {
        validate_model_id(model_id)?;
        self.db().write(|c| {
            let m = self.read_logged_model(c, model_id)?;
            let exp_id: i64 = m.experiment_id.parse().unwrap_or_default();
            self.put_tags(c, model_id, exp_id, tags)
        })
    }

    /// MLflow's `log_outputs`: an `inputs` row from the run to the model.
    pub(super) fn link_model_to_run_impl(
        &self,
        run_id: &str,
        model_id: &str,
    ) -> Result<(), TrackingError> {
        self.db().write(|c| {
            c.execute(
                "INSERT INTO inputs (input_uuid, source_type, source_id, destination_type, \
                 destination_id, step) VALUES (?1, 'RUN_OUTPUT', ?2, 'MODEL_OUTPUT', ?3, 0) \
                 ON CONFLICT DO NOTHING",
                params![uuid::Uuid::new_v4().simple().to_string(), run_id, model_id],
            )
            .map_err(self.lm_err("link a logged model to its run"))?;
            Ok(())
        })
    }
}
