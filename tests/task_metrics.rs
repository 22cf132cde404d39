//! Task metrics when the executor keeps its metric handles across runs of a DAG: every run
//! still counts, and a thread-local recorder still gets its own figures. Its own test binary,
//! because it installs the process-wide recorder.

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use oxflow::exec::{self, DagRunState, RunConfig};
use oxflow::prelude::*;

#[task(retries = 1, retry_delay = "1ms")]
fn fails_first(ctx: &TaskContext) -> Result<u32, String> {
    if ctx.try_number() == 1 {
        Err("first try fails".into())
    } else {
        Ok(1)
    }
}

#[task]
async fn after(x: &u32) -> u32 {
    x + 1
}

#[task]
fn broken(_x: &u32) -> Result<(), String> {
    Err("always".into())
}

#[task]
fn never(_x: &()) {}

/// Scheduled yearly: a scheduler that runs for a moment starts none of its runs.
#[dag(schedule = "@yearly")]
fn scheduled_later() {
    let x = fails_first();
    let _ = after(&x);
}

#[dag]
fn kept_handles() {
    let x = fails_first();
    let _ = after(&x);
    let b = broken(&x);
    never(&b);
}

fn run() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = rt
        .block_on(exec::execute(
            &kept_handles().spec().unwrap(),
            RunConfig::in_memory(),
        ))
        .unwrap();
    assert_eq!(report.state, DagRunState::Failed);
}

type Series = Vec<(
    metrics_util::CompositeKey,
    Option<metrics::Unit>,
    Option<metrics::SharedString>,
    DebugValue,
)>;

/// Every series, with what happened since the previous snapshot (the debugging recorder
/// resets counters and drains histograms when it is read).
fn snapshot(snap: &Snapshotter) -> Series {
    snap.snapshot().into_vec()
}

/// The value of the series `name` with these labels: a counter's count or a histogram's
/// number of samples.
fn value(series: &Series, name: &str, labels: &[(&str, &str)]) -> Option<u64> {
    series
        .iter()
        .find(|(k, _, _, _)| {
            let key = k.key();
            key.name() == name
                && key.labels().count() == labels.len()
                && labels
                    .iter()
                    .all(|(l, v)| key.labels().any(|x| x.key() == *l && x.value() == *v))
        })
        .map(|(_, _, _, v)| match v {
            DebugValue::Counter(n) => *n,
            DebugValue::Histogram(h) => h.len() as u64,
            DebugValue::Gauge(g) => g.into_inner() as u64,
        })
}

#[test]
fn kept_handles_count_every_run_and_leave_a_local_recorder_its_own() {
    let global = DebuggingRecorder::new();
    let snap = global.snapshotter();
    metrics::set_global_recorder(global).unwrap();
    oxflow::telemetry::keep_handles_of_global_recorder();

    let task = |t: &'static str| [("dag", "kept_handles"), ("task", t)];
    let runs = |series: &Series, t: &'static str, state: &'static str| {
        let [d, t] = task(t);
        value(series, "oxflow_task_runs_total", &[d, t, ("state", state)])
    };
    // A scheduler makes its DAGs' series at zero when it starts, before any run: a first
    // failure is then an increase Prometheus can see.
    let dir = tempfile::tempdir().unwrap();
    let store = oxflow::tracking::TrackingStore::open_uri(&format!(
        "sqlite:///{}",
        dir.path().join("mlflow.db").display()
    ))
    .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let report = rt
        .block_on(
            oxflow::schedule::Scheduler::new(store, vec![scheduled_later()])
                .unwrap()
                .run(std::future::ready(())),
        )
        .unwrap();
    assert_eq!(report.started, 0, "{report:?}");
    let now = snapshot(&snap);
    let later = [("dag", "scheduled_later"), ("task", "after")];
    for state in ["success", "failed"] {
        assert_eq!(
            value(
                &now,
                "oxflow_dag_runs_total",
                &[("dag", "scheduled_later"), ("state", state)]
            ),
            Some(0),
            "{state}"
        );
        assert_eq!(
            value(
                &now,
                "oxflow_task_runs_total",
                &[later[0], later[1], ("state", state)]
            ),
            Some(0),
            "{state}"
        );
    }
    assert_eq!(value(&now, "oxflow_task_retries_total", &later), Some(0));

    for _ in 0..3 {
        run();
        let now = snapshot(&snap);
        let runs = |t, state| runs(&now, t, state);
        assert_eq!(runs("fails_first", "success"), Some(1));
        assert_eq!(runs("after", "success"), Some(1));
        assert_eq!(runs("broken", "failed"), Some(1));
        assert_eq!(runs("never", "upstream_failed"), Some(1));
        assert_eq!(
            value(&now, "oxflow_task_retries_total", &task("fails_first")),
            Some(1)
        );
        // Every figure is this run's: each run counted once through the kept handles.
        // Its samples: two attempts of fails_first, one of the others.
        assert_eq!(
            value(&now, "oxflow_task_duration_seconds", &task("fails_first")),
            Some(2)
        );
        assert_eq!(
            value(&now, "oxflow_task_duration_seconds", &task("after")),
            Some(1)
        );
        // States that never happened are there at zero, from the first run on: a series
        // that first appears at 1 has no `increase()` for an alert to see.
        assert_eq!(runs("after", "failed"), Some(0));
        assert_eq!(runs("after", "skipped"), Some(0));
        assert_eq!(
            value(&now, "oxflow_task_retries_total", &task("after")),
            Some(0)
        );
        let dag_runs = |state| {
            value(
                &now,
                "oxflow_dag_runs_total",
                &[("dag", "kept_handles"), ("state", state)],
            )
        };
        assert_eq!(dag_runs("failed"), Some(1));
        assert_eq!(dag_runs("success"), Some(0));
    }

    // A thread-local recorder gets this run's figures; the global one does not.
    let local = DebuggingRecorder::new();
    let local_snap = local.snapshotter();
    metrics::with_local_recorder(&local, run);
    assert_eq!(runs(&snapshot(&local_snap), "after", "success"), Some(1));
    assert_eq!(runs(&snapshot(&snap), "after", "success"), Some(0));
}
