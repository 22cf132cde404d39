//! The one SQLite connection of a [`SqlStore`](super::SqlStore): opening with the checks that
//! come before any write, connection settings, and transactions (`BEGIN IMMEDIATE`, savepoints
//! when nested).

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::Duration;

use parking_lot::{ReentrantMutex, ReentrantMutexGuard};
use rusqlite::{Connection, ErrorCode, OpenFlags};

use super::checkpoint::Checkpointer;
use super::schema;
use crate::tracking::TrackingError;
use crate::tracking::filter::like;

/// MLflow's own busy timeout; `OXFLOW_SQLITE_BUSY_TIMEOUT` (milliseconds) overrides it.
const DEFAULT_BUSY_TIMEOUT_MS: u64 = 20_000;

/// A connection, the file it is on (for messages), and how deep the current transaction is.
pub(super) struct Db {
    conn: ReentrantMutex<State>,
    /// The database file (`:memory:` for an in-memory one).
    pub(super) path: PathBuf,
    /// Opened read-only: every write fails with [`TrackingError::NotWritable`].
    pub(super) read_only: bool,
    busy_timeout_ms: std::sync::atomic::AtomicU64,
    /// Runs the WAL checkpoints of a database file opened for writing.
    checkpointer: Option<std::sync::Arc<Checkpointer>>,
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some(cp) = &self.checkpointer {
            cp.stop();
        }
    }
}

struct State {
    conn: Connection,
    /// 0 outside a transaction, 1 inside `BEGIN IMMEDIATE`, n > 1 inside n − 1 savepoints.
    depth: Cell<u32>,
}

/// A locked connection; derefs to [`Connection`].
pub(super) struct Guard<'a>(ReentrantMutexGuard<'a, State>);

impl std::ops::Deref for Guard<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        &self.0.conn
    }
}

fn busy_timeout_ms() -> u64 {
    std::env::var("OXFLOW_SQLITE_BUSY_TIMEOUT")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_BUSY_TIMEOUT_MS)
}

