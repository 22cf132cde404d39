//! LoggedModels over MLflow's REST API, with the calls MLflow's Python client makes:
//! `POST logged-models`, `PATCH logged-models/<id>` (finalize), `PATCH logged-models/<id>/tags`,
//! `GET logged-models/<id>`, `POST runs/outputs`, and artifact uploads through the server's
//! artifact proxy (`PUT mlflow-artifacts/artifacts/<exp>/models/<id>/artifacts/<file>`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::RestStore;
use super::http::{Body, Method, is_not_found, server_error};
use super::json::as_i64;
use crate::tracking::TrackingError;
use crate::tracking::logged_model::{
    LoggedModel, LoggedModelStatus, NewLoggedModel, validate_model_id,
};

fn kv_json(kv: &[(String, String)]) -> Vec<Value> {
    kv.iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect()
}

fn kv_map(v: &Value) -> BTreeMap<String, String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some((
                e["key"].as_str()?.to_string(),
                e["value"].as_str()?.to_string(),
            ))
        })
        .collect()
}

/// `{"model": {"info": {...}, "data": {"params": [...]}}}` as a [`LoggedModel`].
fn parse_model(v: &Value) -> Result<LoggedModel, TrackingError> {
    let info = &v["model"]["info"];
    let not_mlflow = |what: &str| TrackingError::NotMlflow {
        url: String::new(),
        detail: format!("a logged model without {what}: {v}"),
    };
    let text = |k: &str| info[k].as_str().map(str::to_string);
    Ok(LoggedModel {
        model_id: text("model_id").ok_or_else(|| not_mlflow("a model_id"))?,
        experiment_id: text("experiment_id").ok_or_else(|| not_mlflow("an experiment_id"))?,
        name: text("name").unwrap_or_default(),
        artifact_location: text("artifact_uri").ok_or_else(|| not_mlflow("an artifact_uri"))?,
        creation_timestamp_ms: as_i64(&info["creation_timestamp_ms"]).unwrap_or(0),
        last_updated_timestamp_ms: as_i64(&info["last_updated_timestamp_ms"]).unwrap_or(0),
        status: info["status"]
            .as_str()
            .and_then(LoggedModelStatus::from_proto_name)
            .unwrap_or(LoggedModelStatus::Pending),
        model_type: text("model_type").filter(|s| !s.is_empty()),
        source_run_id: text("source_run_id").filter(|s| !s.is_empty()),
        params: kv_map(&v["model"]["data"]["params"]),
        tags: kv_map(&info["tags"]),
    })
}

fn not_found(model_id: &str) -> impl Fn(TrackingError) -> TrackingError + '_ {
    move |e| {
        if is_not_found(&e) {
            TrackingError::LoggedModelNotFound {
                model_id: model_id.to_string(),
            }
        } else {
            e
        }
    }
}

impl RestStore {
    pub(super) fn create_logged_model_impl(
        &self,
        new: &NewLoggedModel,
    ) -> Result<LoggedModel, TrackingError> {
        let mut body = json!({
            "experiment_id": new.experiment_id,
            "name": new.name,
            "params": kv_json(&new.params),
            "tags": kv_json(&new.tags),
        });
        if let Some(run) = &new.source_run_id {
            body["source_run_id"] = json!(run);
        }
        if let Some(t) = &new.model_type {
            body["model_type"] = json!(t);
        }
        parse_model(&self.inner.http.post("logged-models", body)?)
    }

    pub(super) fn get_logged_model_impl(
        &self,
        model_id: &str,
    ) -> Result<LoggedModel, TrackingError> {
        validate_model_id(model_id)?;
        let v = self
            .inner
            .http
            .get(&format!("logged-models/{model_id}"), &[])
            .map_err(not_found(model_id))?;
        parse_model(&v)
    }

