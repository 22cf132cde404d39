//! Branching, short-circuits, dynamic task mapping and task groups: what a user observes when
//! such a DAG runs, is recorded, resumed, shown and drawn.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use oxflow::dag::{GraphFormat, TriggerRule};
use oxflow::exec::{self, DagRunState, RunConfig, TaskState};
use oxflow::prelude::*;
use oxflow::tracking::{FileStore, RunStatus, Store};
use serde::{Deserialize, Serialize};

fn states(report: &exec::DagRunReport) -> BTreeMap<String, TaskState> {
    report
        .tasks
        .iter()
        .map(|t| (t.id.clone(), t.state))
        .collect()
}

// ---------------------------------------------------------------- branching

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
enum Route {
    Retrain,
    Keep,
    Retire { after_days: u32 },
}

#[task]
fn low_score() -> f64 {
    0.4
}

#[task]
fn high_score() -> f64 {
    0.9
}

#[task]
fn choose(score: &f64) -> Route {
    if *score < 0.5 {
        Route::Retrain
    } else {
        Route::Keep
    }
}

#[task]
fn retrain(score: &f64) -> String {
    format!("model trained after {score}")
}

#[task]
fn deploy(model: &String) -> String {
    format!("deployed {model}")
}

#[task]
fn keep() -> String {
    "kept the current model".into()
}

#[task]
fn retire() {}

#[task]
fn report(score: &f64) -> String {
    format!("report for {score}")
}

/// Retrains when the score is low.
#[dag]
fn routed_low() {
    let score = low_score();
    let route = choose(&score);
    let done = match route {
        Route::Retrain => {
            let model = retrain(&score);
            deploy(&model)
        }
        Route::Keep => keep(),
        Route::Retire { .. } => retire(),
    };
    done >> report(&score);
}

#[dag]
fn routed_high() {
    let score = high_score();
    let route = choose(&score);
    let done = match route {
        Route::Retrain => {
            let model = retrain(&score);
            deploy(&model)
        }
        Route::Keep => keep(),
        Route::Retire { .. } => retire(),
    };
    done >> report(&score);
}

#[tokio::test]
async fn a_branch_runs_the_chosen_arm_and_skips_the_others() {
    let spec = routed_low().spec().unwrap();
    let report = exec::execute(&spec, RunConfig::in_memory()).await.unwrap();
    assert_eq!(report.state, DagRunState::Success);
    let s = states(&report);
    assert_eq!(s["choose"], TaskState::Success);
    assert_eq!(s["retrain"], TaskState::Success);
    assert_eq!(s["deploy"], TaskState::Success);
    assert_eq!(s["keep"], TaskState::Skipped);
    assert_eq!(s["retire"], TaskState::Skipped);
    assert_eq!(
        report.task("keep").unwrap().error.as_deref(),
        Some("branch `choose` chose `Route::Retrain`")
    );
    // The join runs after whichever arm ran.
    assert_eq!(s["report"], TaskState::Success);
    assert_eq!(
        report.output::<String>("deploy").unwrap(),
        "deployed model trained after 0.4"
    );
}

#[tokio::test]
async fn skips_reach_the_rest_of_an_arm_through_trigger_rules() {
    let spec = routed_high().spec().unwrap();
    let report = exec::execute(&spec, RunConfig::in_memory()).await.unwrap();
    assert_eq!(report.state, DagRunState::Success);
    let s = states(&report);
    assert_eq!(s["keep"], TaskState::Success);
    // `retrain` starts its arm and is skipped by the branch; `deploy` follows by `all_success`.
    assert_eq!(s["retrain"], TaskState::Skipped);
    assert_eq!(s["deploy"], TaskState::Skipped);
    assert_eq!(s["retire"], TaskState::Skipped);
    assert_eq!(s["report"], TaskState::Success);
    assert_eq!(report.output::<String>("report").unwrap(), "report for 0.9");
}

#[test]
fn a_join_gets_none_failed_min_one_success_and_the_arms_are_drawn() {
    let spec = routed_low().spec().unwrap();
    let join = &spec.nodes[spec.node_index("report").unwrap()];
    assert_eq!(join.options.trigger, TriggerRule::NoneFailedMinOneSuccess);
    assert!(join.flow.join);
    let keep = &spec.nodes[spec.node_index("keep").unwrap()];
    assert_eq!(keep.options.trigger, TriggerRule::AllSuccess);
    let mermaid = spec.render(GraphFormat::Mermaid);
    let choose = spec.node_index("choose").unwrap();
    let keep = spec.node_index("keep").unwrap();
    assert!(
        mermaid.contains(&format!("n{choose} -.->|Route::Keep| n{keep}")),
        "{mermaid}"
    );
    let dot = spec.render(GraphFormat::Dot);
    assert!(
        dot.contains(&format!(
            "n{choose} -> n{keep} [style=dashed, label=\"Route::Keep\"];"
        )),
        "{dot}"
    );
}

