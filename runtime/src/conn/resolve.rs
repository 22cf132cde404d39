//! Where connections are looked up, in Airflow's order: the environment first, then the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{ConnError, Connection, ConnectionsFile, mask, uri};

/// The environment variable naming a `connections.ron` (also `--connections FILE`).
pub const CONNECTIONS_FILE_ENV: &str = "OXFLOW_CONNECTIONS_FILE";

/// The environment variable holding connection `id`: `OXFLOW_CONN_` and the id upper-cased,
/// as Airflow's `AIRFLOW_CONN_{CONN_ID}`.
///
/// ```
/// assert_eq!(oxflow_runtime::conn::env_var_for("warehouse"), "OXFLOW_CONN_WAREHOUSE");
/// ```
pub fn env_var_for(id: &str) -> String {
    format!("OXFLOW_CONN_{}", id.to_uppercase())
}

/// Where a DAG run looks its connections up, first found first: connections given in code
/// ([`Connections::with`], for tests), the environment (`OXFLOW_CONN_<ID>`), the connections
/// file.
///
/// ```
/// use oxflow_runtime::conn::{Connection, Connections};
/// let conns = Connections::from_vars([("OXFLOW_CONN_API", "http://api.example.com")])
///     .with(Connection::new("cache", "redis"));
/// assert_eq!(conns.get("api")?.host.as_deref(), Some("api.example.com"));
/// assert_eq!(conns.get("cache")?.conn_type, "redis");
/// assert!(conns.get("warehouse").unwrap_err().to_string().contains("OXFLOW_CONN_WAREHOUSE"));
/// # Ok::<(), oxflow_runtime::conn::ConnError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Connections {
    /// The environment to read; `None` is this process's.
    vars: Option<BTreeMap<String, String>>,
    file: Option<PathBuf>,
    given: BTreeMap<String, Connection>,
}

impl Connections {
    /// This process's environment, and the file `OXFLOW_CONNECTIONS_FILE` names, if set.
    ///
    /// ```
    /// let conns = oxflow_runtime::conn::Connections::from_env();
    /// # let _ = conns;
    /// ```
    pub fn from_env() -> Connections {
        Connections {
            vars: None,
            file: std::env::var_os(CONNECTIONS_FILE_ENV)
                .filter(|f| !f.is_empty())
                .map(PathBuf::from),
            given: BTreeMap::new(),
        }
    }

    /// `vars` in place of the process environment (`OXFLOW_CONNECTIONS_FILE` among them names
    /// the file), for tests and for programs that hold their own configuration.
    ///
    /// ```
    /// let conns = oxflow_runtime::conn::Connections::from_vars([("OXFLOW_CONN_DB", "sqlite://")]);
    /// assert_eq!(conns.get("db").unwrap().conn_type, "sqlite");
    /// ```
    pub fn from_vars<K: Into<String>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Connections {
        let vars: BTreeMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Connections {
            file: vars
                .get(CONNECTIONS_FILE_ENV)
                .filter(|f| !f.is_empty())
                .map(PathBuf::from),
            vars: Some(vars),
            given: BTreeMap::new(),
        }
    }

    /// Looks in `file` (a `connections.ron`) for what the environment does not define,
    /// instead of the file `OXFLOW_CONNECTIONS_FILE` names.
    ///
    /// ```
    /// let conns = oxflow_runtime::conn::Connections::from_env().with_file("connections.ron");
    /// assert_eq!(conns.file(), Some("connections.ron".as_ref()));
    /// ```
    pub fn with_file(mut self, file: impl Into<PathBuf>) -> Connections {
        self.file = Some(file.into());
        self
    }

    /// Adds a connection that wins over the environment and the file: for tests, as Airflow's
    /// `dag.test(conn_file_path=...)`.
    ///
    /// ```
    /// use oxflow_runtime::conn::{Connection, Connections};
    /// let conns = Connections::from_vars([("OXFLOW_CONN_DB", "postgres://prod")]).with(Connection::new("db", "sqlite"));
    /// assert_eq!(conns.get("db").unwrap().conn_type, "sqlite");
    /// ```
    pub fn with(mut self, conn: Connection) -> Connections {
        self.given.insert(conn.id.clone(), conn);
        self
    }

