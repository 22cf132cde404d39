//! Dataset inputs in MLflow's file-store layout: a dataset once per experiment in
//! `<experiment>/datasets/<md5(name, digest)>/meta.yaml`, its link to a run in
//! `<run>/inputs/<md5(dataset id, run id)>/meta.yaml` with the input's tags
//! (`FileStore.log_inputs`, `_get_dataset_inputs` in MLflow's `file_store.py`).

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::{FileStore, Malformed};
use crate::tracking::TrackingError;
use crate::tracking::entities::{Dataset, DatasetInput, sort_inputs};
use crate::tracking::fsutil;
use crate::tracking::meta::{self, Py, as_string};

/// MLflow's id of a dataset in an experiment: the MD5 of its name, then its digest.
pub(super) fn dataset_id(name: &str, digest: &str) -> String {
    let mut ctx = md5::Context::new();
    ctx.consume(name.as_bytes());
    ctx.consume(digest.as_bytes());
    format!("{:x}", ctx.finalize())
}

/// MLflow's id of a run's input: the MD5 of the dataset id, then the run id.
pub(super) fn input_id(dataset_id: &str, run_id: &str) -> String {
    let mut ctx = md5::Context::new();
    ctx.consume(dataset_id.as_bytes());
    ctx.consume(run_id.as_bytes());
    format!("{:x}", ctx.finalize())
}

// Field order is alphabetical: MLflow writes with `sort_keys=True`.
#[derive(Serialize)]
struct DatasetMetaOut<'a> {
    digest: Py<'a>,
    name: Py<'a>,
    profile: Option<Py<'a>>,
    schema: Option<Py<'a>>,
    source: Py<'a>,
    source_type: Py<'a>,
}

#[derive(Serialize)]
struct InputMetaOut<'a> {
    // MLflow writes the dataset id here too (`_FileStoreInput.write_yaml`); readers ignore it.
    destination_id: Py<'a>,
    destination_type: &'static str,
    source_id: Py<'a>,
    source_type: &'static str,
    tags: BTreeMap<&'a str, Py<'a>>,
}

#[derive(Serialize)]
struct OutputMetaOut<'a> {
    // MLflow writes the model id as both source and destination (`_FileStoreOutput`).
    destination_id: Py<'a>,
    destination_type: &'static str,
    source_id: Py<'a>,
    source_type: &'static str,
    step: i64,
    tags: BTreeMap<&'a str, Py<'a>>,
}

impl FileStore {
    /// Records that the run produced LoggedModel `model_id`: `<run>/outputs/<model_id>/meta.yaml`,
    /// as MLflow's `log_outputs` writes it; an existing link is kept.
    pub(super) fn write_output(&self, run_id: &str, model_id: &str) -> Result<(), TrackingError> {
        crate::tracking::validation::artifact_segments(model_id)?;
        let c = self.active(run_id)?;
        let dir = c.dir.join("outputs").join(model_id);
        let path = dir.join("meta.yaml");
        if !path.is_file() {
            fsutil::create_dir_all(&dir)?;
            let text = meta::yaml(&OutputMetaOut {
                destination_id: Py(model_id),
                destination_type: "MODEL_OUTPUT",
                source_id: Py(model_id),
                source_type: "RUN_OUTPUT",
                step: 0,
                tags: BTreeMap::new(),
            });
            fsutil::create_atomic(&self.inner.tmp, &path, text.as_bytes())?;
        }
        Ok(())
    }

    /// Writes each dataset once per experiment and links it to the run once; an existing link
    /// keeps its first tags, as in MLflow.
    pub(super) fn write_inputs(
        &self,
        run_id: &str,
        inputs: &[DatasetInput],
    ) -> Result<(), TrackingError> {
        let c = self.active(run_id)?;
        let exp_dir = self.exp_dir(&c.info.experiment_id);
        if !exp_dir.join("meta.yaml").is_file() {
            return Err(TrackingError::ExperimentNotFound {
                experiment: c.info.experiment_id.clone(),
            });
        }
        for input in inputs {
            let ds = &input.dataset;
            let ds_id = dataset_id(&ds.name, &ds.digest);
            let ds_dir = exp_dir.join("datasets").join(&ds_id);
            let ds_meta = ds_dir.join("meta.yaml");
            if !ds_meta.is_file() {
                fsutil::create_dir_all(&ds_dir)?;
                let text = meta::yaml(&DatasetMetaOut {
                    digest: Py(&ds.digest),
                    name: Py(&ds.name),
                    profile: ds.profile.as_deref().map(Py),
                    schema: ds.schema.as_deref().map(Py),
                    source: Py(&ds.source),
                    source_type: Py(&ds.source_type),
                });
                // Another writer may create it at the same moment: the first complete file wins.
                fsutil::create_atomic(&self.inner.tmp, &ds_meta, text.as_bytes())?;
            }
            let in_dir = c.dir.join("inputs").join(input_id(&ds_id, run_id));
            let in_meta = in_dir.join("meta.yaml");
            if !in_meta.is_file() {
                fsutil::create_dir_all(&in_dir)?;
                let text = meta::yaml(&InputMetaOut {
                    destination_id: Py(&ds_id),
                    destination_type: "RUN",
                    source_id: Py(&ds_id),
                    source_type: "DATASET",
                    tags: input
                        .tags
                        .iter()
                        .map(|(k, v)| (k.as_str(), Py(v)))
                        .collect(),
                });
                fsutil::create_atomic(&self.inner.tmp, &in_meta, text.as_bytes())?;
            }
        }
        Ok(())
    }

