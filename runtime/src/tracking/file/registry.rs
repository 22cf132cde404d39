//! The model registry of the file store, in MLflow's own layout so MLflow's client reads it:
//!
//! ```text
//! <root>/models/<name>/meta.yaml            registered model
//! <root>/models/<name>/tags/<key>           its tags (file content = value)
//! <root>/models/<name>/aliases/<alias>      alias -> version number (file content)
//! <root>/models/<name>/version-<n>/meta.yaml
//! <root>/models/<name>/version-<n>/tags/<key>
//! ```
//!
//! A deleted version keeps its directory with stage `Deleted_Internal`, as MLflow does, so its
//! number is never given again. New directories are assembled aside and renamed into place:
//! a reader sees a model or version whole or not at all, and two processes creating a version
//! at once get different numbers (the rename onto an existing `version-<n>` fails; the loser
//! takes the next number).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{FileStore, read_text, walk_files};
use crate::tracking::filter::like;
use crate::tracking::fsutil::{self, write_atomic};
use crate::tracking::meta::{self, Py, yaml};
use crate::tracking::registry::{
    ModelVersion, ModelVersionQuery, NewModelVersion, RegisteredModel, Stage,
};
use crate::tracking::{TrackingError, now_ms};

/// The stage MLflow gives a deleted version (its directory stays).
const STAGE_DELETED: &str = "Deleted_Internal";
/// The workspace MLflow 3 records for a single-tenant store.
const WORKSPACE: &str = "default";
/// Attempts at taking the next version number when other processes keep taking it first.
const VERSION_ATTEMPTS: usize = 100;

// Keys in MLflow's (sorted) order; `null`s where MLflow writes them.
#[derive(Serialize)]
struct ModelMetaOut<'a> {
    aliases: BTreeMap<&'a str, Py<'a>>,
    creation_timestamp: i64,
    deployment_job_id: Option<()>,
    deployment_job_state: Option<()>,
    description: Option<Py<'a>>,
    last_updated_timestamp: i64,
    name: Py<'a>,
    workspace: Py<'a>,
}

#[derive(Serialize)]
struct VersionMetaOut<'a> {
    creation_timestamp: i64,
    current_stage: Py<'a>,
    deployment_job_state: Option<()>,
    description: Option<Py<'a>>,
    last_updated_timestamp: i64,
    model_id: Option<Py<'a>>,
    name: Py<'a>,
    run_id: Option<Py<'a>>,
    run_link: Option<()>,
    source: Py<'a>,
    status: Py<'a>,
    status_message: Option<()>,
    storage_location: Py<'a>,
    user_id: Option<Py<'a>>,
    version: u64,
    workspace: Py<'a>,
}

/// A version as stored: the record, and whether it is deleted.
struct StoredVersion {
    version: ModelVersion,
    deleted: bool,
}

/// The registry of one file store.
pub(super) struct Registry<'a> {
    store: &'a FileStore,
}

impl FileStore {
    pub(super) fn registry(&self) -> Registry<'_> {
        Registry { store: self }
    }
}

