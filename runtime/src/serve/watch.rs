//! `--watch`: follow a registry alias, stage or `latest` and swap in the version it moves to.

use std::time::Duration;

use super::served::load_served;
use super::server::Scoring;
use crate::model::{ModelUri, registry_version};
use crate::tracking::TrackingStore;

/// Polls the registry every `interval` for the version `uri` names; when it is not the one
/// being served, loads it and swaps it in ([`Scoring::replace`]): requests in flight finish on
/// the old model, new ones get the new one, none fails. A registry that cannot be read, or a
/// version that cannot be loaded, is a warning; the server keeps answering with the model it
/// has. Runs until dropped.
///
/// ```no_run
/// # async fn demo(scoring: oxflow_runtime::serve::Scoring, store: oxflow_runtime::tracking::TrackingStore) {
/// tokio::spawn(oxflow_runtime::serve::watch(
///     scoring,
///     store,
///     "models:/house_price@champion".into(),
///     std::time::Duration::from_secs(10),
/// ));
/// # }
/// ```
pub async fn watch(scoring: Scoring, store: TrackingStore, uri: String, interval: Duration) {
    let Ok(parsed) = uri.parse::<ModelUri>() else {
        return;
    };
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let (store2, uri2, parsed2) = (store.clone(), uri.clone(), parsed.clone());
        let named =
            tokio::task::spawn_blocking(move || registry_version(&store2, &uri2, &parsed2)).await;
        let version = match named {
            Ok(Ok(Some(v))) => v.version.to_string(),
            // A URI that names no registry version never moves.
            Ok(Ok(None)) => return,
            Ok(Err(e)) => {
                tracing::warn!(target: "oxflow::serve", uri = %uri, "cannot read the registry: {e}");
                continue;
            }
            Err(e) => {
                tracing::warn!(target: "oxflow::serve", uri = %uri, "registry lookup failed: {e}");
                continue;
            }
        };
        let current = scoring.current();
        if current.version() == version {
            continue;
        }
        let (store2, uri2) = (store.clone(), uri.clone());
        match tokio::task::spawn_blocking(move || load_served(&store2, &uri2)).await {
            Ok(Ok(next)) => {
                tracing::info!(
                    target: "oxflow::serve",
                    model = next.name(),
                    from = current.version(),
                    to = next.version(),
                    "{uri} moved: now serving version {}",
                    next.version()
                );
                scoring.replace(next);
            }
            Ok(Err(e)) => {
                tracing::warn!(target: "oxflow::serve", uri = %uri, version = %version, "cannot load the new version, still serving version {}: {e}", current.version());
            }
            Err(e) => {
                tracing::warn!(target: "oxflow::serve", uri = %uri, "loading the new version failed: {e}");
            }
        }
    }
}
