//! `PostgresHook`: a PostgreSQL client configured by a connection (the `postgres` feature).

use super::{ConnError, Connection};

/// A PostgreSQL client configured by a connection, as Airflow's `PostgresHook`: `host`,
/// `port` (default 5432), `login`, `password`, `schema` as the database, and `extra` keys
/// `sslmode` (`disable`, `allow` or `prefer`: this hook connects without TLS) and
/// `connect_timeout` (seconds).
///
/// Built on the `postgres` crate (the blocking client over `tokio-postgres`), re-exported as
/// [`oxflow::conn::postgres`](crate::conn::postgres) for its `Row` and `types`. Call it from a
/// sync task, which oxflow runs on tokio's blocking pool: the client runs a runtime of its own,
/// which cannot start on a thread already inside tokio (an async task).
///
/// ```no_run
/// use oxflow_runtime::conn::{Connection, PostgresHook};
/// # fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let conn = Connection::from_uri("warehouse", "postgres://etl:pw@127.0.0.1:5432/sales?sslmode=disable")?;
/// let hook = PostgresHook::new(&conn)?;
/// hook.run("CREATE TABLE IF NOT EXISTS t (id int)")?;
/// let rows = hook.get_records("SELECT id FROM t WHERE id > $1", &[&0i32])?;
/// # let _ = rows; Ok(()) }
/// ```
#[derive(Clone)]
pub struct PostgresHook {
    conn_id: String,
    config: postgres::Config,
}

impl std::fmt::Debug for PostgresHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresHook")
            .field("conn_id", &self.conn_id)
            .finish_non_exhaustive()
    }
}

/// A PostgreSQL hook that could not connect or run a statement.
///
/// ```no_run
/// # let conn = oxflow_runtime::conn::Connection::from_uri("w", "postgres://u:p@db/sales").unwrap();
/// let hook = oxflow_runtime::conn::PostgresHook::new(&conn).unwrap();
/// if let Err(e) = hook.run("SELECT 1") {
///     eprintln!("{e}"); // connection `w`: cannot connect to PostgreSQL: ...
/// }
/// ```
#[derive(Debug, thiserror::Error)]
pub enum PostgresError {
    /// The server could not be reached or refused the login.
    #[error("connection `{conn_id}`: cannot connect to PostgreSQL: {source}")]
    Connect {
        /// The connection.
        conn_id: String,
        /// The client's error.
        source: postgres::Error,
    },
    /// A statement failed.
    #[error("connection `{conn_id}`: {source}")]
    Query {
        /// The connection.
        conn_id: String,
        /// The client's error.
        source: postgres::Error,
    },
}

impl PostgresHook {
    /// The hook of `conn`; an error naming the field when one cannot be used.
    ///
    /// ```
    /// use oxflow_runtime::conn::{Connection, PostgresHook};
    /// let ok = Connection::from_uri("w", "postgres://u:p@db:5433/sales?sslmode=disable").unwrap();
    /// assert!(PostgresHook::new(&ok).is_ok());
    /// let tls = Connection::from_uri("w", "postgres://u:p@db/sales?sslmode=verify-full").unwrap();
    /// assert!(PostgresHook::new(&tls).unwrap_err().to_string().contains("sslmode"));
    /// ```
    pub fn new(conn: &Connection) -> Result<PostgresHook, ConnError> {
        let unusable = |reason: String| ConnError::Unusable {
            id: conn.id.clone(),
            reason,
        };
        if !matches!(conn.conn_type.as_str(), "postgres" | "postgresql") {
            return Err(unusable(format!(
                "the PostgreSQL hook needs a `postgres` connection, not `{}`",
                conn.conn_type
            )));
        }
        let mut config = postgres::Config::new();
        config.host(
            conn.host
                .as_deref()
                .filter(|h| !h.is_empty())
                .unwrap_or("localhost"),
        );
        config.port(conn.port.unwrap_or(5432));
        if let Some(l) = &conn.login {
            config.user(l);
        }
        if let Some(p) = &conn.password {
            config.password(p);
        }
        if let Some(db) = conn.schema.as_deref().filter(|s| !s.is_empty()) {
            config.dbname(db);
        }
        match conn.extra_str("sslmode").as_deref() {
            None | Some("disable" | "allow" | "prefer") => {
                config.ssl_mode(postgres::config::SslMode::Disable);
            }
            Some(other) => {
                return Err(unusable(format!(
                    "extra `sslmode` is `{other}`, but the PostgreSQL hook connects without TLS; use `disable` or `prefer`"
                )));
            }
        }
        if let Some(t) = conn.extra_str("connect_timeout") {
            let secs: u64 = t.trim().parse().map_err(|_| {
                unusable(format!(
                    "extra `connect_timeout` is `{t}`, not a whole number of seconds"
                ))
            })?;
            config.connect_timeout(std::time::Duration::from_secs(secs));
        }
        config.application_name("oxflow");
        Ok(PostgresHook {
            conn_id: conn.id.clone(),
            config,
        })
    }

