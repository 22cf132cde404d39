//! MLflow's validation rules (`mlflow/utils/validation.py`), applied before anything is written.
//!
//! The file store itself accepts some data that later breaks its readers (over-long tags, float
//! steps), so every value is checked here first and refused with an error naming it.

use super::TrackingError;

/// Longest metric, param or tag key (`MAX_ENTITY_KEY_LENGTH`).
pub const MAX_KEY_LENGTH: usize = 250;
/// Longest param value (`MAX_PARAM_VAL_LENGTH`).
pub const MAX_PARAM_VALUE_LENGTH: usize = 6000;
/// Longest run tag value (`MAX_TAG_VAL_LENGTH`).
pub const MAX_TAG_VALUE_LENGTH: usize = 8000;
/// Longest experiment name.
pub const MAX_EXPERIMENT_NAME_LENGTH: usize = 500;
/// Longest experiment tag value (`MAX_EXPERIMENT_TAG_VAL_LENGTH`).
pub const MAX_EXPERIMENT_TAG_VALUE_LENGTH: usize = 20000;
/// Most metrics in one MLflow `log-batch` request.
pub const MAX_METRICS_PER_BATCH: usize = 1000;
/// Most params, and most tags, in one MLflow `log-batch` request.
pub const MAX_PARAMS_TAGS_PER_BATCH: usize = 100;

/// Longest dataset name (`MAX_DATASET_NAME_SIZE`).
pub const MAX_DATASET_NAME_LENGTH: usize = 500;
/// Longest dataset digest (`MAX_DATASET_DIGEST_SIZE`).
pub const MAX_DATASET_DIGEST_LENGTH: usize = 36;
/// Longest dataset source (`MAX_DATASET_SOURCE_SIZE`, a database `TEXT` column).
pub const MAX_DATASET_SOURCE_LENGTH: usize = 65535;
/// Longest dataset schema (`MAX_DATASET_SCHEMA_SIZE`).
pub const MAX_DATASET_SCHEMA_LENGTH: usize = 1_048_575;
/// Longest dataset profile (`MAX_DATASET_PROFILE_SIZE`).
pub const MAX_DATASET_PROFILE_LENGTH: usize = 16_777_215;
/// Longest input tag key (`MAX_INPUT_TAG_KEY_SIZE`).
pub const MAX_INPUT_TAG_KEY_LENGTH: usize = 255;
/// Longest input tag value (`MAX_INPUT_TAG_VALUE_SIZE`).
pub const MAX_INPUT_TAG_VALUE_LENGTH: usize = 500;
/// Most dataset inputs in one MLflow `log-inputs` request (`MAX_DATASETS_PER_BATCH`).
pub const MAX_DATASETS_PER_BATCH: usize = 1000;

/// Checks a dataset input with MLflow's limits (`_validate_dataset`, `_validate_input_tag`):
/// name at most 500 characters, digest 36, source 65535, schema 1 MiB, profile 16 MiB; input
/// tag keys at most 255, values 500. The error names the dataset and the field.
///
/// ```
/// use oxflow_runtime::tracking::{Dataset, DatasetInput};
/// use oxflow_runtime::tracking::validation::validate_dataset_input;
///
/// let ok = DatasetInput::new(Dataset::new("train", "ab12", "local", "{}"), Some("training"));
/// assert!(validate_dataset_input(&ok).is_ok());
/// let long = DatasetInput::new(Dataset::new("train", "x".repeat(37), "local", "{}"), None);
/// let err = validate_dataset_input(&long).unwrap_err().to_string();
/// assert!(err.contains("digest of dataset `train`"), "{err}");
/// ```
pub fn validate_dataset_input(input: &crate::tracking::DatasetInput) -> Result<(), TrackingError> {
    let ds = &input.dataset;
    let name = ds.name.chars().take(80).collect::<String>();
    check_len("dataset name", &name, &ds.name, MAX_DATASET_NAME_LENGTH)?;
    let of = format!("of dataset `{name}`");
    let field = |f: &str| format!("{f} {of}");
    check_len_named(&field("digest"), &ds.digest, MAX_DATASET_DIGEST_LENGTH)?;
    check_len_named(&field("source"), &ds.source, MAX_DATASET_SOURCE_LENGTH)?;
    if let Some(schema) = &ds.schema {
        check_len_named(&field("schema"), schema, MAX_DATASET_SCHEMA_LENGTH)?;
    }
    if let Some(profile) = &ds.profile {
        check_len_named(&field("profile"), profile, MAX_DATASET_PROFILE_LENGTH)?;
    }
    for (k, val) in &input.tags {
        let short = k.chars().take(80).collect::<String>();
        check_len("input tag key", &short, k, MAX_INPUT_TAG_KEY_LENGTH)?;
        check_len("input tag value", k, val, MAX_INPUT_TAG_VALUE_LENGTH)?;
    }
    Ok(())
}

