//! The built-in sensors inside DAG runs: a file that lands mid-wait, an HTTP endpoint that
//! comes up, another DAG's run for the same logical date, a registry alias that moves.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use oxflow::conn::{Connections, HttpResponse};
use oxflow::exec::{self, DagRunState, ExecEvent, RunConfig, TaskState};
use oxflow::prelude::*;
use oxflow::schedule::{DataInterval, RunType};
use oxflow::sensor::{ExternalDagSensor, FileSensor, HttpSensor, RegistryAliasSensor, SensorError};
use oxflow::tracking::{FileStore, NewModelVersion, TrackingStore};

/// Counts the times a task went `up_for_reschedule`: the pokes that found nothing.
fn counting(cfg: RunConfig, task: &'static str) -> (RunConfig, Arc<AtomicUsize>) {
    let waits = Arc::new(AtomicUsize::new(0));
    let w = waits.clone();
    let cfg = cfg.on_event(move |e| {
        if let ExecEvent::Task {
            task: t,
            state: TaskState::UpForReschedule,
            ..
        } = e
            && t == task
        {
            w.fetch_add(1, Ordering::SeqCst);
        }
    });
    (cfg, waits)
}

fn state_of(report: &exec::DagRunReport, id: &str) -> (TaskState, u32, Option<String>) {
    let t = report.task(id).unwrap();
    (t.state, t.tries, t.error.clone())
}

// ---------------------------------------------------------------- FileSensor

static LANDING: OnceLock<PathBuf> = OnceLock::new();

#[sensor(poke_interval = "20ms", timeout = "10s", mode = "reschedule")]
fn csv_landed(ctx: &TaskContext) -> Result<Poke<Vec<PathBuf>>, SensorError> {
    FileSensor::glob(format!("{}/*.csv", LANDING.get().unwrap().display())).poke(ctx)
}

#[task]
fn loaded(files: &Vec<PathBuf>) -> Vec<PathBuf> {
    files.clone()
}

#[dag]
fn file_lands() {
    let files = csv_landed();
    loaded(&files);
}

#[tokio::test]
async fn file_sensor_is_ready_once_a_file_lands_mid_wait() {
    let dir = tempfile::tempdir().unwrap();
    LANDING.set(dir.path().to_path_buf()).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a csv").unwrap();
    let target = dir.path().join("rows.csv");
    let writer = {
        let target = target.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            std::fs::write(target, "a,b\n1,2\n").unwrap();
        })
    };
    let (cfg, waits) = counting(RunConfig::in_memory(), "csv_landed");
    let report = exec::execute(&file_lands().spec().unwrap(), cfg)
        .await
        .unwrap();
    writer.join().unwrap();
    assert_eq!(report.state, DagRunState::Success);
    // Only the csv counts; the sensor's output reached its downstream.
    assert_eq!(report.output::<Vec<PathBuf>>("loaded"), Some(&vec![target]));
    assert!(
        waits.load(Ordering::SeqCst) >= 1,
        "it waited before the file landed"
    );
}

// ---------------------------------------------------------------- HttpSensor

/// A status endpoint that is down twice (503), then up but busy, then done; and one that
/// refuses (401).
fn start_server(hits: Arc<AtomicUsize>) -> u16 {
    use axum::http::StatusCode;
    use axum::routing::get;
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let port = std_listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new()
                .route(
                    "/v1/status",
                    get(move || {
                        let n = hits.fetch_add(1, Ordering::SeqCst);
                        async move {
                            match n {
                                0 | 1 => (StatusCode::SERVICE_UNAVAILABLE, "starting"),
                                2 => (StatusCode::OK, "{\"state\": \"busy\"}"),
                                _ => (StatusCode::OK, "{\"state\": \"done\"}"),
                            }
                        }
                    }),
                )
                .route(
                    "/v1/secret",
                    get(|| async { (StatusCode::UNAUTHORIZED, "who are you") }),
                );
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    port
}