impl Db {
    /// Opens (or creates) the database at `path`. Nothing is written to an existing file
    /// before it is known to be an MLflow database of the schema revision oxflow writes.
    pub(super) fn open(
        path: &Path,
        artifact_root: &Path,
        force_read_only: bool,
    ) -> Result<Db, TrackingError> {
        let busy = busy_timeout_ms();
        let sql_err = |op: &'static str| {
            move |source: rusqlite::Error| TrackingError::Sql {
                path: path.to_path_buf(),
                op,
                source: Box::new(source),
            }
        };
        let exists = path.exists();
        if !exists {
            let parent = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            if !parent.is_dir() {
                return Err(TrackingError::Io {
                    op: "create the tracking database",
                    path: path.to_path_buf(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("directory `{}` does not exist", parent.display()),
                    ),
                });
            }
        } else {
            check_header(path)?;
        }
        if force_read_only && !exists {
            return Err(TrackingError::io(
                "open",
                path,
                std::io::Error::new(std::io::ErrorKind::NotFound, "no such database"),
            ));
        }
        let writable = !force_read_only && (!exists || is_writable(path));
        let (mut conn, read_only) = if writable {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE
                    | OpenFlags::SQLITE_OPEN_CREATE
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(sql_err("open"))?;
            (conn, false)
        } else {
            (open_read_only(path)?, true)
        };
        conn.busy_timeout(Duration::from_millis(busy))
            .map_err(sql_err("configure"))?;
        register_functions(&conn).map_err(sql_err("configure"))?;
        let checkpointer = if read_only {
            None
        } else {
            Some(
                Checkpointer::install(&mut conn, path, Duration::from_millis(busy))
                    .map_err(sql_err("configure"))?,
            )
        };
        let db = Db {
            conn: ReentrantMutex::new(State {
                conn,
                depth: Cell::new(0),
            }),
            path: path.to_path_buf(),
            read_only,
            busy_timeout_ms: busy.into(),
            checkpointer,
        };
        {
            let c = db.lock();
            let empty: i64 = c
                .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
                .map_err(|e| db.map_err("read the schema", e))?;
            if empty == 0 && !read_only {
                // A new database: WAL first (it persists in the file), then the schema in one
                // transaction; another process creating it at the same moment waits, and then
                // finds the tables made.
                db.configure_waiting(&c)?;
                db.write(|c| {
                    let n: i64 = c
                        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
                        .map_err(|e| db.map_err("read the schema", e))?;
                    if n == 0 {
                        schema::create(c, artifact_root).map_err(|e| db.map_err("create", e))?;
                    }
                    Ok(())
                })?;
            }
            schema::check(&c, path).map_err(|e| match e {
                schema::CheckError::Sql(e) => db.map_err("read the schema", e),
                schema::CheckError::Tracking(e) => e,
            })?;
            if !read_only && empty != 0 {
                db.configure_waiting(&c)?;
            }
            if read_only {
                c.execute_batch("PRAGMA case_sensitive_like=ON;")
                    .map_err(|e| db.map_err("configure", e))?;
            }
        }
        Ok(db)
    }

    /// An in-memory database with MLflow's schema.
    pub(super) fn in_memory(artifact_root: &Path) -> Result<Db, TrackingError> {
        let path = PathBuf::from(":memory:");
        let err = |source| TrackingError::Sql {
            path: path.clone(),
            op: "create",
            source: Box::new(source),
        };
        let conn = Connection::open_in_memory().map_err(err)?;
        register_functions(&conn).map_err(err)?;
        conn.execute_batch("PRAGMA foreign_keys=ON; PRAGMA case_sensitive_like=ON;")
            .map_err(err)?;
        let db = Db {
            conn: ReentrantMutex::new(State {
                conn,
                depth: Cell::new(0),
            }),
            path,
            read_only: false,
            busy_timeout_ms: 0.into(),
            checkpointer: None,
        };
        db.write(|c| schema::create(c, artifact_root).map_err(|e| db.map_err("create", e)))?;
        Ok(db)
    }

    /// [`Db::configure`], retried while another connection holds the lock, for as long as the
    /// busy timeout allows.
    ///
    /// Switching a new database to WAL takes a read transaction and then upgrades it to an
    /// exclusive one; when two processes do that at the same moment SQLite returns
    /// `SQLITE_BUSY` at once instead of calling the busy handler (waiting could deadlock), so
    /// the busy timeout alone does not cover it. Several processes opening a database that
    /// does not exist yet is the ordinary start of a parallel job.
    fn configure_waiting(&self, c: &Connection) -> Result<(), TrackingError> {
        let timeout = Duration::from_millis(
            self.busy_timeout_ms
                .load(std::sync::atomic::Ordering::Relaxed),
        );
        let start = std::time::Instant::now();
        let mut pause = Duration::from_millis(1);
        loop {
            match self.configure(c) {
                Err(TrackingError::DatabaseLocked { .. }) if start.elapsed() < timeout => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }

    fn configure(&self, c: &Connection) -> Result<(), TrackingError> {
        let mode: String = c
            .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
            .map_err(|e| self.map_err("switch to WAL mode", e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            tracing::warn!(path = %self.path.display(), mode, "the tracking database could not switch to WAL mode; concurrent writers will wait longer");
        }
        c.execute_batch(
            "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA case_sensitive_like=ON; \
             PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;",
        )
        .map_err(|e| self.map_err("configure", e))
    }

    /// Changes how long a write waits for another writer's lock.
    #[cfg(test)]
    pub(super) fn set_busy_timeout(&self, ms: u64) {
        let g = self.conn.lock();
        g.conn.busy_timeout(Duration::from_millis(ms)).unwrap();
        self.busy_timeout_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// The connection, locked for this thread (re-entrant).
    pub(super) fn lock(&self) -> Guard<'_> {
        Guard(self.conn.lock())
    }

    /// Turns an SQLite error into a [`TrackingError`] naming the database file.
    pub(super) fn map_err(&self, op: &'static str, e: rusqlite::Error) -> TrackingError {
        match e.sqlite_error_code() {
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                TrackingError::DatabaseLocked {
                    path: self.path.clone(),
                    timeout_ms: self
                        .busy_timeout_ms
                        .load(std::sync::atomic::Ordering::Relaxed),
                }
            }
            Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen) if self.read_only => {
                self.not_writable()
            }
            _ => TrackingError::Sql {
                path: self.path.clone(),
                op,
                source: Box::new(e),
            },
        }
    }

    pub(super) fn not_writable(&self) -> TrackingError {
        TrackingError::NotWritable {
            dir: self.path.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                "the database file or its directory is read-only; it was opened for reading only",
            ),
        }
    }

    /// Runs `f` in a write transaction: `BEGIN IMMEDIATE` … `COMMIT`, or a savepoint when one
    /// is already open on this thread. An error rolls back what `f` did.
    pub(super) fn write<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, TrackingError>,
    ) -> Result<T, TrackingError> {
        if self.read_only {
            return Err(self.not_writable());
        }
        let g = self.conn.lock();
        let depth = g.depth.get();
        let c = &g.conn;
        let (begin, commit, rollback) = if depth == 0 {
            (
                "BEGIN IMMEDIATE".to_string(),
                "COMMIT".to_string(),
                "ROLLBACK".to_string(),
            )
        } else {
            let sp = format!("oxflow_{depth}");
            (
                format!("SAVEPOINT {sp}"),
                format!("RELEASE {sp}"),
                format!("ROLLBACK TO {sp}; RELEASE {sp}"),
            )
        };
        c.prepare_cached(&begin)
            .and_then(|mut st| st.execute([]))
            .map_err(|e| self.map_err("begin a transaction", e))?;
        g.depth.set(depth + 1);
        let out = f(c);
        g.depth.set(depth);
        match out {
            Ok(v) => match c
                .prepare_cached(&commit)
                .and_then(|mut st| st.execute([]).map(drop))
            {
                Ok(()) => Ok(v),
                Err(e) => {
                    let _ = c.execute_batch(&rollback);
                    Err(self.map_err("commit", e))
                }
            },
            Err(e) => {
                if let Err(re) = c.execute_batch(&rollback) {
                    tracing::warn!(error = %re, "rollback failed");
                }
                Err(e)
            }
        }
    }
}

