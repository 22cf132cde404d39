//! Behaviour of the executor: what a user observes when a DAG runs.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use oxflow::dag::TriggerRule;
use oxflow::exec::{self, DagRunState, RunConfig, TaskState};
use oxflow::prelude::*;
use oxflow::tracking::{FileStore, RunStatus, Store};

fn states(report: &exec::DagRunReport) -> BTreeMap<String, TaskState> {
    report
        .tasks
        .iter()
        .map(|t| (t.id.clone(), t.state))
        .collect()
}

// ---------------------------------------------------------------- data hand-off

#[task]
fn one() -> u32 {
    1
}

#[task]
async fn add_one(x: &u32) -> u32 {
    x + 1
}

#[task]
fn pair(x: &u32) -> (u32, String) {
    (*x, format!("n={x}"))
}

#[task]
fn join(n: &u32, label: &String) -> String {
    format!("{label}/{n}")
}

#[dag]
fn simple() {
    let a = one();
    let b = add_one(&a);
    let (n, label) = pair(&b);
    join(&n, &label);
}

#[tokio::test]
async fn linear_dag_hands_outputs_downstream() {
    let spec = simple().spec().unwrap();
    let report = exec::execute(&spec, RunConfig::in_memory()).await.unwrap();
    assert_eq!(report.state, DagRunState::Success);
    assert_eq!(report.output::<String>("join").unwrap(), "n=2/2");
    assert!(
        report
            .tasks
            .iter()
            .all(|t| t.state == TaskState::Success && t.tries == 1)
    );
}

#[test]
fn tasks_stay_ordinary_functions() {
    assert_eq!(one(), 1);
    assert_eq!(pair(&4), (4, "n=4".to_owned()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(add_one(&1)), 2);
}

#[test]
fn every_dag_of_the_binary_is_registered() {
    let ids: Vec<&str> = oxflow::dag::registered().iter().map(|d| d.id).collect();
    for id in [
        "simple",
        "limited",
        "flaky_dag",
        "panicky",
        "rules",
        "resumable",
        "shared",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let err = oxflow::dag::find("nope").unwrap_err().to_string();
    assert!(
        err.contains("no DAG `nope`") && err.contains("simple"),
        "{err}"
    );
}

// ---------------------------------------------------------------- shared outputs

static SEEN: Mutex<Vec<usize>> = Mutex::new(Vec::new());

#[task]
fn big() -> Vec<u8> {
    vec![7; 1 << 20]
}

#[task]
fn look_a(data: &Vec<u8>) -> usize {
    SEEN.lock().unwrap().push(data.as_ptr() as usize);
    data.len()
}

#[task]
async fn look_b(data: &Vec<u8>) -> usize {
    SEEN.lock().unwrap().push(data.as_ptr() as usize);
    data.len()
}

#[dag]
fn shared() {
    let data = big();
    look_a(&data);
    look_b(&data);
}

#[tokio::test]
async fn one_output_is_shared_by_every_consumer_not_copied() {
    let report = exec::execute(&shared().spec().unwrap(), RunConfig::in_memory())
        .await
        .unwrap();
    assert_eq!(report.state, DagRunState::Success);
    let seen = SEEN.lock().unwrap().clone();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0], seen[1], "both consumers read the same buffer");
    assert!(
        report.output::<Vec<u8>>("big").is_none(),
        "freed once both readers finished"
    );
}

// ---------------------------------------------------------------- concurrency

static RUNNING: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

#[task]
async fn busy() {
    let now = RUNNING.fetch_add(1, Ordering::SeqCst) + 1;
    PEAK.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(60)).await;
    RUNNING.fetch_sub(1, Ordering::SeqCst);
}

#[dag(max_active_tasks = 2)]
fn limited() {
    #[task_id = "b1"]
    let a = busy();
    #[task_id = "b2"]
    let b = busy();
    #[task_id = "b3"]
    let c = busy();
    #[task_id = "b4"]
    let d = busy();
    #[task_id = "b5"]
    let e = busy();
    #[task_id = "b6"]
    let f = busy();
}

#[tokio::test]
async fn the_concurrency_limit_is_observed() {
    let spec = limited().spec().unwrap();
    let start = Instant::now();
    let report = exec::execute(&spec, RunConfig::in_memory()).await.unwrap();
    assert_eq!(report.state, DagRunState::Success);
    assert_eq!(PEAK.load(Ordering::SeqCst), 2, "max_active_tasks = 2");
    // Six 60 ms tasks two at a time take at least three rounds.
    assert!(
        start.elapsed() >= Duration::from_millis(180),
        "{:?}",
        start.elapsed()
    );
}

static SLOW_SYNC_DONE: AtomicUsize = AtomicUsize::new(0);

#[task]
fn blocking_sleep() {
    std::thread::sleep(Duration::from_millis(300));
    SLOW_SYNC_DONE.fetch_add(1, Ordering::SeqCst);
}

#[task]
async fn ticker() -> Duration {
    let start = Instant::now();
    tokio::time::sleep(Duration::from_millis(10)).await;
    start.elapsed()
}

#[dag]
fn mixed() {
    #[task_id = "s1"]
    let a = blocking_sleep();
    #[task_id = "s2"]
    let b = blocking_sleep();
    #[task_id = "s3"]
    let c = blocking_sleep();
    ticker();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn sync_tasks_never_block_the_async_workers() {
    let report = exec::execute(&mixed().spec().unwrap(), RunConfig::in_memory())
        .await
        .unwrap();
    assert_eq!(report.state, DagRunState::Success);
    assert_eq!(SLOW_SYNC_DONE.load(Ordering::SeqCst), 3);
    // With one async worker, a sync task run on it would hold the ticker for 300 ms.
    let waited = *report.output::<Duration>("ticker").unwrap();
    assert!(
        waited < Duration::from_millis(200),
        "ticker waited {waited:?}"
    );
}

// ---------------------------------------------------------------- retries and timeouts

static FLAKY_TRIES: Mutex<Vec<Instant>> = Mutex::new(Vec::new());

#[task(
    retries = 4,
    retry_delay = "100ms",
    backoff = 2.0,
    max_retry_delay = "250ms"
)]
fn flaky(ctx: &TaskContext) -> Result<u32, String> {
    FLAKY_TRIES.lock().unwrap().push(Instant::now());
    if ctx.try_number() < 4 {
        Err(format!("try {} failed", ctx.try_number()))
    } else {
        Ok(ctx.try_number())
    }
}

#[task(retries = 1, retry_delay = "10ms")]
fn always_fails() -> Result<(), String> {
    Err("boom".into())
}

#[task]
fn after_fail(_x: &()) {}

#[task(timeout = "100ms")]
async fn too_slow() {
    tokio::time::sleep(Duration::from_secs(10)).await;
}

#[task(timeout = "100ms")]
fn too_slow_sync() {
    std::thread::sleep(Duration::from_millis(400));
}

#[dag]
fn flaky_dag() {
    flaky();
    let f = always_fails();
    after_fail(&f);
    too_slow();
    too_slow_sync();
}

#[tokio::test]
async fn retries_wait_with_backoff_and_timeouts_fail_the_attempt() {
    let start = Instant::now();
    let report = exec::execute(&flaky_dag().spec().unwrap(), RunConfig::in_memory())
        .await
        .unwrap();
    assert_eq!(report.state, DagRunState::Failed);

    let flaky = report.task("flaky").unwrap();
    assert_eq!((flaky.state, flaky.tries), (TaskState::Success, 4));
    assert_eq!(*report.output::<u32>("flaky").unwrap(), 4);
    let tries = FLAKY_TRIES.lock().unwrap().clone();
    let gaps: Vec<Duration> = tries.windows(2).map(|w| w[1] - w[0]).collect();
    // 100 ms, then x2 = 200 ms, then capped at 250 ms.
    for (gap, (min, max)) in gaps.iter().zip([(100, 190), (200, 290), (250, 340)]) {
        assert!(
            *gap >= Duration::from_millis(min) && *gap < Duration::from_millis(max),
            "gaps {gaps:?}"
        );
    }

    let failed = report.task("always_fails").unwrap();
    assert_eq!((failed.state, failed.tries), (TaskState::Failed, 2));
    assert_eq!(failed.error.as_deref(), Some("boom"));
    let down = report.task("after_fail").unwrap();
    assert_eq!((down.state, down.tries), (TaskState::UpstreamFailed, 0));

    for slow in ["too_slow", "too_slow_sync"] {
        let t = report.task(slow).unwrap();
        assert_eq!(t.state, TaskState::Failed, "{slow}");
        assert_eq!(t.error.as_deref(), Some("timed out after 100ms"), "{slow}");
    }
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

// ---------------------------------------------------------------- what a task returns

/// A `Result` under a name that does not end in `Result`.
type Fallible<T> = Result<T, String>;
use std::result::Result as Outcome;

#[task]
fn fails_through_alias() -> Fallible<u32> {
    Err("alias error".into())
}

#[task]
fn succeeds_through_alias() -> Fallible<u32> {
    Ok(5)
}

#[task]
fn fails_through_renamed_import() -> Outcome<u32, String> {
    Err("renamed error".into())
}

#[task]
async fn fails_with_io_result() -> std::io::Result<u32> {
    Err(std::io::Error::other("disk gone"))
}

/// A plain value that happens to be an `Option`: never a failure.
#[task]
fn plain_none() -> Option<u32> {
    None
}

#[task]
fn after_alias(x: &u32) -> u32 {
    x + 1
}

#[dag]
fn fallible_by_type() {
    fails_through_alias();
    let ok = succeeds_through_alias();
    after_alias(&ok);
    fails_through_renamed_import();
    fails_with_io_result();
    plain_none();
}

#[tokio::test]
async fn an_err_fails_the_attempt_whatever_the_result_type_is_called() {
    let report = exec::execute(&fallible_by_type().spec().unwrap(), RunConfig::in_memory())
        .await
        .unwrap();
    let s = states(&report);
    for (task, error) in [
        ("fails_through_alias", "alias error"),
        ("fails_through_renamed_import", "renamed error"),
        ("fails_with_io_result", "disk gone"),
    ] {
        assert_eq!(s[task], TaskState::Failed, "{task}");
        assert_eq!(report.task(task).unwrap().error.as_deref(), Some(error));
    }
    // The output of an alias-typed task is its `Ok` value, read as such downstream (and freed
    // once read).
    assert_eq!(s["succeeds_through_alias"], TaskState::Success);
    assert_eq!(*report.output::<u32>("after_alias").unwrap(), 6);
    assert_eq!(s["plain_none"], TaskState::Success);
    assert_eq!(report.output::<Option<u32>>("plain_none"), Some(&None));
}

/// An error with a cause, as thiserror's `#[source]` makes one.
#[derive(Debug)]
struct LoadError {
    file: &'static str,
    cause: std::io::Error,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot load {}", self.file)
    }
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.cause)
    }
}

