//! Model URIs as MLflow 3 takes them: `runs:/<run>/<path>`, `models:/<model_id>`,
//! `models:/<name>/<version>`, `models:/<name>/<stage>`, `models:/<name>@<alias>`,
//! `models:/<name>/latest`, and plain paths (or `file://` URIs) of a model directory.

use std::path::PathBuf;

use super::ModelError;
use crate::tracking::{ModelVersionQuery, Stage, TrackingStore};

/// A parsed model URI.
///
/// ```
/// use oxflow_runtime::model::ModelUri;
/// use oxflow_runtime::tracking::Stage;
/// assert_eq!(
///     "models:/prices@champion".parse::<ModelUri>()?,
///     ModelUri::Alias { name: "prices".into(), alias: "champion".into() }
/// );
/// assert_eq!(
///     "models:/prices/Production".parse::<ModelUri>()?,
///     ModelUri::Stage { name: "prices".into(), stage: Stage::Production }
/// );
/// assert!("models:/".parse::<ModelUri>().is_err());
/// # Ok::<(), oxflow_runtime::model::ModelError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModelUri {
    /// `runs:/<run_id>/<path>`: a model directory among a run's artifacts.
    Run {
        /// The run.
        run_id: String,
        /// The directory in its artifacts.
        path: String,
    },
    /// `models:/<model_id>`: a LoggedModel.
    LoggedModel {
        /// `m-…`.
        model_id: String,
    },
    /// `models:/<name>/<version>`.
    Version {
        /// Registered model name.
        name: String,
        /// Version number.
        version: u64,
    },
    /// `models:/<name>/<stage>`: the newest version in that stage.
    Stage {
        /// Registered model name.
        name: String,
        /// The stage.
        stage: Stage,
    },
    /// `models:/<name>/latest`: the newest version.
    Latest {
        /// Registered model name.
        name: String,
    },
    /// `models:/<name>@<alias>`.
    Alias {
        /// Registered model name.
        name: String,
        /// The alias.
        alias: String,
    },
    /// A local model directory.
    Path(PathBuf),
}

const FORMS: &str = "expected runs:/<run_id>/<path>, models:/<model_id>, models:/<name>/<version>, models:/<name>/<stage>, models:/<name>@<alias>, models:/<name>/latest or a directory path";

impl std::str::FromStr for ModelUri {
    type Err = ModelError;

    fn from_str(uri: &str) -> Result<ModelUri, ModelError> {
        let bad = |reason: &str| ModelError::Uri {
            uri: uri.to_string(),
            reason: format!("{reason}; {FORMS}"),
        };
        if let Some(rest) = uri.strip_prefix("runs:/") {
            let (run_id, path) = rest
                .split_once('/')
                .ok_or_else(|| bad("no artifact path after the run id"))?;
            crate::tracking::validation::validate_run_id(run_id)
                .map_err(|e| bad(&e.to_string()))?;
            let path = path.trim_end_matches('/');
            if path.is_empty() {
                return Err(bad("no artifact path after the run id"));
            }
            crate::tracking::validation::artifact_segments(path)
                .map_err(|e| bad(&e.to_string()))?;
            return Ok(ModelUri::Run {
                run_id: run_id.to_string(),
                path: path.to_string(),
            });
        }
        if let Some(rest) = uri.strip_prefix("models:/") {
            let rest = rest.trim_end_matches('/');
            if let Some((name, alias)) = rest.split_once('@') {
                if name.is_empty() || alias.is_empty() || name.contains('/') {
                    return Err(bad("expected models:/<name>@<alias>"));
                }
                return Ok(ModelUri::Alias {
                    name: name.to_string(),
                    alias: alias.to_string(),
                });
            }
            return match rest.split_once('/') {
                None if rest.starts_with("m-") => Ok(ModelUri::LoggedModel {
                    model_id: rest.to_string(),
                }),
                None => Err(bad(if rest.is_empty() {
                    "no model named"
                } else {
                    "a registered model needs a version, stage, `latest` or `@alias`"
                })),
                Some(("", _)) => Err(bad("no model named")),
                Some((_, sel)) if sel.contains('/') => Err(bad("too many path segments")),
                Some((name, "latest")) => Ok(ModelUri::Latest {
                    name: name.to_string(),
                }),
                Some((name, sel)) => {
                    if let Ok(version) = sel.parse::<u64>() {
                        if version == 0 {
                            return Err(bad("versions start at 1"));
                        }
                        return Ok(ModelUri::Version {
                            name: name.to_string(),
                            version,
                        });
                    }
                    let stage = sel.parse::<Stage>().map_err(|_| {
                        bad(&format!(
                            "`{sel}` is not a version number, a stage or `latest`"
                        ))
                    })?;
                    Ok(ModelUri::Stage {
                        name: name.to_string(),
                        stage,
                    })
                }
            };
        }
        if uri.starts_with("file:") {
            return crate::tracking::fsutil::file_uri_to_path(uri)
                .map(ModelUri::Path)
                .ok_or_else(|| bad("not a local file URI"));
        }
        if uri.contains(":/") {
            return Err(bad("unknown scheme"));
        }
        Ok(ModelUri::Path(PathBuf::from(uri)))
    }
}

