//! `models ...`: the model registry from the command line of every pipeline binary and of the
//! standalone `oxflow` (list, show, register, stage, alias, delete).

use std::io::Write;

use clap::Subcommand;

use super::{ModelError, register_model};
use crate::tracking::{ModelVersionQuery, Stage, TrackingStore};

/// `models ...`.
#[derive(Subcommand, Debug, Clone)]
pub enum ModelsCommand {
    /// List registered models with their latest version, aliases and description.
    List,
    /// Show a registered model: its versions, stages, aliases, sources and tags.
    Show {
        /// Registered model name.
        name: String,
    },
    /// Register a logged model (`models:/<model_id>` or `runs:/<run_id>/<path>`) as the next
    /// version of NAME, creating NAME if needed.
    Register {
        /// The model to register.
        uri: String,
        /// Registered model name.
        name: String,
    },
    /// Move a version to a stage (None, Staging, Production, Archived).
    Stage {
        /// Registered model name.
        name: String,
        /// Version number.
        version: u64,
        /// The stage.
        stage: String,
        /// Move the versions now in that stage to Archived.
        #[arg(long)]
        archive_existing: bool,
    },
    /// Point an alias (such as `champion`) at a version.
    Alias {
        /// Registered model name.
        name: String,
        /// The alias; not `latest` nor `v<number>`.
        alias: String,
        /// Version number.
        version: u64,
    },
    /// Delete a registered model with every version, or one version, or one alias.
    Delete {
        /// Registered model name.
        name: String,
        /// Delete only this version.
        #[arg(conflicts_with = "alias")]
        version: Option<u64>,
        /// Delete only this alias.
        #[arg(long)]
        alias: Option<String>,
    },
}

fn w(out: &mut dyn Write, text: impl std::fmt::Display) -> Result<(), ModelError> {
    writeln!(out, "{text}")
        .map_err(|e| crate::tracking::TrackingError::io("write", "<output>", e).into())
}

fn fmt_time(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Runs a `models` command against `store`, writing to `out`.
///
/// ```
/// use oxflow_runtime::model::cli::{ModelsCommand, execute};
/// # let dir = tempfile::tempdir()?;
/// let store = oxflow_runtime::tracking::TrackingStore::open_uri(&dir.path().join("mlruns").display().to_string())?;
/// let mut out = Vec::new();
/// execute(&store, ModelsCommand::List, &mut out)?;
/// assert!(String::from_utf8(out)?.contains("Name"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn execute(
    store: &TrackingStore,
    cmd: ModelsCommand,
    out: &mut dyn Write,
) -> Result<(), ModelError> {
    match cmd {
        ModelsCommand::List => {
            let mut t = crate::cli::table(["Name", "Latest", "Aliases", "Updated", "Description"]);
            for m in store.search_registered_models(None)? {
                let latest = m.latest_versions.iter().map(|v| v.version).max();
                let aliases: Vec<String> =
                    m.aliases.iter().map(|(a, v)| format!("{a}→{v}")).collect();
                t.add_row(vec![
                    m.name,
                    latest.map(|v| v.to_string()).unwrap_or_default(),
                    aliases.join(", "),
                    fmt_time(m.last_updated_timestamp_ms),
                    m.description.unwrap_or_default(),
                ]);
            }
            w(out, t)
        }
        ModelsCommand::Show { name } => {
            let m = store.get_registered_model(&name)?;
            w(out, format!("registered model {}", m.name))?;
            if let Some(d) = &m.description {
                w(out, format!("description: {d}"))?;
            }
            for (k, v) in &m.tags {
                w(out, format!("tag {k} = {v}"))?;
            }
            let mut versions = store.search_model_versions(&ModelVersionQuery {
                name: Some(name.clone()),
                ..Default::default()
            })?;
            versions.sort_by_key(|v| v.version);
            let mut t =
                crate::cli::table(["Version", "Stage", "Aliases", "Created", "Run", "Source"]);
            for v in versions {
                t.add_row(vec![
                    v.version.to_string(),
                    v.current_stage.to_string(),
                    v.aliases.join(", "),
                    fmt_time(v.creation_timestamp_ms),
                    v.run_id.unwrap_or_default(),
                    v.source,
                ]);
            }
            w(out, t)
        }
        ModelsCommand::Register { uri, name } => {
            let v = register_model(store, &uri, &name)?;
            w(
                out,
                format!(
                    "registered {uri} as version {} of `{name}` (models:/{name}/{})",
                    v.version, v.version
                ),
            )
        }
        ModelsCommand::Stage {
            name,
            version,
            stage,
            archive_existing,
        } => {
            let stage: Stage = stage.parse()?;
            store.transition_model_version_stage(&name, version, stage, archive_existing)?;
            w(
                out,
                format!("version {version} of `{name}` is now in stage {stage}"),
            )
        }
        ModelsCommand::Alias {
            name,
            alias,
            version,
        } => {
            store.set_registered_model_alias(&name, &alias, version)?;
            w(
                out,
                format!("models:/{name}@{alias} is now version {version}"),
            )
        }
        ModelsCommand::Delete {
            name,
            version,
            alias,
        } => match (version, alias) {
            (_, Some(alias)) => {
                store.delete_registered_model_alias(&name, &alias)?;
                w(out, format!("deleted alias `{alias}` of `{name}`"))
            }
            (Some(version), None) => {
                store.delete_model_version(&name, version)?;
                w(out, format!("deleted version {version} of `{name}`"))
            }
            (None, None) => {
                store.delete_registered_model(&name)?;
                w(
                    out,
                    format!("deleted registered model `{name}` and its versions"),
                )
            }
        },
    }
}