impl Registry<'_> {
    fn models_dir(&self) -> PathBuf {
        self.store.inner.root.join("models")
    }

    /// The directory of a model; names that cannot be one directory are refused, as MLflow's
    /// file store refuses them.
    fn model_dir(&self, name: &str) -> Result<PathBuf, TrackingError> {
        if name.contains(['/', '\\', '%']) || name == "." || name == ".." {
            return Err(TrackingError::InvalidArgument {
                what: "registered model name",
                value: name.to_string(),
                reason: "a file store cannot keep a name with `/`, `\\` or `%`, or `.`/`..`".into(),
            });
        }
        Ok(self.models_dir().join(name))
    }

    /// The directory of an existing model.
    fn existing_model_dir(&self, name: &str) -> Result<PathBuf, TrackingError> {
        let dir = self.model_dir(name)?;
        if !dir.join("meta.yaml").is_file() {
            return Err(TrackingError::ModelNotFound {
                name: name.to_string(),
            });
        }
        Ok(dir)
    }

    fn tmp_dir(&self) -> PathBuf {
        fsutil::tmp_name(&self.store.inner.tmp)
    }

    // ------------------------------------------------------------ models

    pub(super) fn create_model(
        &self,
        name: &str,
        description: Option<&str>,
        tags: &[(String, String)],
    ) -> Result<RegisteredModel, TrackingError> {
        let dir = self.model_dir(name)?;
        if dir.exists() {
            return Err(TrackingError::ModelExists {
                name: name.to_string(),
            });
        }
        let now = now_ms();
        let model = RegisteredModel {
            name: name.to_string(),
            creation_timestamp_ms: now,
            last_updated_timestamp_ms: now,
            description: description.map(str::to_string),
            latest_versions: Vec::new(),
            tags: tags.iter().cloned().collect(),
            aliases: BTreeMap::new(),
        };
        fsutil::create_dir_all(&self.models_dir())?;
        let tmp = self.tmp_dir();
        let build = || -> Result<(), TrackingError> {
            fsutil::create_dir(&tmp)?;
            fsutil::write_new(&tmp.join("meta.yaml"), model_yaml(&model).as_bytes())?;
            write_tags(&tmp.join("tags"), &model.tags)?;
            match fs::rename(&tmp, &dir) {
                Ok(()) => Ok(()),
                Err(_) if dir.exists() => Err(TrackingError::ModelExists {
                    name: name.to_string(),
                }),
                Err(e) => Err(TrackingError::io("create", &dir, e)),
            }
        };
        if let Err(e) = build() {
            let _ = fs::remove_dir_all(&tmp);
            return Err(e);
        }
        Ok(model)
    }

    pub(super) fn get_model(&self, name: &str) -> Result<RegisteredModel, TrackingError> {
        let dir = self.existing_model_dir(name)?;
        self.read_model(&dir)
    }

    fn read_model(&self, dir: &Path) -> Result<RegisteredModel, TrackingError> {
        let path = dir.join("meta.yaml");
        let m = meta::parse_map(&path, &read_text(&path)?)?;
        let name = meta::as_string(m.get("name"))
            .ok_or_else(|| TrackingError::corrupt(&path, "missing `name`"))?;
        let mut latest: BTreeMap<Stage, ModelVersion> = BTreeMap::new();
        for v in self.read_versions(dir)? {
            if v.deleted {
                continue;
            }
            let v = v.version;
            if latest
                .get(&v.current_stage)
                .is_none_or(|l| l.version < v.version)
            {
                latest.insert(v.current_stage, v);
            }
        }
        Ok(RegisteredModel {
            name,
            creation_timestamp_ms: meta::as_i64(m.get("creation_timestamp")).unwrap_or(0),
            last_updated_timestamp_ms: meta::as_i64(m.get("last_updated_timestamp")).unwrap_or(0),
            description: meta::as_string(m.get("description")),
            latest_versions: latest.into_values().collect(),
            tags: read_files(&dir.join("tags"))?,
            aliases: read_aliases(dir)?,
        })
    }

    /// Rewrites a model's `meta.yaml` with a new description (when given) and update time.
    fn touch_model(&self, dir: &Path, description: Option<&str>) -> Result<(), TrackingError> {
        let mut model = self.read_model(dir)?;
        if let Some(d) = description {
            model.description = Some(d.to_string());
        }
        model.last_updated_timestamp_ms = now_ms();
        write_atomic(
            &self.store.inner.tmp,
            &dir.join("meta.yaml"),
            model_yaml(&model).as_bytes(),
        )
    }

    pub(super) fn search_models(
        &self,
        name_like: Option<&str>,
    ) -> Result<Vec<RegisteredModel>, TrackingError> {
        let mut out = Vec::new();
        for dir in self.model_dirs()? {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if name_like.is_some_and(|p| !like(p, &name, false)) {
                continue;
            }
            out.push(self.read_model(&dir)?);
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn model_dirs(&self) -> Result<Vec<PathBuf>, TrackingError> {
        let models = self.models_dir();
        let rd = match fs::read_dir(&models) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(TrackingError::io("list", &models, e)),
        };
        Ok(rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join("meta.yaml").is_file())
            .collect())
    }

    pub(super) fn update_model(&self, name: &str, description: &str) -> Result<(), TrackingError> {
        let dir = self.existing_model_dir(name)?;
        self.touch_model(&dir, Some(description))
    }

    pub(super) fn delete_model(&self, name: &str) -> Result<(), TrackingError> {
        let dir = self.existing_model_dir(name)?;
        // Out of sight in one rename, then removed.
        let tmp = self.tmp_dir();
        fs::rename(&dir, &tmp).map_err(|e| TrackingError::io("remove", &dir, e))?;
        fs::remove_dir_all(&tmp).map_err(|e| TrackingError::io("remove", &tmp, e))
    }

    pub(super) fn set_model_tag(
        &self,
        name: &str,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        let dir = self.existing_model_dir(name)?;
        write_atomic(
            &self.store.inner.tmp,
            &dir.join("tags").join(key),
            value.as_bytes(),
        )?;
        self.touch_model(&dir, None)
    }

    pub(super) fn delete_model_tag(&self, name: &str, key: &str) -> Result<(), TrackingError> {
        let dir = self.existing_model_dir(name)?;
        remove_if_present(&dir.join("tags").join(key))?;
        self.touch_model(&dir, None)
    }

    // ------------------------------------------------------------ versions

    fn read_versions(&self, model_dir: &Path) -> Result<Vec<StoredVersion>, TrackingError> {
        let rd = fs::read_dir(model_dir).map_err(|e| TrackingError::io("list", model_dir, e))?;
        let aliases = read_aliases(model_dir)?;
        let mut out = Vec::new();
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with("version-") && entry.path().join("meta.yaml").is_file() {
                out.push(read_version(&entry.path(), &aliases)?);
            }
        }
        out.sort_by_key(|v| v.version.version);
        Ok(out)
    }

    /// A live version's directory and record, or [`TrackingError::ModelVersionNotFound`].
    fn live_version(
        &self,
        name: &str,
        version: u64,
    ) -> Result<(PathBuf, ModelVersion), TrackingError> {
        let model_dir = self.existing_model_dir(name)?;
        let dir = model_dir.join(format!("version-{version}"));
        let missing = || TrackingError::ModelVersionNotFound {
            name: name.to_string(),
            version,
        };
        if !dir.join("meta.yaml").is_file() {
            return Err(missing());
        }
        let v = read_version(&dir, &read_aliases(&model_dir)?)?;
        if v.deleted {
            return Err(missing());
        }
        Ok((dir, v.version))
    }

    pub(super) fn create_version(
        &self,
        new: &NewModelVersion,
    ) -> Result<ModelVersion, TrackingError> {
        let model_dir = self.existing_model_dir(&new.name)?;
        let now = now_ms();
        for _ in 0..VERSION_ATTEMPTS {
            let next = self
                .read_versions(&model_dir)?
                .last()
                .map_or(1, |v| v.version.version + 1);
            let mv = ModelVersion {
                name: new.name.clone(),
                version: next,
                creation_timestamp_ms: now,
                last_updated_timestamp_ms: now,
                description: new.description.clone(),
                user_id: self.store.inner.user.clone(),
                current_stage: Stage::None,
                source: new.source.clone(),
                run_id: new.run_id.clone(),
                status: "READY".into(),
                storage_location: new.storage_location.clone(),
                tags: new.tags.iter().cloned().collect(),
                aliases: Vec::new(),
            };
            let dir = model_dir.join(format!("version-{next}"));
            let tmp = self.tmp_dir();
            let built = fsutil::create_dir(&tmp)
                .and_then(|()| {
                    fsutil::write_new(
                        &tmp.join("meta.yaml"),
                        version_yaml(&mv, mv.current_stage.as_str()).as_bytes(),
                    )
                })
                .and_then(|()| write_tags(&tmp.join("tags"), &mv.tags));
            if let Err(e) = built {
                let _ = fs::remove_dir_all(&tmp);
                return Err(e);
            }
            match fs::rename(&tmp, &dir) {
                Ok(()) => {
                    self.touch_model(&model_dir, None)?;
                    return Ok(mv);
                }
                // Another process took this number first: take the next one.
                Err(_) if dir.join("meta.yaml").exists() => {
                    let _ = fs::remove_dir_all(&tmp);
                }
                Err(e) => {
                    let _ = fs::remove_dir_all(&tmp);
                    if !model_dir.exists() {
                        return Err(TrackingError::ModelNotFound {
                            name: new.name.clone(),
                        });
                    }
                    return Err(TrackingError::io("create", &dir, e));
                }
            }
        }
        Err(TrackingError::InvalidArgument {
            what: "registered model",
            value: new.name.clone(),
            reason: format!(
                "no version number could be taken in {VERSION_ATTEMPTS} attempts: other processes kept taking them"
            ),
        })
    }

    pub(super) fn get_version(
        &self,
        name: &str,
        version: u64,
    ) -> Result<ModelVersion, TrackingError> {
        self.live_version(name, version).map(|(_, v)| v)
    }

    pub(super) fn search_versions(
        &self,
        query: &ModelVersionQuery,
    ) -> Result<Vec<ModelVersion>, TrackingError> {
        let dirs = match &query.name {
            Some(name) => match self.existing_model_dir(name) {
                Ok(d) => vec![d],
                Err(TrackingError::ModelNotFound { .. }) => Vec::new(),
                Err(e) => return Err(e),
            },
            None => self.model_dirs()?,
        };
        let mut out = Vec::new();
        for dir in dirs {
            for v in self.read_versions(&dir)? {
                let v = (!v.deleted).then_some(v.version);
                let Some(v) = v else { continue };
                if query
                    .run_id
                    .as_ref()
                    .is_some_and(|r| v.run_id.as_ref() != Some(r))
                {
                    continue;
                }
                if !query.stages.is_empty() && !query.stages.contains(&v.current_stage) {
                    continue;
                }
                out.push(v);
            }
        }
        // MLflow's order: last updated first, then name, then newest version.
        out.sort_by(|a, b| {
            b.last_updated_timestamp_ms
                .cmp(&a.last_updated_timestamp_ms)
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| b.version.cmp(&a.version))
        });
        Ok(out)
    }

    fn write_version(
        &self,
        dir: &Path,
        v: &ModelVersion,
        stage: &str,
    ) -> Result<(), TrackingError> {
        write_atomic(
            &self.store.inner.tmp,
            &dir.join("meta.yaml"),
            version_yaml(v, stage).as_bytes(),
        )
    }

    pub(super) fn update_version(
        &self,
        name: &str,
        version: u64,
        description: &str,
    ) -> Result<(), TrackingError> {
        let (dir, mut v) = self.live_version(name, version)?;
        v.description = Some(description.to_string());
        v.last_updated_timestamp_ms = now_ms();
        self.write_version(&dir, &v, v.current_stage.as_str())
    }

    pub(super) fn transition_stage(
        &self,
        name: &str,
        version: u64,
        stage: Stage,
        archive_existing: bool,
    ) -> Result<ModelVersion, TrackingError> {
        if archive_existing && !matches!(stage, Stage::Staging | Stage::Production) {
            return Err(TrackingError::InvalidArgument {
                what: "stage",
                value: stage.to_string(),
                reason: "archiving existing versions needs an active stage (Staging or Production)"
                    .into(),
            });
        }
        let (dir, mut v) = self.live_version(name, version)?;
        let now = now_ms();
        if archive_existing {
            let model_dir = self.existing_model_dir(name)?;
            for other in self.read_versions(&model_dir)? {
                let mut o = other.version;
                if !other.deleted && o.version != version && o.current_stage == stage {
                    o.current_stage = Stage::Archived;
                    o.last_updated_timestamp_ms = now;
                    let odir = model_dir.join(format!("version-{}", o.version));
                    self.write_version(&odir, &o, o.current_stage.as_str())?;
                }
            }
        }
        v.current_stage = stage;
        v.last_updated_timestamp_ms = now;
        self.write_version(&dir, &v, stage.as_str())?;
        self.touch_model(&self.existing_model_dir(name)?, None)?;
        Ok(v)
    }

    pub(super) fn delete_version(&self, name: &str, version: u64) -> Result<(), TrackingError> {
        let (dir, mut v) = self.live_version(name, version)?;
        v.last_updated_timestamp_ms = now_ms();
        self.write_version(&dir, &v, STAGE_DELETED)?;
        let model_dir = self.existing_model_dir(name)?;
        for alias in &v.aliases {
            remove_if_present(&model_dir.join("aliases").join(alias))?;
        }
        self.touch_model(&model_dir, None)
    }

    pub(super) fn set_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
        value: &str,
    ) -> Result<(), TrackingError> {
        let (dir, _) = self.live_version(name, version)?;
        write_atomic(
            &self.store.inner.tmp,
            &dir.join("tags").join(key),
            value.as_bytes(),
        )?;
        self.touch_model(&self.existing_model_dir(name)?, None)
    }

    pub(super) fn delete_version_tag(
        &self,
        name: &str,
        version: u64,
        key: &str,
    ) -> Result<(), TrackingError> {
        let (dir, _) = self.live_version(name, version)?;
        remove_if_present(&dir.join("tags").join(key))?;
        self.touch_model(&self.existing_model_dir(name)?, None)
    }

    // ------------------------------------------------------------ aliases

    pub(super) fn set_alias(
        &self,
        name: &str,
        alias: &str,
        version: u64,
    ) -> Result<(), TrackingError> {
        self.live_version(name, version)?;
        let model_dir = self.existing_model_dir(name)?;
        // As MLflow writes it: the number, no newline.
        write_atomic(
            &self.store.inner.tmp,
            &model_dir.join("aliases").join(alias),
            version.to_string().as_bytes(),
        )?;
        self.touch_model(&model_dir, None)
    }

    /// Removing an alias that is not set does nothing, as in MLflow.
    pub(super) fn delete_alias(&self, name: &str, alias: &str) -> Result<(), TrackingError> {
        let model_dir = self.existing_model_dir(name)?;
        if remove_if_present(&model_dir.join("aliases").join(alias))? {
            self.touch_model(&model_dir, None)?;
        }
        Ok(())
    }

    pub(super) fn version_by_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<ModelVersion, TrackingError> {
        let model_dir = self.existing_model_dir(name)?;
        let version = read_aliases(&model_dir)?
            .get(alias)
            .copied()
            .ok_or_else(|| TrackingError::AliasNotFound {
                name: name.to_string(),
                alias: alias.to_string(),
            })?;
        self.get_version(name, version)
    }
}

