//! Run artifacts of a [`SqlStore`]: local files under the run's `artifact_uri` (a plain path, as
//! MLflow stores it, or `file://`), written whole by rename, with no directory made before a
//! file needs it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::OptionalExtension;

use super::SqlStore;
use crate::tracking::TrackingError;
use crate::tracking::entities::ArtifactEntry;
use crate::tracking::fsutil;
use crate::tracking::validation::artifact_segments;

/// The segments of an artifact file path (refusing a path that names no file).
pub(super) fn file_segments(rel: &str) -> Result<Vec<String>, TrackingError> {
    let segs = artifact_segments(rel)?;
    if segs.is_empty() || rel.ends_with('/') {
        return Err(TrackingError::InvalidArtifactPath {
            path: rel.to_string(),
            reason: "an artifact file needs a file name".into(),
        });
    }
    Ok(segs.into_iter().map(str::to_string).collect())
}

/// The local directory of a run's artifacts, from its `artifact_uri`.
pub(super) fn local_root(artifact_uri: &str, run_id: &str) -> Result<PathBuf, TrackingError> {
    if artifact_uri.starts_with("file:") {
        return fsutil::file_uri_to_path(artifact_uri)
            .ok_or_else(|| unsupported(artifact_uri, run_id));
    }
    let p = Path::new(artifact_uri);
    if p.is_absolute() {
        Ok(p.to_path_buf())
    } else {
        Err(unsupported(artifact_uri, run_id))
    }
}

fn unsupported(uri: &str, run_id: &str) -> TrackingError {
    TrackingError::Unsupported {
        operation: "artifact access",
        store: "the SQLite store",
        reason: format!(
            "run `{run_id}` keeps its artifacts at `{uri}`, which is not a local path; \
             read them through the MLflow server that wrote them"
        ),
    }
}

/// Writes `bytes` to `root/segs…` through a temporary file in the same directory and a rename,
/// so a reader sees the whole file or none.
pub(super) fn write_file(root: &Path, segs: &[String], bytes: &[u8]) -> Result<(), TrackingError> {
    let mut target = root.to_path_buf();
    target.extend(segs);
    let dir = target.parent().unwrap_or(root);
    let tmp = fsutil::tmp_name(dir);
    let create = || {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
    };
    let mut f = match create() {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fsutil::create_dir_all(dir)?;
            create().map_err(|e| TrackingError::io("create", &tmp, e))?
        }
        Err(e) => return Err(TrackingError::io("create", &tmp, e)),
    };
    let res = f
        .write_all(bytes)
        .map_err(|e| TrackingError::io("write", &tmp, e))
        .and_then(|()| {
            fs::rename(&tmp, &target).map_err(|e| TrackingError::io("write", &target, e))
        });
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res
}

impl SqlStore {
    fn artifact_uri(&self, run_id: &str) -> Result<String, TrackingError> {
        let c = self.db().lock();
        c.prepare_cached("SELECT artifact_uri FROM runs WHERE run_uuid = ?1")
            .and_then(|mut st| st.query_row([run_id], |r| r.get::<_, Option<String>>(0)))
            .optional()
            .map_err(|e| self.db().map_err("read a run", e))?
            .ok_or_else(|| TrackingError::RunNotFound {
                run_id: run_id.to_string(),
            })
            .map(Option::unwrap_or_default)
    }

    /// The local path of a run artifact (which need not exist yet).
    pub(super) fn artifact_path(&self, run_id: &str, rel: &str) -> Result<PathBuf, TrackingError> {
        let segs = artifact_segments(rel)?;
        let mut p = local_root(&self.artifact_uri(run_id)?, run_id)?;
        p.extend(segs);
        Ok(p)
    }

    pub(super) fn log_artifact_bytes_impl(
        &self,
        run_id: &str,
        rel: &str,
        bytes: &[u8],
    ) -> Result<(), TrackingError> {
        let segs = file_segments(rel)?;
        let uri = {
            let c = self.db().lock();
            self.active_run(&c, run_id)?.artifact_uri
        };
        write_file(&local_root(&uri, run_id)?, &segs, bytes)
    }

    pub(super) fn read_artifact_impl(
        &self,
        run_id: &str,
        rel: &str,
    ) -> Result<Vec<u8>, TrackingError> {
        let p = self.artifact_path(run_id, rel)?;
        fs::read(&p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => TrackingError::ArtifactNotFound {
                run_id: run_id.to_string(),
                path: rel.to_string(),
            },
            _ => TrackingError::io("read", &p, e),
        })
    }

    pub(super) fn list_artifacts_impl(
        &self,
        run_id: &str,
        dir: &str,
    ) -> Result<Vec<ArtifactEntry>, TrackingError> {
        let prefix = artifact_segments(dir)?.join("/");
        let base = self.artifact_path(run_id, dir)?;
        let rd = match fs::read_dir(&base) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(TrackingError::io("list", &base, e)),
        };
        let mut out = Vec::new();
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(".oxflow-") && name.ends_with(".tmp") {
                continue;
            }
            let md = entry
                .metadata()
                .map_err(|e| TrackingError::io("stat", entry.path(), e))?;
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            out.push(ArtifactEntry {
                path,
                is_dir: md.is_dir(),
                file_size: if md.is_dir() { None } else { Some(md.len()) },
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }
}
