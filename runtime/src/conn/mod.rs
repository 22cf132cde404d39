//! Connections: where a task finds an external system (a database, an HTTP API) and its
//! credentials, by id, as Airflow's connections work.
//!
//! A [`Connection`] has Airflow's fields: `conn_type`, `host`, `login`, `password`, `schema`,
//! `port` and JSON `extra`. It comes from, first found first:
//!
//! 1. the environment variable `OXFLOW_CONN_<ID>` (the id upper-cased, as Airflow's
//!    `AIRFLOW_CONN_<CONN_ID>`), holding Airflow's URI form
//!    (`postgres://user:p%40ss@host:5432/db?sslmode=disable`) or its JSON form
//!    (`{"conn_type": "postgres", "host": ...}`);
//! 2. a `connections.ron` file, named by `--connections FILE` on a pipeline binary or by
//!    `OXFLOW_CONNECTIONS_FILE` ([`ConnectionsFile`]).
//!
//! A task declares what it needs, `#[task(conns = ["warehouse"])]`, and reads it through its
//! context, `ctx.connection("warehouse")?`. Every declared connection is looked up and parsed
//! before any task of the DAG run starts, so a missing or malformed one fails the run at once,
//! naming the id and what is wrong, instead of failing task 57 an hour in.
//!
//! Secrets are masked ([`mask`]): once a run has looked up its connections, their passwords and
//! the extra fields whose names contain a sensitive word show as `***` in task logs, tags,
//! params and error messages, as Airflow's secrets masker hides them. `Display` and `Debug`
//! of a [`Connection`] always mask.
//!
//! Hooks wrap clients around a connection: [`HttpHook`] (base URL, basic or bearer auth,
//! retries with backoff, a timeout) and, with the `postgres` feature, `PostgresHook`.
//!
//! ```
//! use oxflow_runtime::conn::Connection;
//! let c = Connection::from_uri("warehouse", "postgresql://etl:p%40ss@db:5432/sales?sslmode=disable")?;
//! assert_eq!((c.conn_type.as_str(), c.host.as_deref(), c.port), ("postgres", Some("db"), Some(5432)));
//! assert_eq!(c.password.as_deref(), Some("p@ss"));
//! assert_eq!(c.extra["sslmode"], "disable");
//! assert_eq!(c.to_string(), "postgres://etl:***@db:5432/sales?sslmode=disable");
//! # Ok::<(), oxflow_runtime::conn::ConnError>(())
//! ```

mod error;
mod file;
mod http;
pub mod mask;
#[cfg(feature = "postgres")]
mod pg;
mod resolve;
mod uri;

use std::fmt;

use serde_json::{Map, Value};

/// The PostgreSQL client the hook is built on, for its `Row`, `types` and `Client`.
#[cfg(feature = "postgres")]
pub use ::postgres;
pub use error::ConnError;
pub use file::ConnectionsFile;
pub use http::{HttpError, HttpHook, HttpResponse};
#[cfg(feature = "postgres")]
pub use pg::{PostgresError, PostgresHook};
pub use resolve::{CONNECTIONS_FILE_ENV, Connections, env_var_for};

/// One connection: an external system and how to log in to it (Airflow's `Connection`).
///
/// `Display` shows it in Airflow's URI form and `Debug` as a struct, both with the password and
/// sensitive extras masked as `***`.
///
/// ```
/// use oxflow_runtime::conn::Connection;
/// let mut c = Connection::new("api", "http");
/// c.host = Some("example.com".into());
/// c.password = Some("hunter2-secret".into());
/// assert!(!format!("{c:?}").contains("hunter2"));
/// ```
#[derive(Clone, PartialEq)]
pub struct Connection {
    /// The connection's id, such as `warehouse`.
    pub id: String,
    /// What kind of system: `postgres`, `http`, ... (the URI's scheme, `-` read as `_` and
    /// `postgresql` as `postgres`, as Airflow reads them).
    pub conn_type: String,
    /// The host name (or, for an HTTP connection, `https://host` with its protocol).
    pub host: Option<String>,
    /// The user name.
    pub login: Option<String>,
    /// The password; masked wherever the connection is shown.
    pub password: Option<String>,
    /// Airflow's `schema`: the database of a SQL connection, the protocol (`http`, `https`) of
    /// an HTTP one.
    pub schema: Option<String>,
    /// The port.
    pub port: Option<u16>,
    /// Everything else, as JSON (Airflow's `extra`): `sslmode`, `token`, ...
    pub extra: Map<String, Value>,
}

impl Connection {
    /// A connection of type `conn_type` with nothing else set.
    ///
    /// ```
    /// let c = oxflow_runtime::conn::Connection::new("warehouse", "postgres");
    /// assert!(c.host.is_none() && c.extra.is_empty());
    /// ```
    pub fn new(id: &str, conn_type: &str) -> Connection {
        Connection {
            id: id.to_owned(),
            conn_type: conn_type.to_owned(),
            host: None,
            login: None,
            password: None,
            schema: None,
            port: None,
            extra: Map::new(),
        }
    }

