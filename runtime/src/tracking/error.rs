//! The errors of the tracking store.

use std::path::PathBuf;

/// Everything that can go wrong while recording or reading runs.
///
/// Every variant names what it is about: the file, the key, the value or the run, so a message
/// alone tells the user what to fix.
///
/// ```
/// use oxflow_runtime::tracking::TrackingError;
///
/// let err = TrackingError::RunNotFound { run_id: "abc".into() };
/// assert_eq!(err.to_string(), "run `abc` not found in the tracking store");
/// ```
#[derive(thiserror::Error, Debug)]
#[non_exhaustive]
pub enum TrackingError {
    /// A file-system operation failed.
    #[error("cannot {op} `{}`: {source}", path.display())]
    Io {
        /// What was being done: "read", "write", "create directory", ...
        op: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The store's directory (or a file in it) cannot be written to.
    #[error("tracking store path `{}` is not writable: {source}", dir.display())]
    NotWritable {
        /// The directory or file that could not be written.
        dir: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A file of the store does not have the expected content.
    #[error("malformed tracking file `{}`: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A tracking URI that is neither a path, a `file://` nor an `http(s)://` URI.
    #[error("unsupported tracking URI `{uri}`: {reason}")]
    InvalidUri {
        /// The URI.
        uri: String,
        /// Why it is not accepted.
        reason: String,
    },
    /// A metric, param or tag key that MLflow would reject or misplace on disk.
    #[error("invalid {kind} key `{key}`: {reason}")]
    InvalidKey {
        /// `metric`, `param` or `tag`.
        kind: &'static str,
        /// The key, as given.
        key: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// A value longer than MLflow's limit.
    #[error("{kind} `{key}` is too long: {len} characters, at most {max} are allowed")]
    ValueTooLong {
        /// `param value`, `tag value`, `experiment name`, ...
        kind: &'static str,
        /// The key the value belongs to (or the beginning of the name).
        key: String,
        /// The length given, in characters.
        len: usize,
        /// MLflow's limit.
        max: usize,
    },
    /// A field longer than MLflow allows, named in full (`digest of dataset \`train\``).
    #[error("{what} is too long: {len} characters, at most {max} are allowed")]
    FieldTooLong {
        /// The field and what it belongs to.
        what: String,
        /// The length given, in characters.
        len: usize,
        /// MLflow's limit.
        max: usize,
    },
    /// A param logged again with another value; MLflow params are immutable.
    #[error(
        "param `{key}` of run `{run_id}` was already logged with value `{old}`; \
         changing it to `{new}` is not allowed (params are immutable)"
    )]
    ParamChanged {
        /// The param key.
        key: String,
        /// The run.
        run_id: String,
        /// The value on record.
        old: String,
        /// The value that was refused.
        new: String,
    },
    /// The same key twice in one batch.
    #[error("duplicate {kind} key `{key}` in one batch")]
    DuplicateKey {
        /// `param` or `tag`.
        kind: &'static str,
        /// The repeated key.
        key: String,
    },
    /// A metric value that is not a number.
    #[error("metric `{key}`: value `{value}` is not a number")]
    InvalidMetricValue {
        /// The metric key.
        key: String,
        /// The value as given.
        value: String,
    },
    /// A negative timestamp.
    #[error(
        "metric `{key}`: timestamp {timestamp_ms} is negative; use milliseconds since the Unix epoch"
    )]
    InvalidTimestamp {
        /// The metric key.
        key: String,
        /// The timestamp given.
        timestamp_ms: i64,
    },
    /// An experiment name MLflow would reject.
    #[error("invalid experiment name `{name}`: {reason}")]
    InvalidExperimentName {
        /// The name as given.
        name: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// A run or experiment id that is not a valid MLflow id.
    #[error(
        "invalid {kind} id `{id}`: expected letters, digits, `_` or `-`, starting with a letter or digit"
    )]
    InvalidId {
        /// `run` or `experiment`.
        kind: &'static str,
        /// The id as given.
        id: String,
    },
    /// No run with this id.
    #[error("run `{run_id}` not found in the tracking store")]
    RunNotFound {
        /// The run id.
        run_id: String,
    },
    /// No experiment with this id or name.
    #[error("experiment `{experiment}` not found in the tracking store")]
    ExperimentNotFound {
        /// The id or name.
        experiment: String,
    },
    /// The experiment exists but is deleted.
    #[error("experiment `{experiment}` is deleted; restore it before logging to it")]
    ExperimentDeleted {
        /// The id or name.
        experiment: String,
    },
    /// The run is deleted: MLflow refuses to log to it.
    #[error("run `{run_id}` is deleted; restore it before logging to it")]
    RunDeleted {
        /// The run id.
        run_id: String,
    },
    /// An artifact path that would leave the run's artifact directory or is malformed.
    #[error("invalid artifact path `{path}`: {reason}")]
    InvalidArtifactPath {
        /// The path as given.
        path: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// An artifact that does not exist.
    #[error("artifact `{path}` of run `{run_id}` not found")]
    ArtifactNotFound {
        /// The run id.
        run_id: String,
        /// The artifact path.
        path: String,
    },
    /// A value that could not be turned into JSON.
    #[error("cannot serialize artifact `{path}` as JSON: {source}")]
    Json {
        /// The artifact path.
        path: String,
        /// serde_json's error.
        #[source]
        source: serde_json::Error,
    },
    /// A search filter or order-by clause that does not parse; the message shows the position.
    #[error(transparent)]
    Filter(#[from] super::filter::FilterError),
    /// The MLflow tracking server refused a request.
    #[error("MLflow server answered HTTP {status} to `{endpoint}`: {error_code}: {message}")]
    Server {
        /// The REST endpoint, e.g. `runs/log-batch`.
        endpoint: String,
        /// The HTTP status.
        status: u16,
        /// MLflow's `error_code`, e.g. `INVALID_PARAMETER_VALUE`.
        error_code: String,
        /// MLflow's message.
        message: String,
    },
    /// The MLflow tracking server could not be reached, even after retries.
    #[error("cannot reach the MLflow server at `{url}` after {attempts} attempt(s): {message}")]
    Unreachable {
        /// The URL of the request.
        url: String,
        /// How many times it was tried.
        attempts: u32,
        /// The last transport error.
        message: String,
    },
    /// The server at this URL answered, but not like an MLflow tracking server (an HTML page,
    /// or a 4xx without MLflow's JSON error): the URI probably names something else.
    #[error("the server at `{url}` did not answer like an MLflow tracking server: {detail}")]
    NotMlflow {
        /// The URL of the request.
        url: String,
        /// What came back instead.
        detail: String,
    },
    /// No LoggedModel with this id.
    #[error("logged model `{model_id}` not found")]
    LoggedModelNotFound {
        /// The model id.
        model_id: String,
    },
    /// No such file among a LoggedModel's artifacts.
    #[error("artifact `{path}` of logged model `{model_id}` not found")]
    ModelArtifactNotFound {
        /// The model id.
        model_id: String,
        /// The artifact path.
        path: String,
    },
    /// No registered model with this name.
    #[error("registered model `{name}` not found")]
    ModelNotFound {
        /// The model name.
        name: String,
    },
    /// No such version of a registered model.
    #[error("version {version} of registered model `{name}` not found")]
    ModelVersionNotFound {
        /// The model name.
        name: String,
        /// The version number.
        version: u64,
    },
    /// No such alias on a registered model.
    #[error("alias `{alias}` of registered model `{name}` not found")]
    AliasNotFound {
        /// The model name.
        name: String,
        /// The alias.
        alias: String,
    },
    /// A registered model with this name already exists.
    #[error("registered model `{name}` already exists")]
    ModelExists {
        /// The model name.
        name: String,
    },
    /// An operation the chosen store cannot do.
    #[error("{operation} is not supported by {store}: {reason}")]
    Unsupported {
        /// What was asked.
        operation: &'static str,
        /// `FileStore` or `RestStore`.
        store: &'static str,
        /// Why, and what to do instead.
        reason: String,
    },
    /// A tracking database file that is not an SQLite database.
    #[error("`{}` is not an SQLite database (a `sqlite:///` tracking URI must name an MLflow database file)", path.display())]
    NotSqlite {
        /// The file.
        path: PathBuf,
    },
    /// An SQLite database that is not MLflow's.
    #[error("`{}` is an SQLite database but not MLflow's: it lacks {missing}", path.display())]
    ForeignDatabase {
        /// The database file.
        path: PathBuf,
        /// The tables that are missing.
        missing: String,
    },
    /// An MLflow database of a schema revision oxflow does not write.
    #[error("MLflow database `{}` has schema revision {found}, oxflow writes revision {expected}: {hint}", path.display())]
    SchemaRevision {
        /// The database file.
        path: PathBuf,
        /// The revision in its `alembic_version` table.
        found: String,
        /// The revision oxflow writes.
        expected: &'static str,
        /// What to do.
        hint: String,
    },
    /// Another process held the tracking database's write lock for longer than the busy timeout.
    #[error(
        "tracking database `{}` stayed locked by another writer for {timeout_ms} ms; \
         retry, or raise OXFLOW_SQLITE_BUSY_TIMEOUT (milliseconds)", path.display()
    )]
    DatabaseLocked {
        /// The database file.
        path: PathBuf,
        /// How long oxflow waited.
        timeout_ms: u64,
    },
    /// SQLite reported an error.
    #[error("tracking database `{}`: cannot {op}: {source}", path.display())]
    Sql {
        /// The database file.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// SQLite's error.
        #[source]
        source: Box<rusqlite::Error>,
    },
    /// An invalid argument that fits no other variant (status name, ordering, ...).
    #[error("invalid {what} `{value}`: {reason}")]
    InvalidArgument {
        /// What the value is.
        what: &'static str,
        /// The value.
        value: String,
        /// Why it is refused.
        reason: String,
    },
}

impl TrackingError {
    /// An I/O error; a write refused for lack of permission (or on a read-only file system) is
    /// [`TrackingError::NotWritable`] naming the path.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        let reading = matches!(op, "read" | "list" | "stat" | "resolve");
        if !reading && super::file::is_permission_error(&source) {
            return TrackingError::NotWritable {
                dir: path.into(),
                source,
            };
        }
        TrackingError::Io {
            op,
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        TrackingError::Corrupt {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
