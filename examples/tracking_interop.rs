//! Writes a tracking store for the MLflow interoperability check (`tests/interop/`).
//!
//! ```text
//! cargo run --example tracking_interop -- <store dir, file:// or http(s):// URI> <expected.json>
//! ```
//!
//! The store gets an experiment `interop` with a parent run (params, stepped metrics, NaN and
//! infinities, a `/` key, tags, artifacts), a nested child run, 20 runs for filtered searches,
//! a deleted run and a failed run. `expected.json` records what a reader must find.

use std::collections::BTreeMap;

use oxflow::tracking::{Metric, Run, RunOptions, RunStatus, TAG_NOTE, TrackingStore};
use serde_json::json;

/// Logs metrics, params, tags and artifacts as fast as it can, until the process is killed.
fn heavy(uri: &str) -> Result<(), Box<dyn std::error::Error>> {
    let store = TrackingStore::open_uri(uri)?;
    let mut run = Run::start(
        &store,
        "crash",
        RunOptions {
            run_name: Some("heavy".into()),
            ..Default::default()
        },
    )?;
    println!("{}", run.id());
    for i in 0i64.. {
        run.log_metric_at("loss", 1.0 / (i + 1) as f64, i)?;
        if i % 100 == 0 {
            run.log_param(&format!("p{}", i / 100), i)?;
            run.set_tag("progress", &i.to_string())?;
            run.log_text(&format!("chunks/{}.txt", i / 100), "chunk")?;
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(uri), Some(expected_path)) = (args.next(), args.next()) else {
        eprintln!("usage: tracking_interop <store dir or URI> <expected.json>");
        eprintln!("       tracking_interop --heavy <store dir>   (logs until killed)");
        std::process::exit(2);
    };
    if uri == "--heavy" {
        return heavy(&expected_path);
    }
    let store = TrackingStore::open_uri(&uri)?;
    let exp = store.get_or_create_experiment("interop")?;
    store.set_experiment_tag(&exp.experiment_id, TAG_NOTE, "written by oxflow")?;

    let mut parent = Run::start(
        &store,
        "interop",
        RunOptions {
            run_name: Some("parent".into()),
            ..Default::default()
        },
    )?;
    parent.log_param("lr", 0.01)?;
    parent.log_param("epochs", 3)?;
    parent.log_param("optimizer", "adam")?;
    for (i, loss) in [1.0, 0.5, 0.25, 0.125, 0.0625].into_iter().enumerate() {
        parent.log_metric_at("loss", loss, i as i64)?;
    }
    parent.log_metric("train/acc", 0.75)?;
    parent.log_metric("nan_metric", f64::NAN)?;
    parent.log_metric("inf_metric", f64::INFINITY)?;
    parent.log_metric("ninf_metric", f64::NEG_INFINITY)?;
    parent.set_tag("stage", "dev")?;
    parent.set_description("parent run")?;
    parent.log_text("hello.txt", "hello from oxflow\n")?;
    parent.log_json("config.json", &json!({"lr": 0.01, "layers": [64, 32]}))?;
    parent.log_text("notes/readme.txt", "nested artifact")?;

    let mut child = parent.start_child(RunOptions {
        run_name: Some("child".into()),
        ..Default::default()
    })?;
    child.log_param("fold", 1)?;
    child.log_metric("loss", 0.3)?;
    let child_id = child.id().to_string();
    child.end(RunStatus::Finished)?;

    // Runs for filtered search: acc = i/20, opt alternates adam/sgd.
    let mut search = Vec::new();
    for i in 0..20 {
        let mut r = Run::start(
            &store,
            "interop",
            RunOptions {
                run_name: Some(format!("grid-{i:02}")),
                ..Default::default()
            },
        )?;
        let acc = i as f64 / 20.0;
        let opt = if i % 2 == 0 { "adam" } else { "sgd" };
        r.log_param("opt", opt)?;
        r.log_metrics(&[Metric {
            key: "acc".into(),
            value: acc,
            timestamp_ms: 1_700_000_000_000 + i,
            step: 0,
        }])?;
        r.set_tag("grid", "yes")?;
        search.push((r.id().to_string(), acc, opt));
        r.end(RunStatus::Finished)?;
    }
    // metrics.acc > 0.5 and params.opt = 'adam', by acc descending.
    let mut hits: Vec<_> = search
        .iter()
        .filter(|(_, a, o)| *a > 0.5 && *o == "adam")
        .collect();
    hits.sort_by(|a, b| b.1.total_cmp(&a.1));
    let hits: Vec<&str> = hits.iter().map(|(id, _, _)| id.as_str()).collect();

    let deleted = Run::start(
        &store,
        "interop",
        RunOptions {
            run_name: Some("deleted".into()),
            ..Default::default()
        },
    )?;
    let deleted_id = deleted.id().to_string();
    deleted.end(RunStatus::Finished)?;
    store.delete_run(&deleted_id)?;

    let failed = Run::start(
        &store,
        "interop",
        RunOptions {
            run_name: Some("failed".into()),
            ..Default::default()
        },
    )?;
    let failed_id = failed.id().to_string();
    failed.end(RunStatus::Failed)?;

    let parent_id = parent.id().to_string();
    parent.end(RunStatus::Finished)?;

    let rec = store.get_run(&parent_id)?;
    let params: BTreeMap<_, _> = rec.params.clone();
    let expected = json!({
        "experiment_id": exp.experiment_id,
        "experiment_name": "interop",
        "parent": {
            "run_id": parent_id,
            "params": params,
            "loss_history": [[0, 1.0], [1, 0.5], [2, 0.25], [3, 0.125], [4, 0.0625]],
            "tags": {"stage": "dev", "mlflow.runName": "parent", "mlflow.note.content": "parent run"},
            "artifacts": {"hello.txt": "hello from oxflow\n", "notes/readme.txt": "nested artifact"},
        },
        "child_id": child_id,
        "search_hits": hits,
        "deleted_id": deleted_id,
        "failed_id": failed_id,
        "active_runs": 1 + 1 + 20 + 1,
    });
    std::fs::write(&expected_path, serde_json::to_string_pretty(&expected)?)?;
    println!("wrote to {uri} and {expected_path}");
    Ok(())
}