#[task]
fn load_rows() -> Result<Vec<u8>, LoadError> {
    Err(LoadError {
        file: "rows.csv",
        cause: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
    })
}

#[dag]
fn chained_error() {
    load_rows();
}

#[tokio::test]
async fn a_task_error_keeps_its_causes() {
    let report = exec::execute(&chained_error().spec().unwrap(), RunConfig::in_memory())
        .await
        .unwrap();
    let t = report.task("load_rows").unwrap();
    assert_eq!(t.state, TaskState::Failed);
    assert_eq!(
        t.error.as_deref(),
        Some("cannot load rows.csv: no such file")
    );
}

// ---------------------------------------------------------------- skip and fail from a task

static SKIPPER_CALLS: AtomicUsize = AtomicUsize::new(0);
static FAILER_CALLS: AtomicUsize = AtomicUsize::new(0);
static WRAPPED_FAIL_CALLS: AtomicUsize = AtomicUsize::new(0);

#[task(retries = 3, retry_delay = "10ms")]
fn nothing_new() -> Result<u32, exec::Skip> {
    SKIPPER_CALLS.fetch_add(1, Ordering::SeqCst);
    Err(exec::Skip::new("no new rows today"))
}

#[task]
fn after_nothing_new(x: &u32) -> u32 {
    *x
}

#[task(trigger = "none_failed")]
fn join_after_skip() -> String {
    "ran".into()
}

/// A task's own error type that carries a `Skip` as its source.
#[derive(Debug)]
enum StepError {
    Skipped(exec::Skip),
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("step did not run")
    }
}

impl std::error::Error for StepError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StepError::Skipped(s) => Some(s),
        }
    }
}

#[task]
fn skips_through_source() -> Result<(), StepError> {
    Err(StepError::Skipped(exec::Skip::new("holiday")))
}

#[task(retries = 3, retry_delay = "10ms")]
fn bad_input() -> Result<u32, exec::Fail> {
    FAILER_CALLS.fetch_add(1, Ordering::SeqCst);
    Err(exec::Fail::new("the input file is empty"))
}

#[task(retries = 3, retry_delay = "10ms")]
fn bad_input_boxed() -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    WRAPPED_FAIL_CALLS.fetch_add(1, Ordering::SeqCst);
    let cause = std::io::Error::other("permission denied");
    Err(Box::new(exec::Fail::because("no credentials", cause)))
}

#[dag]
fn skip_and_fail() {
    let n = nothing_new();
    after_nothing_new(&n);
    n >> join_after_skip();
    skips_through_source();
    bad_input();
    bad_input_boxed();
}

#[tokio::test]
async fn a_task_can_skip_itself_or_fail_without_retry() {
    let report = exec::execute(&skip_and_fail().spec().unwrap(), RunConfig::in_memory())
        .await
        .unwrap();
    let s = states(&report);

    let skipped = report.task("nothing_new").unwrap();
    assert_eq!((skipped.state, skipped.tries), (TaskState::Skipped, 1));
    assert_eq!(
        SKIPPER_CALLS.load(Ordering::SeqCst),
        1,
        "a skip is not retried"
    );
    assert_eq!(skipped.error.as_deref(), Some("skipped: no new rows today"));
    // The skip propagates like any skip: all_success skips, none_failed runs.
    assert_eq!(s["after_nothing_new"], TaskState::Skipped);
    assert_eq!(s["join_after_skip"], TaskState::Success);
    assert_eq!(s["skips_through_source"], TaskState::Skipped);

    let failed = report.task("bad_input").unwrap();
    assert_eq!((failed.state, failed.tries), (TaskState::Failed, 1));
    assert_eq!(
        FAILER_CALLS.load(Ordering::SeqCst),
        1,
        "a fail is not retried"
    );
    assert_eq!(failed.error.as_deref(), Some("the input file is empty"));
    let boxed = report.task("bad_input_boxed").unwrap();
    assert_eq!((boxed.state, boxed.tries), (TaskState::Failed, 1));
    assert_eq!(WRAPPED_FAIL_CALLS.load(Ordering::SeqCst), 1);
    assert_eq!(
        boxed.error.as_deref(),
        Some("no credentials: permission denied")
    );
    assert_eq!(report.state, DagRunState::Failed);
}

#[tokio::test]
async fn a_dag_run_whose_tasks_only_skip_succeeds() {
    #[task]
    fn quiet_day() -> Result<u32, exec::Skip> {
        Err(exec::Skip::new("quiet day"))
    }
    #[dag]
    fn only_skips() {
        let n = quiet_day();
        after_nothing_new(&n);
    }
    let report = exec::execute(&only_skips().spec().unwrap(), RunConfig::in_memory())
        .await
        .unwrap();
    assert_eq!(report.state, DagRunState::Success);
    let s = states(&report);
    assert_eq!(s["quiet_day"], TaskState::Skipped);
    assert_eq!(s["after_nothing_new"], TaskState::Skipped);
}

#[task(retries = 2, retry_delay = "10ms")]
fn holiday_check() -> Result<u32, exec::Skip> {
    tracing::info!("looked at the calendar");
    Err(exec::Skip::new("bank holiday"))
}

#[task(retries = 2, retry_delay = "10ms")]
fn needs_credentials() -> Result<u32, exec::Fail> {
    let cause = std::io::Error::other("permission denied");
    Err(exec::Fail::because("no credentials", cause))
}

#[dag]
fn skip_and_fail_recorded() {
    let h = holiday_check();
    after_nothing_new(&h);
    needs_credentials();
}

#[tokio::test]
async fn a_skip_and_a_fail_are_recorded_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path().join("mlruns")).unwrap();
    let report = exec::execute(
        &skip_and_fail_recorded().spec().unwrap(),
        RunConfig::recorded(store.clone()),
    )
    .await
    .unwrap();
    assert_eq!(report.state, DagRunState::Failed);
    let exp = store
        .get_experiment_by_name("skip_and_fail_recorded")
        .unwrap()
        .unwrap();
    let runs = store.list_run_records(&exp.experiment_id, false).unwrap();
    let task = |id: &str| {
        runs.iter()
            .find(|r| r.tags.get("oxflow.task_id").map(String::as_str) == Some(id))
            .unwrap_or_else(|| panic!("no run for {id}"))
    };

    // A task that skipped itself: finished, `skipped`, its reason kept, one try.
    let skip = task("holiday_check");
    assert_eq!(skip.info.status, RunStatus::Finished);
    assert_eq!(skip.tags["oxflow.state"], "skipped");
    assert_eq!(skip.tags["oxflow.error"], "skipped: bank holiday");
    assert_eq!(skip.tags["oxflow.try_number"], "1");
    let log = exec::load_task_log(&store, None, &report.dag_run_id, "holiday_check").unwrap();
    assert!(
        log.contains("looked at the calendar") && !log.contains("failed"),
        "{log}"
    );
    assert_eq!(task("after_nothing_new").tags["oxflow.state"], "skipped");

    // A `Fail`: failed at its first try despite its retries, its causes in the error.
    let fail = task("needs_credentials");
    assert_eq!(fail.info.status, RunStatus::Failed);
    assert_eq!(fail.tags["oxflow.state"], "failed");
    assert_eq!(fail.tags["oxflow.try_number"], "1");
    assert_eq!(
        fail.tags["oxflow.error"],
        "no credentials: permission denied"
    );
}

// ---------------------------------------------------------------- optional inputs by value

#[task]
fn labels() -> Vec<String> {
    vec!["a".into(), "b".into()]
}

#[task]
fn no_labels() -> Result<Vec<String>, String> {
    Err("labelling service down".into())
}

#[task(trigger = "all_done")]
fn count_labels(got: Option<Vec<String>>, missing: Option<Vec<String>>) -> (usize, bool) {
    (
        got.map_or(0, |mut v| {
            v.push("mine".into());
            v.len()
        }),
        missing.is_none(),
    )
}

