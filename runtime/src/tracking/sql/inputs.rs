//! Dataset inputs in MLflow's tables: `datasets` (one row per experiment, name and digest),
//! `inputs` (a `DATASET` → `RUN` edge) and `input_tags`, written as MLflow's
//! `SqlAlchemyStore._log_inputs_impl` writes them.

use std::collections::{BTreeMap, HashMap};

use rusqlite::{Connection, OptionalExtension, params};

use super::SqlStore;
use crate::tracking::TrackingError;
use crate::tracking::entities::{Dataset, DatasetInput, sort_inputs};

impl SqlStore {
    /// Stores each dataset once per experiment and links it to the run once; an existing link
    /// keeps its first tags, as in MLflow.
    pub(super) fn log_inputs_impl(
        &self,
        run_id: &str,
        inputs: &[DatasetInput],
    ) -> Result<(), TrackingError> {
        self.db().write(|c| {
            self.check_active_cached(c, run_id)?;
            let err = |e| self.db().map_err("log dataset inputs", e);
            let experiment_id: i64 = c
                .prepare_cached("SELECT experiment_id FROM runs WHERE run_uuid = ?1")
                .and_then(|mut st| st.query_row([run_id], |r| r.get(0)))
                .map_err(err)?;
            for input in inputs {
                let ds = &input.dataset;
                let existing: Option<String> = c
                    .prepare_cached(
                        "SELECT dataset_uuid FROM datasets \
                         WHERE experiment_id = ?1 AND name = ?2 AND digest = ?3",
                    )
                    .and_then(|mut st| {
                        st.query_row(params![experiment_id, ds.name, ds.digest], |r| r.get(0))
                            .optional()
                    })
                    .map_err(err)?;
                let dataset_uuid = match existing {
                    Some(u) => u,
                    None => {
                        let u = uuid::Uuid::new_v4().simple().to_string();
                        c.prepare_cached(
                            "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, \
                             dataset_source_type, dataset_source, dataset_schema, dataset_profile) \
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        )
                        .and_then(|mut st| {
                            st.execute(params![
                                u,
                                experiment_id,
                                ds.name,
                                ds.digest,
                                ds.source_type,
                                ds.source,
                                ds.schema,
                                ds.profile
                            ])
                        })
                        .map_err(err)?;
                        u
                    }
                };
                let input_uuid = uuid::Uuid::new_v4().simple().to_string();
                let added = c
                    .prepare_cached(
                        "INSERT INTO inputs (input_uuid, source_type, source_id, \
                         destination_type, destination_id, step) \
                         VALUES (?1, 'DATASET', ?2, 'RUN', ?3, 0) ON CONFLICT DO NOTHING",
                    )
                    .and_then(|mut st| st.execute(params![input_uuid, dataset_uuid, run_id]))
                    .map_err(err)?;
                if added == 0 {
                    continue;
                }
                let mut st = c
                    .prepare_cached(
                        "INSERT INTO input_tags (input_uuid, name, value) VALUES (?1, ?2, ?3)",
                    )
                    .map_err(err)?;
                for (k, v) in &input.tags {
                    st.execute(params![input_uuid, k, v]).map_err(err)?;
                }
            }
            Ok(())
        })
    }
}

/// The dataset inputs of these runs (by run id), each list sorted by name and digest; the
/// query MLflow's `_get_run_inputs` makes.
pub(super) fn load_inputs(
    store: &SqlStore,
    c: &Connection,
    run_ids: &[&str],
) -> Result<HashMap<String, Vec<DatasetInput>>, TrackingError> {
    let err = |e| store.db().map_err("read dataset inputs", e);
    let json = serde_json::to_string(run_ids).unwrap_or_default();
    let mut st = c
        .prepare_cached(
            "SELECT i.destination_id, i.input_uuid, d.name, d.digest, d.dataset_source_type, \
             d.dataset_source, d.dataset_schema, d.dataset_profile, t.name, t.value \
             FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id \
             LEFT JOIN input_tags t ON t.input_uuid = i.input_uuid \
             WHERE i.source_type = 'DATASET' AND i.destination_type = 'RUN' \
             AND i.destination_id IN (SELECT value FROM json_each(?1))",
        )
        .map_err(err)?;
    let mut rows = st.query([&json]).map_err(err)?;
    // run -> input uuid -> input
    let mut by_run: HashMap<String, BTreeMap<String, DatasetInput>> = HashMap::new();
    while let Some(row) = rows.next().map_err(err)? {
        let run: String = row.get(0).map_err(err)?;
        let input_uuid: String = row.get(1).map_err(err)?;
        let inputs = by_run.entry(run).or_default();
        if !inputs.contains_key(&input_uuid) {
            let dataset = Dataset {
                name: row.get(2).map_err(err)?,
                digest: row.get(3).map_err(err)?,
                source_type: row.get(4).map_err(err)?,
                source: row.get(5).map_err(err)?,
                schema: row.get(6).map_err(err)?,
                profile: row.get(7).map_err(err)?,
            };
            inputs.insert(
                input_uuid.clone(),
                DatasetInput {
                    dataset,
                    tags: BTreeMap::new(),
                },
            );
        }
        let tag: Option<String> = row.get(8).map_err(err)?;
        if let (Some(k), Some(input)) = (tag, inputs.get_mut(&input_uuid)) {
            input.tags.insert(k, row.get(9).map_err(err)?);
        }
    }
    Ok(by_run
        .into_iter()
        .map(|(run, m)| {
            let mut v: Vec<DatasetInput> = m.into_values().collect();
            sort_inputs(&mut v);
            (run, v)
        })
        .collect())
}
