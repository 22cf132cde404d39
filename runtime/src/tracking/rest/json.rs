//! MLflow's REST message shapes: entities parsed from JSON answers, and request bodies.
//!
//! An answer missing a field MLflow always sends is [`TrackingError::NotMlflow`]: the server
//! at the URI is not an MLflow tracking server.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::tracking::TrackingError;
use crate::tracking::entities::{
    Dataset, DatasetInput, Experiment, Metric, RunInfo, RunRecord, RunStatus, sort_inputs,
};
use crate::tracking::matching::ViewType;

/// A metric value in protobuf JSON: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
pub(super) fn metric_json(m: &Metric) -> Value {
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

pub(super) fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

pub(super) fn as_f64(v: &Value) -> f64 {
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

pub(super) fn str_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub(super) fn kv_list(v: &Value) -> BTreeMap<String, String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|e| (str_of(&e["key"]), str_of(&e["value"])))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn parse_experiment(e: &Value) -> Experiment {
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

pub(super) fn parse_info(i: &Value) -> Result<RunInfo, TrackingError> {
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

pub(super) fn parse_run(r: &Value) -> Result<RunRecord, TrackingError> {
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
    let mut inputs: Vec<DatasetInput> = r["inputs"]["dataset_inputs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(parse_dataset_input)
        .collect();
    sort_inputs(&mut inputs);
    Ok(RunRecord {
        info,
        params: kv_list(&r["data"]["params"]),
        metrics,
        tags: kv_list(&r["data"]["tags"]),
        inputs,
    })
}

/// A `DatasetInput` message: `{"tags": [{key, value}], "dataset": {name, digest, ...}}`.
fn parse_dataset_input(v: &Value) -> DatasetInput {
    let d = &v["dataset"];
    let opt = |x: &Value| x.as_str().map(str::to_string);
    DatasetInput {
        dataset: Dataset {
            name: str_of(&d["name"]),
            digest: str_of(&d["digest"]),
            source_type: str_of(&d["source_type"]),
            source: str_of(&d["source"]),
            schema: opt(&d["schema"]),
            profile: opt(&d["profile"]),
        },
        tags: kv_list(&v["tags"]),
    }
}

/// A `DatasetInput` message for `runs/log-inputs`.
pub(super) fn dataset_input_json(i: &DatasetInput) -> Value {
    let d = &i.dataset;
    let mut dataset = json!({
        "name": d.name,
        "digest": d.digest,
        "source_type": d.source_type,
        "source": d.source,
    });
    if let Some(s) = &d.schema {
        dataset["schema"] = json!(s);
    }
    if let Some(p) = &d.profile {
        dataset["profile"] = json!(p);
    }
    let tags: Vec<Value> = i
        .tags
        .iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect();
    json!({"tags": tags, "dataset": dataset})
}

pub(super) fn view_name(view: ViewType) -> &'static str {
    match view {
        ViewType::ActiveOnly => "ACTIVE_ONLY",
        ViewType::DeletedOnly => "DELETED_ONLY",
        ViewType::All => "ALL",
    }
}
