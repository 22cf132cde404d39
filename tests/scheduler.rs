//! Behaviour of the scheduler, backfill and pause: what a user observes in the store. Schedules
//! fire every second, so each test takes seconds.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use oxflow::exec::{DagRunState, TAG_DAG, TAG_STATE};
use oxflow::prelude::*;
use oxflow::schedule::chrono::{self, DateTime, Utc};
use oxflow::schedule::{
    self, Backfill, Reprocess, Scheduler, SchedulerOptions, TAG_INTERVAL_END, TAG_LOGICAL_DATE,
    TAG_RUN_TYPE, format_time, parse_time, state,
};
use oxflow::tracking::{TAG_PARENT_RUN_ID, TrackingStore};

#[task]
fn interval_of(ctx: &TaskContext) -> String {
    let i = ctx
        .data_interval()
        .expect("a scheduled run has a data interval");
    assert_eq!(ctx.logical_date(), Some(i.start));
    format!(
        "{} {} {}",
        format_time(i.start),
        format_time(i.end),
        ctx.run_type()
    )
}

#[dag(schedule = "* * * * * *")]
fn every_second() {
    interval_of();
}

#[dag(schedule = "* * * * * *")]
fn contended() {
    interval_of();
}

#[dag(schedule = "* * * * * *", start_date = "2026-01-01", catchup = true)]
fn catching_up() {
    interval_of();
}

#[dag(schedule = "* * * * * *")]
fn pausable() {
    interval_of();
}

#[task]
async fn slow() {
    tokio::time::sleep(Duration::from_millis(2500)).await;
}

#[dag(schedule = "* * * * * *", max_active_runs = 1, overlap = "skip")]
fn skipping() {
    slow();
}

#[dag(schedule = "* * * * * *", max_active_runs = 1)]
fn waiting() {
    slow();
}

static FAIL_MARCH_2: AtomicBool = AtomicBool::new(true);

#[task]
fn flaky(ctx: &TaskContext) -> Result<String, String> {
    let day = format_time(
        ctx.logical_date()
            .expect("backfill runs have a logical date"),
    );
    if day.starts_with("2026-03-02") && FAIL_MARCH_2.load(Ordering::SeqCst) {
        return Err(format!("no data for {day}"));
    }
    Ok(day)
}

#[dag(schedule = "@daily")]
fn daily() {
    flaky();
}

fn sqlite(dir: &std::path::Path) -> TrackingStore {
    TrackingStore::open_uri(&format!("sqlite:///{}", dir.join("mlflow.db").display())).unwrap()
}

/// A DAG's runs as the store has them: (logical date, interval end, run type, state), by
/// logical date.
fn dag_runs(store: &TrackingStore, dag: &str) -> Vec<(String, String, String, String)> {
    let Some(exp) = store.get_experiment_by_name(dag).unwrap() else {
        return Vec::new();
    };
    let mut out: Vec<_> = store
        .search_runs(&[&exp.experiment_id], "", &[], 50_000)
        .unwrap()
        .into_iter()
        .filter(|r| !r.tags.contains_key(TAG_PARENT_RUN_ID))
        .filter(|r| r.tags.get(TAG_DAG).is_some_and(|d| d == dag))
        .map(|r| {
            let t = |k: &str| r.tags.get(k).cloned().unwrap_or_default();
            (
                t(TAG_LOGICAL_DATE),
                t(TAG_INTERVAL_END),
                t(TAG_RUN_TYPE),
                t(TAG_STATE),
            )
        })
        .collect();
    out.sort();
    out
}

fn time(s: &str) -> DateTime<Utc> {
    parse_time(s).unwrap()
}

/// Each interval starts where the one before ended, and none is there twice.
fn assert_contiguous(runs: &[(String, String, String, String)]) {
    for w in runs.windows(2) {
        assert_ne!(w[0].0, w[1].0, "interval {} ran twice: {runs:?}", w[0].0);
        assert_eq!(
            w[0].1, w[1].0,
            "a gap or overlap between intervals: {runs:?}"
        );
    }
}

