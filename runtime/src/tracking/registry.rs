//! The model registry's records, as MLflow stores them: registered models, their versions,
//! tags, aliases and stages.
//!
//! Every [`Store`](super::Store) keeps them in its own MLflow format (SQL tables, the file
//! store's `mlruns/models/` tree, or the server's REST API), so a model registered by oxflow
//! is seen by MLflow's `MlflowClient` and the other way round.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::TrackingError;

/// A model version's stage, spelled as MLflow stores it (`"None"`, not NULL, for no stage).
///
/// ```
/// use oxflow_runtime::tracking::Stage;
/// assert_eq!("production".parse::<Stage>()?, Stage::Production);
/// assert_eq!(Stage::None.as_str(), "None");
/// assert!("prod".parse::<Stage>().is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Stage {
    /// In no stage (MLflow's `"None"`).
    None,
    /// Being validated.
    Staging,
    /// Serving.
    Production,
    /// Retired.
    Archived,
}

impl Stage {
    /// Every stage, in MLflow's order.
    pub const ALL: [Stage; 4] = [
        Stage::None,
        Stage::Staging,
        Stage::Production,
        Stage::Archived,
    ];

    /// The spelling MLflow stores and returns.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::None => "None",
            Stage::Staging => "Staging",
            Stage::Production => "Production",
            Stage::Archived => "Archived",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Stage {
    type Err = TrackingError;

    /// Case-insensitive, as MLflow accepts stages.
    fn from_str(s: &str) -> Result<Stage, TrackingError> {
        Stage::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| TrackingError::InvalidArgument {
                what: "stage",
                value: s.to_string(),
                reason: "expected one of None, Staging, Production, Archived".into(),
            })
    }
}

/// A registered model: a name under which versions of one model are kept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegisteredModel {
    /// Unique name.
    pub name: String,
    /// Creation time, Unix milliseconds.
    pub creation_timestamp_ms: i64,
    /// Last change, Unix milliseconds.
    pub last_updated_timestamp_ms: i64,
    /// Free text, `None` when never set.
    pub description: Option<String>,
    /// The newest version in each stage that has one (MLflow's `latest_versions`).
    pub latest_versions: Vec<ModelVersion>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Alias → version.
    pub aliases: BTreeMap<String, u64>,
}

/// One version of a registered model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelVersion {
    /// The registered model's name.
    pub name: String,
    /// 1, 2, 3, … per model.
    pub version: u64,
    /// Creation time, Unix milliseconds.
    pub creation_timestamp_ms: i64,
    /// Last change, Unix milliseconds.
    pub last_updated_timestamp_ms: i64,
    /// Free text, `None` when never set.
    pub description: Option<String>,
    /// Who created it.
    pub user_id: String,
    /// Its stage.
    pub current_stage: Stage,
    /// Where the model's files are (`runs:/<id>/model`, a path, …).
    pub source: String,
    /// The run that produced it, if any.
    pub run_id: Option<String>,
    /// `READY` once registered (MLflow's `status`).
    pub status: String,
    /// Where the version's files are, resolved when it was created (a LoggedModel's artifact
    /// location for a `models:/<model_id>` source); `None` when the store does not say.
    pub storage_location: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Aliases pointing at this version.
    pub aliases: Vec<String>,
}

impl ModelVersion {
    /// The LoggedModel this version registers, when its source is `models:/<model_id>` (as
    /// MLflow 3 registers models).
    ///
    /// ```
    /// # use oxflow_runtime::tracking::ModelVersion;
    /// fn logged(v: &ModelVersion) -> Option<&str> { v.model_id() }
    /// ```
    pub fn model_id(&self) -> Option<&str> {
        model_id_of_source(&self.source)
    }
}

/// `m-…` of a `models:/m-…` source.
pub(crate) fn model_id_of_source(source: &str) -> Option<&str> {
    source
        .strip_prefix("models:/")
        .filter(|id| id.starts_with("m-") && !id.contains('/'))
}

/// What [`Store::create_model_version`](super::Store::create_model_version) needs.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NewModelVersion {
    /// The registered model (must exist).
    pub name: String,
    /// Where the model's files are (`runs:/<id>/model` or an artifact path).
    pub source: String,
    /// The run that produced it.
    pub run_id: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Tags.
    pub tags: Vec<(String, String)>,
    /// Where the files are, when `source` is a URI to resolve (`models:/<model_id>`); filled
    /// in by [`TrackingStore::create_model_version`](super::TrackingStore::create_model_version).
    pub storage_location: Option<String>,
}

/// Which versions [`Store::search_model_versions`](super::Store::search_model_versions)
/// returns; every field set must match.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelVersionQuery {
    /// Exactly this registered model.
    pub name: Option<String>,
    /// Produced by this run.
    pub run_id: Option<String>,
    /// In one of these stages (any stage when empty).
    pub stages: Vec<Stage>,
}