/// Where a model's files are, once a URI is resolved.
#[derive(Clone, Debug)]
pub(crate) enum Located {
    Run { run_id: String, path: String },
    Logged(crate::tracking::LoggedModel),
    Dir(PathBuf),
}

fn from_source(
    store: &TrackingStore,
    uri: &str,
    source: &str,
    storage_location: Option<&str>,
    depth: usize,
) -> Result<Located, ModelError> {
    if depth > 4 {
        return Err(ModelError::Uri {
            uri: uri.to_string(),
            reason: format!("model version sources refer to each other in a loop (at `{source}`)"),
        });
    }
    match source.parse::<ModelUri>()? {
        ModelUri::Path(p) => Ok(Located::Dir(
            storage_location
                .and_then(|l| {
                    crate::tracking::fsutil::file_uri_to_path(l).or_else(|| Some(PathBuf::from(l)))
                })
                .unwrap_or(p),
        )),
        other => resolve_parsed(store, uri, &other, depth + 1),
    }
}

fn version_location(
    store: &TrackingStore,
    uri: &str,
    v: &crate::tracking::ModelVersion,
    depth: usize,
) -> Result<Located, ModelError> {
    from_source(store, uri, &v.source, v.storage_location.as_deref(), depth)
}

fn resolve_parsed(
    store: &TrackingStore,
    uri: &str,
    parsed: &ModelUri,
    depth: usize,
) -> Result<Located, ModelError> {
    match parsed {
        ModelUri::Path(p) => Ok(Located::Dir(p.clone())),
        ModelUri::Run { run_id, path } => {
            // MLflow 3: `runs:/<run>/<name>` is the LoggedModel `<name>` the run logged, else
            // a model directory among the run's artifacts.
            if !path.contains('/')
                && let Some(m) = store.find_logged_model(run_id, path)?
            {
                return Ok(Located::Logged(m));
            }
            Ok(Located::Run {
                run_id: run_id.clone(),
                path: path.clone(),
            })
        }
        ModelUri::LoggedModel { model_id } => {
            Ok(Located::Logged(store.get_logged_model(model_id)?))
        }
        ModelUri::Version { .. }
        | ModelUri::Alias { .. }
        | ModelUri::Stage { .. }
        | ModelUri::Latest { .. } => {
            let v = registry_version(store, uri, parsed)?
                .expect("a registry URI names a registry version");
            version_location(store, uri, &v, depth)
        }
    }
}

