//! The model registry over MLflow's REST API (`registered-models/*`, `model-versions/*`, as
//! in MLflow's `model_registry.proto`).

use serde_json::{Value, json};

use super::RestStore;
use super::http::is_not_found;
use super::json::{as_i64, kv_list, str_of};
use crate::tracking::TrackingError;
use crate::tracking::registry::{
    ModelVersion, ModelVersionQuery, NewModelVersion, RegisteredModel, Stage,
};

/// Results per page of a registry search (MLflow's limit for registered models).
const PAGE: &str = "1000";

fn tags_json(tags: &[(String, String)]) -> Vec<Value> {
    tags.iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect()
}

fn parse_version(v: &Value) -> Result<ModelVersion, TrackingError> {
    let not_mlflow = |what: &str| TrackingError::NotMlflow {
        url: String::new(),
        detail: format!("a model version without {what}: {v}"),
    };
    let version = as_i64(&v["version"])
        .filter(|n| *n > 0)
        .ok_or_else(|| not_mlflow("a version number"))? as u64;
    let stage = v["current_stage"].as_str().unwrap_or("None");
    Ok(ModelVersion {
        name: v["name"]
            .as_str()
            .ok_or_else(|| not_mlflow("a name"))?
            .to_string(),
        version,
        creation_timestamp_ms: as_i64(&v["creation_timestamp"]).unwrap_or(0),
        last_updated_timestamp_ms: as_i64(&v["last_updated_timestamp"]).unwrap_or(0),
        description: v["description"]
            .as_str()
            .filter(|d| !d.is_empty())
            .map(str::to_string),
        user_id: str_of(&v["user_id"]),
        current_stage: stage.parse()?,
        source: str_of(&v["source"]),
        run_id: v["run_id"]
            .as_str()
            .filter(|r| !r.is_empty())
            .map(str::to_string),
        status: v["status"].as_str().unwrap_or("READY").to_string(),
        // The server's answer has no storage location (`get-download-uri` gives it).
        storage_location: None,
        tags: kv_list(&v["tags"]),
        aliases: v["aliases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect(),
    })
}

fn parse_model(m: &Value) -> Result<RegisteredModel, TrackingError> {
    Ok(RegisteredModel {
        name: m["name"]
            .as_str()
            .ok_or_else(|| TrackingError::NotMlflow {
                url: String::new(),
                detail: format!("a registered model without a name: {m}"),
            })?
            .to_string(),
        creation_timestamp_ms: as_i64(&m["creation_timestamp"]).unwrap_or(0),
        last_updated_timestamp_ms: as_i64(&m["last_updated_timestamp"]).unwrap_or(0),
        description: m["description"]
            .as_str()
            .filter(|d| !d.is_empty())
            .map(str::to_string),
        latest_versions: m["latest_versions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(parse_version)
            .collect::<Result<_, _>>()?,
        tags: kv_list(&m["tags"]),
        aliases: m["aliases"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| Some((str_of(&a["alias"]), as_i64(&a["version"])? as u64)))
            .collect(),
    })
}

/// A string literal of MLflow's search syntax.
fn literal(s: &str) -> String {
    if s.contains('\'') {
        format!("\"{s}\"")
    } else {
        format!("'{s}'")
    }
}

impl RestStore {
    fn model_error(&self, e: TrackingError, name: &str) -> TrackingError {
        if is_not_found(&e) {
            TrackingError::ModelNotFound {
                name: name.to_string(),
            }
        } else {
            e
        }
    }

    fn version_error(&self, e: TrackingError, name: &str, version: u64) -> TrackingError {
        match &e {
            TrackingError::Server { message, .. }
                if is_not_found(&e) && message.contains("Registered Model") =>
            {
                TrackingError::ModelNotFound {
                    name: name.to_string(),
                }
            }
            _ if is_not_found(&e) => TrackingError::ModelVersionNotFound {
                name: name.to_string(),
                version,
            },
            _ => e,
        }
    }

    pub(super) fn create_model(
        &self,
        name: &str,
        description: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<RegisteredModel, TrackingError> {
        let mut body = json!({"name": name, "tags": tags_json(tags)});
        if let Some(d) = description {
            body["description"] = json!(d);
        }
        match self.inner.http.post("registered-models/create", body) {
            Ok(v) => parse_model(&v["registered_model"]),
            Err(TrackingError::Server { error_code, .. })
                if error_code == "RESOURCE_ALREADY_EXISTS" =>
            {
                Err(TrackingError::ModelExists {
                    name: name.to_string(),
                })
            }
            Err(e) => Err(e),
        }
    }

    pub(super) fn get_model(&self, name: &str) -> Result<RegisteredModel, TrackingError> {
        let v = self
            .inner
            .http
            .get("registered-models/get", &[("name", name)])
            .map_err(|e| self.model_error(e, name))?;
        parse_model(&v["registered_model"])
    }

    pub(super) fn search_models(
        &self,
        name_like: Option<&str>,
    ) -> Result<Vec<RegisteredModel>, TrackingError> {
        let filter = name_like.map_or(String::new(), |p| format!("name LIKE {}", literal(p)));
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let mut q = vec![("max_results", PAGE), ("filter", filter.as_str())];
            if !token.is_empty() {
                q.push(("page_token", &token));
            }
            let v = self.inner.http.get("registered-models/search", &q)?;
            for m in v["registered_models"].as_array().into_iter().flatten() {
                out.push(parse_model(m)?);
            }
            match v["next_page_token"].as_str() {
                Some(t) if !t.is_empty() => token = t.to_string(),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    pub(super) fn update_model(&self, name: &str, description: &str) -> Result<(), TrackingError> {
        self.inner
            .http
            .patch(
                "registered-models/update",
                json!({"name": name, "description": description}),
            )
            .map_err(|e| self.model_error(e, name))?;
        Ok(())
    }

    pub(super) fn delete_model(&self, name: &str) -> Result<(), TrackingError> {
        self.inner
            .http
            .delete("registered-models/delete", json!({"name": name}))
            .map_err(|e| self.model_error(e, name))?;
        Ok(())
    }

    pub(super) fn set_model_tag(
        &self,
        name: &str,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        self.inner
            .http
            .post(
                "registered-models/set-tag",
                json!({"name": name, "key": key, "value": value}),
            )
            .map_err(|e| self.model_error(e, name))?;
        Ok(())
    }

    pub(super) fn delete_model_tag(&self, name: &str, key: &str) -> Result<(), TrackingError> {
        self.inner
            .http
            .delete(
                "registered-models/delete-tag",
                json!({"name": name, "key": key}),
            )
            .map_err(|e| self.model_error(e, name))?;
        Ok(())
    }

    pub(super) fn create_version(
        &self,
        new: &NewModelVersion,
    ) -> Result<ModelVersion, TrackingError> {
        let mut body = json!({
            "name": new.name,
            "source": new.source,
            "tags": tags_json(&new.tags),
        });
        if let Some(r) = &new.run_id {
            body["run_id"] = json!(r);
        }
        if let Some(d) = &new.description {
            body["description"] = json!(d);
        }
        // MLflow's client sends the LoggedModel id along with its `models:/` source.
        if let Some(id) = crate::tracking::registry::model_id_of_source(&new.source) {
            body["model_id"] = json!(id);
        }
        let v = self
            .inner
            .http
            .post("model-versions/create", body)
            .map_err(|e| self.model_error(e, &new.name))?;
        parse_version(&v["model_version"])
    }

    pub(super) fn get_version(
        &self,
        name: &str,
        version: u64,
    ) -> Result<ModelVersion, TrackingError> {
        let n = version.to_string();
        let v = self
            .inner
            .http
            .get("model-versions/get", &[("name", name), ("version", &n)])
            .map_err(|e| self.version_error(e, name, version))?;
        parse_version(&v["model_version"])
    }

    pub(super) fn search_versions(
        &self,
        query: &ModelVersionQuery,
    ) -> Result<Vec<ModelVersion>, TrackingError> {
        let mut clauses = Vec::new();
        if let Some(n) = &query.name {
            clauses.push(format!("name = {}", literal(n)));
        }
        if let Some(r) = &query.run_id {
            clauses.push(format!("run_id = {}", literal(r)));
        }
        let filter = clauses.join(" AND ");
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let mut q = vec![("max_results", PAGE), ("filter", filter.as_str())];
            if !token.is_empty() {
                q.push(("page_token", &token));
            }
            let v = self.inner.http.get("model-versions/search", &q)?;
            for mv in v["model_versions"].as_array().into_iter().flatten() {
                let mv = parse_version(mv)?;
                if query.stages.is_empty() || query.stages.contains(&mv.current_stage) {
                    out.push(mv);
                }
            }
            match v["next_page_token"].as_str() {
                Some(t) if !t.is_empty() => token = t.to_string(),
                _ => break,
            }
        }
        Ok(out)
    }

    pub(super) fn update_version(
        &self,
        name: &str,
        version: u64,
        description: &str,
    ) -> Result<(), TrackingError> {
        self.inner
            .http
            .patch(
                "model-versions/update",
                json!({"name": name, "version": version.to_string(), "description": description}),
            )
            .map_err(|e| self.version_error(e, name, version))?;
        Ok(())
    }

    pub(super) fn transition_stage(
        &self,
        name: &str,
        version: u64,
        stage: Stage,
        archive_existing: bool,
    ) -> Result<ModelVersion, TrackingError> {
        let v = self
            .inner
            .http
            .post(
                "model-versions/transition-stage",
                json!({
                    "name": name,
                    "version": version.to_string(),
                    "stage": stage.as_str(),
                    "archive_existing_versions": archive_existing,
                }),
            )
            .map_err(|e| self.version_error(e, name, version))?;
        parse_version(&v["model_version"])
    }

    pub(super) fn delete_version(&self, name: &str, version: u64) -> Result<(), TrackingError> {
        self.inner
            .http
            .delete(
                "model-versions/delete",
                json!({"name": name, "version": version.to_string()}),
            )
            .map_err(|e| self.version_error(e, name, version))?;
        Ok(())
    }

    pub(super) fn set_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        self.inner
            .http
            .post(
                "model-versions/set-tag",
                json!({"name": name, "version": version.to_string(), "key": key, "value": value}),
            )
            .map_err(|e| self.version_error(e, name, version))?;
        Ok(())
    }

    pub(super) fn delete_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
    ) -> Result<(), TrackingError> {
        self.inner
            .http
            .delete(
                "model-versions/delete-tag",
                json!({"name": name, "version": version.to_string(), "key": key}),
            )
            .map_err(|e| self.version_error(e, name, version))?;
        Ok(())
    }

    pub(super) fn set_alias(
        &self,
        name: &str,
        alias: &str,
        version: u64,
    ) -> Result<(), TrackingError> {
        self.inner
            .http
            .post(
                "registered-models/alias",
                json!({"name": name, "alias": alias, "version": version.to_string()}),
            )
            .map_err(|e| self.version_error(e, name, version))?;
        Ok(())
    }

    pub(super) fn delete_alias(&self, name: &str, alias: &str) -> Result<(), TrackingError> {
        self.inner
            .http
            .delete(
                "registered-models/alias",
                json!({"name": name, "alias": alias}),
            )
            .map_err(|e| self.model_error(e, name))?;
        Ok(())
    }

    pub(super) fn version_by_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<ModelVersion, TrackingError> {
        let res = self.inner.http.get(
            "registered-models/alias",
            &[("name", name), ("alias", alias)],
        );
        match res {
            Ok(v) => parse_version(&v["model_version"]),
            Err(TrackingError::Server { message, .. })
                if message.to_ascii_lowercase().contains("alias") =>
            {
                Err(TrackingError::AliasNotFound {
                    name: name.to_string(),
                    alias: alias.to_string(),
                })
            }
            Err(e) => Err(self.model_error(e, name)),
        }
    }
}
