//! Behaviour of sensors: what a user observes when a DAG waits on one.
//!
//! Intervals are tens of milliseconds. Timing assertions are lower bounds (a timer never fires
//! early) or orders of events, never "finished within".

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use oxflow::exec::{self, DagRunState, RunConfig, TaskState};
use oxflow::prelude::*;
use oxflow::tracking::{FileStore, TrackingStore};

fn states(report: &exec::DagRunReport) -> BTreeMap<String, TaskState> {
    report
        .tasks
        .iter()
        .map(|t| (t.id.clone(), t.state))
        .collect()
}

fn task<'a>(report: &'a exec::DagRunReport, id: &str) -> &'a exec::TaskReport {
    report.tasks.iter().find(|t| t.id == id).unwrap()
}

// ---------------------------------------------------------------- the value flows downstream

static COUNTED: AtomicUsize = AtomicUsize::new(0);

#[sensor(poke_interval = "20ms", timeout = "10s")]
fn third_time_lucky() -> Poke<u32> {
    let n = COUNTED.fetch_add(1, Ordering::SeqCst) + 1;
    Poke::when(n >= 3, 40 + n as u32 - 1)
}

#[task]
fn plus_one(v: &u32) -> u32 {
    v + 1
}

#[dag]
fn sensor_value() {
    let v = third_time_lucky();
    plus_one(&v);
}

#[tokio::test]
async fn the_ready_value_is_the_sensors_output_downstream() {
    let report = exec::execute(&sensor_value().spec().unwrap(), RunConfig::in_memory())
        .await
        .unwrap();
    assert_eq!(report.state, DagRunState::Success);
    assert_eq!(COUNTED.load(Ordering::SeqCst), 3, "poked until ready");
    assert_eq!(report.output::<u32>("plus_one"), Some(&43));
    // Three pokes are one try.
    assert_eq!(task(&report, "third_time_lucky").tries, 1);
}

#[test]
fn a_sensor_stays_an_ordinary_function() {
    assert_eq!(never_lands(), Poke::NotReady);
}

#[test]
fn show_and_graph_name_the_sensor_and_its_output_type() {
    let def = sensor_value();
    let spec = def.spec().unwrap();
    let node = spec
        .nodes
        .iter()
        .find(|n| n.id == "third_time_lucky")
        .unwrap();
    assert_eq!(node.task.output_type, "u32");
    let s = node.task.sensor.unwrap();
    assert_eq!(s.poke_interval, Duration::from_millis(20));
    assert_eq!(s.timeout, Duration::from_secs(10));
    assert_eq!(s.mode, oxflow::sensor::SensorMode::Poke);
    assert!(
        spec.render(oxflow::dag::GraphFormat::Dot)
            .contains("third_time_lucky [sensor: poke]")
    );
}

// ---------------------------------------------------------------- slots

static RESCHEDULE_FLAG: AtomicBool = AtomicBool::new(false);
static POKE_FLAG: AtomicBool = AtomicBool::new(false);

#[sensor(poke_interval = "20ms", timeout = "5s", mode = "reschedule")]
fn waits_rescheduled() -> Poke<()> {
    Poke::when(RESCHEDULE_FLAG.load(Ordering::SeqCst), ())
}

#[task]
fn sets_reschedule_flag() {
    RESCHEDULE_FLAG.store(true, Ordering::SeqCst);
}

/// One slot: the sensor takes it first, and the other task can only run while the sensor
/// waits without it.
#[dag(max_active_tasks = 1)]
fn one_slot_reschedule() {
    waits_rescheduled();
    sets_reschedule_flag();
}

#[sensor(poke_interval = "20ms", timeout = "300ms")]
fn waits_in_its_slot() -> Poke<()> {
    Poke::when(POKE_FLAG.load(Ordering::SeqCst), ())
}

#[task]
fn sets_poke_flag() {
    POKE_FLAG.store(true, Ordering::SeqCst);
}

#[dag(max_active_tasks = 1)]
fn one_slot_poke() {
    waits_in_its_slot();
    sets_poke_flag();
}