/// Refuses a file that does not start with SQLite's header (an empty file is a new database).
fn check_header(path: &Path) -> Result<(), TrackingError> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| TrackingError::io("open", path, e))?;
    let mut head = [0u8; 16];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => return Err(TrackingError::io("read", path, e)),
        }
    }
    if n == 0 {
        return Ok(());
    }
    if head[..n] != b"SQLite format 3\0"[..n] || n < 16 {
        return Err(TrackingError::NotSqlite {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Whether this process may write the database file and create its journal beside it.
fn is_writable(path: &Path) -> bool {
    use nix::unistd::{AccessFlags, access};
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    access(path, AccessFlags::W_OK).is_ok() && access(dir, AccessFlags::W_OK).is_ok()
}

/// A read-only connection: `mode=ro`, else `immutable=1` when SQLite cannot even create the
/// shared-memory file a WAL database needs (a read-only directory).
fn open_read_only(path: &Path) -> Result<Connection, TrackingError> {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let uri_path = percent_encode_path(&abs.display().to_string());
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let try_open = |query: &str| -> Result<Connection, rusqlite::Error> {
        let c = Connection::open_with_flags(format!("file:{uri_path}?{query}"), flags)?;
        c.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })?;
        Ok(c)
    };
    try_open("mode=ro")
        .or_else(|_| try_open("immutable=1"))
        .map_err(|source| TrackingError::Sql {
            path: path.to_path_buf(),
            op: "open read-only",
            source: Box::new(source),
        })
}

fn percent_encode_path(p: &str) -> String {
    p.bytes()
        .map(|b| {
            if b.is_ascii() && !matches!(b, b'?' | b'#' | b'%') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `oxflow_like(pattern, text, case_insensitive)`: MLflow's `LIKE`/`ILIKE` exactly as the file
/// store evaluates them (Unicode-aware case folding, which SQLite's `LIKE` lacks).
fn register_functions(c: &Connection) -> rusqlite::Result<()> {
    use rusqlite::functions::FunctionFlags;
    c.create_scalar_function(
        "oxflow_like",
        3,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let pattern: Option<String> = ctx.get(0)?;
            let text: Option<String> = ctx.get(1)?;
            let ci: bool = ctx.get(2)?;
            Ok(match (pattern, text) {
                (Some(p), Some(t)) => like(&p, &t, ci),
                _ => false,
            })
        },
    )
}
