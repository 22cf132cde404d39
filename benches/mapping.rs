//! Dynamic task mapping: a 10,000-instance map in memory (recording off), and the same map
//! recorded to the default store (MLflow's SQLite schema), per instance. The target is under
//! 5 µs per instance in memory.
//!
//! `cargo bench --bench mapping` prints the figures; it asserts nothing about time.
//! `OXFLOW_BENCH_MAP` changes the number of instances; `OXFLOW_BENCH_MEMORY_ONLY=1` skips the
//! recorded run; `BENCH_DIR` picks the disk for it (default: the system's temporary directory).
//!
//! The DAG is an ordinary `#[dag]`: a list, a mapped task over it sharing one `partial` input,
//! and a task reading the `Vec` of the instances' outputs.

use std::time::{Duration, Instant};

use oxflow::exec::{self, DagRunState, RunConfig};
use oxflow::prelude::*;
use oxflow::tracking::TrackingStore;

fn size() -> usize {
    std::env::var("OXFLOW_BENCH_MAP")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

#[task]
async fn shards() -> Vec<u64> {
    (0..size() as u64).collect()
}

#[task]
async fn offset() -> u64 {
    1
}

#[task]
async fn process(offset: &u64, shard: &u64) -> u64 {
    shard + offset
}

#[task]
async fn total(parts: &Vec<u64>) -> u64 {
    parts.iter().sum()
}

#[dag(max_map_length = 1000000)]
fn map_bench() {
    let all = shards();
    let base = offset();
    let parts = process.partial(&base).expand(&all);
    total(&parts);
}

fn run(rt: &tokio::runtime::Runtime, store: Option<&TrackingStore>, n: usize) -> Duration {
    let spec = map_bench().spec().expect("valid graph");
    let cfg = match store {
        Some(s) => RunConfig::recorded(s.clone()),
        None => RunConfig::in_memory(),
    };
    let start = Instant::now();
    let report = rt.block_on(exec::execute(&spec, cfg)).expect("run");
    let took = start.elapsed();
    assert_eq!(report.state, DagRunState::Success);
    let n = n as u64;
    assert_eq!(*report.output::<u64>("total").unwrap(), n * (n + 1) / 2);
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn report(mode: &str, n: usize, times: &[Duration]) {
    let m = median(times.to_vec());
    println!(
        "  {mode:<10} {n} instances  {:>9.3} ms total  {:>8.2} µs/instance  (runs: {})",
        m.as_secs_f64() * 1e3,
        m.as_secs_f64() * 1e6 / n as f64,
        times
            .iter()
            .map(|t| format!("{:.1}", t.as_secs_f64() * 1e3))
            .collect::<Vec<_>>()
            .join(", ")
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let n = size();
    println!(
        "dynamic task mapping, per instance (median of the runs shown; machine: {} cores)",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let _ = run(&rt, None, n); // warm-up
    let times: Vec<Duration> = (0..7).map(|_| run(&rt, None, n)).collect();
    report("in memory", n, &times);
    if std::env::var_os("OXFLOW_BENCH_MEMORY_ONLY").is_some() {
        return;
    }
    let base =
        std::env::var("BENCH_DIR").unwrap_or_else(|_| std::env::temp_dir().display().to_string());
    let dir = tempfile::tempdir_in(base).unwrap();
    let store = TrackingStore::open_uri(&format!(
        "sqlite:///{}",
        dir.path().join("mlflow.db").display()
    ))
    .unwrap();
    let times: Vec<Duration> = (0..3).map(|_| run(&rt, Some(&store), n)).collect();
    report("sqlite", n, &times);
}
