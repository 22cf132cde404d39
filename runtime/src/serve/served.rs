//! [`ServedModel`]: the model a server answers with, the names it is known by in metrics, and
//! its metric handles; [`load_served`] makes one from a model URI.

use std::sync::Arc;

use metrics::{Counter, Gauge, Histogram};

use super::drift::{DriftFeed, DriftWindow};
use super::pace::ScoringPace;
use crate::model::{
    AnyModel, DynModel, ModelError, ModelUri, ReferenceProfile, Signature, registry_version,
};
use crate::telemetry::{
    LABEL_MODEL, MODEL_INFO, SERVE_IN_FLIGHT, SERVE_REQUEST_DURATION_SECONDS, SERVE_ROWS_TOTAL,
};
use crate::tracking::TrackingStore;

/// A model being served: the model, its signature (computed once), and the `model`,
/// `version` and `alias` labels of its metrics.
///
/// ```
/// # use oxflow_runtime::model::DynModel;
/// # use oxflow_runtime::serve::ServedModel;
/// fn serve_value(model: Box<dyn DynModel>) -> ServedModel {
///     ServedModel::new(model.into(), "house_price")
/// }
/// ```
pub struct ServedModel {
    model: Arc<dyn DynModel>,
    signature: Signature,
    name: String,
    version: String,
    alias: String,
    profile: Option<Arc<ReferenceProfile>>,
    drift: Option<DriftFeed>,
    pub(crate) handles: Handles,
    /// How fast its recent requests scored: where the next one is scored.
    pub(crate) pace: ScoringPace,
}

/// Metric handles resolved once per model, so a request does not look its series up.
pub(crate) struct Handles {
    pub(crate) duration: Histogram,
    pub(crate) rows: Counter,
    pub(crate) in_flight: Gauge,
    /// `oxflow_serve_requests_total` for the server's common status codes, in its order.
    pub(crate) requests: Vec<Counter>,
}

impl Handles {
    fn new(name: &str) -> Handles {
        Handles {
            duration: metrics::histogram!(SERVE_REQUEST_DURATION_SECONDS, LABEL_MODEL => name.to_owned()),
            rows: metrics::counter!(SERVE_ROWS_TOTAL, LABEL_MODEL => name.to_owned()),
            in_flight: metrics::gauge!(SERVE_IN_FLIGHT, LABEL_MODEL => name.to_owned()),
            requests: super::server::common_request_counters(name),
        }
    }
}

impl std::fmt::Debug for ServedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServedModel")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("alias", &self.alias)
            .finish()
    }
}

impl ServedModel {
    /// Serves `model` under the name `name` (the `model` label), with no registry version.
    pub fn new(model: Arc<dyn DynModel>, name: &str) -> ServedModel {
        ServedModel::labelled(model, name, "", "")
    }

    /// Serves `model` as version `version` of `name`, loaded by `alias` (an alias or a stage;
    /// empty when loaded by version).
    pub fn labelled(
        model: Arc<dyn DynModel>,
        name: &str,
        version: &str,
        alias: &str,
    ) -> ServedModel {
        ServedModel {
            signature: model.model_signature(),
            model,
            name: name.to_owned(),
            version: version.to_owned(),
            alias: alias.to_owned(),
            profile: None,
            drift: None,
            handles: Handles::new(name),
            pace: ScoringPace::default(),
        }
    }

    /// Tests the inputs this model scores for drift against `profile` (the training data's,
    /// saved by [`Run::log_model_with_reference`](crate::tracking::Run::log_model_with_reference)).
    pub fn with_profile(mut self, profile: ReferenceProfile) -> ServedModel {
        self.profile = Some(Arc::new(profile));
        self
    }

    /// The reference profile live drift compares with, if any.
    pub fn profile(&self) -> Option<&ReferenceProfile> {
        self.profile.as_deref()
    }

    /// Starts the live drift thread (once), when there is a profile.
    pub(crate) fn start_drift(&mut self, window: DriftWindow) {
        if let (Some(profile), None) = (&self.profile, &self.drift) {
            self.drift = Some(DriftFeed::start(&self.name, profile.clone(), window));
        }
    }

    /// Where scored requests go for live drift.
    pub(crate) fn drift(&self) -> Option<&DriftFeed> {
        self.drift.as_ref()
    }

    /// The model.
    pub fn model(&self) -> &Arc<dyn DynModel> {
        &self.model
    }

    /// Its signature.
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// The `model` label: the registered model's name, or the LoggedModel's, or the last part
    /// of a run path or directory.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The registry version, or empty.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The alias or stage the model was loaded by, or empty.
    pub fn alias(&self) -> &str {
        &self.alias
    }

    /// Sets `oxflow_model_info{model, version, alias}` to `value` (1 while served, 0 after a
    /// newer version replaced it).
    pub(crate) fn set_info(&self, value: f64) {
        metrics::gauge!(
            MODEL_INFO,
            LABEL_MODEL => self.name.clone(),
            "version" => self.version.clone(),
            "alias" => self.alias.clone()
        )
        .set(value);
    }
}

/// Loads the model at `uri` for serving, with its reference profile when it was logged with
/// one (live drift). A registry URI (`@alias`, `/Stage`, `/latest`) is
/// resolved to one version first and that version is loaded, so the labels and the model
/// always agree even when the alias moves meanwhile.
///
/// ```no_run
/// # let store = oxflow_runtime::tracking::TrackingStore::from_env()?;
/// let served = oxflow_runtime::serve::load_served(&store, "models:/house_price@champion")?;
/// assert_eq!(served.alias(), "champion");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_served(store: &TrackingStore, uri: &str) -> Result<ServedModel, ModelError> {
    let parsed: ModelUri = uri.parse()?;
    let (load_uri, name, version, alias) = match registry_version(store, uri, &parsed)? {
        Some(v) => {
            let alias = match &parsed {
                ModelUri::Alias { alias, .. } => alias.clone(),
                ModelUri::Stage { stage, .. } => stage.to_string(),
                ModelUri::Latest { .. } => "latest".to_owned(),
                _ => String::new(),
            };
            (
                format!("models:/{}/{}", v.name, v.version),
                v.name.clone(),
                v.version.to_string(),
                alias,
            )
        }
        None => {
            let name = match &parsed {
                ModelUri::LoggedModel { model_id } => store.get_logged_model(model_id)?.name,
                ModelUri::Run { path, .. } => last_part(path),
                ModelUri::Path(p) => last_part(&p.display().to_string()),
                _ => uri.to_owned(),
            };
            (uri.to_owned(), name, String::new(), String::new())
        }
    };
    let model = AnyModel::load_from(store, &load_uri)?.into_model();
    let served = ServedModel::labelled(Arc::from(model), &name, &version, &alias);
    Ok(match crate::model::read_profile(store, &load_uri)? {
        Some(profile) => served.with_profile(profile),
        None => served,
    })
}

fn last_part(path: &str) -> String {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(path)
        .to_owned()
}
