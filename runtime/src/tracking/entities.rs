//! The records of the store: experiments, runs, metrics, artifacts.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::TrackingError;

/// The state of a run, with MLflow's numbering (`RUNNING = 1` .. `KILLED = 5`).
///
/// ```
/// use oxflow_runtime::tracking::RunStatus;
///
/// assert_eq!(RunStatus::Finished.to_string(), "FINISHED");
/// assert_eq!(RunStatus::Finished.as_i32(), 3);
/// assert_eq!("failed".parse::<RunStatus>().unwrap(), RunStatus::Failed);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RunStatus {
    /// The run is in progress.
    Running,
    /// The run is scheduled but has not started.
    Scheduled,
    /// The run ended successfully.
    Finished,
    /// The run ended with an error.
    Failed,
    /// The run was interrupted.
    Killed,
}

impl RunStatus {
    /// MLflow's integer for this status, as written in `meta.yaml`.
    pub fn as_i32(self) -> i32 {
        match self {
            RunStatus::Running => 1,
            RunStatus::Scheduled => 2,
            RunStatus::Finished => 3,
            RunStatus::Failed => 4,
            RunStatus::Killed => 5,
        }
    }

    /// The status for MLflow's integer, if it is one.
    ///
    /// ```
    /// use oxflow_runtime::tracking::RunStatus;
    /// assert_eq!(RunStatus::from_i32(4), Some(RunStatus::Failed));
    /// assert_eq!(RunStatus::from_i32(9), None);
    /// ```
    pub fn from_i32(v: i32) -> Option<RunStatus> {
        Some(match v {
            1 => RunStatus::Running,
            2 => RunStatus::Scheduled,
            3 => RunStatus::Finished,
            4 => RunStatus::Failed,
            5 => RunStatus::Killed,
            _ => return None,
        })
    }

    /// MLflow's name: `RUNNING`, `SCHEDULED`, `FINISHED`, `FAILED` or `KILLED`.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "RUNNING",
            RunStatus::Scheduled => "SCHEDULED",
            RunStatus::Finished => "FINISHED",
            RunStatus::Failed => "FAILED",
            RunStatus::Killed => "KILLED",
        }
    }

    /// Whether the run has ended (finished, failed or killed).
    pub fn is_terminated(self) -> bool {
        matches!(
            self,
            RunStatus::Finished | RunStatus::Failed | RunStatus::Killed
        )
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RunStatus {
    type Err = TrackingError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let all = [
            RunStatus::Running,
            RunStatus::Scheduled,
            RunStatus::Finished,
            RunStatus::Failed,
            RunStatus::Killed,
        ];
        all.into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| TrackingError::InvalidArgument {
                what: "run status",
                value: s.to_string(),
                reason: "expected RUNNING, SCHEDULED, FINISHED, FAILED or KILLED".into(),
            })
    }
}

/// Whether an experiment or run is live or deleted (MLflow's `lifecycle_stage`).
pub const LIFECYCLE_ACTIVE: &str = "active";
/// The `lifecycle_stage` of a deleted experiment or run.
pub const LIFECYCLE_DELETED: &str = "deleted";

/// Options of a new run.
///
/// ```
/// use oxflow_runtime::tracking::RunOptions;
///
/// let opts = RunOptions {
///     run_name: Some("baseline".into()),
///     tags: vec![("team".into(), "vision".into())],
///     ..RunOptions::default()
/// };
/// assert!(opts.parent_run_id.is_none());
/// ```
#[derive(Default, Clone, Debug)]
pub struct RunOptions {
    /// The run's name; a random `adjective-noun-number` name when `None`, as MLflow does.
    pub run_name: Option<String>,
    /// Tags set when the run is created.
    pub tags: Vec<(String, String)>,
    /// Makes the new run a child of this run (tag `mlflow.parentRunId`).
    pub parent_run_id: Option<String>,
    /// Start time in milliseconds since the epoch; now when `None`.
    pub start_time_ms: Option<i64>,
    /// Create the run already ended, with this status and end time (ms): one atomic write for
    /// a run whose whole story is known, such as a pipeline task that finished quickly.
    pub end: Option<(RunStatus, i64)>,
    /// Artifacts (relative path, content) placed in the run before it appears in the store.
    pub artifacts: Vec<(String, Vec<u8>)>,
}

/// The metadata of a run, as in its `meta.yaml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// 32 lowercase hex digits.
    pub run_id: String,
    /// The experiment the run belongs to.
    pub experiment_id: String,
    /// The run's name (also tag `mlflow.runName`).
    pub run_name: String,
    /// The run's state.
    pub status: RunStatus,
    /// Milliseconds since the epoch.
    pub start_time_ms: i64,
    /// Milliseconds since the epoch; `None` while running.
    pub end_time_ms: Option<i64>,
    /// `file://` URI of the run's artifact directory.
    pub artifact_uri: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
    /// The user who started the run.
    pub user_id: String,
}

