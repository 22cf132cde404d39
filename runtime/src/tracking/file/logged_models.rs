//! LoggedModels of the file store, in MLflow's layout:
//!
//! ```text
//! <root>/<experiment>/models/<m-id>/meta.yaml
//! <root>/<experiment>/models/<m-id>/params/<key>     (file content = value)
//! <root>/<experiment>/models/<m-id>/tags/<key>
//! <root>/<experiment>/models/<m-id>/metrics/
//! <root>/<experiment>/models/<m-id>/artifacts/       (the model's files)
//! ```

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{FileStore, Malformed, read_kv_dir, read_text};
use crate::tracking::fsutil::{self, write_atomic};
use crate::tracking::logged_model::{
    self, LoggedModel, LoggedModelStatus, NewLoggedModel, validate_model_id,
};
use crate::tracking::meta::{self, Py, yaml};
use crate::tracking::{LIFECYCLE_ACTIVE, TrackingError, now_ms};

// Keys in MLflow's (sorted) order. `lifecycle_stage` is written at creation only, as MLflow
// does (finalizing rewrites the file from the entity, which has no such field).
#[derive(Serialize)]
struct LoggedModelMetaOut<'a> {
    artifact_location: Py<'a>,
    creation_timestamp: i64,
    experiment_id: Py<'a>,
    last_updated_timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    lifecycle_stage: Option<Py<'a>>,
    model_id: Py<'a>,
    model_type: Option<Py<'a>>,
    name: Py<'a>,
    source_run_id: Option<Py<'a>>,
    status: i32,
    status_message: Option<()>,
}

fn meta_yaml(m: &LoggedModel, created: bool) -> String {
    yaml(&LoggedModelMetaOut {
        artifact_location: Py(&m.artifact_location),
        creation_timestamp: m.creation_timestamp_ms,
        experiment_id: Py(&m.experiment_id),
        last_updated_timestamp: m.last_updated_timestamp_ms,
        lifecycle_stage: created.then_some(Py(LIFECYCLE_ACTIVE)),
        model_id: Py(&m.model_id),
        model_type: m.model_type.as_deref().map(Py),
        name: Py(&m.name),
        source_run_id: m.source_run_id.as_deref().map(Py),
        status: m.status.as_i32(),
        status_message: None,
    })
}

impl FileStore {
    /// The directory of a LoggedModel, searched in every experiment (deleted ones too).
    fn logged_model_dir(&self, model_id: &str) -> Result<PathBuf, TrackingError> {
        validate_model_id(model_id)?;
        let mut dirs = self.experiment_dirs(&self.inner.root)?;
        dirs.extend(self.experiment_dirs(&self.inner.tmp)?);
        dirs.into_iter()
            .map(|d| d.join("models").join(model_id))
            .find(|d| d.join("meta.yaml").is_file())
            .ok_or_else(|| TrackingError::LoggedModelNotFound {
                model_id: model_id.to_string(),
            })
    }

    fn read_logged_model(&self, dir: &Path) -> Result<LoggedModel, TrackingError> {
        let path = dir.join("meta.yaml");
        let text = read_text(&path)?;
        let map = meta::parse_map(&path, &text)?;
        let field = |k: &str| meta::as_string(map.get(k));
        let need = |k: &str| {
            field(k).ok_or_else(|| TrackingError::corrupt(&path, format!("`{k}` is missing")))
        };
        let status_n = meta::as_i64(map.get("status")).unwrap_or(0);
        let status = LoggedModelStatus::from_i32(status_n).ok_or_else(|| {
            TrackingError::corrupt(&path, format!("`status: {status_n}` is not a known status"))
        })?;
        Ok(LoggedModel {
            model_id: need("model_id")?,
            experiment_id: need("experiment_id")?,
            name: need("name")?,
            artifact_location: need("artifact_location")?,
            creation_timestamp_ms: meta::as_i64(map.get("creation_timestamp")).unwrap_or(0),
            last_updated_timestamp_ms: meta::as_i64(map.get("last_updated_timestamp")).unwrap_or(0),
            status,
            model_type: field("model_type"),
            source_run_id: field("source_run_id"),
            params: read_kv_dir(&dir.join("params"), Malformed::Fail)?,
            tags: read_kv_dir(&dir.join("tags"), Malformed::Fail)?,
        })
    }

