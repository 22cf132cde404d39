//! Experiments, runs, params and tags in MLflow's tables, written as MLflow writes them.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::SqlStore;
use super::metrics::decode_value;
use crate::tracking::entities::{
    Experiment, LIFECYCLE_ACTIVE, LIFECYCLE_DELETED, Metric, RunInfo, RunOptions, RunRecord,
    RunStatus,
};
use crate::tracking::{TAG_PARENT_RUN_ID, TAG_RUN_NAME, TrackingError, now_ms};

/// The `runs` columns a [`RunInfo`] is read from, in [`run_info`]'s order.
pub(super) const RUN_COLUMNS: &str = "r.run_uuid, r.experiment_id, r.name, r.status, \
     r.start_time, r.end_time, r.artifact_uri, r.lifecycle_stage, r.user_id";

/// A [`RunInfo`] from a row selected with [`RUN_COLUMNS`] (starting at column `at`).
pub(super) fn run_info(r: &Row<'_>, at: usize) -> rusqlite::Result<RunInfo> {
    let status: String = r.get(at + 3)?;
    Ok(RunInfo {
        run_id: r.get(at)?,
        experiment_id: r.get::<_, i64>(at + 1)?.to_string(),
        run_name: r.get::<_, Option<String>>(at + 2)?.unwrap_or_default(),
        status: status.parse().unwrap_or(RunStatus::Failed),
        start_time_ms: r.get::<_, Option<i64>>(at + 4)?.unwrap_or(0),
        end_time_ms: r.get(at + 5)?,
        artifact_uri: r.get::<_, Option<String>>(at + 6)?.unwrap_or_default(),
        lifecycle_stage: r
            .get::<_, Option<String>>(at + 7)?
            .unwrap_or_else(|| LIFECYCLE_ACTIVE.into()),
        user_id: r.get::<_, Option<String>>(at + 8)?.unwrap_or_default(),
    })
}

/// An experiment id as MLflow's SQL store keeps it (an integer), or `None` for any other text.
pub(super) fn parse_experiment_id(id: &str) -> Option<i64> {
    id.parse().ok()
}

const EXPERIMENT_COLUMNS: &str =
    "experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time";

fn experiment(r: &Row<'_>) -> rusqlite::Result<Experiment> {
    Ok(Experiment {
        experiment_id: r.get::<_, i64>(0)?.to_string(),
        name: r.get(1)?,
        artifact_location: r.get::<_, Option<String>>(2)?.unwrap_or_default(),
        lifecycle_stage: r
            .get::<_, Option<String>>(3)?
            .unwrap_or_else(|| LIFECYCLE_ACTIVE.into()),
        creation_time_ms: r.get(4)?,
        last_update_time_ms: r.get(5)?,
        tags: BTreeMap::new(),
    })
}

/// What a write needs to know about a run.
pub(super) struct ActiveRun {
    pub(super) artifact_uri: String,
}

impl SqlStore {
    fn experiment_tags(&self, c: &Connection, exp: &mut Experiment) -> Result<(), TrackingError> {
        let id: i64 = exp.experiment_id.parse().unwrap_or(-1);
        let mut st = c
            .prepare_cached("SELECT key, value FROM experiment_tags WHERE experiment_id = ?1")
            .map_err(|e| self.db().map_err("read experiment tags", e))?;
        let rows = st
            .query_map([id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
            })
            .map_err(|e| self.db().map_err("read experiment tags", e))?;
        for row in rows {
            let (k, v) = row.map_err(|e| self.db().map_err("read experiment tags", e))?;
            exp.tags.insert(k, v.unwrap_or_default());
        }
        Ok(())
    }