#[tokio::test]
async fn a_sensor_in_reschedule_mode_lets_another_task_use_its_slot() {
    let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let cfg = RunConfig::in_memory().on_event(move |e| {
        if let exec::ExecEvent::Task { task, state, .. } = e {
            log.lock().unwrap().push((task.clone(), *state));
        }
    });
    let report = exec::execute(&one_slot_reschedule().spec().unwrap(), cfg)
        .await
        .unwrap();
    assert_eq!(report.state, DagRunState::Success, "{:?}", states(&report));
    let seen = seen.lock().unwrap();
    let at = |task: &str, state| seen.iter().position(|(t, s)| t == task && *s == state);
    // The sensor waited without its slot, the other task ran then, and the sensor's next poke
    // found the flag.
    let rescheduled = at("waits_rescheduled", TaskState::UpForReschedule).unwrap();
    let other_ran = at("sets_reschedule_flag", TaskState::Success).unwrap();
    let sensor_done = at("waits_rescheduled", TaskState::Success).unwrap();
    assert!(
        rescheduled < other_ran && other_ran < sensor_done,
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_sensor_in_poke_mode_keeps_its_slot_while_it_waits() {
    let report = exec::execute(&one_slot_poke().spec().unwrap(), RunConfig::in_memory())
        .await
        .unwrap();
    // The other task could not run before the sensor gave its slot up: by timing out.
    let s = states(&report);
    assert_eq!(s["waits_in_its_slot"], TaskState::Failed, "{s:?}");
    assert_eq!(s["sets_poke_flag"], TaskState::Success);
    let error = task(&report, "waits_in_its_slot").error.clone().unwrap();
    assert!(error.starts_with("sensor timed out"), "{error}");
}

// ---------------------------------------------------------------- timeouts

#[sensor(poke_interval = "20ms", timeout = "100ms", soft_fail = true)]
fn never_lands() -> Poke<u32> {
    Poke::NotReady
}

#[task]
fn reads_landed(v: &u32) -> u32 {
    *v
}

#[task(trigger = "all_done")]
fn cleans_up_anyway(v: Option<&u32>) -> bool {
    v.is_none()
}

#[dag]
fn soft_failing() {
    let v = never_lands();
    reads_landed(&v);
    cleans_up_anyway(&v);
}

#[tokio::test]
async fn soft_fail_skips_on_timeout_and_the_skip_reaches_downstream() {
    let started = Instant::now();
    let report = exec::execute(&soft_failing().spec().unwrap(), RunConfig::in_memory())
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(100));
    // A skip is not a failure: the run succeeds.
    assert_eq!(report.state, DagRunState::Success);
    let s = states(&report);
    assert_eq!(s["never_lands"], TaskState::Skipped);
    assert_eq!(s["reads_landed"], TaskState::Skipped);
    assert_eq!(s["cleans_up_anyway"], TaskState::Success);
    assert_eq!(report.output::<bool>("cleans_up_anyway"), Some(&true));
    let error = task(&report, "never_lands").error.clone().unwrap();
    assert!(
        error.starts_with("sensor timed out: not ready after ") && error.contains("soft_fail"),
        "{error}"
    );
}

static TIMEOUT_POKES: AtomicUsize = AtomicUsize::new(0);

#[sensor(
    poke_interval = "20ms",
    timeout = "100ms",
    retries = 3,
    retry_delay = "1ms"
)]
fn times_out() -> Poke<u32> {
    TIMEOUT_POKES.fetch_add(1, Ordering::SeqCst);
    Poke::NotReady
}

#[dag]
fn timing_out() {
    let v = times_out();
    reads_landed(&v);
}

#[tokio::test]
async fn a_timeout_fails_the_sensor_at_once_without_its_retries() {
    let report = exec::execute(&timing_out().spec().unwrap(), RunConfig::in_memory())
        .await
        .unwrap();
    assert_eq!(report.state, DagRunState::Failed);
    let s = states(&report);
    assert_eq!(s["times_out"], TaskState::Failed);
    assert_eq!(s["reads_landed"], TaskState::UpstreamFailed);
    assert_eq!(
        task(&report, "times_out").tries,
        1,
        "no retry after a timeout"
    );
    // Pokes at 0, 20, 40, 60, 80 and the last one at the timeout: 100 ms / 20 ms + 1.
    let pokes = TIMEOUT_POKES.load(Ordering::SeqCst);
    assert!((2..=6).contains(&pokes), "{pokes} pokes");
    let error = task(&report, "times_out").error.clone().unwrap();
    assert!(
        error.contains(&format!("not ready after {pokes} pokes")),
        "{error}"
    );
    assert!(error.contains("(timeout 100ms)"), "{error}");
}

