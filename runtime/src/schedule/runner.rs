//! The scheduler loop: every scheduled DAG of the binary, in one process.
//!
//! The loop itself only decides (which DAG is due, whether a slot is free, when to wake); the
//! store is touched by claim jobs on tokio's blocking pool and by the executor, which report
//! back to the loop through a channel (the executor's own split, `exec`).

use std::collections::VecDeque;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};

use super::state::{self, ScheduleState, StateError};
use super::{DataInterval, Overlap, RunType, Schedule, ScheduleError, ScheduleOptions};
use crate::dag::{DagDef, DagError, DagSpec};
use crate::exec::{self, Begin, DagRunState, ExecEvent, RunConfig};
use crate::telemetry as t;
use crate::tracking::TrackingStore;

/// How the scheduler behaves.
///
/// ```
/// use oxflow_runtime::schedule::SchedulerOptions;
/// let o = SchedulerOptions::default();
/// assert_eq!(o.grace.as_secs(), 60);
/// ```
#[derive(Clone)]
pub struct SchedulerOptions {
    /// After a stop signal, how long running DAG runs may take to finish before they are
    /// stopped and recorded killed.
    pub grace: Duration,
    /// Root of the task log tree; defaults to `logs/` beside the store.
    pub log_root: Option<PathBuf>,
    /// How often a paused DAG is checked for being unpaused, and how soon a claim that failed
    /// on a store error is tried again.
    pub poll: Duration,
    /// Called for every DAG run started, with its DAG, interval and lag (start minus due).
    #[allow(clippy::type_complexity)]
    pub on_start: Option<Arc<dyn Fn(&str, &DataInterval, Duration) + Send + Sync>>,
    /// Where DAG runs look their connections up; `None` is the environment
    /// (`OXFLOW_CONN_<ID>`, `OXFLOW_CONNECTIONS_FILE`).
    pub connections: Option<crate::conn::Connections>,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        SchedulerOptions {
            grace: Duration::from_secs(60),
            log_root: None,
            poll: Duration::from_secs(1),
            on_start: None,
            connections: None,
        }
    }
}

/// Why the scheduler could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    /// A DAG cannot be resolved.
    #[error(transparent)]
    Dag(#[from] DagError),
    /// A DAG's schedule cannot be used.
    #[error("DAG `{dag}`: {source}")]
    Schedule {
        /// The DAG.
        dag: String,
        /// Why.
        source: ScheduleError,
    },
    /// The schedule state could not be read or written.
    #[error("DAG `{dag}`: {source}")]
    State {
        /// The DAG.
        dag: String,
        /// Why (boxed: a tracking error is large, and this error travels through every result
        /// of the command line).
        source: Box<StateError>,
    },
    /// A DAG without a schedule was asked for its intervals.
    #[error(
        "DAG `{dag}` has no schedule, so no intervals to backfill; run it with `run {dag}` or give it `#[dag(schedule = \"@daily\")]`"
    )]
    NotScheduled {
        /// The DAG.
        dag: String,
    },
    /// Nothing to schedule.
    #[error("no DAG of this binary has a schedule; give one with `#[dag(schedule = \"@daily\")]`")]
    NothingScheduled,
}

/// What a stopped scheduler did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchedulerReport {
    /// DAG runs started.
    pub started: usize,
    /// Intervals recorded skipped (`overlap = "skip"`).
    pub skipped: usize,
    /// Runs that were still running at the end of the grace period and were stopped.
    pub killed: usize,
    /// Runs left `queued` in the store when it stopped (the next scheduler starts them).
    pub left_queued: usize,
}

struct Dag {
    spec: DagSpec,
    schedule: Schedule,
    opts: ScheduleOptions,
    /// The last state read from the store.
    state: Option<ScheduleState>,
    /// The next interval and when it is due; `None`: nothing due (done, paused, or waiting
    /// for a claim job).
    next: Option<(DataInterval, DateTime<Utc>)>,
    /// A claim job is out for this DAG.
    claiming: bool,
    paused: bool,
    active: usize,
    /// Runs recorded `queued`, waiting for a slot: (run id, interval, due).
    queue: VecDeque<(String, DataInterval, DateTime<Utc>)>,
    /// Runs taken over from a scheduler that ended while a sensor of theirs waited: started
    /// as a resume, so the sensor waits on with its first poke's clock.
    resuming: std::collections::HashSet<String>,
}

enum Msg {
    Claimed {
        dag: usize,
        result: Result<ClaimOutcome, SchedulerError>,
    },
    Finished {
        dag: usize,
        state: Option<DagRunState>,
    },
}