/// Reads the shared output after `count_labels` changed its copy.
#[task]
fn count_shared(labels: &Vec<String>) -> usize {
    labels.len()
}

#[dag]
fn optional_by_value() {
    let l = labels();
    let m = no_labels();
    let c = count_labels(l, m);
    let n = count_shared(&l);
    c >> n;
}

#[tokio::test]
async fn an_option_by_value_is_a_copy_or_none_when_the_upstream_failed() {
    let report = exec::execute(&optional_by_value().spec().unwrap(), RunConfig::in_memory())
        .await
        .unwrap();
    assert_eq!(
        report.output::<(usize, bool)>("count_labels"),
        Some(&(3, true))
    );
    // The consumer changed its own copy, not the shared output its successor reads.
    assert_eq!(report.output::<usize>("count_shared"), Some(&2));
}

// ---------------------------------------------------------------- panics

#[task]
fn explode() -> u32 {
    panic!("the model diverged")
}

#[task]
async fn explode_async() -> u32 {
    panic!("async {}", "kaboom")
}

#[task]
fn sibling() -> u32 {
    5
}

#[task]
fn consume(x: &u32) -> u32 {
    *x
}

#[dag]
fn panicky() {
    let e = explode();
    explode_async();
    sibling();
    consume(&e);
}

#[tokio::test]
async fn a_panic_fails_only_its_task() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path().join("mlruns")).unwrap();
    let report = exec::execute(
        &panicky().spec().unwrap(),
        RunConfig::recorded(store.clone()),
    )
    .await
    .unwrap();
    assert_eq!(report.state, DagRunState::Failed);
    let s = states(&report);
    assert_eq!(s["explode"], TaskState::Failed);
    assert_eq!(s["explode_async"], TaskState::Failed);
    assert_eq!(s["sibling"], TaskState::Success);
    assert_eq!(s["consume"], TaskState::UpstreamFailed);
    assert_eq!(
        report.task("explode").unwrap().error.as_deref(),
        Some("panicked: the model diverged")
    );
    assert_eq!(
        report.task("explode_async").unwrap().error.as_deref(),
        Some("panicked: async kaboom")
    );
    // The panic message is in the attempt's log, for `logs <run> explode`.
    let log = exec::load_task_log(&store, None, &report.dag_run_id, "explode").unwrap();
    assert!(
        log.contains("ERROR oxflow: attempt 1 failed: panicked: the model diverged"),
        "{log}"
    );
}

// ---------------------------------------------------------------- trigger rules

#[task]
fn ok_task() {}

#[task]
fn bad_task() -> Result<(), String> {
    Err("bad".into())
}

#[task]
fn t_all_success() {}
#[task(trigger = "all_done")]
fn t_all_done() {}
#[task(trigger = "one_failed")]
fn t_one_failed() {}
#[task(trigger = "one_success")]
fn t_one_success() {}
#[task(trigger = "all_failed")]
fn t_all_failed() {}
#[task(trigger = "none_failed")]
fn t_none_failed() {}
#[task(trigger = "none_skipped")]
fn t_none_skipped() {}
#[task(trigger = "always")]
fn t_always() {}
#[task]
fn after_skip() {}
#[task(trigger = "none_failed_min_one_success")]
fn t_nfmos() {}

#[task(trigger = "all_done")]
fn tolerant(x: Option<&u32>, y: Option<&u32>) -> String {
    format!("{x:?} {y:?}")
}

#[task]
fn number() -> u32 {
    3
}

#[task]
fn no_number() -> Result<u32, String> {
    Err("none".into())
}

#[dag]
fn rules() {
    let ok = ok_task();
    let bad = bad_task();
    [ok, bad] >> t_all_success();
    [ok, bad] >> t_all_done();
    [ok, bad] >> t_one_failed();
    [ok, bad] >> t_one_success();
    let af = t_all_failed();
    [ok, bad] >> af;
    [ok, bad] >> t_none_failed();
    [ok, bad] >> t_none_skipped();
    [ok, bad] >> t_always();
    af >> after_skip();
    [af, ok] >> t_nfmos();
    let n = number();
    let m = no_number();
    tolerant(&n, &m);
}

#[tokio::test]
async fn trigger_rules_decide_what_runs_after_a_failure() {
    let report = exec::execute(&rules().spec().unwrap(), RunConfig::in_memory())
        .await
        .unwrap();
    let s = states(&report);
    assert_eq!(s["t_all_success"], TaskState::UpstreamFailed);
    assert_eq!(s["t_all_done"], TaskState::Success);
    assert_eq!(s["t_one_failed"], TaskState::Success);
    assert_eq!(s["t_one_success"], TaskState::Success);
    assert_eq!(s["t_all_failed"], TaskState::Skipped);
    assert_eq!(s["t_none_failed"], TaskState::UpstreamFailed);
    assert_eq!(s["t_none_skipped"], TaskState::Success);
    assert_eq!(s["t_always"], TaskState::Success);
    assert_eq!(
        s["after_skip"],
        TaskState::Skipped,
        "a skip propagates through all_success"
    );
    assert_eq!(s["t_nfmos"], TaskState::Success);
    assert_eq!(report.output::<String>("tolerant").unwrap(), "Some(3) None");
}

// ---------------------------------------------------------------- recording and resume

static PREPARE_CALLS: AtomicUsize = AtomicUsize::new(0);
static TRAIN_CALLS: AtomicUsize = AtomicUsize::new(0);
static TRAIN_BREAKS: AtomicBool = AtomicBool::new(true);

#[task]
fn prepare() -> Vec<f64> {
    PREPARE_CALLS.fetch_add(1, Ordering::SeqCst);
    tracing::info!(rows = 3, "prepared the rows");
    vec![1.0, 2.0, 3.0]
}

#[task]
fn train_model(rows: &Vec<f64>, run: &mut Run) -> Result<f64, String> {
    TRAIN_CALLS.fetch_add(1, Ordering::SeqCst);
    if TRAIN_BREAKS.load(Ordering::SeqCst) {
        return Err("out of memory".into());
    }
    let mean = rows.iter().sum::<f64>() / rows.len() as f64;
    run.log_metric("mean", mean).map_err(|e| e.to_string())?;
    Ok(mean)
}

#[task]
fn publish(mean: &f64) -> String {
    format!("mean={mean}")
}

#[task]
fn side() -> u32 {
    9
}

#[dag]
fn resumable() {
    let rows = prepare();
    let model = train_model(&rows);
    publish(&model);
    side();
}

