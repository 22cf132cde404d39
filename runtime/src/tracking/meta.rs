//! `meta.yaml` of experiments and runs, written with MLflow's keys in MLflow's (sorted) order
//! and read leniently, as MLflow's own reader does (ids may be integers, most keys optional).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::TrackingError;
use super::entities::{Experiment, LIFECYCLE_ACTIVE, RunInfo, RunStatus};

/// What to write for `deleted_time`: MLflow writes `null` when it creates a run, the time when
/// it deletes one, and drops the key on other rewrites.
#[derive(Clone, Copy, Debug)]
pub(crate) enum DeletedTime {
    Omit,
    Null,
    At(i64),
}

// Field order is alphabetical: MLflow writes with `sort_keys=True`.
#[derive(Serialize)]
struct RunMetaOut<'a> {
    artifact_uri: Py<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deleted_time: Option<Option<i64>>,
    end_time: Option<i64>,
    entry_point_name: Py<'a>,
    experiment_id: Py<'a>,
    lifecycle_stage: Py<'a>,
    run_id: Py<'a>,
    run_name: Py<'a>,
    source_name: Py<'a>,
    source_type: i32,
    source_version: Py<'a>,
    start_time: i64,
    status: i32,
    tags: [u8; 0],
    user_id: Py<'a>,
}

#[derive(Serialize)]
struct ExperimentMetaOut<'a> {
    artifact_location: Py<'a>,
    creation_time: Option<i64>,
    experiment_id: Py<'a>,
    last_update_time: Option<i64>,
    lifecycle_stage: Py<'a>,
    name: Py<'a>,
}

/// A string written as PyYAML writes it: plain when that is unambiguous, else single-quoted
/// (`'0'`, `''`), and double-quoted only when it holds control characters.
pub(crate) struct Py<'a>(pub(crate) &'a str);

impl Serialize for Py<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let quoted = serde_saphyr::to_string(&self.0)
            .map(|t| t.starts_with('"'))
            .unwrap_or(true);
        if quoted && !self.0.chars().any(char::is_control) {
            serde_saphyr::SingleQuoted(self.0).serialize(s)
        } else {
            s.serialize_str(self.0)
        }
    }
}

pub(crate) fn yaml<T: Serialize>(value: &T) -> String {
    let mut opts = serde_saphyr::SerializerOptions::default();
    // Long one-line values (artifact URIs, names) stay plain or quoted scalars, as PyYAML
    // writes them, rather than folded blocks.
    opts.prefer_block_scalars = false;
    // The value types here (strings, integers, options) always serialize.
    serde_saphyr::to_string_with_options(value, opts).unwrap_or_default()
}

/// The text of a run's `meta.yaml`.
pub(crate) fn run_meta_yaml(info: &RunInfo, deleted: DeletedTime) -> String {
    let out = RunMetaOut {
        artifact_uri: Py(&info.artifact_uri),
        deleted_time: match deleted {
            DeletedTime::Omit => None,
            DeletedTime::Null => Some(None),
            DeletedTime::At(t) => Some(Some(t)),
        },
        end_time: info.end_time_ms,
        entry_point_name: Py(""),
        experiment_id: Py(&info.experiment_id),
        lifecycle_stage: Py(&info.lifecycle_stage),
        run_id: Py(&info.run_id),
        run_name: Py(&info.run_name),
        source_name: Py(""),
        // SourceType.LOCAL, a legacy field kept for old readers.
        source_type: 4,
        source_version: Py(""),
        start_time: info.start_time_ms,
        status: info.status.as_i32(),
        tags: [],
        user_id: Py(&info.user_id),
    };
    yaml(&out)
}

/// The text of an experiment's `meta.yaml`.
pub(crate) fn experiment_meta_yaml(exp: &Experiment) -> String {
    yaml(&ExperimentMetaOut {
        artifact_location: Py(&exp.artifact_location),
        creation_time: exp.creation_time_ms,
        experiment_id: Py(&exp.experiment_id),
        last_update_time: exp.last_update_time_ms,
        lifecycle_stage: Py(&exp.lifecycle_stage),
        name: Py(&exp.name),
    })
}

pub(crate) fn parse_map(path: &Path, text: &str) -> Result<BTreeMap<String, Value>, TrackingError> {
    if let Some(m) = parse_flat(text) {
        return Ok(m);
    }
    serde_saphyr::from_str::<BTreeMap<String, Value>>(text)
        .map_err(|e| TrackingError::corrupt(path, format!("not a YAML mapping: {e}")))
}