/// A length check whose message names the field in full (`digest of dataset \`train\``).
fn check_len_named(what: &str, value: &str, max: usize) -> Result<(), TrackingError> {
    if value.len() <= max {
        return Ok(());
    }
    let len = value.chars().count();
    if len > max {
        return Err(TrackingError::FieldTooLong {
            what: what.to_string(),
            len,
            max,
        });
    }
    Ok(())
}

/// Checks a metric, param or tag key: MLflow's character set (`^[/\w.\- :]*$`), at most 250
/// characters, and a normalised relative path (no empty, `.` or `..` segment, no leading `/`),
/// since the key becomes a file path inside the run directory.
///
/// ```
/// use oxflow_runtime::tracking::validation::validate_key;
///
/// assert!(validate_key("metric", "train/loss").is_ok());
/// assert!(validate_key("metric", "../x").is_err());
/// assert!(validate_key("param", "a@b").is_err());
/// ```
pub fn validate_key(kind: &'static str, key: &str) -> Result<(), TrackingError> {
    let err = |reason: &str| TrackingError::InvalidKey {
        kind,
        key: key.to_string(),
        reason: reason.to_string(),
    };
    if key.is_empty() {
        return Err(err("the key is empty"));
    }
    let len = key.chars().count();
    if len > MAX_KEY_LENGTH {
        return Err(err(&format!(
            "{len} characters, at most {MAX_KEY_LENGTH} are allowed"
        )));
    }
    if let Some(c) = key
        .chars()
        .find(|&c| !(c.is_alphanumeric() || matches!(c, '_' | '/' | '.' | '-' | ' ' | ':')))
    {
        return Err(err(&format!(
            "character {c:?} is not allowed; use letters, digits, `_`, `-`, `.`, ` `, `:` and `/`"
        )));
    }
    if key.starts_with('/') {
        return Err(err("a key must be a relative path, not start with `/`"));
    }
    if key.starts_with("..") {
        return Err(err("a key must not start with `..`"));
    }
    if key
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return Err(err(
            "a key must be a normalised path: no empty, `.` or `..` segment between `/`",
        ));
    }
    Ok(())
}

/// Checks a param value: at most 6000 characters.
///
/// ```
/// use oxflow_runtime::tracking::validation::validate_param_value;
/// assert!(validate_param_value("lr", "0.01").is_ok());
/// assert!(validate_param_value("lr", &"x".repeat(6001)).is_err());
/// ```
pub fn validate_param_value(key: &str, value: &str) -> Result<(), TrackingError> {
    check_len("param value", key, value, MAX_PARAM_VALUE_LENGTH)
}

/// Checks a run tag value: at most 8000 characters.
///
/// ```
/// use oxflow_runtime::tracking::validation::validate_tag_value;
/// assert!(validate_tag_value("note", &"x".repeat(8000)).is_ok());
/// assert!(validate_tag_value("note", &"x".repeat(8001)).is_err());
/// ```
pub fn validate_tag_value(key: &str, value: &str) -> Result<(), TrackingError> {
    check_len("tag value", key, value, MAX_TAG_VALUE_LENGTH)
}

fn check_len(kind: &'static str, key: &str, value: &str, max: usize) -> Result<(), TrackingError> {
    // Cheap pre-check: a string of at most `max` bytes has at most `max` characters.
    if value.len() <= max {
        return Ok(());
    }
    let len = value.chars().count();
    if len > max {
        return Err(TrackingError::ValueTooLong {
            kind,
            key: key.to_string(),
            len,
            max,
        });
    }
    Ok(())
}

/// Checks a metric timestamp: integer milliseconds, not negative.
///
/// ```
/// use oxflow_runtime::tracking::validation::validate_timestamp;
/// assert!(validate_timestamp("loss", 1_700_000_000_000).is_ok());
/// assert!(validate_timestamp("loss", -1).is_err());
/// ```
pub fn validate_timestamp(key: &str, timestamp_ms: i64) -> Result<(), TrackingError> {
    if timestamp_ms < 0 {
        return Err(TrackingError::InvalidTimestamp {
            key: key.to_string(),
            timestamp_ms,
        });
    }
    Ok(())
}

