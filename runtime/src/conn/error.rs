//! Why a connection could not be found, parsed or used.

use std::path::PathBuf;

/// A connection that is missing, malformed or unusable. Every message names the connection's id
/// and where it was looked for.
///
/// ```
/// use oxflow_runtime::conn::Connection;
/// let e = Connection::from_uri("warehouse", "postgres://db:x/sales").unwrap_err();
/// assert_eq!(e.to_string(), "connection `warehouse`: the value is not a valid URI: port `x` is not a number from 0 to 65535");
/// ```
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    /// Neither the environment nor the connections file defines it.
    #[error(
        "connection `{id}` is not defined: set {env_var} to a URI such as `postgres://user:pass@host:5432/db` or to JSON{}",
        match file {
            Some(f) => format!(", or add `\"{id}\": (conn_type: ..)` to {}", f.display()),
            None => " (or name a connections.ron with `--connections FILE` or OXFLOW_CONNECTIONS_FILE)".to_owned(),
        }
    )]
    Missing {
        /// The connection id.
        id: String,
        /// The environment variable looked at.
        env_var: String,
        /// The connections file looked at, if one was given.
        file: Option<PathBuf>,
    },
    /// A URI that does not parse.
    #[error("connection `{id}`: {source_name} is not a valid URI: {reason}")]
    InvalidUri {
        /// The connection id.
        id: String,
        /// Where the URI came from, such as `OXFLOW_CONN_WAREHOUSE`.
        source_name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// JSON that does not parse, or has fields a connection does not have.
    #[error("connection `{id}`: {source_name} is not a valid connection in JSON: {reason}")]
    InvalidJson {
        /// The connection id.
        id: String,
        /// Where the JSON came from.
        source_name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A connection in the connections file that is not valid.
    #[error("connection `{id}` in {}: {reason}", file.display())]
    InvalidEntry {
        /// The connection id.
        id: String,
        /// The file.
        file: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The connections file cannot be read.
    #[error("cannot read connections file {}: {source}", file.display())]
    ReadFile {
        /// The file.
        file: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The connections file is not valid RON for connections.
    #[error("connections file {}:{line}:{column}: {message}", file.display())]
    FileSyntax {
        /// The file.
        file: PathBuf,
        /// Line of the mistake, from 1.
        line: usize,
        /// Column of the mistake, from 1.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A task asked for a connection it did not declare.
    #[error(
        "task `{task}` did not declare connection `{id}`: add it to `#[task(conns = [\"{id}\"])]`, so it is checked before the run starts{}",
        if declared.is_empty() { String::new() } else { format!(" (declared: {})", declared.join(", ")) }
    )]
    NotDeclared {
        /// The connection id asked for.
        id: String,
        /// The task.
        task: String,
        /// What the task declared.
        declared: Vec<String>,
    },
    /// A connection that lacks what a hook needs, or holds a value it cannot use.
    #[error("connection `{id}`: {reason}")]
    Unusable {
        /// The connection id.
        id: String,
        /// What is missing or wrong.
        reason: String,
    },
}