// ---------------------------------------------------------------- errors are retried

static ERRORS: AtomicUsize = AtomicUsize::new(0);

#[sensor(poke_interval = "10ms", retries = 1, retry_delay = "10ms")]
fn flaky_source(ctx: &TaskContext) -> Result<Poke<u32>, String> {
    ERRORS.fetch_add(1, Ordering::SeqCst);
    if ctx.try_number() == 1 {
        return Err("source unreachable".into());
    }
    Ok(Poke::Ready(ctx.try_number()))
}

#[dag]
fn flaky_sensor() {
    flaky_source();
}

#[tokio::test]
async fn an_error_from_a_poke_is_retried_like_a_tasks() {
    let report = exec::execute(&flaky_sensor().spec().unwrap(), RunConfig::in_memory())
        .await
        .unwrap();
    assert_eq!(report.state, DagRunState::Success);
    assert_eq!(task(&report, "flaky_source").tries, 2);
    assert_eq!(report.output::<u32>("flaky_source"), Some(&2));
}

// ---------------------------------------------------------------- backoff

static BACKOFF_POKES: Mutex<Vec<Instant>> = Mutex::new(Vec::new());

#[sensor(
    poke_interval = "20ms",
    timeout = "10s",
    exponential_backoff = true,
    mode = "reschedule"
)]
async fn backs_off() -> Poke<usize> {
    let mut pokes = BACKOFF_POKES.lock().unwrap();
    pokes.push(Instant::now());
    Poke::when(pokes.len() == 5, pokes.len())
}

#[dag]
fn backing_off() {
    backs_off();
}

#[tokio::test]
async fn exponential_backoff_doubles_the_wait_after_each_poke() {
    let report = exec::execute(&backing_off().spec().unwrap(), RunConfig::in_memory())
        .await
        .unwrap();
    assert_eq!(report.state, DagRunState::Success);
    let pokes = BACKOFF_POKES.lock().unwrap();
    assert_eq!(pokes.len(), 5);
    let gaps: Vec<Duration> = pokes.windows(2).map(|w| w[1] - w[0]).collect();
    // 20, 40, 80, 160 ms at least: a timer never fires early.
    for (k, gap) in gaps.iter().enumerate() {
        let want = Duration::from_millis(20 << k);
        assert!(
            *gap >= want,
            "wait {k} was {gap:?}, below {want:?}: {gaps:?}"
        );
    }
    assert!(gaps[3] > gaps[0] * 4, "{gaps:?}");
}

// ---------------------------------------------------------------- recording and resume

static RECORDED_POKES: AtomicUsize = AtomicUsize::new(0);

#[sensor(poke_interval = "20ms", timeout = "10s", mode = "reschedule")]
fn recorded_wait() -> Result<Poke<String>, String> {
    let n = RECORDED_POKES.fetch_add(1, Ordering::SeqCst) + 1;
    Ok(Poke::when(n >= 3, format!("after {n} pokes")))
}

static POKE_MODE_POKES: AtomicUsize = AtomicUsize::new(0);

/// In poke mode: running all along, its pokes recorded too.
#[sensor(poke_interval = "20ms", timeout = "10s")]
fn recorded_in_its_slot() -> Poke<u32> {
    let n = POKE_MODE_POKES.fetch_add(1, Ordering::SeqCst) + 1;
    Poke::when(n >= 4, n as u32)
}

#[dag]
fn recorded_sensor() {
    recorded_wait();
    recorded_in_its_slot();
}

fn tag<'a>(run: &'a oxflow::tracking::RunRecord, key: &str) -> Option<&'a str> {
    run.tags.get(key).map(String::as_str)
}