enum ClaimOutcome {
    /// The interval is ours and its run recorded.
    Taken {
        state: ScheduleState,
        run_id: String,
        interval: DataInterval,
        due: DateTime<Utc>,
        begin: Begin,
    },
    /// Not due (another scheduler took it, or the schedule is done): the state as read, and
    /// on the first read the runs a stopped scheduler left queued, now ours.
    NotDue {
        state: ScheduleState,
        taken_over: Vec<(String, DataInterval, bool)>,
    },
    Paused {
        state: ScheduleState,
    },
}

/// Runs every scheduled DAG on its schedule until a stop signal.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use oxflow_runtime::schedule::{Scheduler, SchedulerOptions};
/// let store = oxflow_runtime::tracking::TrackingStore::from_env()?;
/// let report = Scheduler::new(store, oxflow_runtime::dag::registered())?
///     .options(SchedulerOptions { grace: std::time::Duration::from_secs(10), ..Default::default() })
///     .run(async { tokio::signal::ctrl_c().await.ok(); })
///     .await?;
/// println!("{} runs started", report.started);
/// # Ok(()) }
/// ```
pub struct Scheduler {
    store: TrackingStore,
    dags: Vec<Dag>,
    opts: SchedulerOptions,
    /// When this scheduler started: a run caught up for an interval that ended earlier is due
    /// now, not at its end, so its lag measures this scheduler, not the time it was down.
    since: DateTime<Utc>,
}

impl Scheduler {
    /// A scheduler for the DAGs among `dags` that have a schedule.
    pub fn new(
        store: TrackingStore,
        dags: Vec<&'static DagDef>,
    ) -> Result<Scheduler, SchedulerError> {
        let mut out = Vec::new();
        for def in dags {
            let Some(text) = def.schedule else { continue };
            let schedule: Schedule = text.parse().map_err(|source| SchedulerError::Schedule {
                dag: def.id.to_owned(),
                source,
            })?;
            out.push(Dag {
                spec: def.spec()?,
                schedule,
                opts: def.scheduling,
                state: None,
                next: None,
                claiming: false,
                paused: false,
                active: 0,
                queue: VecDeque::new(),
                resuming: Default::default(),
            });
        }
        if out.is_empty() {
            return Err(SchedulerError::NothingScheduled);
        }
        Ok(Scheduler {
            store,
            dags: out,
            opts: SchedulerOptions::default(),
            since: Utc::now(),
        })
    }

    /// Sets the options.
    pub fn options(mut self, opts: SchedulerOptions) -> Self {
        self.opts = opts;
        self
    }