#[sensor(poke_interval = "20ms", timeout = "10s", conns = ["status_api"])]
fn api_done(ctx: &TaskContext) -> Result<Poke<HttpResponse>, SensorError> {
    HttpSensor::connection("status_api", "v1/status")
        .check(|r| r.text().contains("done"))
        .poke(ctx)
}

#[task]
fn answer(r: &HttpResponse) -> String {
    r.text()
}

#[sensor(poke_interval = "20ms", timeout = "10s", retries = 2, retry_delay = "1ms", conns = ["status_api"])]
fn api_refuses(ctx: &TaskContext) -> Result<Poke<HttpResponse>, SensorError> {
    HttpSensor::connection("status_api", "v1/secret").poke(ctx)
}

#[dag]
fn api_up() {
    let r = api_done();
    answer(&r);
}

#[dag]
fn api_forbidden() {
    api_refuses();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_sensor_waits_through_a_service_coming_up_and_checks_the_body() {
    let hits = Arc::new(AtomicUsize::new(0));
    let port = start_server(hits.clone());
    let conns =
        || Connections::from_vars([("OXFLOW_CONN_STATUS_API", format!("http://127.0.0.1:{port}"))]);
    let report = exec::execute(
        &api_up().spec().unwrap(),
        RunConfig::in_memory().connections(conns()),
    )
    .await
    .unwrap();
    assert_eq!(report.state, DagRunState::Success, "{:?}", report.tasks);
    // Two 503s and a busy answer were "not ready", not failures: one try.
    assert_eq!(state_of(&report, "api_done").1, 1);
    assert_eq!(hits.load(Ordering::SeqCst), 4);
    assert_eq!(
        report.output::<String>("answer").map(String::as_str),
        Some("{\"state\": \"done\"}")
    );

    // An error status the sensor does not wait through fails the poke (and is retried).
    let report = exec::execute(
        &api_forbidden().spec().unwrap(),
        RunConfig::in_memory().connections(conns()),
    )
    .await
    .unwrap();
    let (state, tries, error) = state_of(&report, "api_refuses");
    assert_eq!((state, tries), (TaskState::Failed, 3));
    let error = error.unwrap();
    assert!(error.contains("answered 401"), "{error}");
}

// ---------------------------------------------------------------- ExternalDagSensor

static EXTERNAL_STORE: OnceLock<TrackingStore> = OnceLock::new();
static UPSTREAM_FAILS: AtomicUsize = AtomicUsize::new(0);

#[task]
fn build_features() -> Result<u32, String> {
    if UPSTREAM_FAILS.load(Ordering::SeqCst) > 0 {
        return Err("feature source missing".into());
    }
    Ok(7)
}

#[dag(id = "features")]
fn features_dag() {
    build_features();
}

#[sensor(
    poke_interval = "20ms",
    timeout = "150ms",
    soft_fail = true,
    retries = 2
)]
fn features_done(ctx: &TaskContext) -> Result<Poke<String>, SensorError> {
    ExternalDagSensor::new(EXTERNAL_STORE.get().unwrap(), "features").poke(ctx)
}

#[dag]
fn training() {
    features_done();
}

fn day(d: u32) -> DataInterval {
    DataInterval {
        start: format!("2026-03-{d:02}T00:00:00Z").parse().unwrap(),
        end: format!("2026-03-{:02}T00:00:00Z", d + 1).parse().unwrap(),
    }
}

