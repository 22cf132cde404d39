//! [`RestStore`]: the same operations as [`FileStore`](super::FileStore), against an MLflow
//! tracking server's REST API (`/api/2.0/mlflow/...`).
//!
//! Metric values are buffered and sent with `runs/log-batch` in chunks within MLflow's limits
//! (1000 metrics, 100 params, 100 tags, 1000 entities per request). [`http`] bounds the time
//! of every request and retries transient failures; [`json`] holds MLflow's message shapes;
//! [`registry`] the model registry endpoints.

pub(crate) mod http;
mod json;
mod logged_models;
mod registry;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use serde_json::json;

use super::backend::Store;
use super::entities::{
    ArtifactEntry, DatasetInput, Experiment, Metric, RunInfo, RunOptions, RunRecord, RunStatus,
};
use super::logged_model::{LoggedModel, LoggedModelStatus, NewLoggedModel};
use super::matching::ViewType;
use super::registry::{ModelVersion, ModelVersionQuery, NewModelVersion, RegisteredModel, Stage};
use super::validation::{
    MAX_DATASETS_PER_BATCH, MAX_METRICS_PER_BATCH, MAX_PARAMS_TAGS_PER_BATCH, artifact_segments,
};
use super::{TAG_PARENT_RUN_ID, TAG_RUN_NAME, TrackingError, now_ms};
use http::{Body, Http, Method, base64, is_not_found, percent_encode_segment, server_error};
use json::{
    as_f64, as_i64, dataset_input_json, metric_json, parse_experiment, parse_info, parse_run,
    str_of, view_name,
};

/// Most entities (metrics + params + tags) in one `log-batch` request.
const MAX_ENTITIES_PER_BATCH: usize = 1000;
const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// A client of an MLflow tracking server.
///
/// Authentication follows MLflow's variables: `MLFLOW_TRACKING_TOKEN` (bearer) or
/// `MLFLOW_TRACKING_USERNAME` + `MLFLOW_TRACKING_PASSWORD` (basic).
///
/// ```no_run
/// use oxflow_runtime::tracking::{RestStore, RunOptions, RunStatus, TrackingStore, now_ms};
///
/// let store = TrackingStore::from(RestStore::new("http://127.0.0.1:5000")?);
/// let exp = store.get_or_create_experiment("iris")?;
/// let run = store.create_run(&exp.experiment_id, RunOptions::default())?;
/// store.log_metric(&run.run_id, "accuracy", 0.93, now_ms(), 0)?;
/// store.set_terminated(&run.run_id, RunStatus::Finished, now_ms())?;
/// # Ok::<(), oxflow_runtime::tracking::TrackingError>(())
/// ```
#[derive(Clone)]
pub struct RestStore {
    inner: Arc<RestInner>,
}

impl std::fmt::Debug for RestStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestStore")
            .field("base", &self.inner.http.base)
            .finish()
    }
}

struct RestInner {
    http: Http,
    user: String,
    /// Run id -> artifact URI, learnt from create/get.
    artifact_uris: Mutex<HashMap<String, String>>,
    buffer: Mutex<Pending>,
    flusher_started: AtomicBool,
}

#[derive(Default)]
struct Pending {
    metrics: Vec<(String, Metric)>,
    since: Option<Instant>,
}