fn model_yaml(m: &RegisteredModel) -> String {
    let versions: Vec<(&str, String)> = m
        .aliases
        .iter()
        .map(|(a, v)| (a.as_str(), v.to_string()))
        .collect();
    yaml(&ModelMetaOut {
        aliases: versions.iter().map(|(a, v)| (*a, Py(v))).collect(),
        creation_timestamp: m.creation_timestamp_ms,
        deployment_job_id: None,
        deployment_job_state: None,
        description: m.description.as_deref().map(Py),
        last_updated_timestamp: m.last_updated_timestamp_ms,
        name: Py(&m.name),
        workspace: Py(WORKSPACE),
    })
}

fn version_yaml(v: &ModelVersion, stage: &str) -> String {
    yaml(&VersionMetaOut {
        creation_timestamp: v.creation_timestamp_ms,
        current_stage: Py(stage),
        deployment_job_state: None,
        description: v.description.as_deref().map(Py),
        last_updated_timestamp: v.last_updated_timestamp_ms,
        model_id: v.model_id().map(Py),
        name: Py(&v.name),
        run_id: v.run_id.as_deref().map(Py),
        run_link: None,
        source: Py(&v.source),
        status: Py(&v.status),
        status_message: None,
        storage_location: Py(v.storage_location.as_deref().unwrap_or(&v.source)),
        user_id: Some(Py(&v.user_id)).filter(|u| !u.0.is_empty()),
        version: v.version,
        workspace: Py(WORKSPACE),
    })
}