fn task_run(store: &TrackingStore, dag_run_id: &str, task: &str) -> oxflow::tracking::RunRecord {
    let parent = store.get_run(dag_run_id).unwrap();
    let filter = format!("tags.`mlflow.parentRunId` = '{dag_run_id}'");
    store
        .search_runs(&[&parent.info.experiment_id], &filter, &[], 100)
        .unwrap()
        .into_iter()
        .find(|r| tag(r, exec::TAG_TASK_ID) == Some(task))
        .unwrap()
}

#[tokio::test]
async fn the_store_keeps_a_sensors_first_poke_and_its_pokes() {
    let dir = tempfile::tempdir().unwrap();
    let store = TrackingStore::new(FileStore::open(dir.path().join("mlruns")).unwrap());
    let started_ms = oxflow::tracking::now_ms();
    let report = exec::execute(
        &recorded_sensor().spec().unwrap(),
        RunConfig::recorded(store.clone()),
    )
    .await
    .unwrap();
    assert_eq!(report.state, DagRunState::Success);
    let run = task_run(&store, &report.dag_run_id, "recorded_wait");
    assert_eq!(tag(&run, exec::TAG_STATE), Some("success"));
    assert_eq!(tag(&run, exec::TAG_TRY_NUMBER), Some("1"));
    assert_eq!(
        tag(&run, exec::TAG_SENSOR_POKES),
        Some("2"),
        "two not ready"
    );
    // The next poke is shown only while the sensor waits.
    assert_eq!(tag(&run, exec::TAG_SENSOR_NEXT_POKE), None);
    let first = tag(&run, exec::TAG_SENSOR_FIRST_POKE).unwrap();
    let first_ms = chrono::DateTime::parse_from_rfc3339(first)
        .unwrap()
        .timestamp_millis();
    assert!(first_ms >= started_ms - 1, "{first}");
    let output = store
        .read_artifact(&run.info.run_id, exec::XCOM_ARTIFACT)
        .unwrap();
    assert_eq!(output, b"\"after 3 pokes\"");
    let run = task_run(&store, &report.dag_run_id, "recorded_in_its_slot");
    assert_eq!(tag(&run, exec::TAG_STATE), Some("success"));
    assert_eq!(tag(&run, exec::TAG_TRY_NUMBER), Some("1"));
    assert_eq!(tag(&run, exec::TAG_SENSOR_POKES), Some("3"));
    assert_eq!(tag(&run, exec::TAG_SENSOR_NEXT_POKE), None);
    // One attempt from its first poke to its last: at least three 20 ms waits.
    let took = run.info.end_time_ms.unwrap() - run.info.start_time_ms;
    assert!(took >= 60, "{took} ms");
}

static RESUMED_POKES: AtomicUsize = AtomicUsize::new(0);

#[sensor(poke_interval = "50ms", timeout = "2s", mode = "reschedule")]
fn outlives_its_process() -> Poke<u32> {
    RESUMED_POKES.fetch_add(1, Ordering::SeqCst);
    Poke::NotReady
}

#[dag]
fn restarted_sensor() {
    outlives_its_process();
}

