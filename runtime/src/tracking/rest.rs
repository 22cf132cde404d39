//! [`RestStore`]: the same operations as [`FileStore`](super::FileStore), against an MLflow
//! tracking server's REST API (`/api/2.0/mlflow/...`).
//!
//! Metric values are buffered and sent with `runs/log-batch` in chunks within MLflow's limits
//! (1000 metrics, 100 params, 100 tags, 1000 entities per request). Transient failures
//! (connection errors, HTTP 429 and 5xx) are retried with exponential backoff; the server's
//! `error_code` and message end up in [`TrackingError::Server`].

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::entities::{
    ArtifactEntry, Experiment, Metric, RunInfo, RunOptions, RunRecord, RunStatus,
};
use super::filter::{Filter, OrderBy};
use super::search::{ViewType, check_max_results};
use super::validation::{
    self as v, MAX_METRICS_PER_BATCH, MAX_PARAMS_TAGS_PER_BATCH, artifact_segments,
};
use super::{TAG_PARENT_RUN_ID, TAG_RUN_NAME, TrackingError, now_ms};

/// Most entities (metrics + params + tags) in one `log-batch` request.
const MAX_ENTITIES_PER_BATCH: usize = 1000;
const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// A client of an MLflow tracking server.
///
/// Authentication follows MLflow's variables: `MLFLOW_TRACKING_TOKEN` (bearer) or
/// `MLFLOW_TRACKING_USERNAME` + `MLFLOW_TRACKING_PASSWORD` (basic).
///
/// ```no_run
/// use oxflow_runtime::tracking::{RestStore, RunOptions, RunStatus, now_ms};
///
/// let store = RestStore::new("http://127.0.0.1:5000")?;
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
            .field("base", &self.inner.base)
            .finish()
    }
}

struct RestInner {
    base: String,
    agent: ureq::Agent,
    auth: Option<String>,
    max_attempts: u32,
    backoff: Duration,
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

enum Body<'a> {
    None,
    Json(&'a Value),
    Bytes(&'a [u8]),
}

#[derive(Clone, Copy)]
enum Method {
    Get,
    Post,
    Put,
}

impl RestInner {
    /// One request with retries; returns the status and body of the final answer.
    fn request(
        &self,
        method: Method,
        url: &str,
        query: &[(&str, &str)],
        body: Body<'_>,
    ) -> Result<(u16, Vec<u8>), TrackingError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let res = self.send_once(method, url, query, &body);
            let retry = match &res {
                Ok((status, _)) => matches!(status, 429 | 500 | 502 | 503 | 504),
                Err(_) => true,
            };
            if !retry || attempt >= self.max_attempts {
                return res.map_err(|message| TrackingError::Unreachable {
                    url: url.to_string(),
                    attempts: attempt,
                    message,
                });
            }
            let delay = self
                .backoff
                .saturating_mul(1 << (attempt - 1).min(6))
                .min(Duration::from_secs(10));
            tracing::debug!(url, attempt, ?delay, "retrying MLflow request");
            std::thread::sleep(delay);
        }
    }

    fn send_once(
        &self,
        method: Method,
        url: &str,
        query: &[(&str, &str)],
        body: &Body<'_>,
    ) -> Result<(u16, Vec<u8>), String> {
        let resp = match method {
            Method::Get => {
                let mut r = self.agent.get(url);
                for (k, val) in query {
                    r = r.query(*k, *val);
                }
                if let Some(a) = &self.auth {
                    r = r.header("Authorization", a);
                }
                r.call()
            }
            Method::Post | Method::Put => {
                let mut r = if matches!(method, Method::Post) {
                    self.agent.post(url)
                } else {
                    self.agent.put(url)
                };
                if let Some(a) = &self.auth {
                    r = r.header("Authorization", a);
                }
                match body {
                    Body::Json(j) => r.send_json(j),
                    Body::Bytes(b) => r.content_type("application/octet-stream").send(*b),
                    Body::None => r.send_empty(),
                }
            }
        };
        let mut resp = resp.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .map_err(|e| e.to_string())?;
        Ok((status, bytes))
    }

