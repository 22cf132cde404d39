//! Per-task overhead of the executor: 10,000 no-op tasks in a fan-out + fan-in, and a
//! 1,000-task chain, in memory (recording off), recording to the default store (MLflow's
//! SQLite schema) and to the file store. `BENCH_DIR` picks the disk (default: the system's
//! temporary directory).
//!
//! `cargo bench --bench executor` prints the figures; it asserts nothing about time.
//! `OXFLOW_BENCH_FAN` and `OXFLOW_BENCH_CHAIN` change the sizes (`bench/orchestrators.sh` runs
//! Prefect's shapes: 1,000 and 100); `OXFLOW_BENCH_JSON=1` adds one JSON line per figure;
//! `OXFLOW_BENCH_STORES=sqlite` (or `file`) records to that store only.
//!
//! The graphs are too big to write out in a `#[dag]` body, so they are built at run time from
//! the same `TaskDef`s `#[task]` generates: `DagDef` is plain data.

use std::time::{Duration, Instant};

use oxflow::dag::{DagDef, InputDef, NodeDef, NodeFlow, TaskDef, TaskOptions};
use oxflow::exec::{self, DagRunState, RunConfig, Task};
use oxflow::prelude::*;
use oxflow::tracking::{FileStore, TrackingStore};

#[task]
async fn source() -> u64 {
    0
}

#[task]
async fn noop(_x: &u64) {}

#[task]
async fn inc(x: &u64) -> u64 {
    x + 1
}

#[task]
async fn sink() {}

fn leak<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

fn task(def: TaskDef) -> &'static TaskDef {
    Box::leak(Box::new(def))
}

fn dag(id: &'static str, nodes: Vec<NodeDef>) -> &'static DagDef {
    Box::leak(Box::new(DagDef {
        id,
        description: "",
        schedule: None,
        scheduling: oxflow::schedule::ScheduleOptions::DEFAULT,
        tags: &[],
        max_active_tasks: None,
        dagrun_timeout: None,
        defaults: TaskOptions::EMPTY,
        params: None,
        nodes: leak(nodes),
        groups: &[],
        max_map_length: None,
        alerts: oxflow::dag::DagAlerts::NONE,
        file: file!(),
        line: line!(),
    }))
}

fn ids(n: usize) -> Vec<&'static str> {
    (0..n)
        .map(|i| &*Box::leak(format!("t{i}").into_boxed_str()))
        .collect()
}

/// source → n × noop(&source) → sink (after every noop).
fn fan(n: usize) -> &'static DagDef {
    let names = ids(n);
    let mut nodes = vec![NodeDef {
        id: Some("source"),
        task: task(<source as Task>::DEF),
        inputs: &[],
        after: &[],
        flow: NodeFlow::PLAIN,
    }];
    let edge = leak(vec![InputDef {
        node: 0,
        element: None,
        project: None,
    }]);
    let noop_def = task(<noop as Task>::DEF);
    for name in &names {
        nodes.push(NodeDef {
            id: Some(name),
            task: noop_def,
            inputs: edge,
            after: &[],
            flow: NodeFlow::PLAIN,
        });
    }
    nodes.push(NodeDef {
        id: Some("sink"),
        task: task(<sink as Task>::DEF),
        inputs: &[],
        after: leak((1..=n).collect()),
        flow: NodeFlow::PLAIN,
    });
    dag("bench_fan", nodes)
}

/// source → inc → inc → ... (n tasks in all).
fn chain(n: usize) -> &'static DagDef {
    let names = ids(n);
    let inc_def = task(<inc as Task>::DEF);
    let mut nodes = vec![NodeDef {
        id: Some("source"),
        task: task(<source as Task>::DEF),
        inputs: &[],
        after: &[],
        flow: NodeFlow::PLAIN,
    }];
    for (i, name) in names.iter().enumerate().skip(1) {
        let edge = leak(vec![InputDef {
            node: i - 1,
            element: None,
            project: None,
        }]);
        nodes.push(NodeDef {
            id: Some(name),
            task: inc_def,
            inputs: edge,
            after: &[],
            flow: NodeFlow::PLAIN,
        });
    }
    dag("bench_chain", nodes)
}

fn run(
    rt: &tokio::runtime::Runtime,
    def: &'static DagDef,
    store: Option<&TrackingStore>,
) -> Duration {
    let spec = def.spec().expect("valid graph");
    let cfg = match store {
        Some(s) => RunConfig::recorded(s.clone()),
        None => RunConfig::in_memory(),
    };
    let start = Instant::now();
    let report = rt.block_on(exec::execute(&spec, cfg)).expect("run");
    let took = start.elapsed();
    assert_eq!(report.state, DagRunState::Success);
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn size(var: &str, default: usize) -> usize {
    std::env::var(var)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn report(mode: &str, label: &str, shape: &str, tasks: usize, times: &[Duration]) {
    let m = median(times.to_vec());
    let per_task_us = m.as_secs_f64() * 1e6 / tasks as f64;
    println!(
        "  {mode:<11} {label:<32} {:>9.3} ms total  {per_task_us:>8.2} µs/task  (runs: {})",
        m.as_secs_f64() * 1e3,
        times
            .iter()
            .map(|t| format!("{:.1}", t.as_secs_f64() * 1e3))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if std::env::var_os("OXFLOW_BENCH_JSON").is_some() {
        println!(
            "{{\"tool\": \"oxflow\", \"mode\": \"{mode}\", \"shape\": \"{shape}\", \"tasks\": {tasks}, \"median_s\": {}, \"per_task_us\": {per_task_us}}}",
            m.as_secs_f64()
        );
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let fan_n = size("OXFLOW_BENCH_FAN", 10_000);
    let chain_n = size("OXFLOW_BENCH_CHAIN", 1_000);
    let fan_def = fan(fan_n);
    let chain_def = chain(chain_n);
    println!(
        "executor overhead per task (median of the runs shown; machine: {} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let shapes = [
        (
            format!("fan-out + fan-in, {} tasks", fan_n + 2),
            "fanout",
            fan_def,
            fan_n + 2,
        ),
        (
            format!("chain, {chain_n} tasks"),
            "chain",
            chain_def,
            chain_n,
        ),
    ];
    for (label, shape, def, tasks) in shapes {
        let _ = run(&rt, def, None); // warm-up
        let times: Vec<Duration> = (0..7).map(|_| run(&rt, def, None)).collect();
        report("in memory", &label, shape, tasks, &times);
        if std::env::var_os("OXFLOW_BENCH_MEMORY_ONLY").is_some() {
            continue;
        }
        for (mode, kind) in [("sqlite", "sqlite"), ("file store", "file")] {
            if let Ok(only) = std::env::var("OXFLOW_BENCH_STORES")
                && !only.split(',').any(|s| s == kind)
            {
                continue;
            }
            let base = std::env::var("BENCH_DIR")
                .unwrap_or_else(|_| std::env::temp_dir().display().to_string());
            let dir = tempfile::tempdir_in(base).unwrap();
            let store = match kind {
                "sqlite" => TrackingStore::open_uri(&format!(
                    "sqlite:///{}",
                    dir.path().join("mlflow.db").display()
                ))
                .unwrap(),
                _ => TrackingStore::from(FileStore::open(dir.path().join("mlruns")).unwrap()),
            };
            let times: Vec<Duration> = (0..3).map(|_| run(&rt, def, Some(&store))).collect();
            report(mode, &label, shape, tasks, &times);
        }
    }
}
