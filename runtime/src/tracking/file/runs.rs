//! Run directories: creating them whole, finding them, their `meta.yaml`, params and tags.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use super::metrics::read_metric_file;
use super::{
    CachedRun, FileStore, Malformed, RESERVED_EXPERIMENT_FOLDERS, lock, read_kv_dir, walk_files,
};
use crate::tracking::backend::Store;
use crate::tracking::entities::{
    LIFECYCLE_ACTIVE, Metric, RunInfo, RunOptions, RunRecord, RunStatus, random_run_name,
};
use crate::tracking::fsutil::{self, path_to_file_uri, write_atomic};
use crate::tracking::meta::{self, DeletedTime};
use crate::tracking::validation::artifact_segments;
use crate::tracking::{TAG_PARENT_RUN_ID, TAG_RUN_NAME, TrackingError, now_ms};

impl FileStore {
    /// Creates a run in the experiment, RUNNING, with the given name, tags and parent.
    ///
    /// The run directory is assembled aside and renamed into the experiment, so it appears
    /// complete (meta.yaml and tags) or not at all.
    pub(super) fn new_run(
        &self,
        experiment_id: &str,
        opts: RunOptions,
    ) -> Result<RunInfo, TrackingError> {
        let exp_dir = self.exp_dir(experiment_id);
        let mut tags: Vec<(String, String)> = Vec::with_capacity(opts.tags.len() + 2);
        let run_name = match opts.run_name {
            Some(n) => n,
            None => opts
                .tags
                .iter()
                .find(|(k, _)| k == TAG_RUN_NAME)
                .map(|(_, val)| val.clone())
                .unwrap_or_else(random_run_name),
        };
        let start = opts.start_time_ms.unwrap_or_else(now_ms);
        let mut artifacts = Vec::with_capacity(opts.artifacts.len());
        for (rel, bytes) in &opts.artifacts {
            let segs = artifact_segments(rel)?;
            if segs.is_empty() || rel.ends_with('/') {
                return Err(TrackingError::InvalidArtifactPath {
                    path: rel.clone(),
                    reason: "an artifact file needs a file name".into(),
                });
            }
            artifacts.push((segs, bytes));
        }
        if let Some((_, end)) = opts.end
            && end < start
        {
            return Err(TrackingError::InvalidArgument {
                what: "end time",
                value: end.to_string(),
                reason: format!("is before the start time {start}"),
            });
        }
        if start < 0 {
            return Err(TrackingError::InvalidArgument {
                what: "start time",
                value: start.to_string(),
                reason: "must be milliseconds since the Unix epoch".into(),
            });
        }
        tags.push((TAG_RUN_NAME.to_string(), run_name.clone()));
        if let Some(parent) = &opts.parent_run_id {
            tags.push((TAG_PARENT_RUN_ID.to_string(), parent.clone()));
        }
        for (k, val) in opts.tags {
            if k != TAG_RUN_NAME && !(k == TAG_PARENT_RUN_ID && opts.parent_run_id.is_some()) {
                tags.push((k, val));
            }
        }

        let run_id = crate::tracking::entities::new_run_id();
        let run_dir = exp_dir.join(&run_id);
        let info = RunInfo {
            run_id: run_id.clone(),
            experiment_id: experiment_id.to_string(),
            run_name,
            status: opts.end.map_or(RunStatus::Running, |(status, _)| status),
            start_time_ms: start,
            end_time_ms: opts.end.map(|(_, end)| end),
            artifact_uri: path_to_file_uri(&run_dir.join("artifacts")),
            lifecycle_stage: LIFECYCLE_ACTIVE.into(),
            user_id: self.inner.user.clone(),
        };

        let tmp = fsutil::tmp_name(&self.inner.tmp);
        let build = || -> Result<(), TrackingError> {
            fsutil::create_dir(&tmp)?;
            // MLflow's `get_run` only accepts a run directory that has `metrics/`, `params/`
            // and `artifacts/` (`FileStore._is_valid_run_directory`, a path-traversal guard), so
            // all three are made up front even when empty.
            for sub in ["metrics", "params", "artifacts", "tags"] {
                fsutil::create_dir(&tmp.join(sub))?;
            }
            fsutil::write_new(
                &tmp.join("meta.yaml"),
                meta::run_meta_yaml(&info, DeletedTime::Null).as_bytes(),
            )?;
            for (k, val) in &tags {
                let p = tmp.join("tags").join(k);
                if k.contains('/')
                    && let Some(parent) = p.parent()
                {
                    fsutil::create_dir_all(parent)?;
                }
                // A repeated key in `opts.tags`: the last value wins, as with set_tags.
                let _ = fs::remove_file(&p);
                fsutil::write_new(&p, val.as_bytes())?;
            }
            for (segs, bytes) in &artifacts {
                let mut p = tmp.join("artifacts");
                p.extend(segs);
                if let Some(parent) = p.parent() {
                    fsutil::create_dir_all(parent)?;
                }
                fsutil::write_new(&p, bytes)?;
            }
            match fs::rename(&tmp, &run_dir) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound || !exp_dir.exists() => {
                    Err(TrackingError::ExperimentNotFound {
                        experiment: experiment_id.to_string(),
                    })
                }
                Err(e) => Err(TrackingError::io("create", &run_dir, e)),
            }
        };
        if !exp_dir.join("meta.yaml").exists() {
            return Err(TrackingError::ExperimentNotFound {
                experiment: experiment_id.to_string(),
            });
        }
        if let Err(e) = build() {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        lock(&self.inner.runs).insert(
            run_id,
            CachedRun {
                dir: run_dir,
                info: info.clone(),
            },
        );
        Ok(info)
    }