    /// A call to `/api/2.0/mlflow/<endpoint>` with a JSON answer.
    fn api(
        &self,
        method: Method,
        endpoint: &str,
        query: &[(&str, &str)],
        body: Option<&Value>,
    ) -> Result<Value, TrackingError> {
        let url = format!("{}/api/2.0/mlflow/{endpoint}", self.base);
        let (status, bytes) =
            self.request(method, &url, query, body.map_or(Body::None, Body::Json))?;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if (200..300).contains(&status) {
            return Ok(if value.is_null() { json!({}) } else { value });
        }
        Err(TrackingError::Server {
            endpoint: endpoint.to_string(),
            status,
            error_code: value["error_code"]
                .as_str()
                .unwrap_or("HTTP_ERROR")
                .to_string(),
            message: value["message"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| String::from_utf8_lossy(&bytes).chars().take(500).collect()),
        })
    }

    fn post(&self, endpoint: &str, body: Value) -> Result<Value, TrackingError> {
        self.api(Method::Post, endpoint, &[], Some(&body))
    }

    fn get(&self, endpoint: &str, query: &[(&str, &str)]) -> Result<Value, TrackingError> {
        self.api(Method::Get, endpoint, query, None)
    }
}

fn is_not_found(e: &TrackingError) -> bool {
    matches!(e, TrackingError::Server { status: 404, .. })
        || matches!(e, TrackingError::Server { error_code, .. } if error_code == "RESOURCE_DOES_NOT_EXIST")
}

/// A metric value in protobuf JSON: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
fn metric_json(m: &Metric) -> Value {
    let value = if m.value.is_nan() {
        json!("NaN")
    } else if m.value.is_infinite() {
        json!(if m.value > 0.0 {
            "Infinity"
        } else {
            "-Infinity"
        })
    } else {
        json!(m.value)
    };
    json!({"key": m.key, "value": value, "timestamp": m.timestamp_ms, "step": m.step})
}

fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) => match s.as_str() {
            "Infinity" | "inf" => f64::INFINITY,
            "-Infinity" | "-inf" => f64::NEG_INFINITY,
            other => other.parse().unwrap_or(f64::NAN),
        },
        _ => f64::NAN,
    }
}

fn str_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn kv_list(v: &Value) -> BTreeMap<String, String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|e| (str_of(&e["key"]), str_of(&e["value"])))
                .collect()
        })
        .unwrap_or_default()
}

fn parse_experiment(e: &Value) -> Experiment {
    Experiment {
        experiment_id: str_of(&e["experiment_id"]),
        name: str_of(&e["name"]),
        artifact_location: str_of(&e["artifact_location"]),
        lifecycle_stage: str_of(&e["lifecycle_stage"]),
        creation_time_ms: as_i64(&e["creation_time"]),
        last_update_time_ms: as_i64(&e["last_update_time"]),
        tags: kv_list(&e["tags"]),
    }
}

fn parse_info(i: &Value) -> Result<RunInfo, TrackingError> {
    let run_id = if i["run_id"].is_string() {
        str_of(&i["run_id"])
    } else {
        str_of(&i["run_uuid"])
    };
    Ok(RunInfo {
        run_id,
        experiment_id: str_of(&i["experiment_id"]),
        run_name: str_of(&i["run_name"]),
        status: if i["status"].is_null() {
            RunStatus::Running
        } else {
            str_of(&i["status"]).parse()?
        },
        start_time_ms: as_i64(&i["start_time"]).unwrap_or(0),
        end_time_ms: as_i64(&i["end_time"]),
        artifact_uri: str_of(&i["artifact_uri"]),
        lifecycle_stage: if i["lifecycle_stage"].is_null() {
            "active".into()
        } else {
            str_of(&i["lifecycle_stage"])
        },
        user_id: str_of(&i["user_id"]),
    })
}