fn files_under(dir: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.display().to_string(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[tokio::test]
async fn a_failed_run_resumes_without_rerunning_what_succeeded() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path().join("mlruns")).unwrap();
    let spec = resumable().spec().unwrap();

    let first = exec::execute(&spec, RunConfig::recorded(store.clone()))
        .await
        .unwrap();
    assert_eq!(first.state, DagRunState::Failed);
    let s = states(&first);
    assert_eq!(
        (s["prepare"], s["train_model"], s["publish"], s["side"]),
        (
            TaskState::Success,
            TaskState::Failed,
            TaskState::UpstreamFailed,
            TaskState::Success
        )
    );

    // The record: the DAG run and one nested run per task, with states and the error.
    let parent = store.get_run(&first.dag_run_id).unwrap();
    assert_eq!(parent.info.status, RunStatus::Failed);
    assert_eq!(parent.tags["oxflow.dag"], "resumable");
    let exp = store.get_experiment_by_name("resumable").unwrap().unwrap();
    let children: Vec<_> = store
        .list_run_records(&exp.experiment_id, false)
        .unwrap()
        .into_iter()
        .filter(|r| r.tags.get("mlflow.parentRunId") == Some(&first.dag_run_id))
        .collect();
    assert_eq!(children.len(), 4);
    let train = children
        .iter()
        .find(|r| r.tags["oxflow.task_id"] == "train_model")
        .unwrap();
    assert_eq!(train.info.status, RunStatus::Failed);
    assert_eq!(train.tags["oxflow.state"], "failed");
    assert_eq!(train.tags["oxflow.error"], "out of memory");
    let prep = children
        .iter()
        .find(|r| r.tags["oxflow.task_id"] == "prepare")
        .unwrap();
    assert_eq!(
        store
            .read_artifact(&prep.info.run_id, "xcom/return_value.json")
            .unwrap(),
        b"[1.0,2.0,3.0]"
    );

    // Logs: the task's own tracing events and the error, in Airflow's layout.
    let log_root = dir.path().join("logs");
    let prep_log = std::fs::read_to_string(log_root.join(format!(
        "dag_id=resumable/run_id={}/task_id=prepare/attempt=1.log",
        first.dag_run_id
    )))
    .unwrap();
    assert!(prep_log.contains("prepared the rows rows=3"), "{prep_log}");
    let train_log = exec::load_task_log(&store, None, &first.dag_run_id, "train_model").unwrap();
    assert!(
        train_log.contains("attempt 1 failed: out of memory"),
        "{train_log}"
    );

    // Resume: only train_model and its downstream run again; prepare's output is reused.
    TRAIN_BREAKS.store(false, Ordering::SeqCst);
    let second = exec::execute(
        &spec,
        RunConfig::recorded(store.clone()).resume(&first.dag_run_id),
    )
    .await
    .unwrap();
    assert_eq!(second.state, DagRunState::Success);
    assert_eq!(
        second.dag_run_id, first.dag_run_id,
        "the same DAG run continues"
    );
    assert_eq!(
        PREPARE_CALLS.load(Ordering::SeqCst),
        1,
        "prepare is not rerun"
    );
    assert_eq!(TRAIN_CALLS.load(Ordering::SeqCst), 2);
    assert!(second.task("prepare").unwrap().reused);
    assert!(second.task("side").unwrap().reused);
    assert_eq!(
        second.task("train_model").unwrap().tries,
        2,
        "try numbers continue"
    );
    assert_eq!(second.output::<String>("publish").unwrap(), "mean=2");
    let parent = store.get_run(&first.dag_run_id).unwrap();
    assert_eq!(parent.info.status, RunStatus::Finished);
    let train = store.get_run(&train.info.run_id).unwrap();
    assert_eq!(train.tags["oxflow.state"], "success");
    assert_eq!(
        train.metrics["mean"].value, 2.0,
        "a task logs to its own run through &mut Run"
    );
    // The second attempt logged nothing itself: no file, its end comes from the task's run.
    assert!(
        !log_root
            .join(format!(
                "dag_id=resumable/run_id={}/task_id=train_model/attempt=2.log",
                first.dag_run_id
            ))
            .exists()
    );
    let train_log = exec::load_task_log(&store, None, &first.dag_run_id, "train_model").unwrap();
    assert!(
        train_log.contains("attempt 1 failed: out of memory"),
        "{train_log}"
    );
    assert!(
        train_log.contains("--- attempt 2: logged nothing")
            && train_log
                .trim_end()
                .ends_with("INFO oxflow: task succeeded"),
        "{train_log}"
    );
    // A task that logged keeps its file, ending with how the attempt ended.
    assert!(
        prep_log.trim_end().ends_with("INFO oxflow: task succeeded"),
        "{prep_log}"
    );
    let err = exec::load_task_log(&store, None, &first.dag_run_id, "no_such_task").unwrap_err();
    assert!(
        err.to_string()
            .contains("tasks of this run: prepare, publish, side, train_model"),
        "{err}"
    );

    // A corrupt stored output stops a resume, names the file, and overwrites nothing.
    TRAIN_BREAKS.store(true, Ordering::SeqCst);
    let third = exec::execute(&spec, RunConfig::recorded(store.clone()))
        .await
        .unwrap();
    let xcom = store
        .artifact_path(
            &prep_run_of(&store, &third.dag_run_id),
            "xcom/return_value.json",
        )
        .unwrap();
    std::fs::write(&xcom, b"[1.0, 2.0").unwrap();
    let before = files_under(dir.path());
    let err = exec::execute(
        &spec,
        RunConfig::recorded(store.clone()).resume(&third.dag_run_id),
    )
    .await
    .err()
    .unwrap();
    let msg = err.to_string();
    assert!(
        msg.contains("corrupt record") && msg.contains(&xcom.display().to_string()),
        "{msg}"
    );
    assert_eq!(files_under(dir.path()), before, "nothing was written");

    // Resuming a run of another DAG is refused.
    let err = exec::execute(
        &simple().spec().unwrap(),
        RunConfig::recorded(store.clone()).resume(&third.dag_run_id),
    )
    .await
    .err()
    .unwrap();
    assert!(
        err.to_string().contains("is not a run of DAG `simple`"),
        "{err}"
    );
}

fn prep_run_of(store: &FileStore, dag_run_id: &str) -> String {
    let exp = store.get_experiment_by_name("resumable").unwrap().unwrap();
    store
        .list_run_records(&exp.experiment_id, false)
        .unwrap()
        .into_iter()
        .find(|r| {
            r.tags.get("mlflow.parentRunId").map(String::as_str) == Some(dag_run_id)
                && r.tags["oxflow.task_id"] == "prepare"
        })
        .unwrap()
        .info
        .run_id
}

#[tokio::test]
async fn an_unusable_store_is_reported_before_any_task_runs() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let err = FileStore::open(file.join("mlruns"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("not-a-dir"), "{err}");
    let err = exec::execute(
        &simple().spec().unwrap(),
        RunConfig::in_memory().resume("abc"),
    )
    .await
    .err()
    .unwrap();
    assert!(err.to_string().contains("needs a tracking store"), "{err}");
}

// ---------------------------------------------------------------- interruption

static STARTED_LONG: AtomicBool = AtomicBool::new(false);

#[task]
async fn long_job() {
    STARTED_LONG.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(30)).await;
}

#[task]
fn after_long() {}

#[dag]
fn interruptible() {
    let l = long_job();
    l >> after_long();
}

#[tokio::test]
async fn an_interrupt_kills_running_attempts_and_records_the_run_as_killed() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    let cfg = RunConfig::recorded(store.clone())
        .cancel_on(tokio::time::sleep(Duration::from_millis(200)));
    let start = Instant::now();
    let report = exec::execute(&interruptible().spec().unwrap(), cfg)
        .await
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(STARTED_LONG.load(Ordering::SeqCst));
    assert_eq!(report.state, DagRunState::Killed);
    assert_eq!(
        report.task("long_job").unwrap().error.as_deref(),
        Some("killed: the DAG run was interrupted")
    );
    assert_eq!(report.task("after_long").unwrap().state, TaskState::None);
    assert_eq!(
        store.get_run(&report.dag_run_id).unwrap().info.status,
        RunStatus::Killed
    );
    let exp = store
        .get_experiment_by_name("interruptible")
        .unwrap()
        .unwrap();
    let long = store
        .list_run_records(&exp.experiment_id, false)
        .unwrap()
        .into_iter()
        .find(|r| r.tags.get("oxflow.task_id").map(String::as_str) == Some("long_job"))
        .unwrap();
    assert_eq!(long.info.status, RunStatus::Killed);
}

// ---------------------------------------------------------------- shell tasks

#[task(timeout = "300ms")]
async fn shell_hangs() -> Result<ShellOutput, oxflow::shell::ShellError> {
    // A background grandchild in the same process group, which must die with the attempt.
    Shell::bash("sleep 31.4159 & sleep 31.4159; echo never")
        .run()
        .await
}

#[task]
async fn shell_fails() -> Result<ShellOutput, oxflow::shell::ShellError> {
    Shell::bash("echo to-stdout; echo to-stderr >&2; exit 3")
        .run()
        .await
}

#[task]
async fn shell_ok(word: &String) -> Result<ShellOutput, oxflow::shell::ShellError> {
    Shell::new("echo").arg(word).run().await
}

#[task]
fn word() -> String {
    "hello".into()
}

#[dag]
fn shells() {
    shell_hangs();
    shell_fails();
    let w = word();
    shell_ok(&w);
}

#[tokio::test]
async fn shell_tasks_stream_output_fail_on_exit_codes_and_die_on_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path().join("mlruns")).unwrap();
    let report = exec::execute(
        &shells().spec().unwrap(),
        RunConfig::recorded(store.clone()),
    )
    .await
    .unwrap();
    let ok = report.output::<ShellOutput>("shell_ok").unwrap();
    assert_eq!(ok.stdout, "hello\n");

    let failed = report.task("shell_fails").unwrap();
    assert_eq!(failed.state, TaskState::Failed);
    let err = failed.error.as_deref().unwrap();
    assert!(
        err.contains("exited with code 3") && err.contains("to-stderr"),
        "{err}"
    );
    let log = exec::load_task_log(&store, None, &report.dag_run_id, "shell_fails").unwrap();
    assert!(log.contains("INFO oxflow::shell: to-stdout"), "{log}");
    assert!(log.contains("WARN oxflow::shell: to-stderr"), "{log}");

    let hung = report.task("shell_hangs").unwrap();
    assert_eq!(hung.error.as_deref(), Some("timed out after 300ms"));
    std::thread::sleep(Duration::from_millis(200));
    let ps = std::process::Command::new("ps")
        .args(["-eo", "args"])
        .output()
        .unwrap();
    let ps = String::from_utf8_lossy(&ps.stdout);
    assert!(
        !ps.lines().any(|l| l.contains("sleep 31.4159")),
        "process group survived:\n{ps}"
    );
}

// ---------------------------------------------------------------- params

#[oxflow::experiment(name = "knobs")]
#[derive(Debug)]
struct Knobs {
    /// Tree depth.
    #[param(default = 3)]
    depth: u32,
}

#[task]
fn read_depth(params: &Params<Knobs>) -> u32 {
    params.depth
}

#[dag(params = Knobs)]
fn with_params() {
    read_depth();
}

#[tokio::test]
async fn params_reach_tasks_and_bad_overrides_are_named() {
    let spec = with_params().spec().unwrap();
    let r = exec::execute(&spec, RunConfig::in_memory().param("depth", "7"))
        .await
        .unwrap();
    assert_eq!(*r.output::<u32>("read_depth").unwrap(), 7);
    let r = exec::execute(&spec, RunConfig::in_memory()).await.unwrap();
    assert_eq!(*r.output::<u32>("read_depth").unwrap(), 3);
    let err = exec::execute(&spec, RunConfig::in_memory().param("depth", "deep"))
        .await
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "invalid value `deep` for parameter `depth`: expected an unsigned integer (u32)"
    );
    let err = exec::execute(&spec, RunConfig::in_memory().param("width", "2"))
        .await
        .err()
        .unwrap();
    assert_eq!(
        err.to_string(),
        "unknown parameter `width`; valid parameters: depth"
    );
}