    /// Finds a run: from this process's cache, else by looking in every experiment.
    pub(super) fn locate(&self, run_id: &str) -> Result<CachedRun, TrackingError> {
        if let Some(c) = lock(&self.inner.runs).get(run_id) {
            return Ok(c.clone());
        }
        for exp in self.experiment_dirs(&self.inner.root)? {
            let dir = exp.join(run_id);
            if !dir.is_dir() {
                continue;
            }
            // The run's directory is here: a missing or malformed meta.yaml is an error naming
            // it, not "run not found".
            let info = parse_run_dir(&dir, run_id)?;
            let c = CachedRun { dir, info };
            lock(&self.inner.runs).insert(run_id.to_string(), c.clone());
            return Ok(c);
        }
        Err(TrackingError::RunNotFound {
            run_id: run_id.to_string(),
        })
    }

    /// Like `locate`, and refuses deleted runs (MLflow logs only to active runs).
    pub(super) fn active(&self, run_id: &str) -> Result<CachedRun, TrackingError> {
        let c = self.locate(run_id)?;
        if c.info.is_deleted() {
            return Err(TrackingError::RunDeleted {
                run_id: run_id.to_string(),
            });
        }
        Ok(c)
    }

    /// Re-reads a run's `meta.yaml` from disk (another process may have changed it).
    pub(super) fn reload(&self, run_id: &str) -> Result<CachedRun, TrackingError> {
        let c = self.locate(run_id)?;
        let path = c.dir.join("meta.yaml");
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                lock(&self.inner.runs).remove(run_id);
                return self.locate(run_id).and_then(|_| self.reload_once(run_id));
            }
            Err(e) => return Err(TrackingError::io("read", &path, e)),
        };
        let info = meta::parse_run_meta(&path, &text)?;
        let c = CachedRun { dir: c.dir, info };
        lock(&self.inner.runs).insert(run_id.to_string(), c.clone());
        Ok(c)
    }

    fn reload_once(&self, run_id: &str) -> Result<CachedRun, TrackingError> {
        let c = self.locate(run_id)?;
        let path = c.dir.join("meta.yaml");
        let text = fsutil::read_to_string(&path)?;
        let info = meta::parse_run_meta(&path, &text)?;
        Ok(CachedRun { dir: c.dir, info })
    }

    pub(super) fn write_run_meta(
        &self,
        dir: &Path,
        info: &RunInfo,
        deleted: DeletedTime,
    ) -> Result<(), TrackingError> {
        write_atomic(
            &self.inner.tmp,
            &dir.join("meta.yaml"),
            meta::run_meta_yaml(info, deleted).as_bytes(),
        )?;
        lock(&self.inner.runs).insert(
            info.run_id.clone(),
            CachedRun {
                dir: dir.to_path_buf(),
                info: info.clone(),
            },
        );
        Ok(())
    }

    /// A run's record from its directory: params, latest metrics and tags. A malformed file
    /// is an error naming it with [`Malformed::Fail`] (a run asked for by id), a warning naming
    /// it and a record without that value with [`Malformed::Warn`] (listings and searches).
    pub(super) fn read_record(
        &self,
        dir: &Path,
        info: RunInfo,
        malformed: Malformed,
    ) -> Result<RunRecord, TrackingError> {
        let params = read_kv_dir(&dir.join("params"), malformed)?;
        let tags = read_kv_dir(&dir.join("tags"), malformed)?;
        let mut metrics = BTreeMap::new();
        let mdir = dir.join("metrics");
        for (key, path) in walk_files(&mdir)? {
            let mut latest: Option<Metric> = None;
            let Some(values) = malformed.handle(read_metric_file(&path, &key))? else {
                continue;
            };
            for m in values {
                if latest.as_ref().is_none_or(|l| m.is_later_than(l)) {
                    latest = Some(m);
                }
            }
            if let Some(m) = latest {
                metrics.insert(key, m);
            }
        }
        let inputs = self.read_inputs(dir, malformed)?;
        Ok(RunRecord {
            info,
            params,
            metrics,
            tags,
            inputs,
        })
    }

    /// The experiment's active runs, newest first (by start time, then run id).
    pub fn list_runs(&self, experiment_id: &str) -> Result<Vec<RunInfo>, TrackingError> {
        Ok(self
            .list_run_infos(experiment_id, false)?
            .into_iter()
            .filter(|i| !i.is_deleted())
            .collect())
    }

    /// The experiment's runs, deleted ones too when `include_deleted`, newest first.
    pub fn list_run_infos(
        &self,
        experiment_id: &str,
        include_deleted: bool,
    ) -> Result<Vec<RunInfo>, TrackingError> {
        crate::tracking::validation::validate_experiment_id(experiment_id)?;
        Ok(self
            .run_dirs(experiment_id)?
            .into_iter()
            .map(|(_, i)| i)
            .filter(|i| include_deleted || !i.is_deleted())
            .collect())
    }

    /// Run directories of an experiment with their parsed `meta.yaml`, newest first.
    pub(super) fn run_dirs(
        &self,
        experiment_id: &str,
    ) -> Result<Vec<(PathBuf, RunInfo)>, TrackingError> {
        let mut out: Vec<(PathBuf, RunInfo)> = self
            .run_dir_entries(experiment_id)?
            .into_iter()
            .filter_map(|(dir, name)| read_run_info(&dir, &name).map(|i| (dir, i)))
            .collect();
        out.sort_by(|a, b| {
            b.1.start_time_ms
                .cmp(&a.1.start_time_ms)
                .then_with(|| a.1.run_id.cmp(&b.1.run_id))
        });
        Ok(out)
    }

    /// The candidate run directories of an experiment, as (path, directory name), unsorted and
    /// unread.
    pub(super) fn run_dir_entries(
        &self,
        experiment_id: &str,
    ) -> Result<Vec<(PathBuf, String)>, TrackingError> {
        let dir = self.exp_dir(experiment_id);
        if !dir.join("meta.yaml").exists() {
            return Err(TrackingError::ExperimentNotFound {
                experiment: experiment_id.to_string(),
            });
        }
        let rd = fs::read_dir(&dir).map_err(|e| TrackingError::io("list", &dir, e))?;
        let mut out = Vec::new();
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.')
                || RESERVED_EXPERIMENT_FOLDERS.contains(&name.as_str())
                || !entry.file_type().is_ok_and(|t| t.is_dir())
            {
                continue;
            }
            out.push((entry.path(), name));
        }
        Ok(out)
    }

    /// Full records of an experiment's runs (deleted ones too when `include_deleted`), newest
    /// first.
    pub fn list_run_records(
        &self,
        experiment_id: &str,
        include_deleted: bool,
    ) -> Result<Vec<RunRecord>, TrackingError> {
        crate::tracking::validation::validate_experiment_id(experiment_id)?;
        self.flush()?;
        self.run_dirs(experiment_id)?
            .into_iter()
            .filter(|(_, i)| include_deleted || !i.is_deleted())
            .map(|(d, i)| self.read_record(&d, i, Malformed::Warn))
            .collect()
    }

    /// Writes a param. Params are immutable: the same value again is fine, another value is
    /// [`TrackingError::ParamChanged`].
    pub(super) fn write_param(
        &self,
        dir: &Path,
        run_id: &str,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        let path = dir.join("params").join(key);
        if fsutil::create_atomic(&self.inner.tmp, &path, value.as_bytes())? {
            return Ok(());
        }
        let old = fsutil::read_to_string(&path)?;
        if old == value {
            Ok(())
        } else {
            Err(TrackingError::ParamChanged {
                key: key.to_string(),
                run_id: run_id.to_string(),
                old,
                new: value.to_string(),
            })
        }
    }

    pub(super) fn write_tags<'a>(
        &self,
        c: &CachedRun,
        tags: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<(), TrackingError> {
        let tdir = c.dir.join("tags");
        let mut new_name = None;
        for (k, val) in tags {
            write_atomic(&self.inner.tmp, &tdir.join(k), val.as_bytes())?;
            if k == TAG_RUN_NAME {
                new_name = Some(val.to_string());
            }
        }
        if let Some(name) = new_name {
            let mut info = self.reload(&c.info.run_id)?.info;
            if info.run_name != name {
                info.run_name = name;
                self.write_run_meta(&c.dir, &info, DeletedTime::Omit)?;
            }
        }
        Ok(())
    }
}

