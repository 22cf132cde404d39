//! Drift detection as a pipeline step: a `#[dag]` task checks today's data against a reference
//! and logs the report to its own tracking run.

use oxflow::drift::{Column, Dataset, DriftOptions, DriftReport, detect};
use oxflow::exec::{self, DagRunState, RunConfig, TaskState};
use oxflow::prelude::*;
use oxflow::tracking::{FileStore, Store};

fn sample(shift: f64, n: usize) -> Dataset {
    let values: Vec<f64> = (0..n).map(|i| (i % 97) as f64 / 9.7 + shift).collect();
    let plans: Vec<String> = (0..n)
        .map(|i| {
            if i % 3 == 0 {
                "pro".into()
            } else {
                "free".into()
            }
        })
        .collect();
    Dataset::new(vec![
        Column::numerical("age", values),
        Column::categorical("plan", plans),
    ])
    .unwrap()
}

#[task(persist = false)]
fn load_reference() -> Dataset {
    sample(0.0, 2000)
}

#[task(persist = false)]
fn load_current() -> Dataset {
    sample(4.0, 2000)
}

#[task]
fn check_drift(
    reference: &Dataset,
    current: &Dataset,
    run: &mut Run,
) -> Result<bool, oxflow::Error> {
    let report: DriftReport = detect(reference, current, &DriftOptions::default())?;
    report.log_to_with_inputs(
        run,
        &reference.describe("customers", "data/reference.csv"),
        &current.describe("customers", "data/today.csv"),
    )?;
    Ok(report.dataset.dataset_drift)
}

#[task(trigger = "all_success")]
fn alert(drifted: &bool) -> String {
    if *drifted {
        "retrain".into()
    } else {
        "ok".into()
    }
}

#[dag]
fn monitoring() {
    let reference = load_reference();
    let current = load_current();
    let drifted = check_drift(&reference, &current);
    alert(&drifted);
}

#[tokio::test]
async fn a_drift_check_runs_as_a_task_and_logs_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path().join("mlruns")).unwrap();
    let report = exec::execute(
        &monitoring().spec().unwrap(),
        RunConfig::recorded(store.clone()),
    )
    .await
    .unwrap();
    assert_eq!(report.state, DagRunState::Success);
    assert_eq!(
        report.task("check_drift").unwrap().state,
        TaskState::Success
    );
    assert_eq!(report.output::<String>("alert").unwrap(), "retrain");

    let exp = store.get_experiment_by_name("monitoring").unwrap().unwrap();
    let check = store
        .list_run_records(&exp.experiment_id, false)
        .unwrap()
        .into_iter()
        .find(|r| r.tags.get("oxflow.task_id").map(String::as_str) == Some("check_drift"))
        .unwrap();
    assert_eq!(check.tags["oxflow.dataset_drift"], "true");
    // The run names the two datasets it compared, and a search finds it by them.
    let contexts: Vec<(&str, Option<&str>)> = check
        .inputs
        .iter()
        .map(|i| (i.dataset.source.as_str(), i.context()))
        .collect();
    assert_eq!(contexts.len(), 2, "{:?}", check.inputs);
    assert!(contexts.contains(&(r#"{"uri":"data/today.csv"}"#, Some("current"))));
    assert!(contexts.contains(&(r#"{"uri":"data/reference.csv"}"#, Some("reference"))));
    assert_ne!(
        check.inputs[0].dataset.digest,
        check.inputs[1].dataset.digest
    );
    let hits = store
        .search_runs(
            &[exp.experiment_id.as_str()],
            "dataset.name = 'customers' and dataset.context = 'reference'",
            &[],
            10,
            oxflow::tracking::ViewType::ActiveOnly,
        )
        .unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].info.run_id, check.info.run_id);
    assert_eq!(check.metrics["drift.dataset_drift"].value, 1.0);
    assert_eq!(check.metrics["drift.share_of_drifted_columns"].value, 0.5);
    assert_eq!(check.metrics["drift.age.detected"].value, 1.0);
    let html = String::from_utf8(
        store
            .read_artifact(&check.info.run_id, "drift/report.html")
            .unwrap(),
    )
    .unwrap();
    assert!(
        html.contains("<svg") && html.contains("age"),
        "the HTML report has its plots"
    );
    let json = store
        .read_artifact(&check.info.run_id, "drift/report.json")
        .unwrap();
    let parsed: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(parsed["dataset"]["dataset_drift"], true);
}