// ---------------------------------------------------------------- metrics

#[test]
fn metrics_are_recorded_through_the_facade() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(exec::execute(
            &simple().spec().unwrap(),
            RunConfig::in_memory(),
        ))
        .unwrap();
    });
    let snap = snapshotter.snapshot().into_vec();
    let find = |name: &str, labels: &[(&str, &str)]| {
        snap.iter().find(|(k, _, _, _)| {
            let key = k.key();
            key.name() == name
                && labels
                    .iter()
                    .all(|(l, v)| key.labels().any(|x| x.key() == *l && x.value() == *v))
        })
    };
    match find(
        "oxflow_task_runs_total",
        &[("dag", "simple"), ("task", "join"), ("state", "success")],
    ) {
        Some((_, _, _, DebugValue::Counter(n))) => assert_eq!(*n, 1),
        other => panic!("{other:?}"),
    }
    match find(
        "oxflow_dag_runs_total",
        &[("dag", "simple"), ("state", "success")],
    ) {
        Some((_, _, _, DebugValue::Counter(n))) => assert_eq!(*n, 1),
        other => panic!("{other:?}"),
    }
    match find("oxflow_task_duration_seconds", &[("task", "add_one")]) {
        Some((_, _, _, DebugValue::Histogram(v))) => assert_eq!(v.len(), 1),
        other => panic!("{other:?}"),
    }
    assert!(
        find(
            "oxflow_dag_last_success_timestamp_seconds",
            &[("dag", "simple")]
        )
        .is_some()
    );
    match find("oxflow_tasks_running", &[("dag", "simple")]) {
        Some((_, _, _, DebugValue::Gauge(g))) => assert_eq!(g.into_inner(), 0.0),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------- scale

#[task]
async fn leaf() -> u64 {
    1
}

#[task]
fn sum_all(a: &u64, b: &u64, c: &u64) -> u64 {
    a + b + c
}

#[dag]
fn graph_render() {
    let a = leaf();
    #[task_id = "leaf_b"]
    let b = leaf();
    #[task_id = "leaf_c"]
    let c = leaf();
    let s = sum_all(&a, &b, &c);
    s >> [after_long(), ok_task()];
}

#[test]
fn graphs_render_as_mermaid_and_dot() {
    use oxflow::dag::GraphFormat;
    let spec = graph_render().spec().unwrap();
    let m = spec.render(GraphFormat::Mermaid);
    assert!(m.starts_with("flowchart LR\n"), "{m}");
    assert!(
        m.contains("n1[\"leaf_b\"]") && m.contains("n1 -->|b| n3") && m.contains("n3 -.-> n4"),
        "{m}"
    );
    let d = spec.render(GraphFormat::Dot);
    assert!(
        d.contains("digraph \"graph_render\"")
            && d.contains("n0 -> n3 [label=\"a\"];")
            && d.contains("n3 -> n5 [style=dashed];"),
        "{d}"
    );
}

// ---------------------------------------------------------------- persist and default_args

static EPHEMERAL_CALLS: AtomicUsize = AtomicUsize::new(0);
static CONSUMER_BREAKS: AtomicBool = AtomicBool::new(true);

#[derive(Debug, PartialEq)]
struct NotSerializable(u32);

#[task(persist = false)]
fn ephemeral() -> NotSerializable {
    EPHEMERAL_CALLS.fetch_add(1, Ordering::SeqCst);
    NotSerializable(5)
}

#[task]
fn use_ephemeral(x: &NotSerializable) -> Result<u32, String> {
    if CONSUMER_BREAKS.load(Ordering::SeqCst) {
        Err("not yet".into())
    } else {
        Ok(x.0 + 1)
    }
}

/// Outputs that are not persisted are recomputed on resume.
#[dag(id = "ephemeral_dag", default_args(retries = 1, retry_delay = "10ms"))]
fn ephemeral_pipeline() {
    let e = ephemeral();
    use_ephemeral(&e);
}

#[tokio::test]
async fn default_args_apply_to_tasks_and_unpersisted_outputs_are_recomputed_on_resume() {
    let def = oxflow::dag::find("ephemeral_dag").unwrap();
    assert_eq!(
        def.description,
        "Outputs that are not persisted are recomputed on resume."
    );
    let spec = ephemeral_pipeline().spec().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    let first = exec::execute(&spec, RunConfig::recorded(store.clone()))
        .await
        .unwrap();
    assert_eq!(
        first.task("use_ephemeral").unwrap().tries,
        2,
        "retries = 1 from default_args"
    );
    assert_eq!(first.state, DagRunState::Failed);

    CONSUMER_BREAKS.store(false, Ordering::SeqCst);
    let second = exec::execute(
        &spec,
        RunConfig::recorded(store.clone()).resume(&first.dag_run_id),
    )
    .await
    .unwrap();
    assert_eq!(second.state, DagRunState::Success);
    assert_eq!(
        EPHEMERAL_CALLS.load(Ordering::SeqCst),
        2,
        "no stored output to reuse, so it ran again"
    );
    assert!(!second.task("ephemeral").unwrap().reused);
    assert_eq!(*second.output::<u32>("use_ephemeral").unwrap(), 6);
}

// ---------------------------------------------------------------- visibility of running tasks

#[task]
async fn a_while() -> u32 {
    tokio::time::sleep(Duration::from_millis(1600)).await;
    1
}

#[dag]
fn watched() {
    a_while();
}

#[tokio::test]
async fn a_running_task_shows_in_the_store_while_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    let spec = watched().spec().unwrap();
    let handle = tokio::spawn({
        let store = store.clone();
        async move {
            exec::execute(&spec, RunConfig::recorded(store))
                .await
                .unwrap()
        }
    });
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let exp = store.get_experiment_by_name("watched").unwrap().unwrap();
    let task_run = |store: &FileStore| {
        store
            .list_run_records(&exp.experiment_id, false)
            .unwrap()
            .into_iter()
            .find(|r| r.tags.get("oxflow.task_id").map(String::as_str) == Some("a_while"))
    };
    let running = task_run(&store).expect("visible after a second");
    assert_eq!(
        (running.info.status, running.tags["oxflow.state"].as_str()),
        (RunStatus::Running, "running")
    );
    let report = handle.await.unwrap();
    assert_eq!(report.state, DagRunState::Success);
    let done = task_run(&store).unwrap();
    assert_eq!(
        done.info.run_id, running.info.run_id,
        "the same run, updated"
    );
    assert_eq!(
        (done.info.status, done.tags["oxflow.state"].as_str()),
        (RunStatus::Finished, "success")
    );
    assert_eq!(
        store
            .read_artifact(&done.info.run_id, "xcom/return_value.json")
            .unwrap(),
        b"1"
    );
}

// ---------------------------------------------------------------- resume keeps the run's params

#[oxflow::experiment(name = "resume_knobs")]
#[derive(Debug)]
struct ResumeKnobs {
    /// A number the tasks read.
    #[param(default = 1)]
    n: u32,
}

static N_CONSUMER_BREAKS: AtomicBool = AtomicBool::new(true);

#[task]
fn produce_n(params: &Params<ResumeKnobs>) -> u32 {
    params.n
}

#[task]
fn use_n(x: &u32, params: &Params<ResumeKnobs>) -> Result<(u32, u32), String> {
    if N_CONSUMER_BREAKS.load(Ordering::SeqCst) {
        return Err("not yet".into());
    }
    Ok((*x, params.n))
}

#[dag(params = ResumeKnobs)]
fn resume_with_params() {
    let a = produce_n();
    use_n(&a);
}

#[tokio::test]
async fn a_resumed_run_keeps_the_params_it_started_with() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path().join("mlruns")).unwrap();
    let spec = resume_with_params().spec().unwrap();
    let first = exec::execute(&spec, RunConfig::recorded(store.clone()).param("n", "7"))
        .await
        .unwrap();
    assert_eq!(first.state, DagRunState::Failed);

    // An override on resume would compute with other params than the stored outputs: refused.
    let err = exec::execute(
        &spec,
        RunConfig::recorded(store.clone())
            .resume(&first.dag_run_id)
            .param("n", "9"),
    )
    .await
    .err()
    .expect("an override on resume is refused");
    let msg = err.to_string();
    assert!(
        msg.contains("n=9") && msg.contains("n=7") && msg.contains(&first.dag_run_id),
        "{msg}"
    );

    N_CONSUMER_BREAKS.store(false, Ordering::SeqCst);
    let second = exec::execute(
        &spec,
        RunConfig::recorded(store.clone()).resume(&first.dag_run_id),
    )
    .await
    .unwrap();
    assert_eq!(second.state, DagRunState::Success);
    assert!(second.task("produce_n").unwrap().reused);
    assert_eq!(
        *second.output::<(u32, u32)>("use_n").unwrap(),
        (7, 7),
        "the resumed task sees the params of the run it continues"
    );
}

// ---------------------------------------------------------------- resume gives fresh retries

static RESUMED_TRIES: Mutex<Vec<u32>> = Mutex::new(Vec::new());
static RESUMED_SUCCEEDS_ON: AtomicUsize = AtomicUsize::new(usize::MAX);