impl RunInfo {
    /// Whether the run is deleted.
    pub fn is_deleted(&self) -> bool {
        self.lifecycle_stage == LIFECYCLE_DELETED
    }
}

/// One metric value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// The metric key.
    pub key: String,
    /// The value; NaN and infinities are allowed.
    pub value: f64,
    /// Milliseconds since the epoch.
    pub timestamp_ms: i64,
    /// The step (an integer, as MLflow's file store requires).
    pub step: i64,
}

impl Metric {
    /// MLflow's order for "latest value": the greatest `(step, timestamp, value)`.
    pub(crate) fn is_later_than(&self, other: &Metric) -> bool {
        (self.step, self.timestamp_ms)
            .cmp(&(other.step, other.timestamp_ms))
            .then_with(|| self.value.total_cmp(&other.value))
            .is_gt()
    }
}

/// A run with its data: params, the latest value of every metric, and tags.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// The run's metadata.
    pub info: RunInfo,
    /// Params by key.
    pub params: BTreeMap<String, String>,
    /// The latest value of each metric, by key.
    pub metrics: BTreeMap<String, Metric>,
    /// Tags by key (including `mlflow.*` system tags).
    pub tags: BTreeMap<String, String>,
    /// The datasets the run used (MLflow's `run.inputs.dataset_inputs`), sorted by dataset
    /// name, then digest.
    #[serde(default)]
    pub inputs: Vec<DatasetInput>,
}

impl RunRecord {
    /// The parent run's id, from tag `mlflow.parentRunId`.
    pub fn parent_run_id(&self) -> Option<&str> {
        self.tags.get(super::TAG_PARENT_RUN_ID).map(String::as_str)
    }
}

/// The input tag holding what a run used a dataset for (`training`, `evaluation`, ...), as
/// `mlflow.log_input(dataset, context=...)` sets it.
pub const TAG_DATASET_CONTEXT: &str = "mlflow.data.context";

/// A dataset a run used, as MLflow records it (`mlflow.entities.Dataset`): a name and a digest
/// of the content identify it within an experiment; where it came from, its schema and a
/// profile describe it.
///
/// ```
/// use oxflow_runtime::tracking::Dataset;
///
/// let ds = Dataset::new("reference", "3f2a9c1e", "local", r#"{"uri": "data/reference.csv"}"#)
///     .with_schema(r#"{"mlflow_colspec": [{"type": "double", "name": "x"}]}"#)
///     .with_profile(r#"{"num_rows": 1000}"#);
/// assert_eq!(ds.name, "reference");
/// assert_eq!(ds.profile.as_deref(), Some(r#"{"num_rows": 1000}"#));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Dataset {
    /// The dataset's name (at most 500 characters).
    pub name: String,
    /// A digest of its content (at most 36 characters); MLflow uses 8 hex digits of a hash.
    pub digest: String,
    /// The kind of source: `local`, `http`, `s3`, `code`, ...
    pub source_type: String,
    /// The source as JSON, such as `{"uri": "data/train.csv"}` (at most 65535 characters).
    pub source: String,
    /// The schema as JSON, such as MLflow's `{"mlflow_colspec": [...]}`.
    pub schema: Option<String>,
    /// Summary statistics as JSON, such as `{"num_rows": 1000}`.
    pub profile: Option<String>,
}

impl Dataset {
    /// A dataset with a name, digest, source type and source, without schema or profile.
    ///
    /// ```
    /// use oxflow_runtime::tracking::Dataset;
    /// let ds = Dataset::new("train", "ab12cd34", "local", r#"{"uri": "train.csv"}"#);
    /// assert!(ds.schema.is_none());
    /// ```
    pub fn new(
        name: impl Into<String>,
        digest: impl Into<String>,
        source_type: impl Into<String>,
        source: impl Into<String>,
    ) -> Dataset {
        Dataset {
            name: name.into(),
            digest: digest.into(),
            source_type: source_type.into(),
            source: source.into(),
            schema: None,
            profile: None,
        }
    }

    /// The same dataset with a schema (JSON).
    ///
    /// ```
    /// use oxflow_runtime::tracking::Dataset;
    /// let ds = Dataset::new("t", "d", "local", "{}").with_schema(r#"{"mlflow_colspec": []}"#);
    /// assert!(ds.schema.is_some());
    /// ```
    pub fn with_schema(mut self, schema: impl Into<String>) -> Dataset {
        self.schema = Some(schema.into());
        self
    }