#[tokio::test]
async fn a_resumed_sensor_keeps_the_timeout_clock_of_its_first_poke() {
    let dir = tempfile::tempdir().unwrap();
    let store = TrackingStore::new(FileStore::open(dir.path().join("mlruns")).unwrap());
    let spec = restarted_sensor().spec().unwrap();
    // The process stops while the sensor waits for its next poke.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let stop = Mutex::new(Some(stop));
    let waits = AtomicUsize::new(0);
    let cfg = RunConfig::recorded(store.clone())
        .cancel_on(async move {
            let _ = stopped.await;
        })
        .on_event(move |e| {
            if let exec::ExecEvent::Task {
                state: TaskState::UpForReschedule,
                ..
            } = e
                && waits.fetch_add(1, Ordering::SeqCst) == 19
                && let Some(tx) = stop.lock().unwrap().take()
            {
                let _ = tx.send(());
            }
        });
    let first = exec::execute(&spec, cfg).await.unwrap();
    assert_eq!(first.state, DagRunState::Killed);
    let run = task_run(&store, &first.dag_run_id, "outlives_its_process");
    // Recorded waiting, with its clock and its next poke.
    assert_eq!(tag(&run, exec::TAG_STATE), Some("up_for_reschedule"));
    let first_poke = tag(&run, exec::TAG_SENSOR_FIRST_POKE).unwrap().to_owned();
    assert!(tag(&run, exec::TAG_SENSOR_NEXT_POKE).is_some());
    let first_poke_ms = chrono::DateTime::parse_from_rfc3339(&first_poke)
        .unwrap()
        .timestamp_millis();

    let resumed = exec::execute(
        &spec,
        RunConfig::recorded(store.clone()).resume(&first.dag_run_id),
    )
    .await
    .unwrap();
    let ended_ms = oxflow::tracking::now_ms();
    assert_eq!(resumed.state, DagRunState::Failed);
    let run = task_run(&store, &first.dag_run_id, "outlives_its_process");
    assert_eq!(tag(&run, exec::TAG_STATE), Some("failed"));
    // The clock did not restart: the first poke is the first run's, and the sensor timed out
    // 2 s after it, not 2 s after the resume (the first run used about 1 s of it: twenty
    // waits of 50 ms, more on a loaded machine, which leaves the resume less).
    assert_eq!(
        tag(&run, exec::TAG_SENSOR_FIRST_POKE),
        Some(first_poke.as_str())
    );
    assert!(ended_ms - first_poke_ms >= 2000);
    let error = task(&resumed, "outlives_its_process")
        .error
        .clone()
        .unwrap();
    assert!(error.contains("(timeout 2s)"), "{error}");
    let in_resume: Duration = resumed.duration;
    assert!(
        in_resume < Duration::from_millis(1800),
        "a fresh clock would wait 2 s in the resumed run, it waited {in_resume:?}"
    );
}

// ---------------------------------------------------------------- metrics

#[test]
fn pokes_are_counted_by_result() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    let recorder = DebuggingRecorder::new();
    let snap = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(exec::execute(
            &counted_pokes().spec().unwrap(),
            RunConfig::in_memory(),
        ))
        .unwrap();
    });
    let series = snap.snapshot().into_vec();
    let value = |name: &str, labels: &[(&str, &str)]| {
        series.iter().find_map(|(k, _, _, v)| {
            let key = k.key();
            let matches = key.name() == name
                && key.labels().count() == labels.len()
                && labels
                    .iter()
                    .all(|(l, v)| key.labels().any(|x| x.key() == *l && x.value() == *v));
            match (matches, v) {
                (true, DebugValue::Counter(n)) => Some(*n),
                _ => None,
            }
        })
    };
    let pokes = |task, result| {
        value(
            "oxflow_sensor_pokes_total",
            &[("dag", "counted_pokes"), ("task", task), ("result", result)],
        )
    };
    assert_eq!(pokes("ready_on_second", "not_ready"), Some(1));
    assert_eq!(pokes("ready_on_second", "ready"), Some(1));
    assert_eq!(pokes("errs_once", "error"), Some(1));
    assert_eq!(pokes("errs_once", "ready"), Some(1));
    assert_eq!(pokes("gives_up", "not_ready"), Some(2));
    assert_eq!(
        value(
            "oxflow_sensor_timeouts_total",
            &[("dag", "counted_pokes"), ("task", "gives_up")]
        ),
        Some(1)
    );
}

static SECOND: AtomicUsize = AtomicUsize::new(0);

#[sensor(poke_interval = "10ms")]
fn ready_on_second() -> Poke<()> {
    Poke::when(SECOND.fetch_add(1, Ordering::SeqCst) == 1, ())
}

#[sensor(retries = 1, retry_delay = "1ms")]
fn errs_once(ctx: &TaskContext) -> Result<Poke<()>, String> {
    match ctx.try_number() {
        1 => Err("not yet reachable".into()),
        _ => Ok(Poke::Ready(())),
    }
}

#[sensor(poke_interval = "40ms", timeout = "40ms", soft_fail = true)]
fn gives_up() -> Poke<()> {
    Poke::NotReady
}

#[dag]
fn counted_pokes() {
    ready_on_second();
    errs_once();
    gives_up();
}

// ---------------------------------------------------------------- scheduler restart

#[sensor(poke_interval = "50ms", timeout = "3s", mode = "reschedule")]
fn waits_across_restarts() -> Poke<u32> {
    Poke::NotReady
}

#[dag(schedule = "* * * * * *", max_active_runs = 1, overlap = "skip")]
fn scheduled_wait() {
    waits_across_restarts();
}