impl Drop for RestInner {
    fn drop(&mut self) {
        let pending = std::mem::take(&mut lock(&self.buffer).metrics);
        if let Err((e, _)) = send_metrics(self, pending) {
            tracing::warn!(error = %e, "could not send buffered metrics to the MLflow server");
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Sends metrics grouped by run, in chunks of at most 1000.
/// Sends metrics grouped by run, in chunks of at most 1000. On a failure, returns the error
/// with the metrics not sent yet, so a transient outage loses nothing.
fn send_metrics(
    inner: &RestInner,
    pending: Vec<(String, Metric)>,
) -> Result<(), (TrackingError, Vec<(String, Metric)>)> {
    let mut by_run: Vec<(String, Vec<Metric>)> = Vec::new();
    for (run, m) in pending {
        match by_run.iter_mut().find(|(r, _)| *r == run) {
            Some((_, v)) => v.push(m),
            None => by_run.push((run, vec![m])),
        }
    }
    for (i, (run, metrics)) in by_run.iter().enumerate() {
        for (c, chunk) in metrics.chunks(MAX_METRICS_PER_BATCH).enumerate() {
            let body = json!({"run_id": run, "metrics": chunk.iter().map(metric_json).collect::<Vec<_>>()});
            if let Err(e) = inner.http.post("runs/log-batch", body) {
                let mut unsent: Vec<(String, Metric)> = metrics[c * MAX_METRICS_PER_BATCH..]
                    .iter()
                    .map(|m| (run.clone(), m.clone()))
                    .collect();
                for (r, ms) in &by_run[i + 1..] {
                    unsent.extend(ms.iter().map(|m| (r.clone(), m.clone())));
                }
                return Err((e, unsent));
            }
        }
    }
    Ok(())
}

/// Whether a failed send is worth retrying later (server unreachable or overloaded), as
/// opposed to refused (a 4xx that would fail again).
fn is_transient(e: &TrackingError) -> bool {
    matches!(e, TrackingError::Unreachable { .. })
        || matches!(e, TrackingError::Server { status, .. } if *status == 429 || *status >= 500)
}

/// Puts metrics that could not be sent back at the front of the buffer (transient failures
/// only) and returns the error.
fn requeue(inner: &RestInner, e: TrackingError, unsent: Vec<(String, Metric)>) -> TrackingError {
    if is_transient(&e) {
        let mut b = lock(&inner.buffer);
        b.metrics.splice(0..0, unsent);
        b.since.get_or_insert_with(Instant::now);
    }
    e
}

impl RestStore {
    /// A client of the MLflow server at `uri` (`http://host:port`, optionally with a path
    /// prefix). Nothing is sent until the first call.
    pub fn new(uri: &str) -> Result<RestStore, TrackingError> {
        if !(uri.starts_with("http://") || uri.starts_with("https://")) {
            return Err(TrackingError::InvalidUri {
                uri: uri.to_string(),
                reason: "an MLflow server URI starts with http:// or https://".into(),
            });
        }
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let auth = match (
            env("MLFLOW_TRACKING_TOKEN"),
            env("MLFLOW_TRACKING_USERNAME"),
            env("MLFLOW_TRACKING_PASSWORD"),
        ) {
            (Some(t), _, _) => Some(format!("Bearer {t}")),
            (None, Some(u), Some(p)) => {
                Some(format!("Basic {}", base64(format!("{u}:{p}").as_bytes())))
            }
            _ => None,
        };
        Ok(RestStore {
            inner: Arc::new(RestInner {
                http: Http::new(uri.trim_end_matches('/').to_string(), auth)?,
                user: crate::tracking::user::current_user(),
                artifact_uris: Mutex::new(HashMap::new()),
                buffer: Mutex::new(Pending::default()),
                flusher_started: AtomicBool::new(false),
            }),
        })
    }

    /// Sets how often a transient failure is tried (at least once) and the first backoff delay,
    /// which doubles on each retry up to 10 s (default: 5 attempts, 200 ms). Call it on a
    /// fresh store, before cloning it: a store already shared keeps its settings.
    pub fn with_retries(self, max_attempts: u32, first_backoff: Duration) -> RestStore {
        let old = Arc::try_unwrap(self.inner);
        let inner = match old {
            Ok(mut inner) => {
                inner.http.max_attempts = max_attempts.max(1);
                inner.http.backoff = first_backoff;
                inner
            }
            Err(shared) => {
                return RestStore { inner: shared };
            }
        };
        RestStore {
            inner: Arc::new(inner),
        }
    }

    /// Sets the longest time one request may take, retries included (default: 30 s, or
    /// `OXFLOW_HTTP_TIMEOUT` seconds). Like [`RestStore::with_retries`], call it on a fresh
    /// store.
    pub fn with_timeout(self, total: Duration) -> RestStore {
        match Arc::try_unwrap(self.inner) {
            Ok(mut inner) => {
                inner.http.total = total;
                RestStore {
                    inner: Arc::new(inner),
                }
            }
            Err(shared) => RestStore { inner: shared },
        }
    }

    fn start_flusher(&self) {
        if self.inner.flusher_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak: Weak<RestInner> = Arc::downgrade(&self.inner);
        let spawned = std::thread::Builder::new().name("oxflow-rest-flush".into()).spawn(move || loop {
            std::thread::sleep(Duration::from_millis(250));
            let Some(inner) = weak.upgrade() else { return };
            let pending = {
                let mut b = lock(&inner.buffer);
                if b.since.is_none_or(|s| s.elapsed() < FLUSH_INTERVAL) {
                    continue;
                }
                b.since = None;
                std::mem::take(&mut b.metrics)
            };
            if let Err((e, unsent)) = send_metrics(&inner, pending) {
                let e = requeue(&inner, e, unsent);
                tracing::warn!(error = %e, "could not send buffered metrics to the MLflow server");
            }
        });
        if spawned.is_err() {
            self.inner.flusher_started.store(false, Ordering::Release);
        }
    }

    /// The URL through which the server's artifact proxy serves `rel_path` of the run.
    fn artifact_url(&self, run_id: &str, rel_path: &str) -> Result<String, TrackingError> {
        let cached = lock(&self.inner.artifact_uris).get(run_id).cloned();
        let uri = match cached {
            Some(u) => u,
            None => self.get_run(run_id)?.info.artifact_uri,
        };
        self.proxy_url(&uri, rel_path)
    }

    /// The proxy URL of `rel_path` under an `mlflow-artifacts:` URI.
    fn proxy_url(&self, uri: &str, rel_path: &str) -> Result<String, TrackingError> {
        let segs = artifact_segments(rel_path)?;
        let Some(rest) = uri.strip_prefix("mlflow-artifacts:") else {
            return Err(TrackingError::Unsupported {
                operation: "artifact upload",
                store: "RestStore",
                reason: format!(
                    "the run's artifact URI `{uri}` is not served by the tracking server; start the server with \
                     artifact proxying (`mlflow server --serve-artifacts`, the default)"
                ),
            });
        };
        // `mlflow-artifacts:/path` or `mlflow-artifacts://host:port/path`.
        let path = match rest.strip_prefix("//") {
            Some(hp) => hp.split_once('/').map_or("", |(_, p)| p),
            None => rest.trim_start_matches('/'),
        };
        let mut url = format!(
            "{}/api/2.0/mlflow-artifacts/artifacts/{}",
            self.inner.http.base,
            path.trim_end_matches('/')
        );
        for s in segs {
            url.push('/');
            url.push_str(&percent_encode_segment(s));
        }
        Ok(url)
    }
}

impl Store for RestStore {
    fn uri(&self) -> String {
        self.inner.http.base.clone()
    }

    fn ui_command(&self) -> String {
        self.inner.http.base.clone()
    }

    fn default_log_root(&self) -> PathBuf {
        PathBuf::from("logs")
    }

    /// Sends every buffered metric value now.
    fn flush(&self) -> Result<(), TrackingError> {
        let pending = {
            let mut b = lock(&self.inner.buffer);
            b.since = None;
            std::mem::take(&mut b.metrics)
        };
        send_metrics(&self.inner, pending).map_err(|(e, unsent)| requeue(&self.inner, e, unsent))
    }

    /// The active experiment with this name, if any.
    fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>, TrackingError> {
        match self
            .inner
            .http
            .get("experiments/get-by-name", &[("experiment_name", name)])
        {
            Ok(v) => {
                Ok(Some(parse_experiment(&v["experiment"]))
                    .filter(|e| e.lifecycle_stage != "deleted"))
            }
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The experiment with this id.
    fn get_experiment(&self, experiment_id: &str) -> Result<Experiment, TrackingError> {
        match self
            .inner
            .http
            .get("experiments/get", &[("experiment_id", experiment_id)])
        {
            Ok(v) => Ok(parse_experiment(&v["experiment"])),
            Err(e) if is_not_found(&e) => Err(TrackingError::ExperimentNotFound {
                experiment: experiment_id.to_string(),
            }),
            Err(e) => Err(e),
        }
    }

    /// The experiment named `name`, created if missing (a concurrent creation is tolerated).
    fn get_or_create_experiment(&self, name: &str) -> Result<Experiment, TrackingError> {
        if let Some(e) = self.get_experiment_by_name(name)? {
            return Ok(e);
        }
        match self
            .inner
            .http
            .post("experiments/create", json!({"name": name}))
        {
            Ok(v) => self.get_experiment(&str_of(&v["experiment_id"])),
            Err(TrackingError::Server { error_code, .. })
                if error_code == "RESOURCE_ALREADY_EXISTS" =>
            {
                self.get_experiment_by_name(name)?
                    .ok_or_else(|| TrackingError::ExperimentDeleted {
                        experiment: name.to_string(),
                    })
            }
            Err(e) => Err(e),
        }
    }

    /// Every experiment (deleted ones too with `include_deleted`), sorted by name.
    fn list_experiments(&self, include_deleted: bool) -> Result<Vec<Experiment>, TrackingError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({"max_results": 1000, "view_type": if include_deleted { "ALL" } else { "ACTIVE_ONLY" }});
            if let Some(t) = &token {
                body["page_token"] = json!(t);
            }
            let v = self.inner.http.post("experiments/search", body)?;
            out.extend(
                v["experiments"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(parse_experiment),
            );
            match v["next_page_token"].as_str() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Sets an experiment tag.
    fn set_experiment_tag(
        &self,
        experiment_id: &str,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        self.inner.http.post(
            "experiments/set-experiment-tag",
            json!({"experiment_id": experiment_id, "key": key, "value": value}),
        )?;
        Ok(())
    }

    /// MLflow's REST API has no conditional write: read, compare, write. Two processes can
    /// both succeed; [`Store::atomic_experiment_tags`] says so.
    fn compare_and_set_experiment_tag(
        &self,
        experiment_id: &str,
        key: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool, TrackingError> {
        let exp = self.get_experiment(experiment_id)?;
        if exp.tags.get(key).map(String::as_str) != expected {
            return Ok(false);
        }
        self.set_experiment_tag(experiment_id, key, value)?;
        Ok(true)
    }

    fn atomic_experiment_tags(&self) -> bool {
        false
    }

    /// Creates a run (RUNNING) with name, tags and parent.
    fn create_run(&self, experiment_id: &str, opts: RunOptions) -> Result<RunInfo, TrackingError> {
        let mut tags: Vec<(String, String)> = Vec::new();
        for (k, val) in &opts.tags {
            tags.push((k.clone(), val.clone()));
        }
        if let Some(parent) = &opts.parent_run_id {
            tags.retain(|(k, _)| k != TAG_PARENT_RUN_ID);
            tags.push((TAG_PARENT_RUN_ID.into(), parent.clone()));
        }
        let run_name = opts.run_name.or_else(|| {
            tags.iter()
                .find(|(k, _)| k == TAG_RUN_NAME)
                .map(|(_, v)| v.clone())
        });
        let mut body = json!({
            "experiment_id": experiment_id,
            "user_id": self.inner.user,
            "start_time": opts.start_time_ms.unwrap_or_else(now_ms),
            "tags": tags.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
        });
        if let Some(n) = run_name {
            body["run_name"] = json!(n);
        }
        let v = self.inner.http.post("runs/create", body)?;
        let mut info = parse_info(&v["run"]["info"])?;
        lock(&self.inner.artifact_uris).insert(info.run_id.clone(), info.artifact_uri.clone());
        // The REST API creates runs RUNNING and empty: upload the artifacts, then end the run.
        for (rel, bytes) in &opts.artifacts {
            self.log_artifact_bytes(&info.run_id, rel, bytes)?;
        }
        if let Some((status, end)) = opts.end {
            self.update_run(&info.run_id, Some(status), Some(end))?;
            info.status = status;
            info.end_time_ms = Some(end);
        }
        Ok(info)
    }

    /// A run's metadata, params, latest metrics and tags.
    fn get_run(&self, run_id: &str) -> Result<RunRecord, TrackingError> {
        self.flush()?;
        match self.inner.http.get("runs/get", &[("run_id", run_id)]) {
            Ok(v) => {
                let rec = parse_run(&v["run"])?;
                lock(&self.inner.artifact_uris)
                    .insert(rec.info.run_id.clone(), rec.info.artifact_uri.clone());
                Ok(rec)
            }
            Err(e) if is_not_found(&e) => Err(TrackingError::RunNotFound {
                run_id: run_id.to_string(),
            }),
            Err(e) => Err(e),
        }
    }

    /// Every value of one metric of a run.
    fn get_metric_history(&self, run_id: &str, key: &str) -> Result<Vec<Metric>, TrackingError> {
        self.flush()?;
        let mut out = Vec::new();
        let mut token = String::new();
        loop {
            let mut q = vec![
                ("run_id", run_id),
                ("metric_key", key),
                ("max_results", "25000"),
            ];
            if !token.is_empty() {
                q.push(("page_token", &token));
            }
            let v = self.inner.http.get("metrics/get-history", &q)?;
            for m in v["metrics"].as_array().into_iter().flatten() {
                out.push(Metric {
                    key: key.to_string(),
                    value: as_f64(&m["value"]),
                    timestamp_ms: as_i64(&m["timestamp"]).unwrap_or(0),
                    step: as_i64(&m["step"]).unwrap_or(0),
                });
            }
            match v["next_page_token"].as_str() {
                Some(t) if !t.is_empty() => token = t.to_string(),
                _ => break,
            }
        }
        Ok(out)
    }

    /// Logs a param (immutable on the server too).
    fn log_param(&self, run_id: &str, key: &str, value: &str) -> Result<(), TrackingError> {
        self.log_batch(run_id, &[], &[(key.to_string(), value.to_string())], &[])
    }

    /// Buffers a metric value; sent on [`RestStore::flush`], when the run ends, when 1000 are
    /// waiting, and at least every second.
    fn log_metric(&self, run_id: &str, m: &Metric) -> Result<(), TrackingError> {
        let m = m.clone();
        let due = {
            let mut b = lock(&self.inner.buffer);
            b.metrics.push((run_id.to_string(), m));
            let since = *b.since.get_or_insert_with(Instant::now);
            b.metrics.len() >= MAX_METRICS_PER_BATCH || since.elapsed() >= FLUSH_INTERVAL
        };
        self.start_flusher();
        if due { self.flush() } else { Ok(()) }
    }

    /// Logs metrics, params and tags, validated first, then sent in chunks within MLflow's
    /// limits.
    fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<(), TrackingError> {
        self.flush()?;
        let kv = |k: &String, v: &String| json!({"key": k, "value": v});
        for chunk in params.chunks(MAX_PARAMS_TAGS_PER_BATCH) {
            let body = json!({"run_id": run_id, "params": chunk.iter().map(|(k, v)| kv(k, v)).collect::<Vec<_>>()});
            self.inner
                .http
                .post("runs/log-batch", body)
                .map_err(|e| param_error(e, run_id))?;
        }
        for chunk in tags.chunks(MAX_PARAMS_TAGS_PER_BATCH) {
            let body = json!({"run_id": run_id, "tags": chunk.iter().map(|(k, v)| kv(k, v)).collect::<Vec<_>>()});
            self.inner.http.post("runs/log-batch", body)?;
        }
        for chunk in metrics.chunks(MAX_ENTITIES_PER_BATCH.min(MAX_METRICS_PER_BATCH)) {
            let body = json!({"run_id": run_id, "metrics": chunk.iter().map(metric_json).collect::<Vec<_>>()});
            self.inner.http.post("runs/log-batch", body)?;
        }
        Ok(())
    }

    /// Sends dataset inputs in `runs/log-inputs` requests within MLflow's batch limit.
    fn log_inputs(&self, run_id: &str, inputs: &[DatasetInput]) -> Result<(), TrackingError> {
        for chunk in inputs.chunks(MAX_DATASETS_PER_BATCH) {
            let datasets: Vec<_> = chunk.iter().map(dataset_input_json).collect();
            self.inner.http.post(
                "runs/log-inputs",
                json!({"run_id": run_id, "datasets": datasets}),
            )?;
        }
        Ok(())
    }

    /// Sets several run tags.
    fn set_tags(&self, run_id: &str, tags: &[(&str, &str)]) -> Result<(), TrackingError> {
        let tags: Vec<(String, String)> = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.log_batch(run_id, &[], &[], &tags)
    }

    /// Removes a run tag.
    fn delete_tag(&self, run_id: &str, key: &str) -> Result<(), TrackingError> {
        self.inner
            .http
            .post("runs/delete-tag", json!({"run_id": run_id, "key": key}))?;
        Ok(())
    }

    /// Changes a run's status and end time (`runs/update`).
    fn update_run(
        &self,
        run_id: &str,
        status: Option<RunStatus>,
        end_time_ms: Option<i64>,
    ) -> Result<(), TrackingError> {
        self.flush()?;
        let mut body = json!({"run_id": run_id});
        if let Some(s) = status {
            body["status"] = json!(s.as_str());
        }
        if let Some(t) = end_time_ms {
            body["end_time"] = json!(t);
        }
        self.inner.http.post("runs/update", body)?;
        Ok(())
    }

    /// Marks a run deleted.
    fn delete_run(&self, run_id: &str) -> Result<(), TrackingError> {
        self.inner
            .http
            .post("runs/delete", json!({"run_id": run_id}))?;
        Ok(())
    }

    /// Restores a deleted run.
    fn restore_run(&self, run_id: &str) -> Result<(), TrackingError> {
        self.inner
            .http
            .post("runs/restore", json!({"run_id": run_id}))?;
        Ok(())
    }

    /// Runs of the experiments matching an MLflow filter, ordered, at most `max_results`; the
    /// filter is checked here first so a mistake shows its position.
    fn search_runs(
        &self,
        experiment_ids: &[&str],
        filter: &str,
        order_by: &[&str],
        max_results: usize,
        view: ViewType,
    ) -> Result<Vec<RunRecord>, TrackingError> {
        self.flush()?;
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        while out.len() < max_results {
            let mut body = json!({
                "experiment_ids": experiment_ids,
                "filter": filter,
                "run_view_type": view_name(view),
                "max_results": (max_results - out.len()).min(1000),
                "order_by": order_by,
            });
            if let Some(t) = &token {
                body["page_token"] = json!(t);
            }
            let v = self.inner.http.post("runs/search", body)?;
            for r in v["runs"].as_array().into_iter().flatten() {
                out.push(parse_run(r)?);
            }
            match v["next_page_token"].as_str() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => break,
            }
        }
        out.truncate(max_results);
        Ok(out)
    }

    /// Uploads an artifact file through the server's artifact proxy.
    fn log_artifact_bytes(
        &self,
        run_id: &str,
        rel_path: &str,
        bytes: &[u8],
    ) -> Result<(), TrackingError> {
        let url = self.artifact_url(run_id, rel_path)?;
        let (status, body) = self
            .inner
            .http
            .request(Method::Put, &url, &[], Body::Bytes(bytes))?;
        if (200..300).contains(&status) {
            return Ok(());
        }
        Err(server_error("mlflow-artifacts/artifacts", status, &body))
    }

    /// Downloads an artifact file through the server's artifact proxy.
    fn read_artifact(&self, run_id: &str, rel_path: &str) -> Result<Vec<u8>, TrackingError> {
        let url = self.artifact_url(run_id, rel_path)?;
        let (status, body) = self
            .inner
            .http
            .request(Method::Get, &url, &[], Body::None)?;
        match status {
            200..=299 => Ok(body),
            404 => Err(TrackingError::ArtifactNotFound {
                run_id: run_id.to_string(),
                path: rel_path.to_string(),
            }),
            _ => Err(server_error("mlflow-artifacts/artifacts", status, &body)),
        }
    }

    /// Lists one artifact directory of a run (`""` for the root).
    fn list_artifacts(&self, run_id: &str, dir: &str) -> Result<Vec<ArtifactEntry>, TrackingError> {
        let v = self
            .inner
            .http
            .get("artifacts/list", &[("run_id", run_id), ("path", dir)])?;
        let mut out: Vec<ArtifactEntry> = v["files"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|f| ArtifactEntry {
                path: str_of(&f["path"]),
                is_dir: f["is_dir"].as_bool().unwrap_or(false),
                file_size: as_i64(&f["file_size"]).map(|n| n as u64),
            })
            .collect();
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    // ------------------------------------------------------------------- registry

    fn create_logged_model(&self, new: &NewLoggedModel) -> Result<LoggedModel, TrackingError> {
        self.create_logged_model_impl(new)
    }
    fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel, TrackingError> {
        self.get_logged_model_impl(model_id)
    }
    fn find_logged_model(
        &self,
        experiment_id: &str,
        run_id: &str,
        name: &str,
    ) -> Result<Option<LoggedModel>, TrackingError> {
        self.find_logged_model_impl(experiment_id, run_id, name)
    }
    fn log_model_metrics(
        &self,
        model: &LoggedModel,
        run_id: &str,
        metrics: &[Metric],
    ) -> Result<(), TrackingError> {
        self.log_model_metrics_impl(model, run_id, metrics)
    }
    fn finalize_logged_model(
        &self,
        model_id: &str,
        status: LoggedModelStatus,
    ) -> Result<LoggedModel, TrackingError> {
        self.finalize_logged_model_impl(model_id, status)
    }
    fn set_logged_model_tags(
        &self,
        model_id: &str,
        tags: &[(String, String)],
    ) -> Result<(), TrackingError> {
        self.set_logged_model_tags_impl(model_id, tags)
    }
    fn link_model_to_run(&self, run_id: &str, model_id: &str) -> Result<(), TrackingError> {
        self.link_model_to_run_impl(run_id, model_id)
    }
    fn log_model_artifact(
        &self,
        model: &LoggedModel,
        rel_path: &str,
        bytes: &[u8],
    ) -> Result<(), TrackingError> {
        self.log_model_artifact_impl(model, rel_path, bytes)
    }
    fn read_model_artifact(
        &self,
        model: &LoggedModel,
        rel_path: &str,
    ) -> Result<Vec<u8>, TrackingError> {
        self.read_model_artifact_impl(model, rel_path)
    }
    fn create_registered_model(
        &self,
        name: &str,
        description: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<RegisteredModel, TrackingError> {
        self.create_model(name, description, tags)
    }
    fn get_registered_model(&self, name: &str) -> Result<RegisteredModel, TrackingError> {
        self.get_model(name)
    }
    fn search_registered_models(
        &self,
        name_like: Option<&str>,
    ) -> Result<Vec<RegisteredModel>, TrackingError> {
        self.search_models(name_like)
    }
    fn update_registered_model(&self, name: &str, description: &str) -> Result<(), TrackingError> {
        self.update_model(name, description)
    }
    fn delete_registered_model(&self, name: &str) -> Result<(), TrackingError> {
        self.delete_model(name)
    }
    fn set_registered_model_tag(
        &self,
        name: &str,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        self.set_model_tag(name, key, value)
    }
    fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<(), TrackingError> {
        self.delete_model_tag(name, key)
    }
    fn create_model_version(&self, new: &NewModelVersion) -> Result<ModelVersion, TrackingError> {
        self.create_version(new)
    }
    fn get_model_version(&self, name: &str, version: u64) -> Result<ModelVersion, TrackingError> {
        self.get_version(name, version)
    }
    fn search_model_versions(
        &self,
        query: &ModelVersionQuery,
    ) -> Result<Vec<ModelVersion>, TrackingError> {
        self.search_versions(query)
    }
    fn update_model_version(
        &self,
        name: &str,
        version: u64,
        description: &str,
    ) -> Result<(), TrackingError> {
        self.update_version(name, version, description)
    }
    fn transition_model_version_stage(
        &self,
        name: &str,
        version: u64,
        stage: Stage,
        archive_existing: bool,
    ) -> Result<ModelVersion, TrackingError> {
        self.transition_stage(name, version, stage, archive_existing)
    }
    fn delete_model_version(&self, name: &str, version: u64) -> Result<(), TrackingError> {
        self.delete_version(name, version)
    }
    fn set_model_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        self.set_version_tag(name, version, key, value)
    }
    fn delete_model_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
    ) -> Result<(), TrackingError> {
        self.delete_version_tag(name, version, key)
    }
    fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: u64,
    ) -> Result<(), TrackingError> {
        self.set_alias(name, alias, version)
    }
    fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<(), TrackingError> {
        self.delete_alias(name, alias)
    }
    fn get_model_version_by_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<ModelVersion, TrackingError> {
        self.version_by_alias(name, alias)
    }
}

/// Keeps the server's message for a changed param but names the run.
fn param_error(e: TrackingError, run_id: &str) -> TrackingError {
    match e {
        TrackingError::Server {
            endpoint,
            status,
            error_code,
            message,
        } if !message.contains(run_id) => TrackingError::Server {
            endpoint,
            status,
            error_code,
            message: format!("{message} (run {run_id})"),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    /// A loopback HTTP server answering each request with the next canned response; it
    /// records request lines and bodies.
    fn fake_server(
        responses: Vec<(u16, &'static str)>,
    ) -> (String, std::thread::JoinHandle<Vec<(String, String)>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for (status, body) in responses {
                let (mut stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let mut len = 0;
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    if h.trim().is_empty() {
                        break;
                    }
                    if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                        len = v.trim().parse().unwrap();
                    }
                }
                let mut buf = vec![0; len];
                reader.read_exact(&mut buf).unwrap();
                seen.push((
                    line.trim().to_string(),
                    String::from_utf8_lossy(&buf).into_owned(),
                ));
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(resp.as_bytes()).unwrap();
            }
            seen
        });
        (format!("http://{addr}"), handle)
    }

    #[test]
    fn retries_transient_failures_then_succeeds() {
        let (uri, h) = fake_server(vec![(503, "{}"), (503, "{}"), (200, "{}")]);
        let s = RestStore::new(&uri)
            .unwrap()
            .with_retries(5, Duration::from_millis(1));
        s.update_run("0123", Some(RunStatus::Finished), Some(5))
            .unwrap();
        let seen = h.join().unwrap();
        assert_eq!(seen.len(), 3);
        assert!(seen[2].0.starts_with("POST /api/2.0/mlflow/runs/update"));
        assert!(seen[2].1.contains("\"FINISHED\""));
    }

    #[test]
    fn server_errors_carry_code_and_message() {
        let body = r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"Changing param values is not allowed."}"#;
        let (uri, h) = fake_server(vec![(400, body)]);
        let s = RestStore::new(&uri)
            .unwrap()
            .with_retries(1, Duration::from_millis(1));
        let e = s.log_param("abc", "lr", "2").unwrap_err();
        h.join().unwrap();
        let msg = e.to_string();
        assert!(
            msg.contains("INVALID_PARAMETER_VALUE")
                && msg.contains("Changing param values")
                && msg.contains("abc"),
            "{msg}"
        );
    }

    #[test]
    fn batches_are_chunked_and_infinities_are_strings() {
        let (uri, h) = fake_server(vec![(200, "{}"); 4]);
        let s = RestStore::new(&uri).unwrap();
        let metrics: Vec<Metric> = (0..1500)
            .map(|i| Metric {
                key: "m".into(),
                value: if i == 0 { f64::NAN } else { f64::NEG_INFINITY },
                timestamp_ms: 1,
                step: i,
            })
            .collect();
        let params: Vec<(String, String)> =
            (0..150).map(|i| (format!("p{i}"), "v".into())).collect();
        s.log_batch("abc", &metrics, &params, &[]).unwrap();
        let seen = h.join().unwrap();
        assert_eq!(seen.len(), 4); // 2 param chunks (100 + 50), 2 metric chunks (1000 + 500)
        let bodies: Vec<serde_json::Value> = seen
            .iter()
            .map(|(_, b)| serde_json::from_str(b).unwrap())
            .collect();
        assert_eq!(bodies[0]["params"].as_array().unwrap().len(), 100);
        assert_eq!(bodies[1]["params"].as_array().unwrap().len(), 50);
        assert_eq!(bodies[2]["metrics"].as_array().unwrap().len(), 1000);
        assert_eq!(bodies[2]["metrics"][0]["value"], "NaN");
        assert_eq!(bodies[3]["metrics"][0]["value"], "-Infinity");
    }

    #[test]
    fn metrics_survive_a_transient_outage() {
        let (uri, h) = fake_server(vec![(503, "{}"), (200, "{}")]);
        let s = RestStore::new(&uri)
            .unwrap()
            .with_retries(1, Duration::from_millis(1));
        let m = Metric {
            key: "m".into(),
            value: 1.0,
            timestamp_ms: 5,
            step: 0,
        };
        s.log_metric("abc", &m).unwrap();
        assert!(s.flush().is_err()); // 503: kept for later
        s.flush().unwrap();
        let seen = h.join().unwrap();
        assert_eq!(seen.len(), 2);
        assert!(seen[1].1.contains("\"m\""), "{}", seen[1].1);
    }

    #[test]
    fn unreachable_server_is_a_clear_error() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let s = RestStore::new(&format!("http://127.0.0.1:{port}"))
            .unwrap()
            .with_retries(2, Duration::from_millis(1));
        let e = s.get_experiment("1").unwrap_err().to_string();
        assert!(e.contains("after 2 attempt(s)"), "{e}");
    }

    #[test]
    fn base64_matches_rfc4648() {
        assert_eq!(base64(b"user:pass"), "dXNlcjpwYXNz");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"ab"), "YWI=");
    }

    /// A server that accepts connections and never answers.
    fn silent_server() -> (String, std::thread::JoinHandle<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let h = std::thread::spawn(move || {
            let mut held = Vec::new();
            listener.set_nonblocking(true).unwrap();
            let until = std::time::Instant::now() + Duration::from_secs(20);
            while std::time::Instant::now() < until {
                match listener.accept() {
                    Ok((stream, _)) => held.push(stream),
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        (format!("http://{addr}"), h)
    }

    /// A server answering every request with this raw HTTP response.
    fn raw_server(response: &'static str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                        break;
                    }
                }
                let _ = stream.write_all(response.as_bytes());
            }
        });
        format!("http://{addr}")
    }