// ---------------------------------------------------------------- short-circuit

static FRESH_DATA: AtomicBool = AtomicBool::new(false);

#[task(short_circuit)]
fn has_new_data() -> bool {
    FRESH_DATA.load(Ordering::SeqCst)
}

#[task]
fn load_rows() -> u32 {
    3
}

#[task]
fn fit(rows: &u32) -> u32 {
    rows * 2
}

#[task(trigger = "all_done")]
fn cleanup() {}

#[task]
fn unrelated() -> u32 {
    7
}

#[dag]
fn gated() {
    let fresh = has_new_data();
    let rows = load_rows();
    fresh >> rows;
    let model = fit(&rows);
    model >> cleanup();
    unrelated();
}

#[tokio::test]
async fn a_false_condition_skips_everything_downstream_whatever_the_trigger_rules() {
    let spec = gated().spec().unwrap();
    FRESH_DATA.store(false, Ordering::SeqCst);
    let report = exec::execute(&spec, RunConfig::in_memory()).await.unwrap();
    assert_eq!(report.state, DagRunState::Success);
    let s = states(&report);
    assert_eq!(s["has_new_data"], TaskState::Success);
    assert_eq!(s["load_rows"], TaskState::Skipped);
    assert_eq!(s["fit"], TaskState::Skipped);
    // `all_done` would run after skipped upstreams; a short-circuit skips it anyway.
    assert_eq!(s["cleanup"], TaskState::Skipped);
    assert_eq!(
        report.task("cleanup").unwrap().error.as_deref(),
        Some("short-circuit task `has_new_data` returned false")
    );
    assert_eq!(s["unrelated"], TaskState::Success);

    FRESH_DATA.store(true, Ordering::SeqCst);
    let report = exec::execute(&spec, RunConfig::in_memory()).await.unwrap();
    let s = states(&report);
    assert!(s.values().all(|s| *s == TaskState::Success), "{s:?}");
}

// ---------------------------------------------------------------- mapping

#[task]
fn dataset() -> Vec<f64> {
    vec![1.0, 2.0, 3.0]
}

#[task]
fn learning_rates() -> Vec<u32> {
    vec![1, 2, 3, 4]
}

#[task]
fn evaluate(data: &Vec<f64>, rate: &u32) -> f64 {
    data.iter().sum::<f64>() * f64::from(*rate)
}

#[task]
fn scores_in_order(scores: &Vec<f64>) -> Vec<f64> {
    scores.clone()
}

#[dag]
fn sweep() {
    let data = dataset();
    let rates = learning_rates();
    let scores = evaluate.partial(&data).expand(&rates);
    scores_in_order(&scores);
}

#[tokio::test]
async fn a_mapped_task_runs_once_per_element_and_hands_the_outputs_on_in_order() {
    let spec = sweep().spec().unwrap();
    let report = exec::execute(&spec, RunConfig::in_memory()).await.unwrap();
    assert_eq!(report.state, DagRunState::Success);
    assert_eq!(
        report.output::<Vec<f64>>("scores_in_order").unwrap(),
        &vec![6.0, 12.0, 18.0, 24.0]
    );
    assert_eq!(report.task("evaluate").unwrap().state, TaskState::Success);
}

#[task]
fn no_rates() -> Vec<u32> {
    Vec::new()
}

#[task]
fn by_value(rate: u32) -> u32 {
    rate
}

#[task]
fn total(values: &Vec<u32>) -> u32 {
    values.iter().sum()
}

#[dag]
fn empty_sweep() {
    let rates = no_rates();
    let values = by_value.expand(rates);
    total(&values);
}

#[tokio::test]
async fn an_empty_list_skips_the_mapped_task() {
    let spec = empty_sweep().spec().unwrap();
    let report = exec::execute(&spec, RunConfig::in_memory()).await.unwrap();
    assert_eq!(report.state, DagRunState::Success);
    let s = states(&report);
    assert_eq!(s["by_value"], TaskState::Skipped);
    assert_eq!(
        report.task("by_value").unwrap().error.as_deref(),
        Some("the list for input `rate` from task `no_rates` is empty, so no instance ran")
    );
    assert_eq!(s["total"], TaskState::Skipped);
}

