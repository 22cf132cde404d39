//! The cost of metrics: the executor's in-memory 10,000-task fan-out with no recorder and with
//! the Prometheus recorder a pipeline binary installs (`--metrics-addr`), in one process; and
//! the time to scrape a process holding 1,000 DAG × task series.
//!
//! `cargo bench --bench telemetry` prints the figures; it asserts nothing about time. The
//! targets it is read against: at most 0.3 µs added per task, a scrape under 5 ms.
//! `OXFLOW_BENCH_FAN` changes the fan-out's size, `OXFLOW_BENCH_RUNS` the runs per figure.
//!
//! A process has one global recorder, set once, and a loaded machine drifts between one run
//! and the next: so the runs without any recorder come first, as a reference, and then the
//! Prometheus recorder is installed behind a switch, and runs with it on and off alternate.
//! Off, the executor's metric macros build their keys and reach a no-op, as with no recorder.
//! The first run with it on creates every series and is shown apart; the runs after it are
//! what a scheduler that runs a DAG again pays.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use oxflow::dag::{DagDef, InputDef, NodeDef, TaskDef, TaskOptions};
use oxflow::exec::{self, DagRunState, RunConfig, Task};
use oxflow::prelude::*;
use oxflow::telemetry;

/// The Prometheus recorder, or nothing while the switch is off.
struct Switch {
    on: Arc<AtomicBool>,
    inner: PrometheusRecorder,
}

impl Recorder for Switch {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_counter(key, unit, description)
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_gauge(key, unit, description)
    }
    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        self.inner.describe_histogram(key, unit, description)
    }
    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        if self.on.load(Ordering::Relaxed) {
            self.inner.register_counter(key, metadata)
        } else {
            Counter::noop()
        }
    }
    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        if self.on.load(Ordering::Relaxed) {
            self.inner.register_gauge(key, metadata)
        } else {
            Gauge::noop()
        }
    }
    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        if self.on.load(Ordering::Relaxed) {
            self.inner.register_histogram(key, metadata)
        } else {
            Histogram::noop()
        }
    }
}

/// The recorder `run --metrics-addr` installs (`telemetry::export`): the same buckets and
/// `service` label, serving `/metrics` on `addr` from the runtime, behind a switch.
fn install(rt: &tokio::runtime::Runtime, addr: SocketAddr) -> (PrometheusHandle, Arc<AtomicBool>) {
    let _in_runtime = rt.enter();
    let (recorder, serve) = PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Suffix("_seconds".into()),
            telemetry::DURATION_BUCKETS,
        )
        .unwrap()
        .set_buckets_for_metric(
            Matcher::Full(telemetry::SERVE_REQUEST_DURATION_SECONDS.into()),
            telemetry::LATENCY_BUCKETS,
        )
        .unwrap()
        .add_global_label("service", "bench")
        .with_http_listener(addr)
        .build()
        .expect("build the recorder");
    let handle = recorder.handle();
    let on = Arc::new(AtomicBool::new(false));
    metrics::set_global_recorder(Switch {
        on: on.clone(),
        inner: recorder,
    })
    .expect("install the recorder");
    rt.spawn(serve);
    telemetry::describe();
    (handle, on)
}

#[task]
async fn source() -> u64 {
    0
}

#[task]
async fn noop(_x: &u64) {}

#[task]
async fn sink() {}

fn leak<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

fn task(def: TaskDef) -> &'static TaskDef {
    Box::leak(Box::new(def))
}

/// source → n × noop(&source) → sink (after every noop): n + 2 tasks, as `benches/executor.rs`.
fn fan(id: &'static str, n: usize) -> &'static DagDef {
    let mut nodes = vec![NodeDef {
        id: Some("source"),
        task: task(<source as Task>::DEF),
        inputs: &[],
        after: &[],
    }];
    let edge = leak(vec![InputDef {
        node: 0,
        element: None,
        project: None,
    }]);
    let noop_def = task(<noop as Task>::DEF);
    for i in 0..n {
        nodes.push(NodeDef {
            id: Some(Box::leak(format!("t{i}").into_boxed_str())),
            task: noop_def,
            inputs: edge,
            after: &[],
        });
    }
    nodes.push(NodeDef {
        id: Some("sink"),
        task: task(<sink as Task>::DEF),
        inputs: &[],
        after: leak((1..=n).collect()),
    });
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
        file: file!(),
        line: line!(),
    }))
}