/// Checks an experiment name: not blank, at most 500 characters, no line break (one line in
/// `meta.yaml`).
///
/// ```
/// use oxflow_runtime::tracking::validation::validate_experiment_name;
/// assert!(validate_experiment_name("/Users/x/é exp").is_ok());
/// assert!(validate_experiment_name("  ").is_err());
/// ```
pub fn validate_experiment_name(name: &str) -> Result<(), TrackingError> {
    let err = |reason: String| TrackingError::InvalidExperimentName {
        name: name.chars().take(80).collect(),
        reason,
    };
    if name.trim().is_empty() {
        return Err(err("the name is empty".into()));
    }
    let len = name.chars().count();
    if len > MAX_EXPERIMENT_NAME_LENGTH {
        return Err(err(format!(
            "{len} characters, at most {MAX_EXPERIMENT_NAME_LENGTH} are allowed"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(err(
            "control characters (line breaks, tabs) are not allowed".into(),
        ));
    }
    Ok(())
}

/// Checks a run id (`^[a-zA-Z0-9][\w\-]{0,255}$`); this also keeps ids from naming paths
/// outside the store.
///
/// ```
/// use oxflow_runtime::tracking::validation::validate_run_id;
/// assert!(validate_run_id("0123456789abcdef0123456789abcdef").is_ok());
/// assert!(validate_run_id("../etc").is_err());
/// ```
pub fn validate_run_id(run_id: &str) -> Result<(), TrackingError> {
    check_id("run", run_id, 256)
}

/// Checks an experiment id (`^[a-zA-Z0-9][\w\-]{0,63}$`).
///
/// ```
/// use oxflow_runtime::tracking::validation::validate_experiment_id;
/// assert!(validate_experiment_id("0").is_ok());
/// assert!(validate_experiment_id("").is_err());
/// ```
pub fn validate_experiment_id(id: &str) -> Result<(), TrackingError> {
    check_id("experiment", id, 64)
}

fn check_id(kind: &'static str, id: &str, max: usize) -> Result<(), TrackingError> {
    let ok = !id.is_empty()
        && id.len() <= max
        && id.as_bytes()[0].is_ascii_alphanumeric()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(TrackingError::InvalidId {
            kind,
            id: id.to_string(),
        })
    }
}

/// Checks an artifact path and returns its normalised segments: relative, no `..`, no empty
/// segment except a trailing `/`, no backslash or NUL.
///
/// ```
/// use oxflow_runtime::tracking::validation::artifact_segments;
/// assert_eq!(artifact_segments("plots/loss.png").unwrap(), vec!["plots", "loss.png"]);
/// assert!(artifact_segments("../x").is_err());
/// assert!(artifact_segments("/etc/passwd").is_err());
/// ```
pub fn artifact_segments(path: &str) -> Result<Vec<&str>, TrackingError> {
    let err = |reason: &str| TrackingError::InvalidArtifactPath {
        path: path.to_string(),
        reason: reason.to_string(),
    };
    if path.starts_with('/') || path.starts_with('\\') || path.get(1..2) == Some(":") {
        return Err(err(
            "an artifact path must be relative to the run's artifact directory",
        ));
    }
    if path.contains('\\') || path.contains('\0') {
        return Err(err(
            "backslashes and NUL characters are not allowed; use `/` as separator",
        ));
    }
    let mut segs = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => return Err(err("`..` would leave the run's artifact directory")),
            s => segs.push(s),
        }
    }
    Ok(segs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_mlflow_rules() {
        for ok in ["a", "a b", "a:b", "a/b", "é", "train/acc-1.5", "x_y"] {
            assert!(validate_key("metric", ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "a@b", "a$b", "a#b", "../x", "/abs", "a//b", "a/./b", ".", "..a", "a/", "a\n",
            "a/..",
        ] {
            assert!(validate_key("metric", bad).is_err(), "{bad:?}");
        }
        assert!(validate_key("tag", &"k".repeat(250)).is_ok());
        let e = validate_key("tag", &"k".repeat(251))
            .unwrap_err()
            .to_string();
        assert!(e.contains("251 characters"), "{e}");
    }

    #[test]
    fn artifact_paths_stay_inside() {
        assert!(artifact_segments("a/../../b").is_err());
        assert!(artifact_segments("C:/x").is_err());
        assert_eq!(artifact_segments("./a//b/").unwrap(), vec!["a", "b"]);
    }
}
