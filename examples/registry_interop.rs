//! Writes a model registry through oxflow's tracking store and reads it back, for
//! `tests/interop/mlflow_registry.sh`: `registry_interop <tracking URI> <expected.json>`.
//!
//! The URI is a file store path (MLflow's client then reads `models/`) or an MLflow server
//! (every registry call goes over its REST API). Every value written is read back through
//! oxflow first; `expected.json` tells the Python check what MLflow must see.

use oxflow::tracking::{
    ModelVersionQuery, NewModelVersion, RunOptions, RunStatus, Stage, TrackingError, TrackingStore,
    now_ms,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, uri, expected] = &args[..] else {
        return Err("usage: registry_interop <tracking URI> <expected.json>".into());
    };
    let store = TrackingStore::open_uri(uri)?;
    let exp = store.get_or_create_experiment("registry-interop")?;
    let run = store.create_run(&exp.experiment_id, RunOptions::default())?;
    store.set_terminated(&run.run_id, RunStatus::Finished, now_ms())?;

    let name = "oxflow-demo";
    let model = store.create_registered_model(
        name,
        Some("made by oxflow"),
        &[("owner".into(), "ml-team".into())],
    )?;
    assert_eq!(model.name, name);
    match store.create_registered_model(name, None, &[]) {
        Err(TrackingError::ModelExists { .. }) => {}
        other => return Err(format!("a second model `{name}`: {other:?}").into()),
    }
    // Inside the run's artifacts: an MLflow server refuses a source it cannot tie to the run.
    let source = format!("{}/model", run.artifact_uri);
    let v1 = store.create_model_version(&NewModelVersion {
        name: name.into(),
        source: source.clone(),
        run_id: Some(run.run_id.clone()),
        description: Some("first".into()),
        tags: vec![("validated".into(), "yes".into())],
        storage_location: None,
    })?;
    let v2 = store.create_model_version(&NewModelVersion {
        name: name.into(),
        source: source.clone(),
        run_id: Some(run.run_id.clone()),
        description: None,
        tags: vec![],
        storage_location: None,
    })?;
    assert_eq!((v1.version, v2.version), (1, 2));
    store.transition_model_version_stage(name, 1, Stage::Production, false)?;
    store.transition_model_version_stage(name, 2, Stage::Staging, false)?;
    store.set_registered_model_alias(name, "champion", 1)?;
    store.set_registered_model_alias(name, "challenger", 2)?;
    store.set_registered_model_alias(name, "gone", 2)?;
    store.delete_registered_model_alias(name, "gone")?;
    store.set_model_version_tag(name, 2, "kind", "candidate")?;
    store.set_model_version_tag(name, 2, "tmp", "x")?;
    store.delete_model_version_tag(name, 2, "tmp")?;
    store.set_registered_model_tag(name, "tmp", "x")?;
    store.delete_registered_model_tag(name, "tmp")?;
    store.update_model_version(name, 2, "second")?;
    store.update_registered_model(name, "made by oxflow, twice")?;

    // Read back through oxflow.
    let m = store.get_registered_model(name)?;
    assert_eq!(m.description.as_deref(), Some("made by oxflow, twice"));
    assert_eq!(m.tags.get("owner").map(String::as_str), Some("ml-team"));
    assert!(!m.tags.contains_key("tmp"));
    assert_eq!(m.aliases.get("champion"), Some(&1));
    assert!(!m.aliases.contains_key("gone"));
    let champion = store.get_model_version_by_alias(name, "champion")?;
    assert_eq!(
        (champion.version, champion.current_stage),
        (1, Stage::Production)
    );
    let v2 = store.get_model_version(name, 2)?;
    assert_eq!(v2.description.as_deref(), Some("second"));
    assert_eq!(v2.tags.get("kind").map(String::as_str), Some("candidate"));
    assert!(!v2.tags.contains_key("tmp"));
    let staged = store.search_model_versions(&ModelVersionQuery {
        name: Some(name.into()),
        stages: vec![Stage::Staging],
        ..Default::default()
    })?;
    assert_eq!(staged.iter().map(|v| v.version).collect::<Vec<_>>(), [2]);
    let latest = store.get_latest_versions(name, &[Stage::Production])?;
    assert_eq!(latest.iter().map(|v| v.version).collect::<Vec<_>>(), [1]);
    match store.get_model_version_by_alias(name, "nobody") {
        Err(TrackingError::AliasNotFound { .. }) => {}
        other => return Err(format!("missing alias: {other:?}").into()),
    }
    match store.get_model_version(name, 99) {
        Err(TrackingError::ModelVersionNotFound { version: 99, .. }) => {}
        other => return Err(format!("missing version: {other:?}").into()),
    }
    match store.get_registered_model("no-such-model") {
        Err(TrackingError::ModelNotFound { .. }) => {}
        other => return Err(format!("missing model: {other:?}").into()),
    }
    // A model to delete, with a deleted version.
    store.create_registered_model("oxflow-scratch", None, &[])?;
    store.create_model_version(&NewModelVersion {
        name: "oxflow-scratch".into(),
        source: source.clone(),
        run_id: Some(run.run_id.clone()),
        ..Default::default()
    })?;
    store.delete_model_version("oxflow-scratch", 1)?;
    store.delete_registered_model("oxflow-scratch")?;
    let names: Vec<String> = store
        .search_registered_models(Some("oxflow-%"))?
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, [name]);

    let expected_json = serde_json::json!({
        "name": name,
        "run_id": run.run_id,
        "source": source,
    });
    std::fs::write(expected, serde_json::to_vec_pretty(&expected_json)?)?;
    println!("registry written to {uri}");
    Ok(())
}