/// The registry version a model URI names now: `models:/<name>/<version>`, `@<alias>`,
/// `/<stage>` (the newest version in it) or `/latest`; `None` for a URI that names no registry
/// version (`runs:/`, `models:/<model_id>`, a path). A server watching an alias polls this.
///
/// ```no_run
/// # use oxflow_runtime::model::{ModelUri, registry_version};
/// # let store = oxflow_runtime::tracking::TrackingStore::from_env()?;
/// let uri = "models:/prices@champion";
/// let v = registry_version(&store, uri, &uri.parse::<ModelUri>()?)?;
/// println!("champion is version {}", v.map_or(0, |v| v.version));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn registry_version(
    store: &TrackingStore,
    uri: &str,
    parsed: &ModelUri,
) -> Result<Option<crate::tracking::ModelVersion>, ModelError> {
    let none_in = |what: String| ModelError::Uri {
        uri: uri.to_string(),
        reason: what,
    };
    Ok(Some(match parsed {
        ModelUri::Path(_) | ModelUri::Run { .. } | ModelUri::LoggedModel { .. } => return Ok(None),
        ModelUri::Version { name, version } => store.get_model_version(name, *version)?,
        ModelUri::Alias { name, alias } => store.get_model_version_by_alias(name, alias)?,
        ModelUri::Stage { name, stage } => store
            .search_model_versions(&ModelVersionQuery {
                name: Some(name.clone()),
                stages: vec![*stage],
                ..Default::default()
            })?
            .into_iter()
            .max_by_key(|v| v.version)
            .ok_or_else(|| {
                none_in(format!(
                    "registered model `{name}` has no version in stage {stage}"
                ))
            })?,
        ModelUri::Latest { name } => {
            store.get_registered_model(name)?;
            store
                .search_model_versions(&ModelVersionQuery {
                    name: Some(name.clone()),
                    ..Default::default()
                })?
                .into_iter()
                .max_by_key(|v| v.version)
                .ok_or_else(|| none_in(format!("registered model `{name}` has no versions")))?
        }
    }))
}

/// Resolves a model URI through the store's registry to where its files are.
pub(crate) fn resolve(store: &TrackingStore, uri: &str) -> Result<Located, ModelError> {
    let parsed: ModelUri = uri.parse()?;
    resolve_parsed(store, uri, &parsed, 0)
}

impl Located {
    /// Reads one file of the model directory.
    pub(crate) fn read(&self, store: &TrackingStore, file: &str) -> Result<Vec<u8>, ModelError> {
        match self {
            Located::Dir(dir) => {
                crate::tracking::validation::artifact_segments(file)?;
                let path = dir.join(file);
                std::fs::read(&path).map_err(|e| ModelError::File {
                    file: path.display().to_string(),
                    reason: format!("cannot be read: {e}"),
                })
            }
            Located::Run { run_id, path } => {
                Ok(store.read_artifact(run_id, &format!("{path}/{file}"))?)
            }
            Located::Logged(m) => Ok(store.read_model_artifact(m, file)?),
        }
    }

    /// How errors name this model's files.
    pub(crate) fn origin(&self) -> String {
        match self {
            Located::Dir(d) => d.display().to_string(),
            Located::Run { run_id, path } => format!("runs:/{run_id}/{path}"),
            Located::Logged(m) => format!("models:/{}", m.model_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mlflow_form_parses() {
        let run = "0123456789abcdef0123456789abcdef";
        for (text, expected) in [
            (
                format!("runs:/{run}/model"),
                ModelUri::Run {
                    run_id: run.into(),
                    path: "model".into(),
                },
            ),
            (
                "models:/m-0123456789abcdef0123456789abcdef".into(),
                ModelUri::LoggedModel {
                    model_id: "m-0123456789abcdef0123456789abcdef".into(),
                },
            ),
            (
                "models:/p/3".into(),
                ModelUri::Version {
                    name: "p".into(),
                    version: 3,
                },
            ),
            (
                "models:/p/staging".into(),
                ModelUri::Stage {
                    name: "p".into(),
                    stage: Stage::Staging,
                },
            ),
            (
                "models:/p/latest".into(),
                ModelUri::Latest { name: "p".into() },
            ),
            (
                "models:/p@champion".into(),
                ModelUri::Alias {
                    name: "p".into(),
                    alias: "champion".into(),
                },
            ),
            ("some/dir".into(), ModelUri::Path("some/dir".into())),
        ] {
            assert_eq!(text.parse::<ModelUri>().unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn malformed_uris_say_which_forms_exist() {
        for (text, needle) in [
            ("models:/p", "needs a version"),
            ("models:/p/0", "versions start at 1"),
            ("models:/p/prod", "`prod` is not a version number"),
            ("models:/p/1/2", "too many path segments"),
            ("runs:/a b/model", "run"),
            (
                "runs:/0123456789abcdef0123456789abcdef/../x",
                "artifact path",
            ),
            ("s3://bucket/model", "unknown scheme"),
        ] {
            let e = text.parse::<ModelUri>().unwrap_err().to_string();
            assert!(
                e.contains(needle) && e.contains("models:/<name>@<alias>"),
                "{text}: {e}"
            );
        }
    }
}