fn read_version(
    dir: &Path,
    aliases: &BTreeMap<String, u64>,
) -> Result<StoredVersion, TrackingError> {
    let path = dir.join("meta.yaml");
    let m = meta::parse_map(&path, &read_text(&path)?)?;
    let version = meta::as_i64(m.get("version"))
        .filter(|v| *v > 0)
        .ok_or_else(|| TrackingError::corrupt(&path, "missing or invalid `version`"))?
        as u64;
    let stage_text = meta::as_string(m.get("current_stage")).unwrap_or_else(|| "None".into());
    let deleted = stage_text == STAGE_DELETED;
    let current_stage = if deleted {
        Stage::None
    } else {
        stage_text
            .parse()
            .map_err(|_| TrackingError::corrupt(&path, format!("unknown stage `{stage_text}`")))?
    };
    Ok(StoredVersion {
        deleted,
        version: ModelVersion {
            name: meta::as_string(m.get("name"))
                .ok_or_else(|| TrackingError::corrupt(&path, "missing `name`"))?,
            version,
            creation_timestamp_ms: meta::as_i64(m.get("creation_timestamp")).unwrap_or(0),
            last_updated_timestamp_ms: meta::as_i64(m.get("last_updated_timestamp")).unwrap_or(0),
            description: meta::as_string(m.get("description")),
            user_id: meta::as_string(m.get("user_id")).unwrap_or_default(),
            current_stage,
            source: meta::as_string(m.get("source")).unwrap_or_default(),
            run_id: meta::as_string(m.get("run_id")).filter(|r| !r.is_empty()),
            status: meta::as_string(m.get("status")).unwrap_or_else(|| "READY".into()),
            storage_location: meta::as_string(m.get("storage_location")),
            tags: read_files(&dir.join("tags"))?,
            aliases: aliases
                .iter()
                .filter(|(_, v)| **v == version)
                .map(|(a, _)| a.clone())
                .collect(),
        },
    })
}