#[task]
fn many_rates() -> Vec<u32> {
    (0..5).collect()
}

#[dag(max_map_length = 4)]
fn too_wide() {
    let rates = many_rates();
    by_value.expand(rates);
}

#[tokio::test]
async fn a_list_over_max_map_length_fails_the_task_before_any_instance_runs() {
    let spec = too_wide().spec().unwrap();
    let report = exec::execute(&spec, RunConfig::in_memory()).await.unwrap();
    assert_eq!(report.state, DagRunState::Failed);
    let t = report.task("by_value").unwrap();
    assert_eq!(t.state, TaskState::Failed);
    assert_eq!(t.tries, 0);
    assert_eq!(
        t.error.as_deref(),
        Some(
            "task `by_value` would map over 5 elements of `rate` (from task `many_rates`), more than max_map_length 4; raise `#[dag(max_map_length = ...)]` or shorten the list"
        )
    );
}

static FLAKY_TRIES: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static BROKEN_ELEMENT: AtomicUsize = AtomicUsize::new(usize::MAX);

#[task]
fn shards() -> Vec<u32> {
    vec![10, 20, 30]
}

/// Fails once on 20 (then succeeds on retry), and always on the element `BROKEN_ELEMENT`.
#[task(retries = 1, retry_delay = "0s")]
fn process(shard: &u32, ctx: &TaskContext) -> Result<u32, String> {
    FLAKY_TRIES.lock().unwrap().push(*shard);
    if *shard as usize == BROKEN_ELEMENT.load(Ordering::SeqCst) {
        return Err(format!("shard {shard} is broken"));
    }
    if *shard == 20 && ctx.try_number() == 1 {
        return Err("transient".into());
    }
    Ok(shard + 1)
}

#[task]
fn merge(parts: &Vec<u32>) -> u32 {
    parts.iter().sum()
}

#[dag]
fn sharded() {
    let all = shards();
    let parts = process.expand(&all);
    merge(&parts);
}

fn calls_of(shard: u32) -> usize {
    FLAKY_TRIES
        .lock()
        .unwrap()
        .iter()
        .filter(|s| **s == shard)
        .count()
}