    /// Parses Airflow's URI form: `type://login:password@host:port/schema?key=value`, each part
    /// percent-decoded; query parameters become `extra`, unless one is `__extra__`, which holds
    /// the whole `extra` as JSON.
    ///
    /// ```
    /// use oxflow_runtime::conn::Connection;
    /// let c = Connection::from_uri("api", "my-api://h?__extra__=%7B%22token%22%3A+%22abc123%22%7D")?;
    /// assert_eq!(c.conn_type, "my_api");
    /// assert_eq!(c.extra["token"], "abc123");
    /// assert!(Connection::from_uri("db", "postgres://h:port/x").is_err());
    /// # Ok::<(), oxflow_runtime::conn::ConnError>(())
    /// ```
    pub fn from_uri(id: &str, uri: &str) -> Result<Connection, ConnError> {
        uri::parse(id, uri).map_err(|reason| ConnError::InvalidUri {
            id: id.to_owned(),
            source_name: "the value".to_owned(),
            reason,
        })
    }

    /// Parses Airflow's JSON form: `{"conn_type": ..., "host": ..., "login": ...,
    /// "password": ..., "schema": ..., "port": ..., "extra": {...}}` (`extra` may also be a
    /// JSON object in a string, as Airflow stores it). Other keys are refused.
    ///
    /// ```
    /// use oxflow_runtime::conn::Connection;
    /// let c = Connection::from_json("db", r#"{"conn_type": "postgres", "host": "db", "port": 5432, "extra": {"sslmode": "require"}}"#)?;
    /// assert_eq!((c.port, c.extra["sslmode"].as_str()), (Some(5432), Some("require")));
    /// assert!(Connection::from_json("db", r#"{"conn_type": "postgres", "hots": "db"}"#).is_err());
    /// # Ok::<(), oxflow_runtime::conn::ConnError>(())
    /// ```
    pub fn from_json(id: &str, text: &str) -> Result<Connection, ConnError> {
        uri::parse_json(id, text).map_err(|reason| ConnError::InvalidJson {
            id: id.to_owned(),
            source_name: "the value".to_owned(),
            reason,
        })
    }

    /// An extra field as a string (a JSON string, or a number or boolean written out).
    ///
    /// ```
    /// let c = oxflow_runtime::conn::Connection::from_uri("db", "postgres://h/db?sslmode=require&connect_timeout=10").unwrap();
    /// assert_eq!(c.extra_str("sslmode").as_deref(), Some("require"));
    /// assert_eq!(c.extra_str("missing"), None);
    /// ```
    pub fn extra_str(&self, key: &str) -> Option<String> {
        match self.extra.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// The secrets this connection holds: its password and every string inside an extra field
    /// whose name contains a sensitive word ([`mask::is_sensitive_key`]).
    ///
    /// ```
    /// let c = oxflow_runtime::conn::Connection::from_json("api", r#"{"conn_type": "http", "password": "pw-12345", "extra": {"api_key": "k-98765", "region": "eu"}}"#).unwrap();
    /// assert_eq!(c.secrets(), ["pw-12345", "k-98765"]);
    /// ```
    pub fn secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = self.password.iter().cloned().collect();
        for (k, v) in &self.extra {
            if mask::is_sensitive_key(k) {
                mask::strings_in(v, &mut out);
            } else {
                mask::sensitive_strings_in(v, &mut out);
            }
        }
        out
    }

    /// Airflow's URI form with the password in it, percent-encoded: what `OXFLOW_CONN_<ID>`
    /// takes, or a client that wants a URI. Unlike `Display`, this is not masked.
    ///
    /// ```
    /// let c = oxflow_runtime::conn::Connection::from_uri("db", "postgres://u:p%40ss@h:5432/db").unwrap();
    /// assert_eq!(c.to_uri(), "postgres://u:p%40ss@h:5432/db");
    /// ```
    pub fn to_uri(&self) -> String {
        uri::to_uri(self)
    }

    /// `extra` with the values of sensitive fields replaced by `***`.
    fn masked_extra(&self) -> Map<String, Value> {
        let mut extra = Value::Object(self.extra.clone());
        mask::redact_sensitive_fields(&mut extra);
        match extra {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }
}

impl fmt::Display for Connection {
    /// Airflow's URI form, with the password and sensitive extras masked.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let masked = Connection {
            extra: self.masked_extra(),
            ..self.clone()
        };
        f.write_str(&uri::render(
            &masked,
            self.password.as_ref().map(|_| mask::MASK),
            true,
        ))
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.id)
            .field("conn_type", &self.conn_type)
            .field("host", &self.host)
            .field("login", &self.login)
            .field("password", &self.password.as_ref().map(|_| mask::MASK))
            .field("schema", &self.schema)
            .field("port", &self.port)
            .field("extra", &Value::Object(self.masked_extra()))
            .finish()
    }
}