fn dag_runs_in(store: &TrackingStore, dag: &str, state: &str) -> Vec<String> {
    let exp = store.get_experiment_by_name(dag).unwrap().unwrap();
    let filter = format!("tags.`oxflow.state` = '{state}' and tags.`oxflow.dag` = '{dag}'");
    store
        .search_runs(&[&exp.experiment_id], &filter, &[], 100)
        .unwrap()
        .into_iter()
        .filter(|r| !r.tags.contains_key("mlflow.parentRunId"))
        .map(|r| r.info.run_id)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_scheduler_resumes_a_waiting_sensor_with_its_first_pokes_clock() {
    use oxflow::schedule::{Scheduler, SchedulerOptions};
    let dir = tempfile::tempdir().unwrap();
    let store = TrackingStore::open_uri(&format!(
        "sqlite:///{}",
        dir.path().join("mlflow.db").display()
    ))
    .unwrap();
    let scheduler = |secs: f64| {
        Scheduler::new(store.clone(), vec![scheduled_wait()])
            .unwrap()
            .options(SchedulerOptions {
                grace: Duration::ZERO,
                ..Default::default()
            })
            .run(tokio::time::sleep(Duration::from_secs_f64(secs)))
    };
    // The first scheduler stops while the sensor waits: the run is killed, the sensor stays
    // up_for_reschedule.
    scheduler(1.0).await.unwrap();
    let killed = dag_runs_in(&store, "scheduled_wait", "killed");
    assert_eq!(killed.len(), 1, "{killed:?}");
    let run_id = killed[0].clone();
    let sensor = task_run(&store, &run_id, "waits_across_restarts");
    assert_eq!(tag(&sensor, exec::TAG_STATE), Some("up_for_reschedule"));
    let first_poke = tag(&sensor, exec::TAG_SENSOR_FIRST_POKE)
        .unwrap()
        .to_owned();
    let first_poke_ms = chrono::DateTime::parse_from_rfc3339(&first_poke)
        .unwrap()
        .timestamp_millis();
    // ... and its process is gone (this test's process is the same one, so say it is another).
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = gone.id().to_string();
    gone.wait().unwrap();
    store.set_tag(&run_id, exec::TAG_PID, &dead_pid).unwrap();

    // The next scheduler takes the run over and the sensor waits on, then times out on the
    // first run's clock: about 2 s into this scheduler's 2.8 s, where a fresh 3 s clock would
    // still be waiting.
    scheduler(2.8).await.unwrap();
    let sensor = task_run(&store, &run_id, "waits_across_restarts");
    assert_eq!(
        tag(&sensor, exec::TAG_STATE),
        Some("failed"),
        "{:?}",
        sensor.tags
    );
    assert_eq!(
        tag(&sensor, exec::TAG_SENSOR_FIRST_POKE),
        Some(first_poke.as_str())
    );
    let error = tag(&sensor, exec::TAG_ERROR).unwrap();
    assert!(error.contains("(timeout 3s)"), "{error}");
    let ended_ms = sensor.info.end_time_ms.unwrap();
    assert!(ended_ms - first_poke_ms >= 3000);
    assert!(dag_runs_in(&store, "scheduled_wait", "failed").contains(&run_id));
}

// ---------------------------------------------------------------- order edges

static GATE_POKES: AtomicUsize = AtomicUsize::new(0);

#[sensor(poke_interval = "10ms", mode = "reschedule")]
fn gate() -> Poke<()> {
    Poke::when(GATE_POKES.fetch_add(1, Ordering::SeqCst) >= 2, ())
}

#[task]
fn behind_the_gate() -> usize {
    GATE_POKES.load(Ordering::SeqCst)
}

#[dag]
fn gated() {
    gate() >> behind_the_gate();
}

#[tokio::test]
async fn an_order_edge_waits_for_the_sensor_to_be_ready() {
    let report = exec::execute(&gated().spec().unwrap(), RunConfig::in_memory())
        .await
        .unwrap();
    assert_eq!(report.state, DagRunState::Success);
    // The task after `>>` ran once the third poke was ready.
    assert_eq!(report.output::<usize>("behind_the_gate"), Some(&3));
}
