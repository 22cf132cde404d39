//! Tracking benchmark, the Rust side of `bench/tracking.sh`: the same workloads as
//! `research/bench_mlflow.py` (file store), each on a fresh store in `$BENCH_DIR` (default
//! /tmp), median of `--reps`.
//!
//! ```text
//! cargo bench --bench tracking -- --reps 3 --json target/bench-tracking.json
//! cargo bench --bench tracking -- --store sqlite     # MLflow's SQLite schema (the default)
//! cargo bench --bench tracking -- --store file       # MLflow's file store
//! ```
//!
//! Timings include the final flush, so every value is in its file when the clock stops, as
//! with MLflow's synchronous writes.

use std::sync::OnceLock;
use std::time::Instant;

use oxflow::tracking::{Metric, Run, RunOptions, RunStatus, TrackingStore, now_ms};

/// `sqlite` or `file`, from `--store`.
static STORE: OnceLock<String> = OnceLock::new();

fn fresh() -> (tempfile::TempDir, TrackingStore, String) {
    let base = std::env::var("BENCH_DIR").unwrap_or_else(|_| "/tmp".into());
    let dir = tempfile::Builder::new()
        .prefix("oxbench-")
        .tempdir_in(base)
        .unwrap();
    let uri = match STORE.get().map(String::as_str) {
        Some("file") => dir.path().join("mlruns").display().to_string(),
        _ => format!("sqlite:///{}", dir.path().join("mlflow.db").display()),
    };
    let store = TrackingStore::open_uri(&uri).unwrap();
    let exp = store.get_or_create_experiment("bench").unwrap();
    // Warm-up run, as the Python script does.
    let r = store
        .create_run(&exp.experiment_id, RunOptions::default())
        .unwrap();
    store
        .log_metric(&r.run_id, "warm", 1.0, now_ms(), 0)
        .unwrap();
    store
        .set_terminated(&r.run_id, RunStatus::Finished, now_ms())
        .unwrap();
    (dir, store, exp.experiment_id)
}

/// a: start and end 100 runs through the `Run` handle (like mlflow.start_run/end_run).
fn bench_a() -> f64 {
    let (_d, store, _) = fresh();
    let t = Instant::now();
    for i in 0..100 {
        let run = Run::start(
            &store,
            "bench",
            RunOptions {
                run_name: Some(format!("r{i}")),
                ..Default::default()
            },
        )
        .unwrap();
        run.end(RunStatus::Finished).unwrap();
    }
    t.elapsed().as_secs_f64()
}

/// b: 10,000 single metric calls in one run.
fn bench_b() -> f64 {
    let (_d, store, _) = fresh();
    let mut run = Run::start(&store, "bench", RunOptions::default()).unwrap();
    let t = Instant::now();
    for i in 0..10_000i64 {
        run.log_metric_at("loss", 1.0 / (i + 1) as f64, i).unwrap();
    }
    run.flush().unwrap();
    let dt = t.elapsed().as_secs_f64();
    run.end(RunStatus::Finished).unwrap();
    dt
}

/// c: 100,000 metrics through log_batch, 1000 per call, 10 keys.
fn bench_c() -> f64 {
    let (_d, store, exp) = fresh();
    let run = store.create_run(&exp, RunOptions::default()).unwrap();
    let ts = now_ms();
    let batches: Vec<Vec<Metric>> = (0..100)
        .map(|b| {
            (0..1000)
                .map(|j| {
                    let i = b * 1000 + j;
                    Metric {
                        key: format!("m{}", i % 10),
                        value: j as f64,
                        timestamp_ms: ts,
                        step: i,
                    }
                })
                .collect()
        })
        .collect();
    let t = Instant::now();
    for ms in &batches {
        store.log_batch(&run.run_id, ms, &[], &[]).unwrap();
    }
    store.flush().unwrap();
    let dt = t.elapsed().as_secs_f64();
    store
        .set_terminated(&run.run_id, RunStatus::Finished, now_ms())
        .unwrap();
    dt
}

/// d: 1000 single param calls.
fn bench_d() -> f64 {
    let (_d, store, _) = fresh();
    let mut run = Run::start(&store, "bench", RunOptions::default()).unwrap();
    let t = Instant::now();
    for i in 0..1000 {
        run.log_param(&format!("p{i}"), i).unwrap();
    }
    let dt = t.elapsed().as_secs_f64();
    run.end(RunStatus::Finished).unwrap();
    dt
}