#[task(retries = 2, retry_delay = "10ms")]
fn fails_a_while(ctx: &TaskContext) -> Result<u32, String> {
    RESUMED_TRIES.lock().unwrap().push(ctx.try_number());
    if ctx.try_number() as usize >= RESUMED_SUCCEEDS_ON.load(Ordering::SeqCst) {
        Ok(ctx.try_number())
    } else {
        Err(format!("try {} failed", ctx.try_number()))
    }
}

#[dag]
fn retried_on_resume() {
    fails_a_while();
}

#[tokio::test]
async fn a_resumed_task_gets_its_retries_again_and_try_numbers_keep_counting() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path().join("mlruns")).unwrap();
    let spec = retried_on_resume().spec().unwrap();
    let first = exec::execute(&spec, RunConfig::recorded(store.clone()))
        .await
        .unwrap();
    assert_eq!(first.state, DagRunState::Failed);
    assert_eq!(*RESUMED_TRIES.lock().unwrap(), [1, 2, 3]);

    // Succeeds on its third try of the resumed run (try number 6), like Airflow after a clear.
    RESUMED_SUCCEEDS_ON.store(6, Ordering::SeqCst);
    let second = exec::execute(
        &spec,
        RunConfig::recorded(store.clone()).resume(&first.dag_run_id),
    )
    .await
    .unwrap();
    assert_eq!(*RESUMED_TRIES.lock().unwrap(), [1, 2, 3, 4, 5, 6]);
    assert_eq!(second.state, DagRunState::Success);
    let t = second.task("fails_a_while").unwrap();
    assert_eq!((t.state, t.tries), (TaskState::Success, 6));
    let exp = store
        .get_experiment_by_name("retried_on_resume")
        .unwrap()
        .unwrap();
    let run = store
        .list_run_records(&exp.experiment_id, false)
        .unwrap()
        .into_iter()
        .find(|r| r.tags.get("oxflow.task_id").map(String::as_str) == Some("fails_a_while"))
        .unwrap();
    assert_eq!(run.tags["oxflow.try_number"], "6");
    assert_eq!(run.tags["oxflow.state"], "success");
    assert!(
        !run.tags.contains_key("oxflow.error"),
        "a task that succeeded keeps no stale error: {:?}",
        run.tags
    );
}

// ---------------------------------------------------------------- attempts never overlap

static BODIES: AtomicUsize = AtomicUsize::new(0);
static BODIES_PEAK: AtomicUsize = AtomicUsize::new(0);

fn body_runs(ms: u64) {
    let now = BODIES.fetch_add(1, Ordering::SeqCst) + 1;
    BODIES_PEAK.fetch_max(now, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(ms));
    BODIES.fetch_sub(1, Ordering::SeqCst);
}

#[task(timeout = "100ms", retries = 1, retry_delay = "10ms")]
fn overruns() {
    body_runs(400);
}

#[task]
fn waits_for_a_slot() {
    body_runs(10);
}

#[dag(max_active_tasks = 1)]
fn one_at_a_time() {
    overruns();
    waits_for_a_slot();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_body_still_running_holds_its_slot_and_blocks_its_retry() {
    let start = Instant::now();
    let report = exec::execute(&one_at_a_time().spec().unwrap(), RunConfig::in_memory())
        .await
        .unwrap();
    let t = report.task("overruns").unwrap();
    assert_eq!((t.state, t.tries), (TaskState::Failed, 2));
    assert_eq!(t.error.as_deref(), Some("timed out after 100ms"));
    assert_eq!(
        report.task("waits_for_a_slot").unwrap().state,
        TaskState::Success
    );
    assert_eq!(
        BODIES_PEAK.load(Ordering::SeqCst),
        1,
        "max_active_tasks = 1 counts bodies still running after their timeout"
    );
    // The first body (400 ms), then the retry's timeout (100 ms): the run does not wait for
    // the abandoned second body.
    assert!(
        start.elapsed() >= Duration::from_millis(500),
        "{:?}",
        start.elapsed()
    );
}

#[task(timeout = "100ms")]
async fn hogs_its_thread() -> u32 {
    // Blocks the worker instead of awaiting: the timeout cannot interrupt it.
    std::thread::sleep(Duration::from_millis(300));
    1
}

#[dag]
fn hog() {
    hogs_its_thread();
}

#[tokio::test]
async fn an_async_task_that_blocks_past_its_timeout_is_timed_out() {
    let report = exec::execute(&hog().spec().unwrap(), RunConfig::in_memory())
        .await
        .unwrap();
    let t = report.task("hogs_its_thread").unwrap();
    assert_eq!(t.state, TaskState::Failed);
    assert_eq!(t.error.as_deref(), Some("timed out after 100ms"));
    assert_eq!(report.state, DagRunState::Failed);
}

// ---------------------------------------------------------------- skipped inputs
//
// `#[dag]` rejects a task whose trigger rule can run it without a `&T` input
// (tests/ui/task/trigger_needs_optional_input.rs); a graph that has one anyway (built by hand)
// still never fails a run in which no task failed.

#[task(trigger = "all_failed")]
fn only_after_failure() -> u32 {
    1
}

#[task]
fn reads_skipped(x: &u32) -> u32 {
    *x
}

/// `spec` with `task`'s trigger rule set to `rule`: a graph `#[dag]` rejects at compile time (a
/// rule that can run a task without its `&T` input), as a `DagDef` built by hand can have it.
fn with_trigger(spec: oxflow::dag::DagSpec, task: &str, rule: TriggerRule) -> oxflow::dag::DagSpec {
    let mut nodes = spec.nodes.to_vec();
    for n in nodes.iter_mut().filter(|n| n.id == task) {
        n.options.trigger = rule;
    }
    oxflow::dag::DagSpec {
        nodes: nodes.into(),
        ..spec
    }
}

#[dag]
fn skipped_input() {
    let ok = ok_task();
    let v = only_after_failure();
    ok >> v;
    reads_skipped(&v);
}

#[tokio::test]
async fn a_consumer_of_a_skipped_output_is_skipped_and_the_run_succeeds() {
    let spec = with_trigger(
        skipped_input().spec().unwrap(),
        "reads_skipped",
        TriggerRule::NoneFailed,
    );
    let report = exec::execute(&spec, RunConfig::in_memory()).await.unwrap();
    let s = states(&report);
    assert_eq!(s["only_after_failure"], TaskState::Skipped);
    assert_eq!(s["reads_skipped"], TaskState::Skipped);
    assert_eq!(report.state, DagRunState::Success, "no task failed");
}

#[task]
fn needs_the_number(x: &u32) -> u32 {
    *x
}

#[dag]
fn all_done_by_reference() {
    let m = no_number();
    needs_the_number(&m);
}

#[tokio::test]
async fn an_all_done_task_whose_input_failed_says_how_to_run_without_it() {
    let spec = with_trigger(
        all_done_by_reference().spec().unwrap(),
        "needs_the_number",
        TriggerRule::AllDone,
    );
    let report = exec::execute(&spec, RunConfig::in_memory()).await.unwrap();
    let t = report.task("needs_the_number").unwrap();
    assert_eq!(t.state, TaskState::UpstreamFailed);
    let err = t.error.as_deref().unwrap();
    assert!(
        err.contains("`x`") && err.contains("no_number") && err.contains("Option<&"),
        "{err}"
    );
}

// ---------------------------------------------------------------- outputs round-trip exactly

static FLOATS_CONSUMER_BREAKS: AtomicBool = AtomicBool::new(true);

#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Odd {
    nan: f64,
    maybe: Option<f64>,
    none: Option<f64>,
    infs: Vec<f32>,
    tiny: f64,
}

#[task]
fn odd_floats() -> Odd {
    Odd {
        nan: f64::NAN,
        maybe: Some(f64::NAN),
        none: None,
        infs: vec![f32::INFINITY, f32::NEG_INFINITY, -0.0],
        tiny: 5e-324,
    }
}

#[task]
fn check_floats(o: &Odd) -> Result<String, String> {
    if FLOATS_CONSUMER_BREAKS.load(Ordering::SeqCst) {
        return Err("not yet".into());
    }
    Ok(format!("{o:?}"))
}

#[dag]
fn floats() {
    let o = odd_floats();
    check_floats(&o);
}

#[tokio::test]
async fn nan_and_infinities_survive_storage_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path().join("mlruns")).unwrap();
    let spec = floats().spec().unwrap();
    let first = exec::execute(&spec, RunConfig::recorded(store.clone()))
        .await
        .unwrap();
    assert_eq!(first.state, DagRunState::Failed);
    FLOATS_CONSUMER_BREAKS.store(false, Ordering::SeqCst);
    let second = exec::execute(
        &spec,
        RunConfig::recorded(store.clone()).resume(&first.dag_run_id),
    )
    .await
    .unwrap();
    assert_eq!(second.state, DagRunState::Success);
    assert!(second.task("odd_floats").unwrap().reused);
    assert_eq!(
        second.output::<String>("check_floats").unwrap(),
        "Odd { nan: NaN, maybe: Some(NaN), none: None, infs: [inf, -inf, -0.0], tiny: 5e-324 }"
    );
}

// ---------------------------------------------------------------- outputs are freed

const CHUNK: usize = 48 << 20;

#[task]
fn chunk_first() -> Vec<u8> {
    vec![1; CHUNK]
}

#[task]
fn chunk_next(x: &Vec<u8>) -> Vec<u8> {
    vec![x[0].wrapping_add(1); CHUNK]
}

