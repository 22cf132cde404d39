//! Promotion by evaluation: move an alias (such as `champion`) to a version only when its
//! evaluation metric beats the metric of the version the alias points at now.

use super::ModelError;
use crate::tracking::{TrackingError, TrackingStore};

/// Prefix of the model version tags holding evaluation metrics: `oxflow.metric.<name>`.
pub const TAG_METRIC_PREFIX: &str = "oxflow.metric.";

/// Which way a metric improves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    /// Larger is better (accuracy, R²).
    Higher,
    /// Smaller is better (RMSE, loss).
    Lower,
}

/// What [`promote_if_better`] decided.
#[derive(Clone, Debug, PartialEq)]
pub struct Promotion {
    /// Whether the alias now points at the candidate.
    pub promoted: bool,
    /// The version the alias pointed at before, with its metric when it has one.
    pub previous: Option<(u64, Option<f64>)>,
    /// The candidate's metric.
    pub candidate: f64,
}

/// Records `value` as the evaluation metric `metric` of version `version` of `name` (version tag
/// `oxflow.metric.<metric>`), then points `alias` at it if no version holds the alias yet, or
/// if `value` beats the holder's metric. The holder's metric is its own tag, else the metric of
/// that name in the run that produced it; a holder with neither is replaced.
///
/// This is the gate a DAG puts between an evaluation task and a promotion: only a better model
/// moves `champion`.
///
/// ```
/// use oxflow_runtime::model::{Better, promote_if_better};
/// use oxflow_runtime::tracking::{NewModelVersion, TrackingStore};
/// # let dir = tempfile::tempdir()?;
/// let store = TrackingStore::open_uri(&dir.path().join("mlruns").display().to_string())?;
/// store.create_registered_model("prices", None, &[])?;
/// for _ in 0..3 {
///     store.create_model_version(&NewModelVersion {
///         name: "prices".into(),
///         source: "/models/prices".into(),
///         ..Default::default()
///     })?;
/// }
/// assert!(promote_if_better(&store, "prices", 1, "champion", "rmse", 10.0, Better::Lower)?.promoted);
/// assert!(!promote_if_better(&store, "prices", 2, "champion", "rmse", 12.0, Better::Lower)?.promoted);
/// assert!(promote_if_better(&store, "prices", 3, "champion", "rmse", 8.0, Better::Lower)?.promoted);
/// assert_eq!(store.get_model_version_by_alias("prices", "champion")?.version, 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn promote_if_better(
    store: &TrackingStore,
    name: &str,
    version: u64,
    alias: &str,
    metric: &str,
    value: f64,
    better: Better,
) -> Result<Promotion, ModelError> {
    if !value.is_finite() {
        return Err(ModelError::Promotion {
            reason: format!("the candidate's `{metric}` is {value}, which cannot be compared"),
        });
    }
    let tag = format!("{TAG_METRIC_PREFIX}{metric}");
    store.set_model_version_tag(
        name,
        version,
        &tag,
        &crate::tracking::fsutil::python_float_repr(value),
    )?;
    let previous = match store.get_model_version_by_alias(name, alias) {
        Ok(v) => Some(v),
        Err(TrackingError::AliasNotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let previous = match previous {
        Some(v) if v.version == version => {
            return Ok(Promotion {
                promoted: true,
                previous: Some((version, Some(value))),
                candidate: value,
            });
        }
        Some(v) => {
            let from_tag = v.tags.get(&tag).and_then(|t| t.parse::<f64>().ok());
            let from_run = match (&from_tag, &v.run_id) {
                (None, Some(run)) => store.get_run(run)?.metrics.get(metric).map(|m| m.value),
                _ => None,
            };
            Some((v.version, from_tag.or(from_run)))
        }
        None => None,
    };
    let wins = match previous {
        None | Some((_, None)) => true,
        Some((_, Some(best))) => match better {
            Better::Higher => value > best,
            Better::Lower => value < best,
        },
    };
    if wins {
        store.set_registered_model_alias(name, alias, version)?;
    }
    Ok(Promotion {
        promoted: wins,
        previous,
        candidate: value,
    })
}