/// Every `<dir>/<key>` file as key → content (keys with `/` are nested directories).
fn read_files(dir: &Path) -> Result<BTreeMap<String, String>, TrackingError> {
    let mut out = BTreeMap::new();
    for (key, path) in walk_files(dir)? {
        out.insert(key, read_text(&path)?);
    }
    Ok(out)
}

/// `aliases/<alias>` files: alias → version.
fn read_aliases(model_dir: &Path) -> Result<BTreeMap<String, u64>, TrackingError> {
    let mut out = BTreeMap::new();
    for (alias, path) in walk_files(&model_dir.join("aliases"))? {
        let text = read_text(&path)?;
        let v = text.trim().parse().map_err(|_| {
            TrackingError::corrupt(&path, format!("`{text}` is not a version number"))
        })?;
        out.insert(alias, v);
    }
    Ok(out)
}

fn write_tags(dir: &Path, tags: &BTreeMap<String, String>) -> Result<(), TrackingError> {
    for (k, v) in tags {
        let p = dir.join(k);
        if let Some(parent) = p.parent() {
            fsutil::create_dir_all(parent)?;
        }
        fsutil::write_new(&p, v.as_bytes())?;
    }
    Ok(())
}

/// Removes a file; `false` if it was not there.
fn remove_if_present(path: &Path) -> Result<bool, TrackingError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(TrackingError::io("remove", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use crate::tracking::{
        FileStore, ModelVersionQuery, NewModelVersion, Stage, TrackingError, TrackingStore,
    };

    fn store() -> (tempfile::TempDir, TrackingStore, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let file = FileStore::open(dir.path().join("mlruns")).unwrap();
        let root = file.root().to_path_buf();
        (dir, TrackingStore::from(file), root)
    }

    fn version(name: &str, source: &str) -> NewModelVersion {
        NewModelVersion {
            name: name.into(),
            source: source.into(),
            description: Some("first".into()),
            tags: vec![("validated".into(), "yes".into())],
            ..Default::default()
        }
    }

    #[test]
    fn models_versions_tags_aliases_and_stages_in_mlflow_layout() {
        let (_d, s, root) = store();
        let m = s
            .create_registered_model("demo", Some("a demo"), &[("owner".into(), "me".into())])
            .unwrap();
        assert_eq!(m.description.as_deref(), Some("a demo"));
        assert!(matches!(
            s.create_registered_model("demo", None, &[]),
            Err(TrackingError::ModelExists { name }) if name == "demo"
        ));
        let v1 = s
            .create_model_version(&version("demo", "runs:/abc/model"))
            .unwrap();
        let v2 = s
            .create_model_version(&version("demo", "/tmp/model2"))
            .unwrap();
        assert_eq!((v1.version, v2.version), (1, 2));

        let dir = root.join("models/demo");
        let meta = std::fs::read_to_string(dir.join("meta.yaml")).unwrap();
        assert!(
            meta.contains("name: demo\n") && meta.contains("description: a demo\n"),
            "{meta}"
        );
        let vmeta = std::fs::read_to_string(dir.join("version-1/meta.yaml")).unwrap();
        for line in [
            "current_stage: None\n",
            "source: runs:/abc/model\n",
            "status: READY\n",
            "version: 1\n",
            "description: first\n",
        ] {
            assert!(vmeta.contains(line), "{line} in {vmeta}");
        }
        assert_eq!(
            std::fs::read_to_string(dir.join("tags/owner")).unwrap(),
            "me"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("version-2/tags/validated")).unwrap(),
            "yes"
        );

        s.set_registered_model_alias("demo", "champion", 1).unwrap();
        assert_eq!(
            std::fs::read_to_string(dir.join("aliases/champion")).unwrap(),
            "1"
        );
        let by_alias = s.get_model_version_by_alias("demo", "champion").unwrap();
        assert_eq!(by_alias.version, 1);
        assert_eq!(by_alias.aliases, vec!["champion".to_string()]);
        assert!(matches!(
            s.get_model_version_by_alias("demo", "nobody"),
            Err(TrackingError::AliasNotFound { alias, .. }) if alias == "nobody"
        ));

        s.transition_model_version_stage("demo", 1, Stage::Production, false)
            .unwrap();
        s.transition_model_version_stage("demo", 2, Stage::Production, true)
            .unwrap();
        assert_eq!(
            s.get_model_version("demo", 1).unwrap().current_stage,
            Stage::Archived
        );
        let model = s.get_registered_model("demo").unwrap();
        let latest: Vec<(Stage, u64)> = model
            .latest_versions
            .iter()
            .map(|v| (v.current_stage, v.version))
            .collect();
        assert_eq!(latest, vec![(Stage::Production, 2), (Stage::Archived, 1)]);
        assert_eq!(model.tags["owner"], "me");
        assert_eq!(model.aliases["champion"], 1);

        s.update_model_version("demo", 2, "second").unwrap();
        s.set_model_version_tag("demo", 2, "k", "v").unwrap();
        s.delete_model_version_tag("demo", 2, "validated").unwrap();
        let v = s.get_model_version("demo", 2).unwrap();
        assert_eq!(v.description.as_deref(), Some("second"));
        assert_eq!(v.tags.keys().collect::<Vec<_>>(), ["k"]);

        // A deleted version keeps its number; its aliases go.
        s.delete_model_version("demo", 1).unwrap();
        assert!(matches!(
            s.get_model_version("demo", 1),
            Err(TrackingError::ModelVersionNotFound { version: 1, .. })
        ));
        assert!(!dir.join("aliases/champion").exists());
        let v3 = s.create_model_version(&version("demo", "/tmp/m3")).unwrap();
        assert_eq!(v3.version, 3);

        let found = s
            .search_model_versions(&ModelVersionQuery {
                name: Some("demo".into()),
                stages: vec![Stage::Production],
                ..Default::default()
            })
            .unwrap();
        assert_eq!(found.iter().map(|v| v.version).collect::<Vec<_>>(), [2]);

        s.create_registered_model("other", None, &[]).unwrap();
        let names: Vec<String> = s
            .search_registered_models(Some("d%"))
            .unwrap()
            .into_iter()
            .map(|m| m.name)
            .collect();
        assert_eq!(names, ["demo"]);
        s.delete_registered_model("demo").unwrap();
        assert!(matches!(
            s.get_registered_model("demo"),
            Err(TrackingError::ModelNotFound { name }) if name == "demo"
        ));
        assert!(!dir.exists());
    }

    #[test]
    fn concurrent_version_creation_gives_distinct_numbers() {
        let (_d, s, root) = store();
        s.create_registered_model("race", None, &[]).unwrap();
        let handles: Vec<_> = (0..8)
            .map(|_| {
                // Separate handles, as separate processes would have.
                let s = TrackingStore::from(FileStore::open(&root).unwrap());
                std::thread::spawn(move || {
                    (0..5)
                        .map(|_| {
                            s.create_model_version(&super::tests::version("race", "/m"))
                                .unwrap()
                                .version
                        })
                        .collect::<Vec<u64>>()
                })
            })
            .collect();
        let mut all: Vec<u64> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort_unstable();
        assert_eq!(all, (1..=40).collect::<Vec<u64>>());
    }

    #[test]
    fn names_a_file_store_cannot_hold_are_refused() {
        let (_d, s, _) = store();
        let e = s
            .create_registered_model("a/b", None, &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("a/b"), "{e}");
    }
}