#[dag]
fn chunk_chain() {
    let a = chunk_first();
    #[task_id = "c2"]
    let b = chunk_next(&a);
    #[task_id = "c3"]
    let c = chunk_next(&b);
    #[task_id = "c4"]
    let d = chunk_next(&c);
    #[task_id = "c5"]
    let e = chunk_next(&d);
    #[task_id = "c6"]
    chunk_next(&e);
}

/// Peak resident memory of this process (`VmHWM`), in bytes.
fn peak_rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

#[tokio::test]
async fn an_output_is_freed_once_its_last_consumer_is_done() {
    let rss_now = || {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        statm
            .split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<usize>()
            .unwrap()
            * 4096
    };
    // Reset the peak to the current size (Linux: "5" resets VmHWM).
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = rss_now();
    let report = exec::execute(&chunk_chain().spec().unwrap(), RunConfig::in_memory())
        .await
        .unwrap();
    let peak = peak_rss().saturating_sub(before);
    assert_eq!(report.state, DagRunState::Success);
    assert_eq!(report.output::<Vec<u8>>("c6").unwrap()[0], 6);
    // A task's input and its output: two chunks at a time, not six.
    assert!(
        peak < 3 * CHUNK,
        "peak {} MiB for six {} MiB outputs",
        peak >> 20,
        CHUNK >> 20
    );
}

// ---------------------------------------------------------------- resume and skips, changed types

static AFTER_SKIP_CALLS: AtomicUsize = AtomicUsize::new(0);
static LATE_BREAKS: AtomicBool = AtomicBool::new(true);

#[task(trigger = "none_failed")]
fn runs_after_a_skip() {
    AFTER_SKIP_CALLS.fetch_add(1, Ordering::SeqCst);
}

#[task]
fn breaks_first_time() -> Result<(), String> {
    if LATE_BREAKS.load(Ordering::SeqCst) {
        Err("first time".into())
    } else {
        Ok(())
    }
}

#[dag]
fn skip_then_resume() {
    let ok = ok_task();
    let skipped = only_after_failure();
    ok >> skipped;
    skipped >> runs_after_a_skip();
    breaks_first_time();
}

#[tokio::test]
async fn resume_does_not_rerun_what_succeeded_downstream_of_a_skip() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path().join("mlruns")).unwrap();
    let spec = skip_then_resume().spec().unwrap();
    let first = exec::execute(&spec, RunConfig::recorded(store.clone()))
        .await
        .unwrap();
    assert_eq!(first.state, DagRunState::Failed);
    assert_eq!(
        first.task("runs_after_a_skip").unwrap().state,
        TaskState::Success
    );
    LATE_BREAKS.store(false, Ordering::SeqCst);
    let second = exec::execute(
        &spec,
        RunConfig::recorded(store.clone()).resume(&first.dag_run_id),
    )
    .await
    .unwrap();
    assert_eq!(second.state, DagRunState::Success);
    assert_eq!(AFTER_SKIP_CALLS.load(Ordering::SeqCst), 1, "not rerun");
    let s = states(&second);
    assert_eq!(s["only_after_failure"], TaskState::Skipped);
    assert_eq!(s["runs_after_a_skip"], TaskState::Success);
    assert!(second.task("runs_after_a_skip").unwrap().reused);
}

#[task]
fn value_as_number() -> u32 {
    7
}

#[task]
fn value_as_text() -> String {
    "seven".into()
}

#[task]
fn typed_consumer_breaks(_x: &()) -> Result<(), String> {
    Err("always".into())
}

fn typed_dag(value: &'static oxflow::dag::TaskDef) -> &'static oxflow::dag::DagDef {
    use oxflow::dag::{DagDef, InputDef, NodeDef, NodeFlow, TaskOptions};
    static UNIT: oxflow::dag::TaskDef = <ok_task as exec::Task>::DEF;
    static CONSUMER: oxflow::dag::TaskDef = <typed_consumer_breaks as exec::Task>::DEF;
    static EDGE: [InputDef; 1] = [InputDef {
        node: 1,
        element: None,
        project: None,
    }];
    let nodes: &'static [NodeDef] = Box::leak(Box::new([
        NodeDef {
            id: Some("typed_value"),
            task: value,
            inputs: &[],
            after: &[],
            flow: NodeFlow::PLAIN,
        },
        NodeDef {
            id: None,
            task: &UNIT,
            inputs: &[],
            after: &[],
            flow: NodeFlow::PLAIN,
        },
        NodeDef {
            id: None,
            task: &CONSUMER,
            inputs: &EDGE,
            after: &[],
            flow: NodeFlow::PLAIN,
        },
    ]));
    Box::leak(Box::new(DagDef {
        id: "typed",
        description: "",
        schedule: None,
        scheduling: oxflow::schedule::ScheduleOptions::DEFAULT,
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

#[tokio::test]
async fn resume_after_an_output_type_changed_reruns_the_task_and_says_why() {
    static NUMBER: oxflow::dag::TaskDef = <value_as_number as exec::Task>::DEF;
    static TEXT: oxflow::dag::TaskDef = <value_as_text as exec::Task>::DEF;
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path().join("mlruns")).unwrap();
    let first = exec::execute(
        &typed_dag(&NUMBER).spec().unwrap(),
        RunConfig::recorded(store.clone()),
    )
    .await
    .unwrap();
    assert_eq!(first.task("typed_value").unwrap().state, TaskState::Success);
    let events = std::sync::Arc::new(Mutex::new(Vec::new()));
    let seen = events.clone();
    let second = exec::execute(
        &typed_dag(&TEXT).spec().unwrap(),
        RunConfig::recorded(store.clone())
            .resume(&first.dag_run_id)
            .on_event(move |e| seen.lock().unwrap().push(e.clone())),
    )
    .await
    .expect("a changed output type is no corrupt record");
    let t = second.task("typed_value").unwrap();
    assert!(!t.reused);
    assert_eq!(second.output::<String>("typed_value").unwrap(), "seven");
    let reason = events
        .lock()
        .unwrap()
        .iter()
        .find_map(|e| match e {
            exec::ExecEvent::Rerun { task, reason } if task == "typed_value" => {
                Some(reason.clone())
            }
            _ => None,
        })
        .expect("a Rerun event for typed_value");
    assert!(
        reason.contains("u32") && reason.contains("String"),
        "{reason}"
    );
}

// ---------------------------------------------------------------- one process per DAG run

#[task]
async fn holds_the_run() {
    tokio::time::sleep(Duration::from_millis(1500)).await;
}

#[dag]
fn held() {
    holds_the_run();
}

#[tokio::test]
async fn resuming_a_run_another_live_process_executes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path().join("mlruns")).unwrap();
    let spec = held().spec().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = Mutex::new(tx);
    let running = tokio::spawn({
        let (store, spec) = (store.clone(), spec.clone());
        async move {
            exec::execute(
                &spec,
                RunConfig::recorded(store).on_event(move |e| {
                    if let exec::ExecEvent::Started { dag_run_id, .. } = e {
                        let _ = tx.lock().unwrap().send(dag_run_id.clone());
                    }
                }),
            )
            .await
            .unwrap()
        }
    });
    let run_id = tokio::task::spawn_blocking(move || rx.recv().unwrap())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let err = exec::execute(&spec, RunConfig::recorded(store.clone()).resume(&run_id))
        .await
        .err()
        .expect("refused while the first process runs it");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("pid {}", std::process::id())) && msg.contains(&run_id),
        "{msg}"
    );
    let report = running.await.unwrap();
    assert_eq!(report.state, DagRunState::Success);
    assert_eq!(report.task("holds_the_run").unwrap().tries, 1);
}

// ---------------------------------------------------------------- DAG-run timeout

static OUTLIVED: AtomicBool = AtomicBool::new(false);

#[task]
async fn outlives_the_run() {
    tokio::time::sleep(Duration::from_secs(20)).await;
    OUTLIVED.store(true, Ordering::SeqCst);
}

#[task]
fn never_reached() {}

#[dag(dagrun_timeout = "300ms")]
fn bounded() {
    let l = outlives_the_run();
    l >> never_reached();
}

#[tokio::test]
async fn a_dag_run_past_its_timeout_fails_and_its_attempts_are_killed() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path().join("mlruns")).unwrap();
    let start = Instant::now();
    let report = exec::execute(
        &bounded().spec().unwrap(),
        RunConfig::recorded(store.clone()),
    )
    .await
    .unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(report.state, DagRunState::Failed);
    let s = states(&report);
    // Airflow's rule: unfinished task instances of a timed-out DAG run are skipped.
    assert_eq!(s["outlives_the_run"], TaskState::Skipped);
    assert_eq!(s["never_reached"], TaskState::Skipped);
    assert!(
        report
            .task("outlives_the_run")
            .unwrap()
            .error
            .as_deref()
            .unwrap()
            .contains("timed out after 300ms")
    );
    assert!(!OUTLIVED.load(Ordering::SeqCst));
    assert_eq!(
        store.get_run(&report.dag_run_id).unwrap().info.status,
        RunStatus::Failed
    );
}

// ---------------------------------------------------------------- a failing store

static STORE_ROOT: Mutex<Option<std::path::PathBuf>> = Mutex::new(None);
static SIBLING_DONE: AtomicBool = AtomicBool::new(false);

