//! The model registry in MLflow's tables (`registered_models`, `model_versions`, their tags and
//! `registered_model_aliases`), with the values MLflow itself writes: `current_stage` the
//! string `'None'`, `status = 'READY'`, `storage_location = source`, `workspace = 'default'`.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::SqlStore;
use crate::tracking::registry::{
    ModelVersion, ModelVersionQuery, NewModelVersion, RegisteredModel, Stage,
};
use crate::tracking::{TrackingError, now_ms};

const VERSION_COLUMNS: &str = "name, version, creation_time, last_updated_time, description, \
     user_id, current_stage, source, run_id, status, storage_location";

fn model_version(r: &Row<'_>) -> rusqlite::Result<ModelVersion> {
    let stage: Option<String> = r.get(6)?;
    Ok(ModelVersion {
        name: r.get(0)?,
        version: r.get::<_, i64>(1)? as u64,
        creation_timestamp_ms: r.get::<_, Option<i64>>(2)?.unwrap_or(0),
        last_updated_timestamp_ms: r.get::<_, Option<i64>>(3)?.unwrap_or(0),
        description: r.get(4)?,
        user_id: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
        current_stage: stage.and_then(|s| s.parse().ok()).unwrap_or(Stage::None),
        source: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
        run_id: r.get::<_, Option<String>>(8)?.filter(|s| !s.is_empty()),
        status: r.get::<_, Option<String>>(9)?.unwrap_or_default(),
        storage_location: r.get(10)?,
        tags: BTreeMap::new(),
        aliases: Vec::new(),
    })
}