#[tokio::test]
async fn external_dag_sensor_matches_the_run_of_the_same_logical_date() {
    let dir = tempfile::tempdir().unwrap();
    let store = TrackingStore::new(FileStore::open(dir.path().join("mlruns")).unwrap());
    EXTERNAL_STORE.set(store.clone()).unwrap();
    let cfg = |d| RunConfig::recorded(store.clone()).for_interval(RunType::Scheduled, day(d));
    let features = features_dag().spec().unwrap();
    let training = training().spec().unwrap();

    // Day 1: features succeeded; the sensor is ready with that run's id.
    let upstream = exec::execute(&features, cfg(1)).await.unwrap();
    assert_eq!(upstream.state, DagRunState::Success);
    let report = exec::execute(&training, cfg(1)).await.unwrap();
    assert_eq!(report.state, DagRunState::Success);
    assert_eq!(
        report.output::<String>("features_done"),
        Some(&upstream.dag_run_id)
    );

    // Day 2: no run of features for that date (day 1's does not count): soft_fail skips.
    let report = exec::execute(&training, cfg(2)).await.unwrap();
    let (state, tries, error) = state_of(&report, "features_done");
    assert_eq!((state, tries), (TaskState::Skipped, 1));
    assert!(error.unwrap().starts_with("sensor timed out"));

    // Day 3: features failed; the sensor fails at once, without its two retries.
    UPSTREAM_FAILS.store(1, Ordering::SeqCst);
    let failed = exec::execute(&features, cfg(3)).await.unwrap();
    assert_eq!(failed.state, DagRunState::Failed);
    let report = exec::execute(&training, cfg(3)).await.unwrap();
    let (state, tries, error) = state_of(&report, "features_done");
    assert_eq!((state, tries), (TaskState::Failed, 1));
    let error = error.unwrap();
    assert!(
        error.contains(
            "the run of DAG `features` for logical date 2026-03-03T00:00:00Z ended `failed`"
        ),
        "{error}"
    );
    assert!(error.contains(&failed.dag_run_id), "{error}");
}

// ---------------------------------------------------------------- RegistryAliasSensor

static REGISTRY: OnceLock<TrackingStore> = OnceLock::new();

#[sensor(poke_interval = "20ms", timeout = "10s", mode = "reschedule")]
fn champion_moved(ctx: &TaskContext) -> Result<Poke<u64>, SensorError> {
    RegistryAliasSensor::new(REGISTRY.get().unwrap(), "churn", "champion").poke(ctx)
}

#[task]
fn deploy(version: &u64) -> String {
    format!("models:/churn/{version}")
}

#[dag]
fn redeploy() {
    let v = champion_moved();
    deploy(&v);
}

#[tokio::test]
async fn registry_alias_sensor_waits_for_a_version_newer_than_last_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = TrackingStore::new(FileStore::open(dir.path().join("mlruns")).unwrap());
    REGISTRY.set(store.clone()).unwrap();
    store.create_registered_model("churn", None, &[]).unwrap();
    let version = || {
        store
            .create_model_version(&NewModelVersion {
                name: "churn".into(),
                source: "/models/churn".into(),
                ..Default::default()
            })
            .unwrap()
            .version
    };
    let v1 = version();
    store
        .set_registered_model_alias("churn", "champion", v1)
        .unwrap();
    let spec = redeploy().spec().unwrap();

    // The first run: nothing to compare with, so the current champion is new.
    let first = exec::execute(&spec, RunConfig::recorded(store.clone()))
        .await
        .unwrap();
    assert_eq!(first.state, DagRunState::Success);
    assert_eq!(
        first.output::<String>("deploy").map(String::as_str),
        Some(format!("models:/churn/{v1}").as_str())
    );

    // The next run waits until the alias moves past what the first run returned.
    let v2 = version();
    let mover = {
        let store = store.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            store
                .set_registered_model_alias("churn", "champion", v2)
                .unwrap();
        })
    };
    let (cfg, waits) = counting(RunConfig::recorded(store.clone()), "champion_moved");
    let second = exec::execute(&spec, cfg).await.unwrap();
    mover.join().unwrap();
    assert_eq!(second.state, DagRunState::Success);
    assert_eq!(
        second.output::<String>("deploy").map(String::as_str),
        Some(format!("models:/churn/{v2}").as_str())
    );
    assert!(
        waits.load(Ordering::SeqCst) >= 1,
        "it waited for the alias to move"
    );
}
