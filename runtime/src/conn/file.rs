//! `connections.ron`: connections by id in a file, for what the environment does not define.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{ConnError, Connection};

/// One connection as written in the file: Airflow's fields, nothing else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    conn_type: String,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    login: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    schema: Option<String>,
    #[serde(default)]
    port: Option<u16>,
    #[serde(default)]
    extra: BTreeMap<String, Value>,
    #[serde(default)]
    description: Option<String>,
}

/// A parsed `connections.ron`: a map from connection id to its fields.
///
/// ```
/// use oxflow_runtime::conn::ConnectionsFile;
/// let file = ConnectionsFile::parse(r#"{
///     "warehouse": (
///         conn_type: "postgres",
///         host: "db.internal",
///         port: 5432,
///         login: "etl",
///         password: "s3cret-pw",
///         schema: "sales",
///         extra: {"sslmode": "require"},
///     ),
/// }"#, "connections.ron".as_ref())?;
/// let c = file.get("warehouse").unwrap()?;
/// assert_eq!((c.port, c.schema.as_deref()), (Some(5432), Some("sales")));
/// assert!(file.get("missing").is_none());
/// # Ok::<(), oxflow_runtime::conn::ConnError>(())
/// ```
pub struct ConnectionsFile {
    path: PathBuf,
    entries: BTreeMap<String, Entry>,
}

impl ConnectionsFile {
    /// Parses `text`, read from `path` (named in errors). Unknown fields are refused, with
    /// their line and column.
    ///
    /// ```
    /// use oxflow_runtime::conn::ConnectionsFile;
    /// let e = ConnectionsFile::parse(r#"{"db": (conn_type: "postgres", hots: "h")}"#, "c.ron".as_ref()).err().unwrap();
    /// assert!(e.to_string().starts_with("connections file c.ron:1:"), "{e}");
    /// ```
    pub fn parse(text: &str, path: &Path) -> Result<ConnectionsFile, ConnError> {
        let entries = ron::Options::default()
            .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
            .from_str::<BTreeMap<String, Entry>>(text)
            .map_err(|e| ConnError::FileSyntax {
                file: path.to_path_buf(),
                line: e.span.start.line,
                column: e.span.start.col,
                message: e.code.to_string(),
            })?;
        Ok(ConnectionsFile {
            path: path.to_path_buf(),
            entries,
        })
    }

    /// Reads and parses the file at `path`.
    ///
    /// ```
    /// let e = oxflow_runtime::conn::ConnectionsFile::load("/nonexistent/connections.ron".as_ref()).err().unwrap();
    /// assert!(e.to_string().starts_with("cannot read connections file /nonexistent/connections.ron"));
    /// ```
    pub fn load(path: &Path) -> Result<ConnectionsFile, ConnError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConnError::ReadFile {
            file: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// The file's path.
    ///
    /// ```
    /// let f = oxflow_runtime::conn::ConnectionsFile::parse("{}", "c.ron".as_ref()).unwrap();
    /// assert_eq!(f.path(), std::path::Path::new("c.ron"));
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The connection `id`, if the file has it; an error if its fields are not valid.
    ///
    /// ```
    /// let f = oxflow_runtime::conn::ConnectionsFile::parse(r#"{"db": (conn_type: "")}"#, "c.ron".as_ref()).unwrap();
    /// assert!(f.get("db").unwrap().unwrap_err().to_string().contains("`conn_type` is empty"));
    /// ```
    pub fn get(&self, id: &str) -> Option<Result<Connection, ConnError>> {
        let e = self.entries.get(id)?;
        // Accepted as Airflow accepts it, for people reading the file; nothing uses it.
        let _ = &e.description;
        if e.conn_type.trim().is_empty() {
            return Some(Err(ConnError::InvalidEntry {
                id: id.to_owned(),
                file: self.path.clone(),
                reason: "`conn_type` is empty; give one such as \"postgres\" or \"http\"".into(),
            }));
        }
        let mut c = Connection::new(id, &e.conn_type);
        c.host = e.host.clone();
        c.login = e.login.clone();
        c.password = e.password.clone();
        c.schema = e.schema.clone();
        c.port = e.port;
        c.extra = e.extra.clone().into_iter().collect::<Map<String, Value>>();
        Some(Ok(c))
    }

    /// The ids the file defines, sorted.
    ///
    /// ```
    /// let f = oxflow_runtime::conn::ConnectionsFile::parse(r#"{"b": (conn_type: "http"), "a": (conn_type: "http")}"#, "c.ron".as_ref()).unwrap();
    /// assert_eq!(f.ids().collect::<Vec<_>>(), ["a", "b"]);
    /// ```
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }
}