    /// The connections file looked in, if any.
    ///
    /// ```
    /// let conns = oxflow_runtime::conn::Connections::from_vars([("OXFLOW_CONNECTIONS_FILE", "c.ron")]);
    /// assert_eq!(conns.file(), Some("c.ron".as_ref()));
    /// ```
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    fn var(&self, name: &str) -> Option<String> {
        match &self.vars {
            Some(v) => v.get(name).cloned(),
            None => std::env::var(name).ok(),
        }
    }

    /// Looks up connection `id` (reading the file, if needed, each time). Its secrets are not
    /// registered with the masker; [`Connections::resolve`] does that.
    ///
    /// ```
    /// let conns = oxflow_runtime::conn::Connections::from_vars([("OXFLOW_CONN_DB", r#"{"conn_type": "postgres", "port": 5433}"#)]);
    /// assert_eq!(conns.get("db").unwrap().port, Some(5433));
    /// ```
    pub fn get(&self, id: &str) -> Result<Connection, ConnError> {
        let mut file = None;
        self.lookup(id, &mut file)
    }

    fn lookup(
        &self,
        id: &str,
        file: &mut Option<Result<ConnectionsFile, String>>,
    ) -> Result<Connection, ConnError> {
        if let Some(c) = self.given.get(id) {
            return Ok(c.clone());
        }
        let var = env_var_for(id);
        if let Some(value) = self.var(&var).filter(|v| !v.trim().is_empty()) {
            // Airflow's rule: a value starting with `{` is JSON, anything else a URI.
            return if value.trim_start().starts_with('{') {
                uri::parse_json(id, &value).map_err(|reason| ConnError::InvalidJson {
                    id: id.to_owned(),
                    source_name: var,
                    reason,
                })
            } else {
                uri::parse(id, &value).map_err(|reason| ConnError::InvalidUri {
                    id: id.to_owned(),
                    source_name: var,
                    reason,
                })
            };
        }
        if let Some(path) = &self.file {
            let loaded =
                file.get_or_insert_with(|| ConnectionsFile::load(path).map_err(|e| e.to_string()));
            match loaded {
                Ok(f) => {
                    if let Some(found) = f.get(id) {
                        return found;
                    }
                }
                Err(message) => {
                    return Err(ConnError::Unusable {
                        id: id.to_owned(),
                        reason: format!("not in the environment ({var}), and {message}"),
                    });
                }
            }
        }
        Err(ConnError::Missing {
            id: id.to_owned(),
            env_var: var,
            file: self.file.clone(),
        })
    }

    /// Looks up every connection in `ids` (the file read once) and registers their secrets
    /// with the [`mask`]er; every missing or malformed one is reported, not only the first.
    ///
    /// ```
    /// use oxflow_runtime::conn::Connections;
    /// let conns = Connections::from_vars([("OXFLOW_CONN_A", "http://a"), ("OXFLOW_CONN_B", "nonsense")]);
    /// let errors = conns.resolve(["a", "b", "c"]).unwrap_err();
    /// assert_eq!(errors.len(), 2);
    /// assert!(errors[0].to_string().starts_with("connection `b`: OXFLOW_CONN_B is not a valid URI"));
    /// ```
    pub fn resolve<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a str>,
    ) -> Result<BTreeMap<String, Arc<Connection>>, Vec<ConnError>> {
        let mut file = None;
        let mut found = BTreeMap::new();
        let mut errors = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for id in ids {
            if !seen.insert(id) {
                continue;
            }
            match self.lookup(id, &mut file) {
                Ok(c) => {
                    for s in c.secrets() {
                        mask::mask_secret(&s);
                    }
                    found.insert(id.to_owned(), Arc::new(c));
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() {
            Ok(found)
        } else {
            Err(errors)
        }
    }
}
