//! Tracking URIs: which backend a URI names, and MLflow's rule for the default one.

use std::path::{Path, PathBuf};

use super::{FileStore, RestStore, SqlStore, TrackingError, TrackingStore, fsutil};

/// The backend a tracking URI names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrackingUri {
    /// `sqlite:///path/to.db` (three slashes and a relative path, four for an absolute one,
    /// as SQLAlchemy spells it).
    Sqlite(PathBuf),
    /// A plain path or `file://` URI: MLflow's file store.
    File(PathBuf),
    /// `http(s)://…`: an MLflow tracking server.
    Http(String),
}

/// MLflow's default when no URI is set and `./mlruns` holds no file-store data.
pub const DEFAULT_SQLITE_URI: &str = "sqlite:///mlflow.db";

impl TrackingUri {
    /// Parses a tracking URI.
    ///
    /// ```
    /// use std::path::PathBuf;
    /// use oxflow_runtime::tracking::TrackingUri;
    /// assert_eq!(TrackingUri::parse("sqlite:///mlflow.db")?, TrackingUri::Sqlite("mlflow.db".into()));
    /// assert_eq!(TrackingUri::parse("sqlite:////tmp/m.db")?, TrackingUri::Sqlite("/tmp/m.db".into()));
    /// assert_eq!(TrackingUri::parse("./mlruns")?, TrackingUri::File("./mlruns".into()));
    /// assert!(TrackingUri::parse("postgresql://db/mlflow").is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn parse(uri: &str) -> Result<TrackingUri, TrackingError> {
        let bad = |reason: String| TrackingError::InvalidUri {
            uri: uri.to_string(),
            reason,
        };
        if uri.trim().is_empty() {
            return Err(bad("the URI is empty".into()));
        }
        if uri.starts_with("http://") || uri.starts_with("https://") {
            return Ok(TrackingUri::Http(uri.trim_end_matches('/').to_string()));
        }
        if let Some(rest) = uri.strip_prefix("sqlite:") {
            // SQLAlchemy: `sqlite:///rel.db`, `sqlite:////abs.db`; query strings are not ours.
            let Some(path) = rest.strip_prefix("///") else {
                return Err(bad(
                    "a SQLite URI is `sqlite:///relative.db` or `sqlite:////absolute/path.db`"
                        .into(),
                ));
            };
            let path = path.split('?').next().unwrap_or_default();
            if path.is_empty() || path == ":memory:" {
                return Err(bad(
                    "name a database file (an in-memory database keeps nothing)".into(),
                ));
            }
            return Ok(TrackingUri::Sqlite(PathBuf::from(path)));
        }
        if let Some(rest) = uri.strip_prefix("file:") {
            let path = if rest.starts_with("//") {
                fsutil::file_uri_to_path(uri)
                    .ok_or_else(|| bad("a `file://` URI must name a local absolute path".into()))?
            } else {
                PathBuf::from(rest)
            };
            return Ok(TrackingUri::File(path));
        }
        if let Some((scheme, _)) = uri.split_once("://") {
            let hint = if scheme.starts_with("postgres") || scheme.starts_with("mysql") {
                "; oxflow writes MLflow's schema to SQLite only: point it at `mlflow server \
                 --backend-store-uri …` over http(s) instead"
            } else {
                ""
            };
            return Err(bad(format!(
                "scheme `{scheme}` is not supported; use `sqlite:///…`, a path, `file://` or \
                 `http(s)://`{hint}"
            )));
        }
        Ok(TrackingUri::File(PathBuf::from(uri)))
    }
}

/// Opens the store a URI names.
pub(super) fn open(uri: &str) -> Result<TrackingStore, TrackingError> {
    Ok(match TrackingUri::parse(uri)? {
        TrackingUri::Sqlite(path) => SqlStore::open(path)?.into(),
        TrackingUri::File(path) => FileStore::open(path)?.into(),
        TrackingUri::Http(url) => RestStore::new(&url)?.into(),
    })
}

/// The tracking URI from `OXFLOW_TRACKING_URI`, else `MLFLOW_TRACKING_URI`, else MLflow's own
/// default (3.7 and later): `./mlruns` when it already holds file-store data (a digit-named
/// directory with a `meta.yaml`), else `sqlite:///mlflow.db` in the working directory.
pub fn tracking_uri_from_env() -> String {
    ["OXFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default_tracking_uri(Path::new(".")))
}

/// MLflow's default tracking URI for a working directory (`_get_default_tracking_uri`).
///
/// ```
/// use oxflow_runtime::tracking::default_tracking_uri;
/// # let dir = tempfile::tempdir()?;
/// assert_eq!(default_tracking_uri(dir.path()), "sqlite:///mlflow.db");
/// std::fs::create_dir_all(dir.path().join("mlruns/0"))?;
/// std::fs::write(dir.path().join("mlruns/0/meta.yaml"), "name: Default\n")?;
/// assert_eq!(default_tracking_uri(dir.path()), "./mlruns");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn default_tracking_uri(cwd: &Path) -> String {
    let mlruns = cwd.join("mlruns");
    let has_file_store_data = std::fs::read_dir(&mlruns).is_ok_and(|rd| {
        rd.flatten().any(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_digit())
                && e.path().join("meta.yaml").is_file()
        })
    });
    if has_file_store_data {
        "./mlruns".to_string()
    } else {
        DEFAULT_SQLITE_URI.to_string()
    }
}