    pub(super) fn create_logged_model_impl(
        &self,
        new: &NewLoggedModel,
    ) -> Result<LoggedModel, TrackingError> {
        let exp = crate::tracking::Store::get_experiment(self, &new.experiment_id)?;
        if exp.lifecycle_stage != LIFECYCLE_ACTIVE {
            return Err(TrackingError::InvalidArgument {
                what: "experiment",
                value: new.experiment_id.clone(),
                reason: "a model cannot be logged in a deleted experiment".into(),
            });
        }
        let model_id = logged_model::new_model_id();
        let now = now_ms();
        let model = LoggedModel {
            artifact_location: logged_model::artifact_location(&exp.artifact_location, &model_id),
            model_id,
            experiment_id: new.experiment_id.clone(),
            name: new.name.clone(),
            creation_timestamp_ms: now,
            last_updated_timestamp_ms: now,
            status: LoggedModelStatus::Pending,
            model_type: new.model_type.clone(),
            source_run_id: new.source_run_id.clone(),
            params: new.params.iter().cloned().collect(),
            tags: new.tags.iter().cloned().collect(),
        };
        // Assembled aside and renamed in: a reader sees the model whole or not at all.
        let tmp = fsutil::tmp_name(&self.inner.tmp);
        let build = || -> Result<(), TrackingError> {
            fsutil::create_dir(&tmp)?;
            fsutil::write_new(&tmp.join("meta.yaml"), meta_yaml(&model, true).as_bytes())?;
            for sub in ["metrics", "params", "tags"] {
                fsutil::create_dir(&tmp.join(sub))?;
            }
            for (k, v) in &model.params {
                write_atomic(&self.inner.tmp, &tmp.join("params").join(k), v.as_bytes())?;
            }
            for (k, v) in &model.tags {
                write_atomic(&self.inner.tmp, &tmp.join("tags").join(k), v.as_bytes())?;
            }
            let models = self.exp_dir(&model.experiment_id).join("models");
            fsutil::create_dir_all(&models)?;
            let dir = models.join(&model.model_id);
            std::fs::rename(&tmp, &dir).map_err(|e| TrackingError::io("create", &dir, e))
        };
        if let Err(e) = build() {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        Ok(model)
    }

    pub(super) fn get_logged_model_impl(
        &self,
        model_id: &str,
    ) -> Result<LoggedModel, TrackingError> {
        let dir = self.logged_model_dir(model_id)?;
        self.read_logged_model(&dir)
    }

    pub(super) fn find_logged_model_impl(
        &self,
        experiment_id: &str,
        run_id: &str,
        name: &str,
    ) -> Result<Option<LoggedModel>, TrackingError> {
        let dir = self.exp_dir(experiment_id).join("models");
        let entries = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(TrackingError::io("list", &dir, e)),
        };
        let mut found: Option<LoggedModel> = None;
        for entry in entries.flatten() {
            let path = entry.path();
            if !path.join("meta.yaml").is_file() {
                continue;
            }
            let m = self.read_logged_model(&path)?;
            if m.name == name
                && m.source_run_id.as_deref() == Some(run_id)
                && found
                    .as_ref()
                    .is_none_or(|f| f.creation_timestamp_ms <= m.creation_timestamp_ms)
            {
                found = Some(m);
            }
        }
        Ok(found)
    }

    /// Appends `<timestamp> <value> <step> <run_id>` lines to `metrics/<key>`, as MLflow's
    /// `_log_model_metric` does.
    pub(super) fn log_model_metrics_impl(
        &self,
        model_id: &str,
        run_id: &str,
        metrics: &[crate::tracking::Metric],
    ) -> Result<(), TrackingError> {
        use std::io::Write;
        let dir = self.logged_model_dir(model_id)?.join("metrics");
        for m in metrics {
            let path = dir.join(&m.key);
            if let Some(parent) = path.parent() {
                fsutil::create_dir_all(parent)?;
            }
            let line = format!(
                "{} {} {} {run_id}\n",
                m.timestamp_ms,
                fsutil::python_float_repr(m.value),
                m.step
            );
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .and_then(|mut f| f.write_all(line.as_bytes()))
                .map_err(|e| TrackingError::io("write", &path, e))?;
        }
        Ok(())
    }

    pub(super) fn finalize_logged_model_impl(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel, TrackingError> {
        let dir = self.logged_model_dir(model_id)?;
        let mut model = self.read_logged_model(&dir)?;
        model.status = status;
        model.last_updated_timestamp_ms = now_ms();
        write_atomic(
            &self.inner.tmp,
            &dir.join("meta.yaml"),
            meta_yaml(&model, false).as_bytes(),
        )?;
        Ok(model)
    }

    pub(super) fn set_logged_model_tags_impl(
        &self,
        model_id: &str,
        tags: &[(String, String)],
    ) -> Result<(), TrackingError> {
        let dir = self.logged_model_dir(model_id)?;
        for (k, v) in tags {
            write_atomic(&self.inner.tmp, &dir.join("tags").join(k), v.as_bytes())?;
        }
        Ok(())
    }
}