fn run(rt: &tokio::runtime::Runtime, def: &'static DagDef) -> Duration {
    let spec = def.spec().expect("valid graph");
    let start = Instant::now();
    let report = rt
        .block_on(exec::execute(&spec, RunConfig::in_memory()))
        .expect("run");
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

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn list(times: &[Duration]) -> String {
    times
        .iter()
        .map(|t| format!("{:.1}", t.as_secs_f64() * 1e3))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `GET /metrics` over a new connection, as Prometheus scrapes: the time and the body's size.
fn scrape(addr: SocketAddr) -> (Duration, usize) {
    let start = Instant::now();
    let mut s = TcpStream::connect(addr).expect("connect");
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut body = Vec::new();
    s.read_to_end(&mut body).unwrap();
    let took = start.elapsed();
    assert!(body.starts_with(b"HTTP/1.1 200"), "scrape failed");
    (took, body.len())
}

/// Scrapes and renders `times` times; prints both medians.
fn report_scrape(label: &str, exporter: &PrometheusHandle, addr: SocketAddr, times: usize) {
    let renders: Vec<Duration> = (0..times)
        .map(|_| {
            let start = Instant::now();
            let text = exporter.render();
            let took = start.elapsed();
            assert!(!text.is_empty());
            took
        })
        .collect();
    let scrapes: Vec<(Duration, usize)> = (0..times).map(|_| scrape(addr)).collect();
    let text = exporter.render();
    println!(
        "  {label}: {} lines, {} KiB; render {} median, HTTP scrape {} median (of {times})",
        text.lines().count(),
        scrapes[0].1 / 1024,
        ms(median(renders)),
        ms(median(scrapes.iter().map(|s| s.0).collect())),
    );
}

fn line(label: &str, times: &[Duration], tasks: usize) -> Duration {
    let m = median(times.to_vec());
    println!(
        "  {label:<28} {} median  {:.3} µs/task  (runs: {})",
        ms(m),
        m.as_secs_f64() * 1e6 / tasks as f64,
        list(times)
    );
    m
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let n = size("OXFLOW_BENCH_FAN", 10_000);
    let runs = size("OXFLOW_BENCH_RUNS", 11);
    let tasks = n + 2;
    let def = fan("bench_fan", n);
    println!(
        "instrumentation cost (machine: {} cores); fan-out + fan-in of {tasks} no-op tasks, in memory",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let _ = run(&rt, def); // warm-up
    let none: Vec<Duration> = (0..runs).map(|_| run(&rt, def)).collect();
    line("no recorder installed", &none, tasks);

    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (handle, on) = install(&rt, addr);
    on.store(true, Ordering::Relaxed);

    // 1,000 tasks of one DAG: 1,000 DAG x task series of each task metric.
    let _ = run(&rt, fan("bench_scrape", 998));
    std::thread::sleep(Duration::from_millis(200)); // the listener is up
    println!("scrape of a process holding 1,000 DAG x task series:");
    report_scrape("1,000 tasks", &handle, addr, 21);

    println!("fan-out, recorder on and off in alternate runs:");
    let first = run(&rt, def);
    println!(
        "  recorder on, 1st run         {} (creates {tasks} task series)",
        ms(first)
    );
    let (mut off, mut with, mut diffs) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        on.store(false, Ordering::Relaxed);
        let a = run(&rt, def);
        on.store(true, Ordering::Relaxed);
        let b = run(&rt, def);
        off.push(a);
        with.push(b);
        diffs.push((b.as_secs_f64() - a.as_secs_f64()) * 1e6 / tasks as f64);
    }
    let off_m = line("recorder off", &off, tasks);
    let with_m = line("recorder on", &with, tasks);
    diffs.sort_by(f64::total_cmp);
    println!(
        "  added by the recorder: {:.3} µs/task (difference of medians), {:.3} µs/task (median of \
         the {runs} paired differences); target: at most 0.3",
        (with_m.as_secs_f64() - off_m.as_secs_f64()) * 1e6 / tasks as f64,
        diffs[diffs.len() / 2]
    );
    report_scrape(
        &format!("{} tasks after the fan-out", tasks + 1000),
        &handle,
        addr,
        5,
    );
    per_call(n);
}

/// What each of the executor's calls for a finished task costs on a series that exists, on
/// one thread: where the time added per task goes.
fn per_call(n: usize) {
    use oxflow::telemetry::{TASK_DURATION_SECONDS, TASK_RUNS_TOTAL};
    let tasks: Vec<metrics::SharedString> = (0..n)
        .map(|i| metrics::SharedString::from(Arc::<str>::from(format!("t{i}"))))
        .collect();
    let time = |label: &str, f: &dyn Fn(&metrics::SharedString)| {
        let start = Instant::now();
        for t in &tasks {
            f(t);
        }
        println!(
            "  {label:<44} {:.3} µs/call",
            start.elapsed().as_secs_f64() * 1e6 / n as f64
        );
    };
    println!("per call, on {n} existing series, one thread:");
    time("counter!(runs_total, dag, task, state) + 1", &|t| {
        metrics::counter!(TASK_RUNS_TOTAL, "dag" => "bench_fan", "task" => t.clone(), "state" => "success")
            .increment(1)
    });
    time("histogram!(duration_seconds, dag, task) record", &|t| {
        metrics::histogram!(TASK_DURATION_SECONDS, "dag" => "bench_fan", "task" => t.clone())
            .record(0.001)
    });
    let counters: Vec<Counter> = tasks
        .iter()
        .map(|t| {
            metrics::counter!(TASK_RUNS_TOTAL, "dag" => "bench_fan", "task" => t.clone(), "state" => "success")
        })
        .collect();
    let start = Instant::now();
    for c in &counters {
        c.increment(1);
    }
    println!(
        "  {:<44} {:.3} µs/call",
        "increment of a counter handle kept",
        start.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