    /// `POST logged-models/search` by name, as MLflow's `RunsArtifactRepository` does, then
    /// the model of this run.
    pub(super) fn find_logged_model_impl(
        &self,
        experiment_id: &str,
        run_id: &str,
        name: &str,
    ) -> Result<Option<LoggedModel>, TrackingError> {
        let quoted = name.replace('\'', "\\'");
        let mut token: Option<String> = None;
        let mut found: Option<LoggedModel> = None;
        loop {
            let mut body = json!({
                "experiment_ids": [experiment_id],
                "filter": format!("name = '{quoted}'"),
            });
            if let Some(t) = &token {
                body["page_token"] = json!(t);
            }
            let v = self.inner.http.post("logged-models/search", body)?;
            for m in v["models"].as_array().into_iter().flatten() {
                let m = parse_model(&json!({ "model": m }))?;
                if m.source_run_id.as_deref() == Some(run_id)
                    && found
                        .as_ref()
                        .is_none_or(|f| f.creation_timestamp_ms <= m.creation_timestamp_ms)
                {
                    found = Some(m);
                }
            }
            match v["next_page_token"].as_str() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(found),
            }
        }
    }

    /// `POST runs/log-batch` with each metric's `model_id`, as MLflow's client copies a run's
    /// metrics to the model it logs.
    pub(super) fn log_model_metrics_impl(
        &self,
        model: &LoggedModel,
        run_id: &str,
        metrics: &[crate::tracking::Metric],
    ) -> Result<(), TrackingError> {
        for chunk in metrics.chunks(crate::tracking::validation::MAX_METRICS_PER_BATCH) {
            let items: Vec<Value> = chunk
                .iter()
                .map(|m| {
                    let mut v = super::json::metric_json(m);
                    v["model_id"] = json!(model.model_id);
                    v
                })
                .collect();
            self.inner.http.post(
                "runs/log-batch",
                json!({"run_id": run_id, "metrics": items}),
            )?;
        }
        Ok(())
    }

    pub(super) fn finalize_logged_model_impl(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel, TrackingError> {
        validate_model_id(model_id)?;
        let v = self
            .inner
            .http
            .patch(
                &format!("logged-models/{model_id}"),
                json!({"model_id": model_id, "status": status.proto_name()}),
            )
            .map_err(not_found(model_id))?;
        parse_model(&v)
    }

    pub(super) fn set_logged_model_tags_impl(
        &self,
        model_id: &str,
        tags: &[(String, String)],
    ) -> Result<(), TrackingError> {
        validate_model_id(model_id)?;
        self.inner
            .http
            .patch(
                &format!("logged-models/{model_id}/tags"),
                json!({"tags": kv_json(tags)}),
            )
            .map_err(not_found(model_id))?;
        Ok(())
    }

    pub(super) fn link_model_to_run_impl(
        &self,
        run_id: &str,
        model_id: &str,
    ) -> Result<(), TrackingError> {
        self.inner.http.post(
            "runs/outputs",
            json!({"run_id": run_id, "models": [{"model_id": model_id, "step": 0}]}),
        )?;
        Ok(())
    }

    pub(super) fn log_model_artifact_impl(
        &self,
        model: &LoggedModel,
        rel_path: &str,
        bytes: &[u8],
    ) -> Result<(), TrackingError> {
        let url = self.proxy_url(&model.artifact_location, rel_path)?;
        let (status, body) = self
            .inner
            .http
            .request(Method::Put, &url, &[], Body::Bytes(bytes))?;
        if (200..300).contains(&status) {
            return Ok(());
        }
        Err(server_error("mlflow-artifacts/artifacts", status, &body))
    }

    pub(super) fn read_model_artifact_impl(
        &self,
        model: &LoggedModel,
        rel_path: &str,
    ) -> Result<Vec<u8>, TrackingError> {
        let url = self.proxy_url(&model.artifact_location, rel_path)?;
        let (status, body) = self
            .inner
            .http
            .request(Method::Get, &url, &[], Body::None)?;
        match status {
            200..=299 => Ok(body),
            404 => Err(TrackingError::ModelArtifactNotFound {
                model_id: model.model_id.clone(),
                path: rel_path.to_string(),
            }),
            _ => Err(server_error("mlflow-artifacts/artifacts", status, &body)),
        }
    }
}