/// A store holding 1000 finished runs (2 metrics, 2 params, 1 tag each), for search.
fn search_setup() -> (tempfile::TempDir, TrackingStore, String) {
    let (d, store, exp) = fresh();
    let ts = now_ms();
    for i in 0..1000i64 {
        let r = store
            .create_run(
                &exp,
                RunOptions {
                    run_name: Some(format!("r{i}")),
                    tags: vec![("team".into(), if i % 2 == 1 { "a" } else { "b" }.into())],
                    ..Default::default()
                },
            )
            .unwrap();
        store
            .log_batch(
                &r.run_id,
                &[
                    Metric {
                        key: "acc".into(),
                        value: (i % 100) as f64 / 100.0,
                        timestamp_ms: ts,
                        step: 0,
                    },
                    Metric {
                        key: "loss".into(),
                        value: 1.0 / (i + 1) as f64,
                        timestamp_ms: ts,
                        step: 0,
                    },
                ],
                &[
                    ("opt".into(), if i % 3 == 0 { "adam" } else { "sgd" }.into()),
                    ("lr".into(), format!("{}", i as f64 / 1000.0)),
                ],
                &[],
            )
            .unwrap();
        store
            .set_terminated(&r.run_id, RunStatus::Finished, now_ms())
            .unwrap();
    }
    (d, store, exp)
}

/// Times the search of `bench/bench_mlflow.py`'s workload g on `store`.
fn timed_search(store: &TrackingStore, exp: &str) -> f64 {
    let t = Instant::now();
    let hits = store
        .search_runs(
            &[exp],
            "metrics.acc > 0.5 and params.opt = 'adam'",
            &[],
            5000,
        )
        .unwrap();
    let dt = t.elapsed().as_secs_f64();
    assert!(!hits.is_empty());
    dt
}

/// g: search with a filter in the process that logged the runs, through the store it logged
/// them with, as `bench_mlflow.py` searches through the client (and its pooled connection)
/// that created them.
fn bench_g() -> f64 {
    let (_d, store, exp) = search_setup();
    timed_search(&store, &exp)
}

/// g, from a store handle opened just before the search: nothing of the database is cached in
/// the process yet (stricter than what `bench_mlflow.py` measures for MLflow).
fn bench_g_fresh() -> f64 {
    let (_d, store, exp) = search_setup();
    let reader = TrackingStore::open_uri(&store.uri()).unwrap();
    timed_search(&reader, &exp)
}

/// The executor's per-task cost: a nested run with 7 tags, a status change and one artifact.
fn bench_task() -> f64 {
    let (_d, store, exp) = fresh();
    let parent = store.create_run(&exp, RunOptions::default()).unwrap();
    let t = Instant::now();
    for i in 0..1000 {
        let tags: Vec<(String, String)> = (0..7)
            .map(|k| (format!("oxflow.t{k}"), format!("v{i}")))
            .collect();
        let r = store
            .create_run(
                &exp,
                RunOptions {
                    parent_run_id: Some(parent.run_id.clone()),
                    tags,
                    ..Default::default()
                },
            )
            .unwrap();
        store
            .log_artifact_bytes(&r.run_id, "xcom/return.json", b"{\"value\": 42}")
            .unwrap();
        store
            .set_terminated(&r.run_id, RunStatus::Finished, now_ms())
            .unwrap();
    }
    t.elapsed().as_secs_f64() / 1000.0
}

/// (id, label, workload returning seconds).
type Bench = (&'static str, &'static str, fn() -> f64);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let reps: usize = arg("--reps").and_then(|r| r.parse().ok()).unwrap_or(3);
    let store = arg("--store").unwrap_or_else(|| "sqlite".into());
    assert!(
        store == "sqlite" || store == "file",
        "--store is `sqlite` or `file`, not `{store}`"
    );
    STORE.set(store.clone()).unwrap();
    let benches: [Bench; 7] = [
        ("a", "start+end 100 runs", bench_a),
        ("b", "10,000 single metric calls", bench_b),
        ("c", "100,000 metrics by batch (1000)", bench_c),
        ("d", "1,000 params", bench_d),
        ("g", "search_runs over 1,000 runs, filter", bench_g),
        (
            "gfresh",
            "the same search from a fresh store handle",
            bench_g_fresh,
        ),
        (
            "task",
            "per executor task (run+7 tags+artifact+end)",
            bench_task,
        ),
    ];
    // `--only a,c` runs those workloads alone (for profiling).
    let only = arg("--only");
    let mut results = Vec::new();
    for (id, label, f) in benches {
        if let Some(only) = &only
            && !only.split(',').any(|o| o == id)
        {
            continue;
        }
        let times: Vec<f64> = (0..reps).map(|_| f()).collect();
        let med = median(times.clone());
        println!(
            "[oxflow {store}] {id:4} {label:45} median {:>12.6} s   runs {:?}",
            med, times
        );
        results.push(
            serde_json::json!({"bench": id, "store": store, "label": label, "median_s": med, "times_s": times}),
        );
    }
    if let Some(path) = arg("--json") {
        std::fs::write(
            path,
            serde_json::to_string_pretty(&serde_json::json!({"results": results})).unwrap(),
        )
        .unwrap();
    }
}