/// A run directory's `meta.yaml`, or `None` (with a warning for a malformed one) if the
/// directory is not a readable run: one malformed run must not hide the others, as in MLflow.
pub(crate) fn read_run_info(dir: &Path, name: &str) -> Option<RunInfo> {
    match parse_run_dir(dir, name) {
        Ok(info) => Some(info),
        Err(e) => {
            tracing::warn!("skipping a run that cannot be read: {e}");
            None
        }
    }
}

/// A run directory's `meta.yaml`, or an error naming the file: missing, unreadable, malformed,
/// or naming another run.
pub(crate) fn parse_run_dir(dir: &Path, name: &str) -> Result<RunInfo, TrackingError> {
    let path = dir.join("meta.yaml");
    let text = match fs::read(&path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map_err(|e| TrackingError::corrupt(&path, format!("not UTF-8 text: {e}")))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(TrackingError::corrupt(
                &path,
                "missing: the run directory has no meta.yaml",
            ));
        }
        Err(e) => return Err(TrackingError::io("read", &path, e)),
    };
    let info = meta::parse_run_meta(&path, &text)?;
    if info.run_id != name {
        return Err(TrackingError::corrupt(
            &path,
            format!("names run `{}`, but its directory is `{name}`", info.run_id),
        ));
    }
    Ok(info)
}