fn parse_run(r: &Value) -> Result<RunRecord, TrackingError> {
    let info = parse_info(&r["info"])?;
    let mut metrics = BTreeMap::new();
    for m in r["data"]["metrics"].as_array().into_iter().flatten() {
        let key = str_of(&m["key"]);
        metrics.insert(
            key.clone(),
            Metric {
                key,
                value: as_f64(&m["value"]),
                timestamp_ms: as_i64(&m["timestamp"]).unwrap_or(0),
                step: as_i64(&m["step"]).unwrap_or(0),
            },
        );
    }
    Ok(RunRecord {
        info,
        params: kv_list(&r["data"]["params"]),
        metrics,
        tags: kv_list(&r["data"]["tags"]),
    })
}

fn view_name(view: ViewType) -> &'static str {
    match view {
        ViewType::ActiveOnly => "ACTIVE_ONLY",
        ViewType::DeletedOnly => "DELETED_ONLY",
        ViewType::All => "ALL",
    }
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
            if let Err(e) = inner.post("runs/log-batch", body) {
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

fn percent_encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in input.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
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
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
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
                base: uri.trim_end_matches('/').to_string(),
                agent,
                auth,
                max_attempts: 5,
                backoff: Duration::from_millis(200),
                user: env("USER")
                    .or_else(|| env("LOGNAME"))
                    .unwrap_or_else(|| "unknown".into()),
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
                inner.max_attempts = max_attempts.max(1);
                inner.backoff = first_backoff;
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

    /// The server's base URI.
    pub fn uri(&self) -> &str {
        &self.inner.base
    }

    /// Sends every buffered metric value now.
    pub fn flush(&self) -> Result<(), TrackingError> {
        let pending = {
            let mut b = lock(&self.inner.buffer);
            b.since = None;
            std::mem::take(&mut b.metrics)
        };
        send_metrics(&self.inner, pending).map_err(|(e, unsent)| requeue(&self.inner, e, unsent))
    }

    /// The active experiment with this name, if any.
    pub fn get_experiment_by_name(&self, name: &str) -> Result<Option<Experiment>, TrackingError> {
        match self
            .inner
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
    pub fn get_experiment(&self, experiment_id: &str) -> Result<Experiment, TrackingError> {
        match self
            .inner
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
    pub fn get_or_create_experiment(&self, name: &str) -> Result<Experiment, TrackingError> {
        v::validate_experiment_name(name)?;
        if let Some(e) = self.get_experiment_by_name(name)? {
            return Ok(e);
        }
        match self.inner.post("experiments/create", json!({"name": name})) {
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
    pub fn list_experiments(
        &self,
        include_deleted: bool,
    ) -> Result<Vec<Experiment>, TrackingError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut body = json!({"max_results": 1000, "view_type": if include_deleted { "ALL" } else { "ACTIVE_ONLY" }});
            if let Some(t) = &token {
                body["page_token"] = json!(t);
            }
            let v = self.inner.post("experiments/search", body)?;
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
    pub fn set_experiment_tag(
        &self,
        experiment_id: &str,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        v::validate_key("tag", key)?;
        self.inner.post(
            "experiments/set-experiment-tag",
            json!({"experiment_id": experiment_id, "key": key, "value": value}),
        )?;
        Ok(())
    }

    /// Creates a run (RUNNING) with name, tags and parent.
    pub fn create_run(
        &self,
        experiment_id: &str,
        opts: RunOptions,
    ) -> Result<RunInfo, TrackingError> {
        let mut tags: Vec<(String, String)> = Vec::new();
        for (k, val) in &opts.tags {
            v::validate_key("tag", k)?;
            v::validate_tag_value(k, val)?;
            tags.push((k.clone(), val.clone()));
        }
        if let Some(parent) = &opts.parent_run_id {
            v::validate_run_id(parent)?;
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
        let v = self.inner.post("runs/create", body)?;
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
    pub fn get_run(&self, run_id: &str) -> Result<RunRecord, TrackingError> {
        self.flush()?;
        match self.inner.get("runs/get", &[("run_id", run_id)]) {
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
    pub fn get_metric_history(
        &self,
        run_id: &str,
        key: &str,
    ) -> Result<Vec<Metric>, TrackingError> {
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
            let v = self.inner.get("metrics/get-history", &q)?;
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
    pub fn log_param(&self, run_id: &str, key: &str, value: &str) -> Result<(), TrackingError> {
        self.log_batch(run_id, &[], &[(key.to_string(), value.to_string())], &[])
    }

    /// Buffers a metric value; sent on [`RestStore::flush`], when the run ends, when 1000 are
    /// waiting, and at least every second.
    pub fn log_metric(
        &self,
        run_id: &str,
        key: &str,
        value: f64,
        timestamp_ms: i64,
        step: i64,
    ) -> Result<(), TrackingError> {
        v::validate_key("metric", key)?;
        v::validate_timestamp(key, timestamp_ms)?;
        v::validate_run_id(run_id)?;
        let m = Metric {
            key: key.to_string(),
            value,
            timestamp_ms,
            step,
        };
        let due = {
            let mut b = lock(&self.inner.buffer);
            b.metrics.push((run_id.to_string(), m));
            let since = *b.since.get_or_insert_with(Instant::now);
            b.metrics.len() >= MAX_METRICS_PER_BATCH || since.elapsed() >= FLUSH_INTERVAL
        };
        self.start_flusher();
        if due { self.flush() } else { Ok(()) }
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

    /// Logs metrics, params and tags, validated first, then sent in chunks within MLflow's
    /// limits.
    pub fn log_batch(
        &self,
        run_id: &str,
        metrics: &[Metric],
        params: &[(String, String)],
        tags: &[(String, String)],
    ) -> Result<(), TrackingError> {
        for m in metrics {
            v::validate_key("metric", &m.key)?;
            v::validate_timestamp(&m.key, m.timestamp_ms)?;
        }
        let mut seen = std::collections::HashSet::new();
        for (k, val) in params {
            v::validate_key("param", k)?;
            v::validate_param_value(k, val)?;
            if !seen.insert(k) {
                return Err(TrackingError::DuplicateKey {
                    kind: "param",
                    key: k.clone(),
                });
            }
        }
        seen.clear();
        for (k, val) in tags {
            v::validate_key("tag", k)?;
            v::validate_tag_value(k, val)?;
            if !seen.insert(k) {
                return Err(TrackingError::DuplicateKey {
                    kind: "tag",
                    key: k.clone(),
                });
            }
        }
        self.flush()?;
        let kv = |k: &String, v: &String| json!({"key": k, "value": v});
        for chunk in params.chunks(MAX_PARAMS_TAGS_PER_BATCH) {
            let body = json!({"run_id": run_id, "params": chunk.iter().map(|(k, v)| kv(k, v)).collect::<Vec<_>>()});
            self.inner
                .post("runs/log-batch", body)
                .map_err(|e| param_error(e, run_id))?;
        }
        for chunk in tags.chunks(MAX_PARAMS_TAGS_PER_BATCH) {
            let body = json!({"run_id": run_id, "tags": chunk.iter().map(|(k, v)| kv(k, v)).collect::<Vec<_>>()});
            self.inner.post("runs/log-batch", body)?;
        }
        for chunk in metrics.chunks(MAX_ENTITIES_PER_BATCH.min(MAX_METRICS_PER_BATCH)) {
            let body = json!({"run_id": run_id, "metrics": chunk.iter().map(metric_json).collect::<Vec<_>>()});
            self.inner.post("runs/log-batch", body)?;
        }
        Ok(())
    }

    /// Sets a run tag.
    pub fn set_tag(&self, run_id: &str, key: &str, value: &str) -> Result<(), TrackingError> {
        self.set_tags(run_id, &[(key, value)])
    }

    /// Sets several run tags.
    pub fn set_tags(&self, run_id: &str, tags: &[(&str, &str)]) -> Result<(), TrackingError> {
        let tags: Vec<(String, String)> = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.log_batch(run_id, &[], &[], &tags)
    }

    /// Removes a run tag.
    pub fn delete_tag(&self, run_id: &str, key: &str) -> Result<(), TrackingError> {
        self.inner
            .post("runs/delete-tag", json!({"run_id": run_id, "key": key}))?;
        Ok(())
    }

    /// Ends a run; buffered metrics are sent first.
    pub fn set_terminated(
        &self,
        run_id: &str,
        status: RunStatus,
        end_time_ms: i64,
    ) -> Result<(), TrackingError> {
        self.update_run(run_id, Some(status), Some(end_time_ms))
    }

    /// Changes a run's status and end time (`runs/update`).
    pub fn update_run(
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
        self.inner.post("runs/update", body)?;
        Ok(())
    }

    /// Marks a run deleted.
    pub fn delete_run(&self, run_id: &str) -> Result<(), TrackingError> {
        self.inner.post("runs/delete", json!({"run_id": run_id}))?;
        Ok(())
    }

    /// Restores a deleted run.
    pub fn restore_run(&self, run_id: &str) -> Result<(), TrackingError> {
        self.inner.post("runs/restore", json!({"run_id": run_id}))?;
        Ok(())
    }

    /// Runs of the experiments matching an MLflow filter, ordered, at most `max_results`; the
    /// filter is checked here first so a mistake shows its position.
    pub fn search_runs_view(
        &self,
        experiment_ids: &[&str],
        filter: &str,
        order_by: &[&str],
        max_results: usize,
        view: ViewType,
    ) -> Result<Vec<RunRecord>, TrackingError> {
        check_max_results(max_results)?;
        Filter::parse(filter)?;
        for o in order_by {
            OrderBy::parse(o)?;
        }
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
            let v = self.inner.post("runs/search", body)?;
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

    /// [`RestStore::search_runs_view`] over active runs.
    pub fn search_runs(
        &self,
        experiment_ids: &[&str],
        filter: &str,
        order_by: &[&str],
        max_results: usize,
    ) -> Result<Vec<RunRecord>, TrackingError> {
        self.search_runs_view(
            experiment_ids,
            filter,
            order_by,
            max_results,
            ViewType::ActiveOnly,
        )
    }

    /// The URL through which the server's artifact proxy serves `rel_path` of the run.
    fn artifact_url(&self, run_id: &str, rel_path: &str) -> Result<String, TrackingError> {
        let segs = artifact_segments(rel_path)?;
        let cached = lock(&self.inner.artifact_uris).get(run_id).cloned();
        let uri = match cached {
            Some(u) => u,
            None => self.get_run(run_id)?.info.artifact_uri,
        };
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
            self.inner.base,
            path.trim_end_matches('/')
        );
        for s in segs {
            url.push('/');
            url.push_str(&percent_encode_segment(s));
        }
        Ok(url)
    }

    /// Uploads an artifact file through the server's artifact proxy.
    pub fn log_artifact_bytes(
        &self,
        run_id: &str,
        rel_path: &str,
        bytes: &[u8],
    ) -> Result<(), TrackingError> {
        let url = self.artifact_url(run_id, rel_path)?;
        let (status, body) = self
            .inner
            .request(Method::Put, &url, &[], Body::Bytes(bytes))?;
        if (200..300).contains(&status) {
            return Ok(());
        }
        Err(server_error("mlflow-artifacts/artifacts", status, &body))
    }

    /// Downloads an artifact file through the server's artifact proxy.
    pub fn read_artifact(&self, run_id: &str, rel_path: &str) -> Result<Vec<u8>, TrackingError> {
        let url = self.artifact_url(run_id, rel_path)?;
        let (status, body) = self.inner.request(Method::Get, &url, &[], Body::None)?;
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
    pub fn list_artifacts(
        &self,
        run_id: &str,
        dir: &str,
    ) -> Result<Vec<ArtifactEntry>, TrackingError> {
        artifact_segments(dir)?;
        let v = self
            .inner
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
}

fn server_error(endpoint: &str, status: u16, body: &[u8]) -> TrackingError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    TrackingError::Server {
        endpoint: endpoint.to_string(),
        status,
        error_code: v["error_code"].as_str().unwrap_or("HTTP_ERROR").to_string(),
        message: v["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(500).collect()),
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
        let bodies: Vec<Value> = seen
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
        s.log_metric("abc", "m", 1.0, 5, 0).unwrap();
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
}