#[tokio::test]
async fn instances_are_recorded_retried_and_resumed_on_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path().join("mlruns")).unwrap();
    let spec = sharded().spec().unwrap();

    BROKEN_ELEMENT.store(30, Ordering::SeqCst);
    let first = exec::execute(&spec, RunConfig::recorded(store.clone()))
        .await
        .unwrap();
    assert_eq!(first.state, DagRunState::Failed);
    let s = states(&first);
    assert_eq!(s["process"], TaskState::Failed);
    assert_eq!(s["merge"], TaskState::UpstreamFailed);
    assert_eq!(
        first.task("process").unwrap().error.as_deref(),
        Some("1 of 3 mapped instances failed")
    );
    // 10 once, 20 twice (a retry of its own), 30 twice (retried, then failed).
    assert_eq!((calls_of(10), calls_of(20), calls_of(30)), (1, 2, 2));

    // The record: one nested run per instance, tagged with its map index.
    let exp = store.get_experiment_by_name("sharded").unwrap().unwrap();
    let children: Vec<_> = store
        .list_run_records(&exp.experiment_id, false)
        .unwrap()
        .into_iter()
        .filter(|r| r.tags.get("mlflow.parentRunId") == Some(&first.dag_run_id))
        .collect();
    let instance = |k: &str| {
        children
            .iter()
            .find(|r| {
                r.tags["oxflow.task_id"] == "process"
                    && r.tags.get("oxflow.map_index").map(String::as_str) == Some(k)
            })
            .unwrap_or_else(|| panic!("no record of process[{k}]"))
    };
    assert_eq!(instance("0").tags["oxflow.state"], "success");
    assert_eq!(instance("1").tags["oxflow.try_number"], "2");
    assert_eq!(instance("2").tags["oxflow.state"], "failed");
    assert_eq!(instance("2").tags["oxflow.error"], "shard 30 is broken");
    assert_eq!(instance("2").info.status, RunStatus::Failed);
    assert_eq!(instance("1").info.run_name, "process[1]");
    assert!(instance("1").info.end_time_ms.is_some());
    assert_eq!(
        store
            .read_artifact(&instance("1").info.run_id, "xcom/return_value.json")
            .unwrap(),
        b"21"
    );
    let parent = children
        .iter()
        .find(|r| r.tags["oxflow.task_id"] == "process" && !r.tags.contains_key("oxflow.map_index"))
        .expect("the mapped task's own record");
    assert_eq!(parent.tags["oxflow.state"], "failed");
    // Logs: Airflow's `map_index=<k>` directory per instance.
    let log = dir.path().join(format!(
        "logs/dag_id=sharded/run_id={}/task_id=process/map_index=2/attempt=2.log",
        first.dag_run_id
    ));
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("attempt 2 failed: shard 30 is broken"),
        "{log}"
    );
    let logs = exec::load_task_log(&store, None, &first.dag_run_id, "process").unwrap();
    assert!(
        logs.contains("--- [2] attempt 2: ") && logs.contains("shard 30 is broken"),
        "{logs}"
    );

    // Resume: only the failed instance runs again.
    BROKEN_ELEMENT.store(usize::MAX, Ordering::SeqCst);
    let second = exec::execute(
        &spec,
        RunConfig::recorded(store.clone()).resume(&first.dag_run_id),
    )
    .await
    .unwrap();
    assert_eq!(second.state, DagRunState::Success);
    assert_eq!((calls_of(10), calls_of(20), calls_of(30)), (1, 2, 3));
    assert_eq!(*second.output::<u32>("merge").unwrap(), 11 + 21 + 31);
    let children: Vec<_> = store
        .list_run_records(&exp.experiment_id, false)
        .unwrap()
        .into_iter()
        .filter(|r| r.tags.get("mlflow.parentRunId") == Some(&first.dag_run_id))
        .collect();
    // The same records are updated, none is added.
    assert_eq!(
        children.len(),
        1 + 1 + 3 + 1,
        "shards, process, 3 instances, merge"
    );
    let third_instance = children
        .iter()
        .find(|r| r.tags.get("oxflow.map_index").map(String::as_str) == Some("2"))
        .unwrap();
    assert_eq!(third_instance.tags["oxflow.state"], "success");
    assert_eq!(third_instance.tags["oxflow.try_number"], "3");
}

// ---------------------------------------------------------------- task groups

#[task]
fn raw() -> Vec<f64> {
    vec![1.0, f64::NAN, 2.0]
}

#[task]
fn clean(rows: &Vec<f64>) -> Vec<f64> {
    rows.iter().copied().filter(|x| !x.is_nan()).collect()
}

#[task(retries = 5)]
fn featurize(rows: &Vec<f64>) -> f64 {
    rows.iter().sum()
}

#[task]
fn fit_model(feature: &f64) -> f64 {
    feature * 10.0
}

#[dag(default_args(retries = 1))]
fn grouped() {
    let rows = raw();
    group!("features", default_args(retries = 3, timeout = "1m"), {
        let cleaned = clean(&rows);
        let feature = featurize(&cleaned);
    });
    fit_model(&feature);
}

#[tokio::test]
async fn a_group_prefixes_ids_sets_defaults_and_is_drawn_as_a_cluster() {
    let spec = grouped().spec().unwrap();
    let ids: Vec<&str> = spec.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(
        ids,
        ["raw", "features.clean", "features.featurize", "fit_model"]
    );
    let options = |id: &str| &spec.nodes[spec.node_index(id).unwrap()].options;
    // The group's defaults, under the task's own and over the DAG's.
    assert_eq!(options("features.clean").retries, 3);
    assert_eq!(
        options("features.clean").timeout,
        Some(std::time::Duration::from_secs(60))
    );
    assert_eq!(options("features.featurize").retries, 5);
    assert_eq!(options("fit_model").retries, 1);
    assert_eq!(options("fit_model").timeout, None);

    let mermaid = spec.render(GraphFormat::Mermaid);
    assert!(
        mermaid.contains("    subgraph g0[\"features\"]\n        n1[\"features.clean\"]\n        n2[\"features.featurize\"]\n    end\n"),
        "{mermaid}"
    );
    let dot = spec.render(GraphFormat::Dot);
    assert!(
        dot.contains("    subgraph cluster_0 {\n        label=\"features\";\n        n1 [label=\"features.clean\"];"),
        "{dot}"
    );

    let report = exec::execute(&spec, RunConfig::in_memory()).await.unwrap();
    assert_eq!(*report.output::<f64>("fit_model").unwrap(), 30.0);
}