    #[test]
    fn a_server_that_never_answers_fails_within_the_time_limit() {
        let (uri, _h) = silent_server();
        let s = RestStore::new(&uri)
            .unwrap()
            .with_timeout(Duration::from_secs(2));
        let t = std::time::Instant::now();
        let e = s.get_experiment("1").unwrap_err();
        let took = t.elapsed();
        assert!(took < Duration::from_secs(5), "took {took:?}");
        assert!(
            took >= Duration::from_millis(1500),
            "gave up too soon: {took:?}"
        );
        let msg = e.to_string();
        assert!(matches!(e, TrackingError::Unreachable { .. }), "{msg}");
        assert!(msg.contains(&uri), "{msg}");
        assert!(msg.contains("OXFLOW_HTTP_TIMEOUT"), "{msg}");
    }

    #[test]
    fn a_server_that_is_not_mlflow_says_so() {
        let html = raw_server(
            "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 27\r\nconnection: close\r\n\r\n<html><b>welcome</b></html>",
        );
        let e = RestStore::new(&html)
            .unwrap()
            .get_experiment_by_name("iris")
            .unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, TrackingError::NotMlflow { .. }), "{msg}");
        assert!(msg.contains(&html) && msg.contains("HTML"), "{msg}");

        let not_found = raw_server(
            "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 22\r\nconnection: close\r\n\r\n{\"detail\":\"Not Found\"}",
        );
        let e = RestStore::new(&not_found)
            .unwrap()
            .get_experiment("1")
            .unwrap_err();
        let msg = e.to_string();
        assert!(matches!(e, TrackingError::NotMlflow { .. }), "{msg}");
        assert!(
            msg.contains("HTTP 404") && msg.contains("Not Found"),
            "{msg}"
        );
    }

    #[test]
    fn registry_errors_name_the_model_version_or_alias() {
        let (uri, h) = fake_server(vec![
            (
                400,
                r#"{"error_code":"RESOURCE_ALREADY_EXISTS","message":"Registered Model (name=m) already exists."}"#,
            ),
            (
                404,
                r#"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Registered Model with name=m not found"}"#,
            ),
            (
                404,
                r#"{"error_code":"RESOURCE_DOES_NOT_EXIST","message":"Model Version (name=m, version=7) not found"}"#,
            ),
            (
                400,
                r#"{"error_code":"INVALID_PARAMETER_VALUE","message":"Registered model alias prod not found."}"#,
            ),
            (
                200,
                r#"{"model_version":{"name":"m","version":"3","current_stage":"Staging","description":"","source":"s","aliases":["prod"],"tags":[{"key":"k","value":"v"}]}}"#,
            ),
        ]);
        let s = RestStore::new(&uri).unwrap();
        assert!(matches!(
            s.create_registered_model("m", None, &[]),
            Err(TrackingError::ModelExists { name }) if name == "m"
        ));
        assert!(matches!(
            s.get_registered_model("m"),
            Err(TrackingError::ModelNotFound { name }) if name == "m"
        ));
        assert!(matches!(
            s.get_model_version("m", 7),
            Err(TrackingError::ModelVersionNotFound { version: 7, .. })
        ));
        assert!(matches!(
            s.get_model_version_by_alias("m", "prod"),
            Err(TrackingError::AliasNotFound { alias, .. }) if alias == "prod"
        ));
        let v = s
            .transition_model_version_stage("m", 3, Stage::Staging, true)
            .unwrap();
        assert_eq!((v.version, v.current_stage), (3, Stage::Staging));
        assert_eq!(v.description, None);
        assert_eq!(v.aliases, ["prod"]);
        assert_eq!(v.tags["k"], "v");
        let seen = h.join().unwrap();
        assert!(
            seen[0]
                .0
                .starts_with("POST /api/2.0/mlflow/registered-models/create"),
            "{seen:?}"
        );
        assert!(
            seen[2].0.contains("model-versions/get?name=m&version=7"),
            "{seen:?}"
        );
        let body: serde_json::Value = serde_json::from_str(&seen[4].1).unwrap();
        assert_eq!(body["archive_existing_versions"], true);
        assert_eq!(body["version"], "3");
        assert_eq!(body["stage"], "Staging");
    }
}