    /// The ids of the DAGs it schedules.
    pub fn dag_ids(&self) -> Vec<&'static str> {
        self.dags.iter().map(|d| d.spec.def.id).collect()
    }

    /// Runs until `stop` completes, then starts nothing more, lets running DAG runs finish
    /// for [`SchedulerOptions::grace`] and stops (records killed) those still going.
    pub async fn run(
        mut self,
        stop: impl Future<Output = ()> + Send,
    ) -> Result<SchedulerReport, SchedulerError> {
        if !self.store.backend().atomic_experiment_tags() {
            tracing::warn!(
                "the tracking store {} cannot claim intervals atomically (MLflow's REST API has no conditional write): run one scheduler per store",
                self.store.uri()
            );
        }
        let (tx, mut rx) = mpsc::unbounded_channel::<Msg>();
        let (kill_tx, kill_rx) = watch::channel(false);
        let mut report = SchedulerReport::default();
        for d in &self.dags {
            crate::exec::spec_series_at_zero(&d.spec);
        }
        self.since = Utc::now();
        self.dispatch_claims((0..self.dags.len()).map(|i| (i, None)).collect(), &tx);
        tokio::pin!(stop);
        loop {
            let now = Utc::now();
            let wake = self.next_wake(now);
            let sleep = async {
                match wake {
                    Some(at) => {
                        let d = (at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
                        tokio::time::sleep(d).await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                () = &mut stop => break,
                msg = rx.recv() => {
                    let Some(msg) = msg else { break };
                    self.on_msg(msg, &tx, &kill_rx, &mut report);
                }
                () = sleep => {
                    let now = Utc::now();
                    let mut jobs = Vec::new();
                    for (i, d) in self.dags.iter().enumerate() {
                        if d.claiming {
                            continue;
                        }
                        match d.next {
                            Some((_, due)) if due <= now => jobs.push((i, Some(now))),
                            None if d.paused || d.state.is_none() => jobs.push((i, None)),
                            None if matches!(d.schedule, Schedule::Continuous)
                                && d.active == 0 => jobs.push((i, Some(now))),
                            _ => {}
                        }
                    }
                    self.dispatch_claims(jobs, &tx);
                }
            }
        }
        // Stopping: nothing new starts; claim jobs out finish recording (their runs stay
        // queued); running runs get the grace period.
        let running: usize = self.dags.iter().map(|d| d.active).sum();
        let deadline = tokio::time::Instant::now() + self.opts.grace;
        let mut left = running;
        let mut claims: usize = self.dags.iter().filter(|d| d.claiming).count();
        let mut killed_sent = false;
        while left > 0 || claims > 0 {
            tokio::select! {
                msg = rx.recv() => match msg {
                    Some(Msg::Finished { dag, state }) => {
                        self.dags[dag].active -= 1;
                        left -= 1;
                        if killed_sent && state == Some(DagRunState::Killed) {
                            report.killed += 1;
                        }
                    }
                    Some(Msg::Claimed { dag, result }) => {
                        claims -= 1;
                        self.dags[dag].claiming = false;
                        match result {
                            // Recorded running with the claim: it runs, under the grace period.
                            Ok(ClaimOutcome::Taken { state, run_id, interval, due, begin: Begin::Running }) => {
                                self.dags[dag].state = Some(state);
                                self.start_run(dag, run_id, interval, due, true, &tx, &kill_rx, &mut report);
                                left += 1;
                            }
                            Ok(ClaimOutcome::Taken { run_id, interval, due, begin: Begin::Queued, .. }) => {
                                self.dags[dag].queue.push_back((run_id, interval, due));
                            }
                            _ => {}
                        }
                    }
                    None => break,
                },
                () = tokio::time::sleep_until(deadline), if !killed_sent => {
                    killed_sent = true;
                    let _ = kill_tx.send(true);
                }
            }
        }
        report.left_queued = self.dags.iter().map(|d| d.queue.len()).sum();
        for d in &self.dags {
            metrics::gauge!(t::SCHEDULER_QUEUED_RUNS, "dag" => d.spec.def.id)
                .set(d.queue.len() as f64);
        }
        Ok(report)
    }

    /// When the loop must look again: the earliest due time of a DAG with nothing out, or the
    /// poll interval for paused DAGs.
    fn next_wake(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let poll = now + chrono::Duration::from_std(self.opts.poll).unwrap_or_default();
        self.dags
            .iter()
            .filter(|d| !d.claiming)
            .filter_map(|d| match d.next {
                Some((_, due)) => Some(due),
                None if d.paused || d.state.is_none() => Some(poll),
                None if matches!(d.schedule, Schedule::Continuous) && d.active == 0 => Some(now),
                None => None,
            })
            .min()
    }

    fn on_msg(
        &mut self,
        msg: Msg,
        tx: &mpsc::UnboundedSender<Msg>,
        kill: &watch::Receiver<bool>,
        report: &mut SchedulerReport,
    ) {
        match msg {
            Msg::Finished { dag, .. } => {
                let d = &mut self.dags[dag];
                d.active -= 1;
                if let Some((run_id, interval, due)) = d.queue.pop_front() {
                    self.start_run(dag, run_id, interval, due, false, tx, kill, report);
                }
                let d = &self.dags[dag];
                metrics::gauge!(t::SCHEDULER_QUEUED_RUNS, "dag" => d.spec.def.id)
                    .set(d.queue.len() as f64);
            }
            Msg::Claimed { dag, result } => {
                let now = Utc::now();
                let d = &mut self.dags[dag];
                d.claiming = false;
                match result {
                    Err(e) => {
                        tracing::warn!("{e}; trying again in {:?}", self.opts.poll);
                        d.state = None;
                        d.next = None;
                    }
                    Ok(ClaimOutcome::Paused { state }) => {
                        d.paused = true;
                        d.state = Some(state);
                        d.next = None;
                    }
                    Ok(ClaimOutcome::NotDue { state, taken_over }) => {
                        d.paused = false;
                        d.next = next_of(d, &state, now);
                        d.state = Some(state);
                        let since = self.since;
                        for (run_id, interval, resume) in taken_over {
                            let due = interval.end.max(since);
                            let d = &mut self.dags[dag];
                            if resume {
                                d.resuming.insert(run_id.clone());
                            }
                            if d.active < d.opts.max_active_runs && d.queue.is_empty() {
                                self.start_run(dag, run_id, interval, due, false, tx, kill, report);
                            } else {
                                d.queue.push_back((run_id, interval, due));
                            }
                        }
                    }
                    Ok(ClaimOutcome::Taken {
                        state,
                        run_id,
                        interval,
                        due,
                        begin,
                    }) => {
                        d.paused = false;
                        d.next = next_of(d, &state, now);
                        d.state = Some(state);
                        if begin == Begin::Skipped {
                            report.skipped += 1;
                            metrics::counter!(t::SCHEDULER_SKIPPED_TOTAL, "dag" => d.spec.def.id)
                                .increment(1);
                        } else if begin == Begin::Running {
                            // The slot was free when the claim went out, and only this loop
                            // starts runs: it still is.
                            self.start_run(dag, run_id, interval, due, true, tx, kill, report);
                        } else {
                            d.queue.push_back((run_id, interval, due));
                            metrics::gauge!(t::SCHEDULER_QUEUED_RUNS, "dag" => d.spec.def.id)
                                .set(d.queue.len() as f64);
                        }
                    }
                }
            }
        }
    }

    /// Sends the claim jobs of one wake-up to the blocking pool, as one batch of store writes
    /// (one transaction on SQLite, however many DAGs are due): for each DAG, read the state
    /// and, when an interval is due at its `now` (`None`: only read), take it.
    fn dispatch_claims(
        &mut self,
        jobs: Vec<(usize, Option<DateTime<Utc>>)>,
        tx: &mpsc::UnboundedSender<Msg>,
    ) {
        if jobs.is_empty() {
            return;
        }
        let mut work = Vec::with_capacity(jobs.len());
        for (i, now) in jobs {
            let d = &mut self.dags[i];
            d.claiming = true;
            // Decided here, in the loop: a run due while the DAG is at its limit is skipped
            // or waits; one with a free slot is recorded running with its claim.
            let full = d.active >= d.opts.max_active_runs || !d.queue.is_empty();
            let begin = match (full, d.opts.overlap) {
                (false, _) => Begin::Running,
                (true, Overlap::Skip) => Begin::Skipped,
                (true, Overlap::Wait) => Begin::Queued,
            };
            // Runs left queued by a stopped scheduler are looked for when this one starts, and
            // when a paused DAG is unpaused.
            let take_over = d.state.is_none() || d.paused;
            work.push(ClaimJob {
                dag: i,
                spec: d.spec.clone(),
                schedule: d.schedule.clone(),
                opts: d.opts,
                now,
                begin,
                take_over,
            });
        }
        let store = self.store.clone();
        let since = self.since;
        let tx = tx.clone();
        tokio::task::spawn_blocking(move || {
            let mut results = Vec::with_capacity(work.len());
            // Each claim is its own savepoint inside (`state::claim`): one that fails leaves
            // the others in the batch.
            let batch = store.batch(|| {
                for job in &work {
                    results.push((job.dag, job.run(&store, since)));
                }
                Ok(())
            });
            if let Err(e) = batch {
                for (i, r) in &mut results {
                    *r = Err(SchedulerError::State {
                        dag: work
                            .iter()
                            .find(|j| j.dag == *i)
                            .map_or_else(String::new, |j| j.spec.def.id.to_owned()),
                        source: Box::new(StateError::BatchFailed {
                            reason: e.to_string(),
                        }),
                    });
                }
            }
            for (dag, result) in results {
                let _ = tx.send(Msg::Claimed { dag, result });
            }
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn start_run(
        &mut self,
        i: usize,
        run_id: String,
        interval: DataInterval,
        due: DateTime<Utc>,
        running: bool,
        tx: &mpsc::UnboundedSender<Msg>,
        kill: &watch::Receiver<bool>,
        report: &mut SchedulerReport,
    ) {
        let d = &mut self.dags[i];
        d.active += 1;
        report.started += 1;
        let spec = d.spec.clone();
        let dag_id = spec.def.id;
        let on_start = self.opts.on_start.clone();
        let mut kill = kill.clone();
        let mut cfg =
            RunConfig::recorded(self.store.clone()).for_interval(RunType::Scheduled, interval);
        let resume = d.resuming.remove(&run_id);
        if resume {
            cfg = cfg.resume(&run_id);
        }
        let queued = exec::QueuedRun {
            run_id,
            experiment_id: d
                .state
                .as_ref()
                .map(|s| s.experiment_id.clone())
                .unwrap_or_default(),
            running,
        };
        if !resume {
            cfg.queued_run = Some(queued);
        }
        cfg.log_root = self.opts.log_root.clone();
        cfg.connections = self.opts.connections.clone();
        let cfg = cfg
            .on_event(move |e| {
                // The run has its record marked running and is about to start its first task.
                if let ExecEvent::Started { .. } = e {
                    let lag = (Utc::now() - due).to_std().unwrap_or(Duration::ZERO);
                    metrics::histogram!(t::SCHEDULER_LAG_SECONDS, "dag" => dag_id)
                        .record(lag.as_secs_f64());
                    if let Some(f) = &on_start {
                        f(dag_id, &interval, lag);
                    }
                }
            })
            .cancel_on(async move {
                let _ = kill.wait_for(|k| *k).await;
            });
        let tx = tx.clone();
        tokio::spawn(async move {
            let state = match exec::execute(&spec, cfg).await {
                Ok(r) => Some(r.state),
                Err(e) => {
                    tracing::warn!("DAG `{dag_id}`, interval {interval}: {e}");
                    None
                }
            };
            let _ = tx.send(Msg::Finished { dag: i, state });
        });
    }
}

/// The next interval and its due time, from the state just read.
fn next_of(
    d: &Dag,
    state: &ScheduleState,
    now: DateTime<Utc>,
) -> Option<(DataInterval, DateTime<Utc>)> {
    if matches!(d.schedule, Schedule::Continuous) {
        // Due whenever no run is active; the interval is cut when it is claimed.
        return None;
    }
    match d
        .schedule
        .next_interval(state.last_end, d.opts.start(), d.opts.catchup, now)
    {
        Ok(next) => next.map(|i| (i, i.end)),
        Err(e) => {
            tracing::warn!(
                "DAG `{}`: {e}; it gets no more scheduled runs",
                d.spec.def.id
            );
            None
        }
    }
}

/// One DAG's part of a claim batch.
struct ClaimJob {
    dag: usize,
    spec: DagSpec,
    schedule: Schedule,
    opts: ScheduleOptions,
    now: Option<DateTime<Utc>>,
    begin: Begin,
    take_over: bool,
}

impl ClaimJob {
    fn run(
        &self,
        store: &TrackingStore,
        since: DateTime<Utc>,
    ) -> Result<ClaimOutcome, SchedulerError> {
        claim_job(
            store,
            &self.spec,
            &self.schedule,
            &self.opts,
            self.now,
            self.begin,
            since,
            self.take_over,
        )
    }
}

/// Reads the DAG's state and, when its next interval is due at `now`, claims it.
#[allow(clippy::too_many_arguments)]
fn claim_job(
    store: &TrackingStore,
    spec: &DagSpec,
    schedule: &Schedule,
    opts: &ScheduleOptions,
    now: Option<DateTime<Utc>>,
    begin: Begin,
    since: DateTime<Utc>,
    take_over: bool,
) -> Result<ClaimOutcome, SchedulerError> {
    let dag = spec.def.id;
    let state_err = |source| SchedulerError::State {
        dag: dag.to_owned(),
        source: Box::new(source),
    };
    // A compare that fails means another scheduler moved the state between our read and our
    // claim: read again and decide again, a few times.
    for _ in 0..5 {
        let st = state::read(store, dag).map_err(state_err)?;
        if st.paused {
            return Ok(ClaimOutcome::Paused { state: st });
        }
        if take_over {
            let taken_over = state::take_over_queued(store, &st, dag).map_err(state_err)?;
            if !taken_over.is_empty() {
                return Ok(ClaimOutcome::NotDue {
                    state: st,
                    taken_over,
                });
            }
        }
        let Some(now) = now else {
            let taken_over = Vec::new();
            return Ok(ClaimOutcome::NotDue {
                state: st,
                taken_over,
            });
        };
        let next = schedule
            .next_interval(st.last_end, opts.start(), opts.catchup, now)
            .map_err(|source| SchedulerError::Schedule {
                dag: dag.to_owned(),
                source,
            })?;
        let Some(interval) = next.filter(|i| i.end <= now) else {
            return Ok(ClaimOutcome::NotDue {
                state: st,
                taken_over: Vec::new(),
            });
        };
        // @continuous is due the moment it is claimed; the others at their interval's end.
        let due = if matches!(schedule, Schedule::Continuous) {
            now
        } else {
            interval.end.max(since)
        };
        if let Some(run_id) = state::claim(store, spec, &st, &interval, begin).map_err(state_err)? {
            let end = super::format_time(interval.end);
            let state = ScheduleState {
                last_end_raw: Some(end),
                last_end: Some(interval.end),
                ..st
            };
            return Ok(ClaimOutcome::Taken {
                state,
                run_id,
                interval,
                due,
                begin,
            });
        }
    }
    let st = state::read(store, dag).map_err(state_err)?;
    Ok(ClaimOutcome::NotDue {
        state: st,
        taken_over: Vec::new(),
    })
}
