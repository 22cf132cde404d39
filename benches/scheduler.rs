//! Scheduler lag: 100 DAGs due every second, for one minute, in one scheduler recording to the
//! default store (MLflow's SQLite schema). Lag is a run's start (its record marked running,
//! about to start its first task) minus its due time (its data interval's end), the figure
//! `oxflow_scheduler_lag_seconds` exports.
//!
//! `cargo bench --bench scheduler` prints p50, p99 and max; it asserts nothing about time.
//! `OXFLOW_BENCH_SECONDS` sets the duration (default 60), `OXFLOW_BENCH_DAGS` the number of
//! DAGs (default 100), `BENCH_DIR` the disk (default: the system's temporary directory).
//!
//! The DAGs are built at run time from the `TaskDef` `#[task]` generates (one no-op task
//! each): `DagDef` is plain data.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oxflow::dag::{DagDef, NodeDef, NodeFlow, TaskDef, TaskOptions};
use oxflow::exec::Task;
use oxflow::prelude::*;
use oxflow::schedule::{ScheduleOptions, Scheduler, SchedulerOptions};
use oxflow::tracking::TrackingStore;

#[task]
async fn tick() {}

fn dag(id: &'static str, task: &'static TaskDef) -> &'static DagDef {
    let nodes: &'static [NodeDef] = Box::leak(Box::new([NodeDef {
        id: None,
        task,
        inputs: &[],
        after: &[],
        flow: NodeFlow::PLAIN,
    }]));
    Box::leak(Box::new(DagDef {
        id,
        description: "",
        schedule: Some("* * * * * *"),
        scheduling: ScheduleOptions::DEFAULT,
        tags: &[],
        max_active_tasks: None,
        dagrun_timeout: None,
        defaults: TaskOptions::EMPTY,
        params: None,
        nodes,
        groups: &[],
        max_map_length: None,
        alerts: oxflow::dag::DagAlerts::NONE,
        file: file!(),
        line: line!(),
    }))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let k = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[k.min(sorted.len() - 1)]
}

fn main() {
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let seconds = env("OXFLOW_BENCH_SECONDS", 60);
    let n = env("OXFLOW_BENCH_DAGS", 100) as usize;
    let base = std::env::var("BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir());
    let dir = tempfile::tempdir_in(base).unwrap();
    let db = dir.path().join("mlflow.db");
    let store = TrackingStore::open_uri(&format!("sqlite:///{}", db.display())).unwrap();
    let task: &'static TaskDef = Box::leak(Box::new(<tick as Task>::DEF));
    let dags: Vec<&'static DagDef> = (0..n)
        .map(|i| dag(Box::leak(format!("dag_{i:03}").into_boxed_str()), task))
        .collect();
    let lags = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let seen = lags.clone();
    let opts = SchedulerOptions {
        on_start: Some(Arc::new(move |_, _, lag| seen.lock().unwrap().push(lag))),
        ..Default::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let scheduler = Scheduler::new(store, dags).unwrap().options(opts);
    let report = runtime
        .block_on(async {
            scheduler
                .run(tokio::time::sleep(Duration::from_secs(seconds)))
                .await
        })
        .unwrap();
    let took = started.elapsed();
    let mut lags = lags.lock().unwrap().clone();
    lags.sort();
    if lags.is_empty() {
        println!("no run started");
        return;
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "scheduler lag, {n} DAGs due every second for {seconds} s (SQLite store, {:.1} s wall): {} runs started ({:.1}/s), {} left queued",
        took.as_secs_f64(),
        report.started,
        report.started as f64 / seconds as f64,
        report.left_queued
    );
    println!(
        "  p50 {:.1} ms  p90 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
        ms(percentile(&lags, 0.5)),
        ms(percentile(&lags, 0.9)),
        ms(percentile(&lags, 0.99)),
        ms(*lags.last().unwrap())
    );
}