    /// The dataset inputs of the run in `run_dir`, sorted by name and digest. An input whose
    /// dataset is missing is skipped with a warning, as MLflow does; a malformed file is handled
    /// as `malformed` says.
    pub(super) fn read_inputs(
        &self,
        run_dir: &Path,
        malformed: Malformed,
    ) -> Result<Vec<DatasetInput>, TrackingError> {
        let in_root = run_dir.join("inputs");
        let entries = match fs::read_dir(&in_root) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(TrackingError::io("list", &in_root, e)),
        };
        let Some(datasets) = run_dir.parent().map(|e| e.join("datasets")) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let path = entry.path().join("meta.yaml");
            let Some(link) = malformed.handle(read_map(&path))? else {
                continue;
            };
            if as_string(link.get("source_type")).as_deref() != Some("DATASET") {
                continue;
            }
            let Some(ds_id) = as_string(link.get("source_id")) else {
                malformed.handle::<()>(Err(TrackingError::corrupt(&path, "no `source_id`")))?;
                continue;
            };
            let ds_path = datasets.join(&ds_id).join("meta.yaml");
            if !ds_path.is_file() {
                tracing::warn!(
                    "dataset `{ds_id}` linked from `{}` is missing; skipping it",
                    path.display()
                );
                continue;
            }
            let Some(dataset) = malformed.handle(read_dataset(&ds_path))? else {
                continue;
            };
            let tags = match link.get("tags") {
                Some(Value::Object(m)) => m
                    .iter()
                    .filter_map(|(k, v)| as_string(Some(v)).map(|v| (k.clone(), v)))
                    .collect(),
                _ => BTreeMap::new(),
            };
            out.push(DatasetInput { dataset, tags });
        }
        sort_inputs(&mut out);
        Ok(out)
    }
}

fn read_map(path: &Path) -> Result<BTreeMap<String, Value>, TrackingError> {
    let text = super::read_text(path)?;
    meta::parse_map(path, &text)
}

fn read_dataset(path: &Path) -> Result<Dataset, TrackingError> {
    let m = read_map(path)?;
    let field = |k: &str| {
        as_string(m.get(k))
            .ok_or_else(|| TrackingError::corrupt(path, format!("no `{k}` in a dataset")))
    };
    Ok(Dataset {
        name: field("name")?,
        digest: field("digest")?,
        source_type: field("source_type")?,
        source: field("source")?,
        schema: as_string(m.get("schema")),
        profile: as_string(m.get("profile")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_mlflows() {
        // Directory names MLflow 3.17 wrote for dataset `train`/`abc123` and for its input to
        // run 3b88df24589846a985adc1b026dfcd68.
        let ds = dataset_id("train", "abc123");
        assert_eq!(ds, "e13db5079b0fb90b5a5cc1188b4f61bb");
        assert_eq!(
            input_id(&ds, "3b88df24589846a985adc1b026dfcd68"),
            "5ae75c5f922cb3fa475485fec1613d3c"
        );
        assert_eq!(dataset_id("eval", "ff"), "a3655eb995540a03fcf1d811b6aae3fd");
    }

    #[test]
    fn meta_files_are_written_as_mlflow_writes_them() {
        let text = meta::yaml(&DatasetMetaOut {
            digest: Py("ff"),
            name: Py("eval"),
            profile: None,
            schema: None,
            source: Py("{}"),
            source_type: Py("local"),
        });
        assert_eq!(
            text,
            "digest: ff\nname: eval\nprofile: null\nschema: null\nsource: '{}'\nsource_type: local\n"
        );
        let link = |tags: BTreeMap<&str, Py<'_>>| {
            meta::yaml(&InputMetaOut {
                destination_id: Py("e13db5079b0fb90b5a5cc1188b4f61bb"),
                destination_type: "RUN",
                source_id: Py("e13db5079b0fb90b5a5cc1188b4f61bb"),
                source_type: "DATASET",
                tags,
            })
        };
        assert_eq!(
            link(BTreeMap::from([("mlflow.data.context", Py("training"))])),
            "destination_id: e13db5079b0fb90b5a5cc1188b4f61bb\ndestination_type: RUN\n\
             source_id: e13db5079b0fb90b5a5cc1188b4f61bb\nsource_type: DATASET\ntags:\n  \
             mlflow.data.context: training\n"
        );
        assert!(link(BTreeMap::new()).ends_with("tags: {}\n"));
        // <run>/outputs/<model_id>/meta.yaml, byte for byte as MLflow 3.17.2 writes it.
        let id = "m-f31a623818744af8b2d9de9c52f424af";
        assert_eq!(
            meta::yaml(&OutputMetaOut {
                destination_id: Py(id),
                destination_type: "MODEL_OUTPUT",
                source_id: Py(id),
                source_type: "RUN_OUTPUT",
                step: 0,
                tags: BTreeMap::new(),
            }),
            format!(
                "destination_id: {id}\ndestination_type: MODEL_OUTPUT\nsource_id: {id}\n\
                 source_type: RUN_OUTPUT\nstep: 0\ntags: {{}}\n"
            )
        );
    }
}
