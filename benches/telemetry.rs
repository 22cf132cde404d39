//! The cost of metrics: the executor's in-memory 10,000-task fan-out with no recorder and with
//! the recorder a pipeline binary installs (`--metrics-addr`), on a multi-thread runtime (as
//! pipeline binaries run) and on a current-thread one (no wake-ups between threads: less
//! noise); the time to scrape a process holding about 1,000 series (Prometheus counts each
//! histogram bucket as one) and one holding 1,000 DAG × task label sets (about 23,000 series);
//! and what each call costs.
//!
//! `cargo bench --bench telemetry` prints the figures; it asserts nothing about time. The
//! targets it is read against: at most 0.3 µs added per task, a scrape under 5 ms.
//! `OXFLOW_BENCH_FAN` changes the fan-out's size, `OXFLOW_BENCH_RUNS` the runs per figure.
//!
//! A process has one global recorder, set once, and a loaded machine drifts between one run
//! and the next: so the bench runs itself as child processes, alternately with no recorder and
//! with the recorder (`telemetry::export::Exporter::install`, which keeps task handles across
//! runs). The first run with the recorder creates every series and is shown apart; the runs
//! after it are what a scheduler that runs a DAG again pays. The scrape and per-call figures
//! are measured in the parent.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics::Counter;
use oxflow::dag::{DagDef, InputDef, NodeDef, NodeFlow, TaskDef, TaskOptions};
use oxflow::exec::{self, DagRunState, RunConfig, Task};
use oxflow::prelude::*;
use oxflow::telemetry::export::{ExportOptions, Exporter};

/// The recorder `run --metrics-addr` installs (`telemetry::export`), serving `/metrics` on
/// `addr` from the runtime, with its task handles kept across runs.
fn install(rt: &tokio::runtime::Runtime, addr: SocketAddr) -> Exporter {
    let _in_runtime = rt.enter();
    Exporter::install(ExportOptions {
        metrics_addr: Some(addr),
        ..ExportOptions::new("bench")
    })
    .expect("install the recorder")
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
        flow: NodeFlow::PLAIN,
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
fn report_scrape(label: &str, exporter: &Exporter, addr: SocketAddr, times: usize) {
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

/// One child process's runs of the fan-out: the first (which creates every series when a
/// recorder is installed) and the ones after it.
struct ChildRuns {
    first: Duration,
    runs: Vec<Duration>,
}

/// Runs this bench again as a child process with or without the recorder installed, and reads
/// back its run times.
fn child(recorder: bool, flavor: Flavor, n: usize, runs: usize) -> ChildRuns {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .env("OXFLOW_BENCH_FLAVOR", flavor.name())
        .env(
            "OXFLOW_BENCH_CHILD",
            if recorder { "recorder" } else { "none" },
        )
        .env("OXFLOW_BENCH_FAN", n.to_string())
        .env("OXFLOW_BENCH_RUNS", runs.to_string())
        .output()
        .expect("run the bench as a child");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("CHILD_RUNS_US "))
        .unwrap_or_else(|| panic!("no run times in {text}"));
    let mut us = line
        .split(' ')
        .map(|v| Duration::from_micros(v.parse().unwrap()));
    ChildRuns {
        first: us.next().unwrap(),
        runs: us.collect(),
    }
}

/// The tokio runtime a child runs the DAG on.
#[derive(Clone, Copy, PartialEq)]
enum Flavor {
    /// A worker per core, as pipeline binaries run: the scheduler and the tasks on both cores.
    MultiThread,
    /// One thread for the scheduler and the tasks: no wake-ups between threads, so much less
    /// noise, and the time added is all the recorder's work.
    CurrentThread,
}

impl Flavor {
    fn name(self) -> &'static str {
        match self {
            Flavor::MultiThread => "multi_thread",
            Flavor::CurrentThread => "current_thread",
        }
    }

    fn runtime(self) -> tokio::runtime::Runtime {
        match self {
            Flavor::MultiThread => tokio::runtime::Builder::new_multi_thread(),
            Flavor::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        }
        .enable_all()
        .build()
        .unwrap()
    }
}

/// A child: the fan-out `runs + 1` times, with the recorder `run --metrics-addr` installs
/// (and its handles kept, as `Exporter::install` does) or with none.
fn child_main(recorder: bool, flavor: Flavor, n: usize, runs: usize) {
    // Installing the recorder starts a thread, and glibc's malloc locks its arena on every
    // call once a process has had a second thread: on a current-thread runtime the child
    // without the recorder would otherwise measure lock-free malloc, which no pipeline binary
    // (a multi-thread runtime, a metrics listener) ever has. Both children start one.
    std::thread::spawn(|| ()).join().unwrap();
    let rt = flavor.runtime();
    if recorder {
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let _exporter = install(&rt, addr);
    }
    let def = fan("bench_fan", n);
    let times: Vec<String> = (0..=runs)
        .map(|_| run(&rt, def).as_micros().to_string())
        .collect();
    println!("CHILD_RUNS_US {}", times.join(" "));
}

