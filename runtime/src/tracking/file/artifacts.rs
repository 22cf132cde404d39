//! Run artifacts: files under the run's artifact URI (`<run>/artifacts/` by default).

use std::fs;
use std::path::PathBuf;

use super::{CachedRun, FileStore};
use crate::tracking::TrackingError;
use crate::tracking::entities::ArtifactEntry;
use crate::tracking::fsutil::{self, write_atomic};
use crate::tracking::validation::artifact_segments;

impl FileStore {
    fn artifact_root(&self, c: &CachedRun) -> PathBuf {
        fsutil::file_uri_to_path(&c.info.artifact_uri).unwrap_or_else(|| c.dir.join("artifacts"))
    }

    /// The local path of a run artifact (which need not exist yet). Refuses paths that would
    /// leave the run's artifact directory.
    pub fn artifact_path(&self, run_id: &str, rel_path: &str) -> Result<PathBuf, TrackingError> {
        crate::tracking::validation::validate_run_id(run_id)?;
        let segs = artifact_segments(rel_path)?;
        let c = self.locate(run_id)?;
        let mut p = self.artifact_root(&c);
        p.extend(segs);
        Ok(p)
    }

    /// Writes an artifact file from bytes (whole file, by rename).
    pub(super) fn write_artifact(
        &self,
        run_id: &str,
        rel_path: &str,
        bytes: &[u8],
    ) -> Result<(), TrackingError> {
        let segs = artifact_segments(rel_path)?;
        if segs.is_empty() || rel_path.ends_with('/') {
            return Err(TrackingError::InvalidArtifactPath {
                path: rel_path.to_string(),
                reason: "an artifact file needs a file name".into(),
            });
        }
        let c = self.active(run_id)?;
        let mut p = self.artifact_root(&c);
        p.extend(segs);
        write_atomic(&self.inner.tmp, &p, bytes)
    }

    /// Reads an artifact file.
    pub(super) fn read_artifact_file(
        &self,
        run_id: &str,
        rel_path: &str,
    ) -> Result<Vec<u8>, TrackingError> {
        let p = self.artifact_path(run_id, rel_path)?;
        fs::read(&p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => TrackingError::ArtifactNotFound {
                run_id: run_id.to_string(),
                path: rel_path.to_string(),
            },
            _ => TrackingError::io("read", &p, e),
        })
    }

    /// Lists one artifact directory (`""` for the root), sorted by path, as MLflow lists it.
    pub(super) fn list_artifact_dir(
        &self,
        run_id: &str,
        dir: &str,
    ) -> Result<Vec<ArtifactEntry>, TrackingError> {
        let segs = artifact_segments(dir)?;
        let base = self.artifact_path(run_id, dir)?;
        let rd = match fs::read_dir(&base) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(TrackingError::io("list", &base, e)),
        };
        let prefix = segs.join("/");
        let mut out = Vec::new();
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
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