async fn run_for(
    store: TrackingStore,
    dag: &'static oxflow::dag::DagDef,
    secs: f64,
) -> schedule::SchedulerReport {
    Scheduler::new(store, vec![dag])
        .unwrap()
        .run(tokio::time::sleep(Duration::from_secs_f64(secs)))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn scheduled_runs_get_consecutive_data_intervals_that_tasks_read() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(dir.path());
    let report = run_for(store.clone(), every_second(), 3.2).await;
    let runs = dag_runs(&store, "every_second");
    assert!(runs.len() >= 2, "{runs:?}");
    assert_eq!(report.started, runs.len());
    assert_contiguous(&runs);
    for (start, end, run_type, state) in &runs {
        assert_eq!(
            (run_type.as_str(), state.as_str()),
            ("scheduled", "success")
        );
        assert_eq!((time(end) - time(start)).num_seconds(), 1);
    }
    // The task saw its run's interval, and the run's name is Airflow's run id.
    let exp = store
        .get_experiment_by_name("every_second")
        .unwrap()
        .unwrap();
    let parent = store
        .search_runs(
            &[&exp.experiment_id],
            &format!("tags.`{TAG_LOGICAL_DATE}` = '{}'", runs[0].0),
            &[],
            10,
        )
        .unwrap()
        .into_iter()
        .find(|r| !r.tags.contains_key(TAG_PARENT_RUN_ID))
        .unwrap();
    let logical = time(&runs[0].0).to_rfc3339();
    assert_eq!(parent.info.run_name, format!("scheduled__{logical}"));
    assert!(parent.tags.contains_key(schedule::TAG_QUEUED_AT));
    let task = store
        .search_runs(
            &[&exp.experiment_id],
            &format!("tags.`{TAG_PARENT_RUN_ID}` = '{}'", parent.info.run_id),
            &[],
            10,
        )
        .unwrap()
        .remove(0);
    let out = store
        .read_artifact(&task.info.run_id, oxflow::exec::XCOM_ARTIFACT)
        .unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("\"{} {} scheduled\"", runs[0].0, runs[0].1)
    );
    // The state says where the schedule stands.
    let st = state::read(&store, "every_second").unwrap();
    assert_eq!(
        st.last_end_raw.as_deref(),
        Some(runs.last().unwrap().1.as_str())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restarted_scheduler_neither_repeats_nor_loses_an_interval() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(dir.path());
    // Where the schedule stands: three seconds ago (the start date is long past).
    let seed = format_time(Utc::now().with_nanosecond_zero() - chrono::Duration::seconds(3));
    let exp = store.get_or_create_experiment("catching_up").unwrap();
    store
        .set_experiment_tag(&exp.experiment_id, state::TAG_LAST_INTERVAL_END, &seed)
        .unwrap();
    run_for(store.clone(), catching_up(), 1.5).await;
    let first = dag_runs(&store, "catching_up");
    assert_eq!(first[0].0, seed, "catchup starts where the state stands");
    // Down for two seconds: those intervals are caught up after the restart.
    tokio::time::sleep(Duration::from_secs(2)).await;
    run_for(sqlite(dir.path()), catching_up(), 1.5).await;
    let all = dag_runs(&store, "catching_up");
    assert!(all.len() >= first.len() + 3, "{first:?}\n{all:?}");
    assert_contiguous(&all);
    assert!(all.iter().all(|r| r.3 == "success"), "{all:?}");

    // Without catchup, the intervals missed while down are skipped (Airflow's rule), and still
    // none runs twice.
    run_for(store.clone(), every_second(), 1.5).await;
    let before = dag_runs(&store, "every_second");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    run_for(sqlite(dir.path()), every_second(), 1.5).await;
    let after = dag_runs(&store, "every_second");
    assert!(after.len() > before.len(), "{after:?}");
    let resumed = &after[before.len()];
    assert!(
        time(&resumed.0) > time(&before.last().unwrap().1),
        "missed intervals skipped: {after:?}"
    );
    assert_contiguous(&after[..before.len()]);
    assert_contiguous(&after[before.len()..]);
}

trait Whole {
    fn with_nanosecond_zero(self) -> Self;
}