fn main() {
    let n = size("OXFLOW_BENCH_FAN", 10_000);
    let runs = size("OXFLOW_BENCH_RUNS", 25);
    if let Ok(mode) = std::env::var("OXFLOW_BENCH_CHILD") {
        let flavor = match std::env::var("OXFLOW_BENCH_FLAVOR").as_deref() {
            Ok("current_thread") => Flavor::CurrentThread,
            _ => Flavor::MultiThread,
        };
        return child_main(mode == "recorder", flavor, n, runs);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let tasks = n + 2;
    println!(
        "instrumentation cost (machine: {} cores); fan-out + fan-in of {tasks} no-op tasks, in memory",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    compare(Flavor::MultiThread, n, runs);
    compare(Flavor::CurrentThread, n, runs);

    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let handle = install(&rt, addr);
    std::thread::sleep(Duration::from_millis(200)); // the listener is up
    // Prometheus counts each histogram bucket as a series: 56 tasks hold about 1,000 of them.
    let _ = run(&rt, fan("bench_small", 54));
    println!("scrape of a process holding about 1,000 series (56 tasks of one DAG):");
    report_scrape("56 tasks", &handle, addr, 21);
    // 1,000 tasks of one DAG: 1,000 DAG x task label sets of each task metric.
    let _ = run(&rt, fan("bench_scrape", 998));
    println!(
        "scrape of a process holding 1,000 DAG x task label sets (a histogram and 5 counters each):"
    );
    report_scrape("1,056 tasks", &handle, addr, 21);
    per_call(n);
}

/// Runs the fan-out in child processes with and without the recorder on a `flavor` runtime
/// and prints what the recorder adds per task.
fn compare(flavor: Flavor, n: usize, runs: usize) {
    // A process has one global recorder, set once: processes with and without it alternate,
    // each running the DAG once to warm up (with the recorder: creating every series) and then
    // 5 times, as a scheduler runs a DAG again. Wall times on a shared machine only ever grow
    // by noise, so beside the medians the bench compares each process's fastest run.
    const PER_PROCESS: usize = 5;
    let tasks = n + 2;
    println!(
        "fan-out on a {} runtime, processes with and without the recorder in alternation, \
         {PER_PROCESS} runs each:",
        flavor.name()
    );
    let pairs = runs.div_ceil(PER_PROCESS).max(1);
    let (mut off, mut with, mut firsts, mut diffs, mut fastest) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let per_task =
        |a: Duration, b: Duration| (b.as_secs_f64() - a.as_secs_f64()) * 1e6 / tasks as f64;
    for _ in 0..pairs {
        let a = child(false, flavor, n, PER_PROCESS);
        let b = child(true, flavor, n, PER_PROCESS);
        diffs.push(per_task(median(a.runs.clone()), median(b.runs.clone())));
        fastest.push(per_task(
            *a.runs.iter().min().unwrap(),
            *b.runs.iter().min().unwrap(),
        ));
        firsts.push(b.first);
        off.extend(a.runs);
        with.extend(b.runs);
    }
    println!(
        "  recorder on, 1st run         {} median (creates {tasks} task series)",
        ms(median(firsts))
    );
    let off_m = line("no recorder", &off, tasks);
    let with_m = line("recorder on", &with, tasks);
    let mid = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "  added by the recorder, µs/task: {:.3} (difference of medians), {:.3} (median of the \
         {pairs} paired process differences), {:.3} (median of the paired differences between \
         each process's fastest run); target: at most 0.3",
        per_task(off_m, with_m),
        mid(diffs),
        mid(fastest),
    );
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
    let histograms: Vec<metrics::Histogram> = tasks
        .iter()
        .map(|t| metrics::histogram!(TASK_DURATION_SECONDS, "dag" => "bench_fan", "task" => t.clone()))
        .collect();
    let running = metrics::gauge!(oxflow::telemetry::TASKS_RUNNING, "dag" => "bench_fan");
    // Three passes: the first may allocate each histogram's sample block.
    for pass in 1..=3 {
        let start = Instant::now();
        for h in &histograms {
            h.record(0.001);
        }
        println!(
            "  {:<44} {:.3} µs/call",
            format!("record into a histogram handle kept, pass {pass}"),
            start.elapsed().as_secs_f64() * 1e6 / n as f64
        );
    }
    // Everything the executor does for one finished task, through kept handles.
    let start = Instant::now();
    for (h, c) in histograms.iter().zip(&counters) {
        running.increment(1.0);
        running.decrement(1.0);
        h.record(0.001);
        c.increment(1);
    }
    println!(
        "  {:<44} {:.3} µs/task",
        "a task's gauge +1 -1, duration, runs + 1, kept",
        start.elapsed().as_secs_f64() * 1e6 / n as f64
    );
}