impl SqlStore {
    fn rm_err(&self, op: &'static str) -> impl Fn(rusqlite::Error) -> TrackingError + '_ {
        move |e| self.db().map_err(op, e)
    }

    fn require_model(&self, c: &Connection, name: &str) -> Result<(), TrackingError> {
        let exists: bool = c
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM registered_models \
                 WHERE workspace = 'default' AND name = ?1)",
            )
            .and_then(|mut st| st.query_row([name], |r| r.get(0)))
            .map_err(self.rm_err("read a registered model"))?;
        if exists {
            Ok(())
        } else {
            Err(TrackingError::ModelNotFound {
                name: name.to_string(),
            })
        }
    }

    /// Versions matching `where_`, with tags and aliases, newest first.
    fn versions(
        &self,
        c: &Connection,
        where_: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<ModelVersion>, TrackingError> {
        let err = self.rm_err("read model versions");
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM model_versions WHERE workspace = 'default' \
             AND current_stage != 'Deleted_Internal' AND {where_} ORDER BY name, version DESC"
        );
        let mut out: Vec<ModelVersion> = c
            .prepare_cached(&sql)
            .and_then(|mut st| st.query_map(args, model_version)?.collect())
            .map_err(&err)?;
        for v in &mut out {
            let mut st = c
                .prepare_cached(
                    "SELECT key, value FROM model_version_tags \
                     WHERE workspace = 'default' AND name = ?1 AND version = ?2",
                )
                .map_err(&err)?;
            for row in st
                .query_map(params![v.name, v.version as i64], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
                })
                .map_err(&err)?
            {
                let (k, val) = row.map_err(&err)?;
                v.tags.insert(k, val.unwrap_or_default());
            }
            let mut st = c
                .prepare_cached(
                    "SELECT alias FROM registered_model_aliases \
                     WHERE workspace = 'default' AND name = ?1 AND version = ?2 ORDER BY alias",
                )
                .map_err(&err)?;
            v.aliases = st
                .query_map(params![v.name, v.version as i64], |r| r.get(0))
                .and_then(|rows| rows.collect())
                .map_err(&err)?;
        }
        Ok(out)
    }

    fn version(
        &self,
        c: &Connection,
        name: &str,
        version: u64,
    ) -> Result<ModelVersion, TrackingError> {
        self.versions(
            c,
            "name = ?1 AND version = ?2",
            params![name, version as i64],
        )?
        .pop()
        .ok_or_else(|| TrackingError::ModelVersionNotFound {
            name: name.to_string(),
            version,
        })
    }

    fn models(
        &self,
        c: &Connection,
        where_: &str,
        args: impl rusqlite::Params,
    ) -> Result<Vec<RegisteredModel>, TrackingError> {
        let err = self.rm_err("read registered models");
        let sql = format!(
            "SELECT name, creation_time, last_updated_time, description FROM registered_models \
             WHERE workspace = 'default' AND {where_} ORDER BY name"
        );
        let mut out: Vec<RegisteredModel> = c
            .prepare_cached(&sql)
            .and_then(|mut st| {
                st.query_map(args, |r| {
                    Ok(RegisteredModel {
                        name: r.get(0)?,
                        creation_timestamp_ms: r.get::<_, Option<i64>>(1)?.unwrap_or(0),
                        last_updated_timestamp_ms: r.get::<_, Option<i64>>(2)?.unwrap_or(0),
                        description: r.get(3)?,
                        latest_versions: Vec::new(),
                        tags: BTreeMap::new(),
                        aliases: BTreeMap::new(),
                    })
                })?
                .collect()
            })
            .map_err(&err)?;
        for m in &mut out {
            let versions = self.versions(c, "name = ?1", [&m.name])?;
            // The newest version of each stage that has one, in MLflow's stage order.
            for stage in Stage::ALL {
                if let Some(v) = versions.iter().find(|v| v.current_stage == stage) {
                    m.latest_versions.push(v.clone());
                }
            }
            let mut st = c
                .prepare_cached(
                    "SELECT key, value FROM registered_model_tags \
                     WHERE workspace = 'default' AND name = ?1",
                )
                .map_err(&err)?;
            for row in st
                .query_map([&m.name], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
                })
                .map_err(&err)?
            {
                let (k, v) = row.map_err(&err)?;
                m.tags.insert(k, v.unwrap_or_default());
            }
            let mut st = c
                .prepare_cached(
                    "SELECT alias, version FROM registered_model_aliases \
                     WHERE workspace = 'default' AND name = ?1",
                )
                .map_err(&err)?;
            for row in st
                .query_map([&m.name], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })
                .map_err(&err)?
            {
                let (a, v) = row.map_err(&err)?;
                m.aliases.insert(a, v as u64);
            }
        }
        Ok(out)
    }

    fn touch_model(&self, c: &Connection, name: &str, now: i64) -> Result<(), TrackingError> {
        c.execute(
            "UPDATE registered_models SET last_updated_time = ?2 \
             WHERE workspace = 'default' AND name = ?1",
            params![name, now],
        )
        .map_err(self.rm_err("update a registered model"))?;
        Ok(())
    }

    pub(super) fn create_registered_model_impl(
        &self,
        name: &str,
        description: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<RegisteredModel, TrackingError> {
        self.db().write(|c| {
            if self.require_model(c, name).is_ok() {
                return Err(TrackingError::ModelExists {
                    name: name.to_string(),
                });
            }
            let now = now_ms();
            c.execute(
                "INSERT INTO registered_models (name, creation_time, last_updated_time, \
                 description, workspace) VALUES (?1, ?2, ?2, ?3, 'default')",
                params![name, now, description],
            )
            .map_err(self.rm_err("create a registered model"))?;
            for (k, v) in tags {
                self.set_model_tag(c, name, k, v)?;
            }
            self.models(c, "name = ?1", [name])?
                .pop()
                .ok_or_else(|| TrackingError::ModelNotFound {
                    name: name.to_string(),
                })
        })
    }

    fn set_model_tag(
        &self,
        c: &Connection,
        name: &str,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        c.execute(
            "INSERT INTO registered_model_tags (key, value, name, workspace) \
             VALUES (?1, ?2, ?3, 'default') \
             ON CONFLICT (workspace, key, name) DO UPDATE SET value = excluded.value",
            params![key, value, name],
        )
        .map_err(self.rm_err("set a registered model tag"))?;
        Ok(())
    }

    pub(super) fn get_registered_model_impl(
        &self,
        name: &str,
    ) -> Result<RegisteredModel, TrackingError> {
        let c = self.db().lock();
        self.models(&c, "name = ?1", [name])?
            .pop()
            .ok_or_else(|| TrackingError::ModelNotFound {
                name: name.to_string(),
            })
    }

    pub(super) fn search_registered_models_impl(
        &self,
        name_like: Option<&str>,
    ) -> Result<Vec<RegisteredModel>, TrackingError> {
        let c = self.db().lock();
        match name_like {
            Some(p) => self.models(&c, "oxflow_like(?1, name, 0)", [p]),
            None => self.models(&c, "1", []),
        }
    }

    pub(super) fn update_registered_model_impl(
        &self,
        name: &str,
        description: &str,
    ) -> Result<(), TrackingError> {
        self.db().write(|c| {
            self.require_model(c, name)?;
            c.execute(
                "UPDATE registered_models SET description = ?2, last_updated_time = ?3 \
                 WHERE workspace = 'default' AND name = ?1",
                params![name, description, now_ms()],
            )
            .map_err(self.rm_err("update a registered model"))?;
            Ok(())
        })
    }

    pub(super) fn delete_registered_model_impl(&self, name: &str) -> Result<(), TrackingError> {
        self.db().write(|c| {
            self.require_model(c, name)?;
            for table in [
                "registered_model_aliases",
                "model_version_tags",
                "model_versions",
                "registered_model_tags",
                "registered_models",
            ] {
                c.execute(
                    &format!("DELETE FROM {table} WHERE workspace = 'default' AND name = ?1"),
                    [name],
                )
                .map_err(self.rm_err("delete a registered model"))?;
            }
            Ok(())
        })
    }

    pub(super) fn set_registered_model_tag_impl(
        &self,
        name: &str,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        self.db().write(|c| {
            self.require_model(c, name)?;
            self.set_model_tag(c, name, key, value)
        })
    }

    pub(super) fn delete_registered_model_tag_impl(
        &self,
        name: &str,
        key: &str,
    ) -> Result<(), TrackingError> {
        self.db().write(|c| {
            self.require_model(c, name)?;
            c.execute(
                "DELETE FROM registered_model_tags WHERE workspace = 'default' AND name = ?1 AND key = ?2",
                params![name, key],
            )
            .map_err(self.rm_err("delete a registered model tag"))?;
            Ok(())
        })
    }

    pub(super) fn create_model_version_impl(
        &self,
        new: &NewModelVersion,
    ) -> Result<ModelVersion, TrackingError> {
        self.db().write(|c| {
            self.require_model(c, &new.name)?;
            // `BEGIN IMMEDIATE` holds the write lock: no other writer can take this number.
            let max: i64 = c
                .query_row(
                    "SELECT coalesce(max(version), 0) FROM model_versions \
                     WHERE workspace = 'default' AND name = ?1",
                    [&new.name],
                    |r| r.get(0),
                )
                .map_err(self.rm_err("read model versions"))?;
            let version = max + 1;
            let now = now_ms();
            c.execute(
                "INSERT INTO model_versions (name, version, creation_time, last_updated_time, \
                 description, user_id, current_stage, source, run_id, status, status_message, \
                 run_link, storage_location, workspace) \
                 VALUES (?1, ?2, ?3, ?3, ?4, NULL, 'None', ?5, ?6, 'READY', NULL, NULL, \
                 coalesce(?7, ?5), 'default')",
                params![
                    new.name,
                    version,
                    now,
                    new.description,
                    new.source,
                    new.run_id,
                    new.storage_location
                ],
            )
            .map_err(self.rm_err("create a model version"))?;
            for (k, v) in &new.tags {
                self.set_version_tag(c, &new.name, version as u64, k, v)?;
            }
            self.touch_model(c, &new.name, now)?;
            self.version(c, &new.name, version as u64)
        })
    }

    fn set_version_tag(
        &self,
        c: &Connection,
        name: &str,
        version: u64,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        c.execute(
            "INSERT INTO model_version_tags (key, value, name, version, workspace) \
             VALUES (?1, ?2, ?3, ?4, 'default') \
             ON CONFLICT (workspace, key, name, version) DO UPDATE SET value = excluded.value",
            params![key, value, name, version as i64],
        )
        .map_err(self.rm_err("set a model version tag"))?;
        Ok(())
    }

    pub(super) fn get_model_version_impl(
        &self,
        name: &str,
        version: u64,
    ) -> Result<ModelVersion, TrackingError> {
        let c = self.db().lock();
        self.require_model(&c, name)?;
        self.version(&c, name, version)
    }

    pub(super) fn search_model_versions_impl(
        &self,
        query: &ModelVersionQuery,
    ) -> Result<Vec<ModelVersion>, TrackingError> {
        let c = self.db().lock();
        let mut out = self.versions(
            &c,
            "(?1 IS NULL OR name = ?1) AND (?2 IS NULL OR run_id = ?2)",
            params![query.name, query.run_id],
        )?;
        if !query.stages.is_empty() {
            out.retain(|v| query.stages.contains(&v.current_stage));
        }
        // Newest first.
        out.sort_by(|a, b| {
            b.creation_timestamp_ms
                .cmp(&a.creation_timestamp_ms)
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| b.version.cmp(&a.version))
        });
        Ok(out)
    }

    pub(super) fn update_model_version_impl(
        &self,
        name: &str,
        version: u64,
        description: &str,
    ) -> Result<(), TrackingError> {
        self.db().write(|c| {
            self.version(c, name, version)?;
            c.execute(
                "UPDATE model_versions SET description = ?3, last_updated_time = ?4 \
                 WHERE workspace = 'default' AND name = ?1 AND version = ?2",
                params![name, version as i64, description, now_ms()],
            )
            .map_err(self.rm_err("update a model version"))?;
            Ok(())
        })
    }

    pub(super) fn transition_model_version_stage_impl(
        &self,
        name: &str,
        version: u64,
        stage: Stage,
        archive_existing: bool,
    ) -> Result<ModelVersion, TrackingError> {
        self.db().write(|c| {
            self.require_model(c, name)?;
            self.version(c, name, version)?;
            let now = now_ms();
            if archive_existing && matches!(stage, Stage::Staging | Stage::Production) {
                c.execute(
                    "UPDATE model_versions SET current_stage = 'Archived', last_updated_time = ?4 \
                     WHERE workspace = 'default' AND name = ?1 AND version != ?2 \
                     AND current_stage = ?3",
                    params![name, version as i64, stage.as_str(), now],
                )
                .map_err(self.rm_err("archive model versions"))?;
            }
            c.execute(
                "UPDATE model_versions SET current_stage = ?3, last_updated_time = ?4 \
                 WHERE workspace = 'default' AND name = ?1 AND version = ?2",
                params![name, version as i64, stage.as_str(), now],
            )
            .map_err(self.rm_err("transition a model version"))?;
            self.touch_model(c, name, now)?;
            self.version(c, name, version)
        })
    }

    pub(super) fn delete_model_version_impl(
        &self,
        name: &str,
        version: u64,
    ) -> Result<(), TrackingError> {
        self.db().write(|c| {
            self.require_model(c, name)?;
            self.version(c, name, version)?;
            for table in ["registered_model_aliases", "model_version_tags", "model_versions"] {
                c.execute(
                    &format!(
                        "DELETE FROM {table} WHERE workspace = 'default' AND name = ?1 AND version = ?2"
                    ),
                    params![name, version as i64],
                )
                .map_err(self.rm_err("delete a model version"))?;
            }
            self.touch_model(c, name, now_ms())
        })
    }

    pub(super) fn set_model_version_tag_impl(
        &self,
        name: &str,
        version: u64,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        self.db().write(|c| {
            self.require_model(c, name)?;
            self.version(c, name, version)?;
            self.set_version_tag(c, name, version, key, value)
        })
    }

    pub(super) fn delete_model_version_tag_impl(
        &self,
        name: &str,
        version: u64,
        key: &str,
    ) -> Result<(), TrackingError> {
        self.db().write(|c| {
            self.require_model(c, name)?;
            self.version(c, name, version)?;
            c.execute(
                "DELETE FROM model_version_tags WHERE workspace = 'default' AND name = ?1 \
                 AND version = ?2 AND key = ?3",
                params![name, version as i64, key],
            )
            .map_err(self.rm_err("delete a model version tag"))?;
            Ok(())
        })
    }

    pub(super) fn set_registered_model_alias_impl(
        &self,
        name: &str,
        alias: &str,
        version: u64,
    ) -> Result<(), TrackingError> {
        self.db().write(|c| {
            self.require_model(c, name)?;
            self.version(c, name, version)?;
            c.execute(
                "INSERT INTO registered_model_aliases (alias, version, name, workspace) \
                 VALUES (?1, ?2, ?3, 'default') \
                 ON CONFLICT (workspace, name, alias) DO UPDATE SET version = excluded.version",
                params![alias, version as i64, name],
            )
            .map_err(self.rm_err("set an alias"))?;
            Ok(())
        })
    }

    pub(super) fn delete_registered_model_alias_impl(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<(), TrackingError> {
        self.db().write(|c| {
            self.require_model(c, name)?;
            let n = c
                .execute(
                    "DELETE FROM registered_model_aliases \
                     WHERE workspace = 'default' AND name = ?1 AND alias = ?2",
                    params![name, alias],
                )
                .map_err(self.rm_err("delete an alias"))?;
            if n == 0 {
                return Err(TrackingError::AliasNotFound {
                    name: name.to_string(),
                    alias: alias.to_string(),
                });
            }
            Ok(())
        })
    }

    pub(super) fn get_model_version_by_alias_impl(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<ModelVersion, TrackingError> {
        let c = self.db().lock();
        self.require_model(&c, name)?;
        let version: Option<i64> = c
            .query_row(
                "SELECT version FROM registered_model_aliases \
                 WHERE workspace = 'default' AND name = ?1 AND alias = ?2",
                params![name, alias],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.rm_err("read an alias"))?;
        let version = version.ok_or_else(|| TrackingError::AliasNotFound {
            name: name.to_string(),
            alias: alias.to_string(),
        })?;
        self.version(&c, name, version as u64)
    }
}