    /// A new client session, for transactions and prepared statements.
    ///
    /// ```no_run
    /// # let conn = oxflow_runtime::conn::Connection::from_uri("w", "postgres://u:p@db/sales").unwrap();
    /// let hook = oxflow_runtime::conn::PostgresHook::new(&conn).unwrap();
    /// let mut client = hook.connect().unwrap();
    /// let mut tx = client.transaction().unwrap();
    /// tx.execute("DELETE FROM staging", &[]).unwrap();
    /// tx.commit().unwrap();
    /// ```
    pub fn connect(&self) -> Result<postgres::Client, PostgresError> {
        self.config
            .connect(postgres::NoTls)
            .map_err(|source| PostgresError::Connect {
                conn_id: self.conn_id.clone(),
                source,
            })
    }

    fn query_error(&self, source: postgres::Error) -> PostgresError {
        PostgresError::Query {
            conn_id: self.conn_id.clone(),
            source,
        }
    }

    /// Runs `sql`, one or more statements separated by `;`, without parameters (Airflow's
    /// `run`), in one session.
    ///
    /// ```no_run
    /// # let conn = oxflow_runtime::conn::Connection::from_uri("w", "postgres://u:p@db/sales").unwrap();
    /// let hook = oxflow_runtime::conn::PostgresHook::new(&conn).unwrap();
    /// hook.run("CREATE TABLE IF NOT EXISTS t (id int); TRUNCATE t").unwrap();
    /// ```
    pub fn run(&self, sql: &str) -> Result<(), PostgresError> {
        let mut client = self.connect()?;
        client.batch_execute(sql).map_err(|e| self.query_error(e))
    }

    /// Runs one statement with parameters (`$1`, `$2`, ...) and returns how many rows it
    /// changed.
    ///
    /// ```no_run
    /// # let conn = oxflow_runtime::conn::Connection::from_uri("w", "postgres://u:p@db/sales").unwrap();
    /// let hook = oxflow_runtime::conn::PostgresHook::new(&conn).unwrap();
    /// let n = hook.execute("INSERT INTO t (id) VALUES ($1)", &[&7i32]).unwrap();
    /// assert_eq!(n, 1);
    /// ```
    pub fn execute(
        &self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<u64, PostgresError> {
        let mut client = self.connect()?;
        client.execute(sql, params).map_err(|e| self.query_error(e))
    }

    /// Runs a query with parameters and returns its rows (Airflow's `get_records`).
    ///
    /// ```no_run
    /// # let conn = oxflow_runtime::conn::Connection::from_uri("w", "postgres://u:p@db/sales").unwrap();
    /// let hook = oxflow_runtime::conn::PostgresHook::new(&conn).unwrap();
    /// let ids: Vec<i32> = hook.get_records("SELECT id FROM t", &[]).unwrap().iter().map(|r| r.get(0)).collect();
    /// ```
    pub fn get_records(
        &self,
        sql: &str,
        params: &[&(dyn postgres::types::ToSql + Sync)],
    ) -> Result<Vec<postgres::Row>, PostgresError> {
        let mut client = self.connect()?;
        client.query(sql, params).map_err(|e| self.query_error(e))
    }
}