    /// The same dataset with a profile (JSON).
    ///
    /// ```
    /// use oxflow_runtime::tracking::Dataset;
    /// let ds = Dataset::new("t", "d", "local", "{}").with_profile(r#"{"num_rows": 3}"#);
    /// assert!(ds.profile.is_some());
    /// ```
    pub fn with_profile(mut self, profile: impl Into<String>) -> Dataset {
        self.profile = Some(profile.into());
        self
    }
}

/// A dataset as an input of a run, with the input's tags (MLflow's `DatasetInput`); the
/// context (`training`, `evaluation`, ...) is tag [`TAG_DATASET_CONTEXT`].
///
/// ```
/// use oxflow_runtime::tracking::{Dataset, DatasetInput};
///
/// let input = DatasetInput::new(Dataset::new("train", "ab12", "local", "{}"), Some("training"));
/// assert_eq!(input.context(), Some("training"));
/// assert_eq!(input.tags["mlflow.data.context"], "training");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetInput {
    /// The dataset.
    pub dataset: Dataset,
    /// The input's tags by key (`mlflow.data.context` among them).
    pub tags: BTreeMap<String, String>,
}

impl DatasetInput {
    /// An input of `dataset`, tagged with `context` when given.
    pub fn new(dataset: Dataset, context: Option<&str>) -> DatasetInput {
        let mut tags = BTreeMap::new();
        if let Some(c) = context {
            tags.insert(TAG_DATASET_CONTEXT.to_string(), c.to_string());
        }
        DatasetInput { dataset, tags }
    }

    /// What the run used the dataset for (tag `mlflow.data.context`), if recorded.
    ///
    /// ```
    /// use oxflow_runtime::tracking::{Dataset, DatasetInput};
    /// let input = DatasetInput::new(Dataset::new("t", "d", "local", "{}"), None);
    /// assert_eq!(input.context(), None);
    /// ```
    pub fn context(&self) -> Option<&str> {
        self.tags.get(TAG_DATASET_CONTEXT).map(String::as_str)
    }
}

/// Sorts a run's inputs the way every backend returns them: by dataset name, then digest.
pub(crate) fn sort_inputs(inputs: &mut [DatasetInput]) {
    inputs.sort_by(|a, b| {
        (&a.dataset.name, &a.dataset.digest).cmp(&(&b.dataset.name, &b.dataset.digest))
    });
}

/// An experiment: a named group of runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    /// `0` for the default experiment, a random 18-digit number otherwise.
    pub experiment_id: String,
    /// The unique name.
    pub name: String,
    /// `file://` URI under which runs store artifacts.
    pub artifact_location: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
    /// Milliseconds since the epoch, when known.
    pub creation_time_ms: Option<i64>,
    /// Milliseconds since the epoch, when known.
    pub last_update_time_ms: Option<i64>,
    /// Experiment tags (the description is tag `mlflow.note.content`).
    pub tags: BTreeMap<String, String>,
}

/// One entry of an artifact directory listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactEntry {
    /// Path relative to the run's artifact root, with `/` separators (as MLflow lists them).
    pub path: String,
    /// Whether the entry is a directory.
    pub is_dir: bool,
    /// Size in bytes; `None` for directories.
    pub file_size: Option<u64>,
}

const ADJECTIVES: [&str; 16] = [
    "able", "bold", "brave", "calm", "clever", "crisp", "eager", "fair", "gentle", "keen", "lucky",
    "merry", "nimble", "quiet", "swift", "wise",
];
const NOUNS: [&str; 16] = [
    "ant", "bee", "crab", "deer", "eel", "finch", "goat", "hawk", "ibis", "jay", "koi", "lark",
    "mole", "newt", "owl", "wren",
];

/// A new run id: 32 lowercase hex digits, like the `uuid4().hex` MLflow gives a run, but time
/// ordered (UUID version 7: milliseconds first, then random bits). MLflow only ever treats a
/// run id as an opaque string; ordered ids let SQLite append to its indexes on `run_uuid`
/// (the tags and params keys end with it) instead of touching a random page per row. With 100
/// DAG runs recorded every second, random ids made each commit write pages all over a
/// growing database: the scheduler's claim batch took 40 ms after a minute, 10 ms with these.
pub(crate) fn new_run_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// A run name like MLflow's generated ones: `adjective-noun-number`.
pub(crate) fn random_run_name() -> String {
    let n = uuid::Uuid::new_v4().as_u128();
    format!(
        "{}-{}-{}",
        ADJECTIVES[(n % 16) as usize],
        NOUNS[((n >> 8) % 16) as usize],
        (n >> 16) % 1000
    )
}