#[task]
fn loses_its_record(run: &mut Run) -> u32 {
    // Takes the task's own run away, so recording its success fails.
    let root = STORE_ROOT.lock().unwrap().clone().unwrap();
    let exp = run.info().experiment_id.clone();
    let dir = root.join(exp).join(run.id());
    std::fs::rename(&dir, root.with_file_name("gone")).unwrap();
    std::fs::write(&dir, b"not a run").unwrap();
    1
}

#[task]
async fn long_sibling() {
    tokio::time::sleep(Duration::from_secs(20)).await;
    SIBLING_DONE.store(true, Ordering::SeqCst);
}

#[dag]
fn fragile_store() {
    loses_its_record();
    long_sibling();
}

#[tokio::test]
async fn a_recording_failure_stops_the_attempts_and_fails_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("mlruns");
    let store = FileStore::open(&root).unwrap();
    *STORE_ROOT.lock().unwrap() = Some(root);
    let start = Instant::now();
    let err = exec::execute(
        &fragile_store().spec().unwrap(),
        RunConfig::recorded(store.clone()),
    )
    .await
    .err()
    .expect("the recording failure is reported");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
    assert!(!SIBLING_DONE.load(Ordering::SeqCst));
    assert!(
        err.to_string().contains("loses_its_record"),
        "the error names the task whose record failed: {err}"
    );
    let exp = store
        .get_experiment_by_name("fragile_store")
        .unwrap()
        .unwrap();
    let parent = store
        .list_run_records(&exp.experiment_id, false)
        .unwrap()
        .into_iter()
        .find(|r| r.tags.contains_key("oxflow.dag_run_id"))
        .unwrap();
    assert_eq!(parent.info.status, RunStatus::Failed);
    assert_eq!(parent.tags["oxflow.state"], "failed");
}

// ---------------------------------------------------------------- `&mut Run` without recording

#[task]
fn logs_and_reads_back(run: &mut Run) -> Result<(String, f64, String), String> {
    run.log_param("depth", 4).map_err(|e| e.to_string())?;
    run.log_metric("loss", 0.5).map_err(|e| e.to_string())?;
    run.log_metric("loss", 0.25).map_err(|e| e.to_string())?;
    let rec = run.store().get_run(run.id()).map_err(|e| e.to_string())?;
    Ok((
        rec.params["depth"].clone(),
        rec.metrics["loss"].value,
        rec.info.run_name.clone(),
    ))
}

#[dag]
fn logs_unrecorded() {
    logs_and_reads_back();
}

#[tokio::test]
async fn a_task_taking_a_run_works_when_nothing_is_recorded() {
    let report = exec::execute(&logs_unrecorded().spec().unwrap(), RunConfig::in_memory())
        .await
        .unwrap();
    assert_eq!(report.state, DagRunState::Success);
    let (depth, loss, name) = report
        .output::<(String, f64, String)>("logs_and_reads_back")
        .unwrap();
    assert_eq!(depth, "4");
    assert_eq!(*loss, 0.25, "the latest value of the metric");
    assert_eq!(
        name, "logs_and_reads_back",
        "the run is named after the task"
    );
}

// ---------------------------------------------------------------- outputs that carry nothing

static UNIT_STEPS: AtomicUsize = AtomicUsize::new(0);
static AFTER_UNIT_BREAKS: AtomicBool = AtomicBool::new(true);

#[task]
fn unit_step() {
    UNIT_STEPS.fetch_add(1, Ordering::SeqCst);
}

#[task]
fn after_unit(_done: &()) -> Result<u32, String> {
    if AFTER_UNIT_BREAKS.load(Ordering::SeqCst) {
        return Err("not yet".into());
    }
    Ok(7)
}

#[dag]
fn unit_chain() {
    let done = unit_step();
    after_unit(&done);
}

#[tokio::test]
async fn a_task_that_returns_nothing_stores_nothing_and_still_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let store = oxflow::tracking::TrackingStore::open_uri(&format!(
        "sqlite:///{}",
        dir.path().join("mlflow.db").display()
    ))
    .unwrap();
    let spec = unit_chain().spec().unwrap();
    let first = exec::execute(&spec, RunConfig::recorded(store.clone()))
        .await
        .unwrap();
    assert_eq!(first.state, DagRunState::Failed);
    let exp = store.get_run(&first.dag_run_id).unwrap().info.experiment_id;
    let unit_run = store
        .search_runs(&[&exp], "tags.`oxflow.task_id` = 'unit_step'", &[], 10)
        .unwrap()
        .remove(0)
        .info
        .run_id;
    assert!(
        store.list_artifacts(&unit_run, "").unwrap().is_empty(),
        "no artifact for `()`"
    );
    // Nothing on disk for it either: no artifact directory, no log file.
    let mut files = Vec::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
            files.push(e.path().display().to_string());
        }
    }
    assert!(
        !files
            .iter()
            .any(|f| f.contains(&unit_run) || f.contains("task_id=unit_step")),
        "{files:#?}"
    );

    AFTER_UNIT_BREAKS.store(false, Ordering::SeqCst);
    let second = exec::execute(
        &spec,
        RunConfig::recorded(store.clone()).resume(&first.dag_run_id),
    )
    .await
    .unwrap();
    assert_eq!(second.state, DagRunState::Success);
    assert!(second.task("unit_step").unwrap().reused);
    assert_eq!(UNIT_STEPS.load(Ordering::SeqCst), 1, "not rerun");
    assert_eq!(*second.output::<u32>("after_unit").unwrap(), 7);
}

// ---------------------------------------------------------------- an output that went missing

static PRODUCED: AtomicUsize = AtomicUsize::new(0);
static READER_BREAKS: AtomicBool = AtomicBool::new(true);

#[task]
fn produce() -> u32 {
    PRODUCED.fetch_add(1, Ordering::SeqCst);
    41
}

#[task]
fn read_produced(x: &u32) -> Result<u32, String> {
    if READER_BREAKS.load(Ordering::SeqCst) {
        return Err("not yet".into());
    }
    Ok(x + 1)
}

#[dag]
fn produce_consume() {
    let x = produce();
    read_produced(&x);
}

#[tokio::test]
async fn a_resume_reruns_a_task_whose_stored_output_went_missing() {
    let dir = tempfile::tempdir().unwrap();
    let store = oxflow::tracking::TrackingStore::open_uri(&format!(
        "sqlite:///{}",
        dir.path().join("mlflow.db").display()
    ))
    .unwrap();
    let spec = produce_consume().spec().unwrap();
    let first = exec::execute(&spec, RunConfig::recorded(store.clone()))
        .await
        .unwrap();
    assert_eq!(first.state, DagRunState::Failed);
    let exp = store.get_run(&first.dag_run_id).unwrap().info.experiment_id;
    let produce_run = store
        .search_runs(&[&exp], "tags.`oxflow.task_id` = 'produce'", &[], 10)
        .unwrap()
        .remove(0)
        .info
        .run_id;
    // Stored by the time `execute` returned.
    assert_eq!(
        store
            .read_artifact(&produce_run, exec::XCOM_ARTIFACT)
            .unwrap(),
        b"41"
    );
    let file = store
        .artifact_location(&produce_run, exec::XCOM_ARTIFACT)
        .unwrap();
    std::fs::remove_file(&file).unwrap();

    READER_BREAKS.store(false, Ordering::SeqCst);
    let second = exec::execute(
        &spec,
        RunConfig::recorded(store.clone()).resume(&first.dag_run_id),
    )
    .await
    .unwrap();
    assert_eq!(second.state, DagRunState::Success);
    assert!(
        !second.task("produce").unwrap().reused,
        "rerun: its output is gone"
    );
    assert_eq!(PRODUCED.load(Ordering::SeqCst), 2);
    assert_eq!(*second.output::<u32>("read_produced").unwrap(), 42);
    assert_eq!(
        store
            .read_artifact(&produce_run, exec::XCOM_ARTIFACT)
            .unwrap(),
        b"41",
        "stored again"
    );
}

#[task]
fn emit() -> u32 {
    7
}

/// Returns nothing, so nothing of its own is stored: the only output to store is `emit`'s.
#[task]
fn take(x: &u32) {
    let _ = x;
}

/// A DAG of its own for the test below: `produce_consume`'s tasks read statics that the resume
/// test changes while it runs.
#[dag]
fn emit_take() {
    let x = emit();
    take(&x);
}

#[tokio::test]
async fn an_output_that_cannot_be_stored_fails_the_run_naming_the_task() {
    let dir = tempfile::tempdir().unwrap();
    let store = oxflow::tracking::TrackingStore::open_uri(&format!(
        "sqlite:///{}",
        dir.path().join("mlflow.db").display()
    ))
    .unwrap();
    // Artifacts go under `mlruns/` beside the database: make that a file.
    std::fs::write(dir.path().join("mlruns"), b"in the way").unwrap();
    let err = exec::execute(
        &emit_take().spec().unwrap(),
        RunConfig::recorded(store.clone()),
    )
    .await
    .err()
    .expect("the output could not be stored");
    assert!(err.to_string().contains("task `emit`"), "{err}");
    // The DAG run does not stay RUNNING, and is not a success.
    let exp = store.get_experiment_by_name("emit_take").unwrap().unwrap();
    let dag_runs = store
        .search_runs(
            &[&exp.experiment_id],
            "tags.`oxflow.dag` = 'emit_take'",
            &[],
            10,
        )
        .unwrap();
    assert_eq!(dag_runs.len(), 1);
    assert_eq!(dag_runs[0].info.status, RunStatus::Failed);
}