    fn query_experiments(
        &self,
        c: &Connection,
        where_: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<Experiment>, TrackingError> {
        let sql = format!(
            "SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE workspace = 'default' AND {where_} \
             ORDER BY name, experiment_id"
        );
        let mut st = c
            .prepare_cached(&sql)
            .map_err(|e| self.db().map_err("read experiments", e))?;
        let mut out: Vec<Experiment> = st
            .query_map(args, experiment)
            .and_then(|rows| rows.collect())
            .map_err(|e| self.db().map_err("read experiments", e))?;
        for e in &mut out {
            self.experiment_tags(c, e)?;
        }
        Ok(out)
    }

    pub(super) fn list_experiments_impl(
        &self,
        include_deleted: bool,
    ) -> Result<Vec<Experiment>, TrackingError> {
        let c = self.db().lock();
        let where_ = if include_deleted {
            "1"
        } else {
            "lifecycle_stage = 'active'"
        };
        self.query_experiments(&c, where_, [])
    }

    pub(super) fn get_experiment_impl(
        &self,
        experiment_id: &str,
    ) -> Result<Experiment, TrackingError> {
        let not_found = || TrackingError::ExperimentNotFound {
            experiment: experiment_id.to_string(),
        };
        let id = parse_experiment_id(experiment_id).ok_or_else(not_found)?;
        let c = self.db().lock();
        self.query_experiments(&c, "experiment_id = ?1", [id])?
            .pop()
            .ok_or_else(not_found)
    }

    pub(super) fn get_experiment_by_name_impl(
        &self,
        name: &str,
    ) -> Result<Option<Experiment>, TrackingError> {
        let c = self.db().lock();
        Ok(self.query_experiments(&c, "name = ?1", [name])?.pop())
    }

    pub(super) fn get_or_create_experiment_impl(
        &self,
        name: &str,
    ) -> Result<Experiment, TrackingError> {
        let found = |e: Experiment| {
            if e.lifecycle_stage == LIFECYCLE_DELETED {
                Err(TrackingError::ExperimentDeleted {
                    experiment: name.to_string(),
                })
            } else {
                Ok(e)
            }
        };
        if let Some(e) = self.get_experiment_by_name_impl(name)? {
            return found(e);
        }
        self.db().write(|c| {
            // Another process may have made it since the read above.
            if let Some(e) = self.query_experiments(c, "name = ?1", [name])?.pop() {
                return found(e);
            }
            let now = now_ms();
            c.execute(
                "INSERT INTO experiments (name, artifact_location, lifecycle_stage, \
                 creation_time, last_update_time, workspace) \
                 VALUES (?1, NULL, 'active', ?2, ?2, 'default')",
                params![name, now],
            )
            .map_err(|e| self.db().map_err("create an experiment", e))?;
            let id = c.last_insert_rowid();
            let location = self.inner.artifact_root.join(id.to_string());
            c.execute(
                "UPDATE experiments SET artifact_location = ?1 WHERE experiment_id = ?2",
                params![location.display().to_string(), id],
            )
            .map_err(|e| self.db().map_err("create an experiment", e))?;
            Ok(Experiment {
                experiment_id: id.to_string(),
                name: name.to_string(),
                artifact_location: location.display().to_string(),
                lifecycle_stage: LIFECYCLE_ACTIVE.into(),
                creation_time_ms: Some(now),
                last_update_time_ms: Some(now),
                tags: BTreeMap::new(),
            })
        })
    }

    pub(super) fn set_experiment_tag_impl(
        &self,
        experiment_id: &str,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        let not_found = || TrackingError::ExperimentNotFound {
            experiment: experiment_id.to_string(),
        };
        let id = parse_experiment_id(experiment_id).ok_or_else(not_found)?;
        self.db().write(|c| {
            let stage: Option<Option<String>> = c
                .query_row(
                    "SELECT lifecycle_stage FROM experiments WHERE experiment_id = ?1",
                    [id],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| self.db().map_err("read an experiment", e))?;
            match stage {
                None => return Err(not_found()),
                Some(Some(s)) if s == LIFECYCLE_DELETED => {
                    return Err(TrackingError::ExperimentDeleted {
                        experiment: experiment_id.to_string(),
                    });
                }
                Some(_) => {}
            }
            c.execute(
                "INSERT INTO experiment_tags (key, value, experiment_id) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (key, experiment_id) DO UPDATE SET value = excluded.value",
                params![key, value, id],
            )
            .map_err(|e| self.db().map_err("set an experiment tag", e))?;
            Ok(())
        })
    }

    /// Reads, compares and writes in one write transaction (`BEGIN IMMEDIATE` takes the
    /// database's write lock first), so no other writer, in this process or another, comes
    /// between the read and the write.
    pub(super) fn compare_and_set_experiment_tag_impl(
        &self,
        experiment_id: &str,
        key: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool, TrackingError> {
        let id = parse_experiment_id(experiment_id).ok_or_else(|| {
            TrackingError::ExperimentNotFound {
                experiment: experiment_id.to_string(),
            }
        })?;
        self.db().write(|c| {
            let current: Option<Option<String>> = c
                .query_row(
                    "SELECT value FROM experiment_tags WHERE experiment_id = ?1 AND key = ?2",
                    params![id, key],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| self.db().map_err("read an experiment tag", e))?;
            if current.flatten().as_deref() != expected {
                return Ok(false);
            }
            self.set_experiment_tag_impl(experiment_id, key, value)?;
            Ok(true)
        })
    }

    // ---------------------------------------------------------------- runs

    pub(super) fn create_run_impl(
        &self,
        experiment_id: &str,
        opts: RunOptions,
    ) -> Result<RunInfo, TrackingError> {
        let not_found = || TrackingError::ExperimentNotFound {
            experiment: experiment_id.to_string(),
        };
        let exp_id = parse_experiment_id(experiment_id).ok_or_else(not_found)?;
        let run_name = match opts.run_name {
            Some(n) => n,
            None => opts
                .tags
                .iter()
                .find(|(k, _)| k == TAG_RUN_NAME)
                .map(|(_, v)| v.clone())
                .unwrap_or_else(crate::tracking::entities::random_run_name),
        };
        let start = opts.start_time_ms.unwrap_or_else(now_ms);
        if start < 0 {
            return Err(TrackingError::InvalidArgument {
                what: "start time",
                value: start.to_string(),
                reason: "must be milliseconds since the Unix epoch".into(),
            });
        }
        if let Some((_, end)) = opts.end
            && end < start
        {
            return Err(TrackingError::InvalidArgument {
                what: "end time",
                value: end.to_string(),
                reason: format!("is before the start time {start}"),
            });
        }
        let mut artifacts = Vec::with_capacity(opts.artifacts.len());
        for (rel, bytes) in &opts.artifacts {
            artifacts.push((super::artifacts::file_segments(rel)?, bytes));
        }
        let mut tags: Vec<(String, String)> = Vec::with_capacity(opts.tags.len() + 2);
        tags.push((TAG_RUN_NAME.to_string(), run_name.clone()));
        if let Some(parent) = &opts.parent_run_id {
            tags.push((TAG_PARENT_RUN_ID.to_string(), parent.clone()));
        }
        for (k, v) in opts.tags {
            if k != TAG_RUN_NAME && !(k == TAG_PARENT_RUN_ID && opts.parent_run_id.is_some()) {
                tags.push((k, v));
            }
        }
        let run_id = crate::tracking::entities::new_run_id();
        let (status, end) = match opts.end {
            Some((s, e)) => (s, Some(e)),
            None => (RunStatus::Running, None),
        };
        let info = self.db().write(|c| {
            let exp: Option<(Option<String>, Option<String>)> = c
                .prepare_cached(
                    "SELECT lifecycle_stage, artifact_location FROM experiments \
                     WHERE experiment_id = ?1",
                )
                .and_then(|mut st| st.query_row([exp_id], |r| Ok((r.get(0)?, r.get(1)?))))
                .optional()
                .map_err(|e| self.db().map_err("read an experiment", e))?;
            let Some((stage, location)) = exp else {
                return Err(not_found());
            };
            if stage.as_deref() == Some(LIFECYCLE_DELETED) {
                return Err(TrackingError::ExperimentDeleted {
                    experiment: experiment_id.to_string(),
                });
            }
            let location = location.unwrap_or_else(|| {
                self.inner
                    .artifact_root
                    .join(exp_id.to_string())
                    .display()
                    .to_string()
            });
            let artifact_uri = format!("{}/{run_id}/artifacts", location.trim_end_matches('/'));
            c.prepare_cached(
                "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, \
                 user_id, status, start_time, end_time, source_version, lifecycle_stage, \
                 artifact_uri, experiment_id, deleted_time) \
                 VALUES (?1, ?2, 'UNKNOWN', '', '', ?3, ?4, ?5, ?6, '', 'active', ?7, ?8, NULL)",
            )
            .and_then(|mut st| {
                st.execute(params![
                    run_id,
                    run_name,
                    self.inner.user,
                    status.as_str(),
                    start,
                    end,
                    artifact_uri,
                    exp_id
                ])
            })
            .map_err(|e| self.db().map_err("create a run", e))?;
            upsert_tags(
                self,
                c,
                &run_id,
                tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            )?;
            let info = RunInfo {
                run_id: run_id.clone(),
                experiment_id: exp_id.to_string(),
                run_name: run_name.clone(),
                status,
                start_time_ms: start,
                end_time_ms: end,
                artifact_uri,
                lifecycle_stage: LIFECYCLE_ACTIVE.into(),
                user_id: self.inner.user.clone(),
            };
            // Written inside the transaction: if a file cannot be written the run is not
            // created, and the run appears only once its artifacts are in place.
            if !artifacts.is_empty() {
                let root = super::artifacts::local_root(&info.artifact_uri, &run_id)?;
                for (segs, bytes) in &artifacts {
                    super::artifacts::write_file(&root, segs, bytes)?;
                }
            }
            Ok(info)
        })?;
        if info.status == RunStatus::Running {
            self.inner.active_runs.lock().insert(run_id);
        }
        Ok(info)
    }

    /// Refuses a run that is missing, deleted, or in a deleted experiment; returns what writes
    /// need. Checked once per run and store while the run stays active here.
    pub(super) fn active_run(
        &self,
        c: &Connection,
        run_id: &str,
    ) -> Result<ActiveRun, TrackingError> {
        let row: Option<(Option<String>, Option<String>, Option<String>)> = c
            .prepare_cached(
                "SELECT r.lifecycle_stage, e.lifecycle_stage, r.artifact_uri FROM runs r \
                 LEFT JOIN experiments e ON e.experiment_id = r.experiment_id \
                 WHERE r.run_uuid = ?1",
            )
            .and_then(|mut st| st.query_row([run_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))))
            .optional()
            .map_err(|e| self.db().map_err("read a run", e))?;
        let Some((run_stage, exp_stage, uri)) = row else {
            return Err(TrackingError::RunNotFound {
                run_id: run_id.to_string(),
            });
        };
        if run_stage.as_deref() == Some(LIFECYCLE_DELETED) {
            return Err(TrackingError::RunDeleted {
                run_id: run_id.to_string(),
            });
        }
        if exp_stage.as_deref() == Some(LIFECYCLE_DELETED) {
            return Err(TrackingError::ExperimentDeleted {
                experiment: format!("of run {run_id}"),
            });
        }
        Ok(ActiveRun {
            artifact_uri: uri.unwrap_or_default(),
        })
    }

    /// [`SqlStore::active_run`] without a query when this store already knows the run active.
    pub(super) fn check_active_cached(
        &self,
        c: &Connection,
        run_id: &str,
    ) -> Result<(), TrackingError> {
        if self.inner.active_runs.lock().contains(run_id) {
            return Ok(());
        }
        self.active_run(c, run_id)?;
        self.inner.active_runs.lock().insert(run_id.to_string());
        Ok(())
    }

    pub(super) fn get_run_impl(&self, run_id: &str) -> Result<RunRecord, TrackingError> {
        let c = self.db().lock();
        let info = c
            .prepare_cached(&format!(
                "SELECT {RUN_COLUMNS} FROM runs r WHERE r.run_uuid = ?1"
            ))
            .and_then(|mut st| st.query_row([run_id], |r| run_info(r, 0)))
            .optional()
            .map_err(|e| self.db().map_err("read a run", e))?
            .ok_or_else(|| TrackingError::RunNotFound {
                run_id: run_id.to_string(),
            })?;
        let mut rec = RunRecord {
            info,
            params: BTreeMap::new(),
            metrics: BTreeMap::new(),
            tags: BTreeMap::new(),
            inputs: Vec::new(),
        };
        let err = |e| self.db().map_err("read a run", e);
        let mut st = c
            .prepare_cached("SELECT key, value FROM params WHERE run_uuid = ?1")
            .map_err(err)?;
        for row in st
            .query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(err)?
        {
            let (k, v) = row.map_err(err)?;
            rec.params.insert(k, v);
        }
        let mut st = c
            .prepare_cached("SELECT key, value FROM tags WHERE run_uuid = ?1")
            .map_err(err)?;
        for row in st
            .query_map([run_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
            })
            .map_err(err)?
        {
            let (k, v) = row.map_err(err)?;
            rec.tags.insert(k, v.unwrap_or_default());
        }
        let mut st = c
            .prepare_cached(
                "SELECT key, value, timestamp, step, is_nan FROM latest_metrics WHERE run_uuid = ?1",
            )
            .map_err(err)?;
        for row in st.query_map([run_id], latest_metric).map_err(err)? {
            let m = row.map_err(err)?;
            rec.metrics.insert(m.key.clone(), m);
        }
        drop(st);
        rec.inputs = super::inputs::load_inputs(self, &c, &[run_id])?
            .remove(run_id)
            .unwrap_or_default();
        Ok(rec)
    }

    pub(super) fn log_param_impl(
        &self,
        run_id: &str,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        // Checked now against what is stored and buffered, written with the next buffered
        // write: a param costs a read, not a transaction of its own. Lock order everywhere:
        // connection, then buffer.
        if self.db().read_only {
            return Err(self.db().not_writable());
        }
        let c = self.db().lock();
        self.check_active_cached(&c, run_id)?;
        let mut buf = self.inner.buffer.lock();
        let known = match buf.param(run_id, key) {
            Some(v) => Some(v.to_string()),
            None => c
                .prepare_cached("SELECT value FROM params WHERE run_uuid = ?1 AND key = ?2")
                .and_then(|mut st| st.query_row(params![run_id, key], |r| r.get(0)))
                .optional()
                .map_err(|e| self.db().map_err("read a param", e))?,
        };
        match known {
            Some(old) if old != value => Err(TrackingError::ParamChanged {
                key: key.to_string(),
                run_id: run_id.to_string(),
                old,
                new: value.to_string(),
            }),
            Some(_) => Ok(()), // the same value again: allowed, as in MLflow
            None => {
                buf.push_param(run_id, key, value);
                if buf.len() >= super::MAX_BUFFERED {
                    super::metrics::write_buffer(self.db(), &mut buf)?;
                }
                Ok(())
            }
        }
    }

    pub(super) fn set_tags_impl(
        &self,
        run_id: &str,
        tags: &[(&str, &str)],
    ) -> Result<(), TrackingError> {
        self.db().write(|c| {
            self.check_active_cached(c, run_id)?;
            upsert_tags(self, c, run_id, tags.iter().copied())
        })
    }

    pub(super) fn delete_tag_impl(&self, run_id: &str, key: &str) -> Result<(), TrackingError> {
        self.db().write(|c| {
            self.check_active_cached(c, run_id)?;
            let n = c
                .execute(
                    "DELETE FROM tags WHERE run_uuid = ?1 AND key = ?2",
                    params![run_id, key],
                )
                .map_err(|e| self.db().map_err("delete a tag", e))?;
            if n == 0 {
                return Err(TrackingError::InvalidArgument {
                    what: "tag",
                    value: key.to_string(),
                    reason: format!("run `{run_id}` has no such tag"),
                });
            }
            Ok(())
        })
    }

    pub(super) fn update_run_impl(
        &self,
        run_id: &str,
        status: Option<RunStatus>,
        end_time_ms: Option<i64>,
    ) -> Result<(), TrackingError> {
        self.db().write(|c| {
            self.active_run(c, run_id)?;
            c.prepare_cached(
                "UPDATE runs SET status = coalesce(?2, status), end_time = coalesce(?3, end_time) \
                 WHERE run_uuid = ?1",
            )
            .and_then(|mut st| st.execute(params![run_id, status.map(|s| s.as_str()), end_time_ms]))
            .map_err(|e| self.db().map_err("update a run", e))?;
            Ok(())
        })
    }

    pub(super) fn set_lifecycle(&self, run_id: &str, deleted: bool) -> Result<(), TrackingError> {
        self.db().write(|c| {
            let n = if deleted {
                c.execute(
                    "UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = ?2 WHERE run_uuid = ?1",
                    params![run_id, now_ms()],
                )
            } else {
                c.execute(
                    "UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE run_uuid = ?1",
                    [run_id],
                )
            }
            .map_err(|e| self.db().map_err("update a run", e))?;
            if n == 0 {
                return Err(TrackingError::RunNotFound {
                    run_id: run_id.to_string(),
                });
            }
            Ok(())
        })?;
        if deleted {
            self.inner.active_runs.lock().remove(run_id);
        }
        Ok(())
    }

    pub(super) fn log_batch_impl(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<(), TrackingError> {
        // Values logged singly before this batch go first, so history keeps call order, and
        // in a transaction of their own: a batch refused below must not take them with it.
        crate::tracking::Store::flush(self)?;
        self.db().write(|c| {
            self.check_active_cached(c, run_id)?;
            insert_params(
                self,
                c,
                run_id,
                params.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            )?;
            upsert_tags(
                self,
                c,
                run_id,
                tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            )?;
            super::metrics::insert_metrics(self.db(), c, metrics.iter().map(|m| (run_id, m)))
        })
    }
}

/// A latest-metric row: key, value, timestamp, step, is_nan.
pub(super) fn latest_metric(r: &Row<'_>) -> rusqlite::Result<Metric> {
    Ok(Metric {
        key: r.get(0)?,
        value: decode_value(r.get(1)?, r.get(4)?),
        timestamp_ms: r.get::<_, Option<i64>>(2)?.unwrap_or(0),
        step: r.get(3)?,
    })
}

/// Inserts params; the same value again is a no-op, another value is refused (immutable).
fn insert_params<'a>(
    store: &SqlStore,
    c: &Connection,
    run_id: &str,
    params: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(), TrackingError> {
    let err = |e| store.db().map_err("log a param", e);
    let mut ins = c
        .prepare_cached(
            "INSERT INTO params (key, value, run_uuid) VALUES (?1, ?2, ?3) \
             ON CONFLICT (key, run_uuid) DO NOTHING",
        )
        .map_err(err)?;
    for (k, v) in params {
        if ins.execute(params![k, v, run_id]).map_err(err)? == 0 {
            let old: String = c
                .query_row(
                    "SELECT value FROM params WHERE run_uuid = ?1 AND key = ?2",
                    params![run_id, k],
                    |r| r.get(0),
                )
                .map_err(err)?;
            if old != v {
                return Err(TrackingError::ParamChanged {
                    key: k.to_string(),
                    run_id: run_id.to_string(),
                    old,
                    new: v.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Sets tags (the last value wins); `mlflow.runName` also renames the run, as in MLflow.
fn upsert_tags<'a>(
    store: &SqlStore,
    c: &Connection,
    run_id: &str,
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(), TrackingError> {
    let err = |e| store.db().map_err("set a tag", e);
    let mut st = c
        .prepare_cached(
            "INSERT INTO tags (key, value, run_uuid) VALUES (?1, ?2, ?3) \
             ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value",
        )
        .map_err(err)?;
    for (k, v) in tags {
        st.execute(params![k, v, run_id]).map_err(err)?;
        if k == TAG_RUN_NAME {
            c.prepare_cached("UPDATE runs SET name = ?2 WHERE run_uuid = ?1")
                .and_then(|mut st| st.execute(params![run_id, v]))
                .map_err(err)?;
        }
    }
    Ok(())
}