/// A fast path for the flat `key: scalar` files MLflow and oxflow write: one line per key,
/// plain or single-quoted scalars, `null`, `[]`, `{}`, integers. Returns `None` for anything
/// else (double quotes, continued lines, nesting, ...), which the full YAML parser then reads.
/// Searching a thousand runs parses a thousand of these.
fn parse_flat(text: &str) -> Option<BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        let (key, raw) = line.split_once(':')?;
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return None;
        }
        let raw = raw.strip_prefix(' ').unwrap_or(raw);
        let value = if raw.is_empty() {
            // A nested block follows (`tags:` then indented lines): not flat.
            return None;
        } else if let Some(inner) = raw.strip_prefix('\'') {
            let inner = inner.strip_suffix('\'')?;
            // Inside single quotes only `''` is special; a lone quote means a continued scalar.
            if inner.replace("''", "").contains('\'') {
                return None;
            }
            Value::String(inner.replace("''", "'"))
        } else if raw == "null" || raw == "~" {
            Value::Null
        } else if raw == "[]" {
            Value::Array(Vec::new())
        } else if raw == "{}" {
            Value::Object(Default::default())
        } else if let Ok(n) = raw.parse::<i64>() {
            if raw.starts_with('+') || (raw.len() > 1 && raw.starts_with('0')) {
                return None;
            }
            Value::from(n)
        } else {
            let first = raw.as_bytes()[0];
            // Characters that start YAML syntax, and trailing comments, go to the full parser;
            // so do spellings YAML 1.1 reads as booleans or floats.
            if b"\"&*!|>%@`#[{-?,".contains(&first)
                || raw.contains(" #")
                || raw.contains(": ")
                || raw.ends_with(' ')
                || raw.ends_with(':')
            {
                return None;
            }
            let lower = raw.to_ascii_lowercase();
            if matches!(
                lower.as_str(),
                "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
            ) || lower.parse::<f64>().is_ok()
                || lower.starts_with('.')
            {
                return None;
            }
            Value::String(raw.to_string())
        };
        out.insert(key.to_string(), value);
    }
    Some(out)
}

pub(crate) fn as_string(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

pub(crate) fn as_i64(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads a run's `meta.yaml` (text already loaded from `path`).
pub(crate) fn parse_run_meta(path: &Path, text: &str) -> Result<RunInfo, TrackingError> {
    let m = parse_map(path, text)?;
    let run_id = as_string(m.get("run_id"))
        .or_else(|| as_string(m.get("run_uuid")))
        .ok_or_else(|| TrackingError::corrupt(path, "missing `run_id`"))?;
    let experiment_id = as_string(m.get("experiment_id"))
        .ok_or_else(|| TrackingError::corrupt(path, "missing `experiment_id`"))?;
    let status = match m.get("status") {
        None | Some(Value::Null) => RunStatus::Running,
        Some(Value::String(s)) => s.parse()?,
        v => {
            let n = as_i64(v)
                .ok_or_else(|| TrackingError::corrupt(path, "`status` is not a number"))?;
            RunStatus::from_i32(n as i32)
                .ok_or_else(|| TrackingError::corrupt(path, format!("unknown run status {n}")))?
        }
    };
    Ok(RunInfo {
        run_id,
        experiment_id,
        run_name: as_string(m.get("run_name")).unwrap_or_default(),
        status,
        start_time_ms: as_i64(m.get("start_time")).unwrap_or(0),
        end_time_ms: as_i64(m.get("end_time")),
        artifact_uri: as_string(m.get("artifact_uri")).unwrap_or_default(),
        lifecycle_stage: as_string(m.get("lifecycle_stage"))
            .unwrap_or_else(|| LIFECYCLE_ACTIVE.to_string()),
        user_id: as_string(m.get("user_id")).unwrap_or_default(),
    })
}

/// Reads an experiment's `meta.yaml`; tags are filled in by the caller.
pub(crate) fn parse_experiment_meta(path: &Path, text: &str) -> Result<Experiment, TrackingError> {
    let m = parse_map(path, text)?;
    let experiment_id = as_string(m.get("experiment_id"))
        .ok_or_else(|| TrackingError::corrupt(path, "missing `experiment_id`"))?;
    let name =
        as_string(m.get("name")).ok_or_else(|| TrackingError::corrupt(path, "missing `name`"))?;
    Ok(Experiment {
        experiment_id,
        name,
        artifact_location: as_string(m.get("artifact_location")).unwrap_or_default(),
        lifecycle_stage: as_string(m.get("lifecycle_stage"))
            .unwrap_or_else(|| LIFECYCLE_ACTIVE.to_string()),
        creation_time_ms: as_i64(m.get("creation_time")),
        last_update_time_ms: as_i64(m.get("last_update_time")),
        tags: BTreeMap::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_path_agrees_with_the_yaml_parser() {
        let docs = [
            "artifact_uri: file:///tmp/a/b\nend_time: null\nentry_point_name: ''\nexperiment_id: '0'\nrun_name: it''s\nstatus: 3\ntags: []\n",
            "name: 'x'\nother: plain text here\n",
            "run_name: 'multi\n  line'\n",
            "run_name: yes\n",
            "run_name: 1.5\n",
            "run_name: \"dq\"\n",
            "tags:\n  a: 1\n",
            "user_id: -x\n",
            "start_time: 1795849687618\nlifecycle_stage: active\n",
        ];
        for d in docs {
            let full: BTreeMap<String, Value> = serde_saphyr::from_str(d).unwrap();
            if let Some(fast) = parse_flat(d) {
                assert_eq!(fast, full, "{d}");
            }
        }
        assert!(parse_flat(docs[0]).is_some());
        assert!(parse_flat("run_name: yes\n").is_none());
        assert!(parse_flat("name: a: b\n").is_none());
    }
}