impl Whole for DateTime<Utc> {
    fn with_nanosecond_zero(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(0).unwrap()
    }
}

async fn two_schedulers(open: impl Fn() -> TrackingStore) {
    let a = Scheduler::new(open(), vec![contended()]).unwrap();
    let b = Scheduler::new(open(), vec![contended()]).unwrap();
    let stop = || tokio::time::sleep(Duration::from_millis(3500));
    let (ra, rb) = tokio::join!(a.run(stop()), b.run(stop()));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    let store = open();
    let runs = dag_runs(&store, "contended");
    assert!(runs.len() >= 3, "{runs:?}");
    assert_contiguous(&runs);
    assert_eq!(ra.started + rb.started, runs.len(), "{ra:?} {rb:?}");
    assert!(runs.iter().all(|r| r.3 == "success"), "{runs:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_schedulers_on_one_sqlite_store_never_start_an_interval_twice() {
    let dir = tempfile::tempdir().unwrap();
    // Each scheduler has its own connection to the database, as two processes would.
    two_schedulers(|| sqlite(dir.path())).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_schedulers_on_one_file_store_never_start_an_interval_twice() {
    let dir = tempfile::tempdir().unwrap();
    let uri = dir.path().join("mlruns").display().to_string();
    two_schedulers(|| TrackingStore::open_uri(&uri).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_due_while_one_is_going_waits_or_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(dir.path());
    let (skip, wait) = tokio::join!(
        Scheduler::new(store.clone(), vec![skipping()])
            .unwrap()
            .run(tokio::time::sleep(Duration::from_millis(4200))),
        Scheduler::new(store.clone(), vec![waiting()])
            .unwrap()
            .run(tokio::time::sleep(Duration::from_millis(4200))),
    );
    let (skip, wait) = (skip.unwrap(), wait.unwrap());
    let skipped = dag_runs(&store, "skipping");
    assert_contiguous(&skipped);
    let states: Vec<&str> = skipped.iter().map(|r| r.3.as_str()).collect();
    assert!(skip.skipped >= 1, "{states:?}");
    assert_eq!(
        states.iter().filter(|s| **s == "skipped").count(),
        skip.skipped
    );
    assert_eq!(
        states.iter().filter(|s| **s == "success").count(),
        skip.started
    );

    // Waiting: every interval is kept; those due while a run went on were recorded queued and
    // started one after another (runs left queued at the stop stay queued for the next
    // scheduler).
    let waited = dag_runs(&store, "waiting");
    assert_contiguous(&waited);
    assert!(waited.len() >= 3, "{waited:?}");
    assert!(
        waited.iter().all(|r| r.3 == "success" || r.3 == "queued"),
        "{waited:?}"
    );
    assert_eq!(
        waited.iter().filter(|r| r.3 == "queued").count(),
        wait.left_queued
    );
    assert!(wait.left_queued >= 1, "{wait:?}");

    // The next scheduler takes over what a stopped one left queued: here the stopped one is
    // a process that has exited.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    let dead_pid = gone.id().to_string();
    gone.wait().unwrap();
    let exp = store.get_experiment_by_name("waiting").unwrap().unwrap();
    let queued = store
        .search_runs(
            &[&exp.experiment_id],
            "tags.`oxflow.state` = 'queued'",
            &[],
            100,
        )
        .unwrap();
    for r in &queued {
        store
            .set_tag(&r.info.run_id, oxflow::exec::TAG_PID, &dead_pid)
            .unwrap();
    }
    let first_left = waited.iter().find(|r| r.3 == "queued").unwrap().0.clone();
    run_for(sqlite(dir.path()), waiting(), 1.0).await;
    let after = dag_runs(&store, "waiting");
    // No catchup: an interval due while no scheduler ran may be skipped, none repeated.
    assert!(
        after.windows(2).all(|w| w[0].0 != w[1].0),
        "an interval ran twice: {after:?}"
    );
    let taken = after.iter().find(|r| r.0 == first_left).unwrap();
    assert_eq!(taken.3, "success", "{after:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_paused_dag_gets_no_runs_until_unpaused() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(dir.path());
    state::set_paused(&store, "pausable", true).unwrap();
    let report = run_for(store.clone(), pausable(), 2.2).await;
    assert_eq!(report.started, 0);
    assert!(dag_runs(&store, "pausable").is_empty());
    // Unpaused from another handle while the scheduler runs (as `unpause` would).
    let sched = tokio::spawn(run_for(store.clone(), pausable(), 3.5));
    tokio::time::sleep(Duration::from_millis(800)).await;
    state::set_paused(&sqlite(dir.path()), "pausable", false).unwrap();
    let report = sched.await.unwrap();
    assert!(report.started >= 1, "{report:?}");
    assert!(!state::read(&store, "pausable").unwrap().paused);
}

#[tokio::test(flavor = "multi_thread")]
async fn stopping_lets_running_runs_finish_or_kills_them_after_the_grace_period() {
    for (grace, expect) in [
        (Duration::from_secs(10), "success"),
        (Duration::from_millis(200), "killed"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = sqlite(dir.path());
        let report = Scheduler::new(store.clone(), vec![skipping()])
            .unwrap()
            .options(SchedulerOptions {
                grace,
                ..Default::default()
            })
            .run(tokio::time::sleep(Duration::from_millis(1500)))
            .await
            .unwrap();
        let runs = dag_runs(&store, "skipping");
        let last = runs.iter().rfind(|r| r.3 != "skipped").unwrap();
        assert_eq!(last.3, expect, "{runs:?}");
        assert_eq!(report.killed, usize::from(expect == "killed"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn backfill_runs_a_range_and_reprocesses_what_is_asked() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(dir.path());
    let range = |reprocess| Backfill {
        dag: daily(),
        start: time("2026-03-01"),
        end: time("2026-03-03"),
        reprocess,
        max_active_runs: None,
        log_root: None,
        connections: None,
    };
    FAIL_MARCH_2.store(true, Ordering::SeqCst);
    let r = schedule::backfill(&store, range(Reprocess::None), std::future::pending())
        .await
        .unwrap();
    let states: Vec<_> = r
        .ran
        .iter()
        .map(|(i, s)| (format_time(i.start), *s))
        .collect();
    assert_eq!(
        states,
        [
            (
                "2026-03-01T00:00:00Z".to_owned(),
                Some(DagRunState::Success)
            ),
            ("2026-03-02T00:00:00Z".to_owned(), Some(DagRunState::Failed)),
            (
                "2026-03-03T00:00:00Z".to_owned(),
                Some(DagRunState::Success)
            ),
        ]
    );
    let runs = dag_runs(&store, "daily");
    assert_eq!(runs.len(), 3);
    assert!(runs.iter().all(|r| r.2 == "backfill"));
    assert_eq!(runs[2].1, "2026-03-04T00:00:00Z");

    // Again: nothing to do.
    let r = schedule::backfill(&store, range(Reprocess::None), std::future::pending())
        .await
        .unwrap();
    assert!(r.ran.is_empty());
    assert_eq!(r.kept.len(), 3);

    // The failed day only, which now succeeds.
    FAIL_MARCH_2.store(false, Ordering::SeqCst);
    let r = schedule::backfill(&store, range(Reprocess::Failed), std::future::pending())
        .await
        .unwrap();
    assert_eq!(r.ran.len(), 1);
    assert_eq!(format_time(r.ran[0].0.start), "2026-03-02T00:00:00Z");
    assert!(r.succeeded());

    // Everything.
    let r = schedule::backfill(&store, range(Reprocess::All), std::future::pending())
        .await
        .unwrap();
    assert_eq!(r.ran.len(), 3);
    let mut per_day: BTreeMap<String, usize> = BTreeMap::new();
    for run in dag_runs(&store, "daily") {
        *per_day.entry(run.0).or_default() += 1;
    }
    assert_eq!(per_day.values().copied().collect::<Vec<_>>(), [2, 3, 2]);
    // A backfill leaves the schedule's own state alone.
    assert!(state::read(&store, "daily").unwrap().last_end.is_none());
}
