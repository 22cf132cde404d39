//! One DAG run from start to end: open (or take over) its record, plan a resume, drive the
//! scheduler until nothing is left to wait for, finish the record, report.

use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt;

use super::config::{ExecError, RunConfig, resolve_params};
use super::executor::{Event, Executor, LocalExecutor};
use super::observers::Observers;
use super::record::{self, Recorder, TaskRun};
use super::recorder::{self, TaskRecord};
use super::report::{DagRunReport, DagRunState, TaskReport};
use super::resume::{self, check_not_running, plan_resume};
use super::scheduler::{Scheduler, Start, Stop};
use super::transition::ExecEvent;
use crate::conn::Connections;
use crate::dag::DagSpec;
use crate::telemetry as t;
use crate::telemetry::handles::DagHandles;

/// Runs a DAG to completion.
///
/// The scheduling loop runs as a task of its own on the current tokio runtime, whatever thread
/// awaits this future: attempts it spawns then start on the same worker (tokio's LIFO slot) and
/// wake it there, with no thread hand-off per task.
///
/// When the run stops early (the [`RunConfig::cancel`] signal, the DAG's `dagrun_timeout`, a
/// store that fails), this returns only after every running attempt has been dropped, so a
/// shell task's process group is killed before the caller can exit.
pub async fn execute(spec: &DagSpec, cfg: RunConfig) -> Result<DagRunReport, ExecError> {
    let spec = spec.clone();
    match tokio::spawn(async move { run(&spec, cfg).await }).await {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Err(ExecError::Aborted),
    }
}

async fn run(spec: &DagSpec, mut cfg: RunConfig) -> Result<DagRunReport, ExecError> {
    let started = Instant::now();
    let dag = spec.def;
    let n = spec.nodes.len();
    let task_ids = task_ids(spec);
    let kept = series_at_zero(dag.id, &task_ids);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();

    // Open or take over the record before any task runs, so a bad store, a corrupt record or
    // a refused resume stops the run with nothing written.
    let mut starts: Vec<Start> = (0..n)
        .map(|_| Start::Fresh {
            tries: 0,
            instances: Default::default(),
            sensor_since: None,
        })
        .collect();
    let mut reruns = Vec::new();
    let run_facts = (cfg.run_type, cfg.interval);
    // Every connection a task declared, looked up and parsed before any task starts: a missing
    // one fails the run now, naming it, not when the task reaches for it.
    let connections = {
        let needed: Vec<&'static str> = spec
            .nodes
            .iter()
            .flat_map(|n| n.task.conns.iter().copied())
            .collect();
        if needed.is_empty() {
            Ok(None)
        } else {
            cfg.connections
                .take()
                .unwrap_or_else(Connections::from_env)
                .resolve(needed)
                .map(|m| Some(Arc::new(m)))
        }
    };
    let (params, recorder) = match (&cfg.store, &cfg.resume) {
        (None, Some(_)) => return Err(ExecError::ResumeNeedsStore),
        (None, None) if cfg.queued_run.is_some() => return Err(ExecError::QueuedNeedsStore),
        (None, None) => (resolve_params(dag, &cfg.params)?.0, None),
        (Some(_), Some(_)) if cfg.queued_run.is_some() => {
            return Err(ExecError::QueuedNeedsStore);
        }
        (Some(store), None) => {
            let (value, pairs) = resolve_params(dag, &cfg.params)?;
            let log_root = cfg.log_root.take();
            let rec = match (&cfg.queued_run, cfg.attach.take()) {
                (Some(q), _) if q.running => {
                    Recorder::recorded(store.clone(), log_root, spec, &q.run_id, &q.experiment_id)?
                }
                (Some(q), _) => Recorder::adopt(store.clone(), log_root, spec, &q.run_id, &pairs)?,
                (None, Some(run_id)) => {
                    Recorder::attach(store.clone(), log_root, spec, &pairs, &run_id)?
                }
                (None, None) => Recorder::start(
                    store.clone(),
                    log_root,
                    spec,
                    &pairs,
                    (cfg.run_type, cfg.interval.as_ref()),
                )?,
            };
            let runs = (0..n).map(|_| None).collect();
            (value, Some((rec, runs)))
        }
        (Some(store), Some(run_id)) => {
            let mut previous = resume::read_run(store, spec, run_id)?;
            if !cfg.params.is_empty() {
                return Err(ExecError::ResumeWithParams {
                    run_id: run_id.clone(),
                    given: std::mem::take(&mut cfg.params),
                    stored: previous.params.clone(),
                });
            }
            check_not_running(&previous)?;
            // The stored outputs were computed with the run's own params: so are the reruns.
            let (value, _) = resolve_params(dag, &previous.params)?;
            (starts, reruns) = plan_resume(spec, &mut previous);
            let rec = Recorder::reopen(
                store.clone(),
                cfg.log_root.take(),
                spec,
                &previous.run_id,
                &previous.experiment_id,
            )?;
            let runs: Vec<Option<(String, bool)>> = previous
                .tasks
                .into_iter()
                .map(|p| p.map(|p| (p.run_id, p.error_tagged)))
                .collect();
            (value, Some((rec, runs)))
        }
    };
    let connections = match connections {
        Ok(c) => c,
        Err(errors) => {
            let e = ExecError::Connections(errors);
            // Recorded like any failed run, so `runs` and MLflow's UI show why it stopped.
            if let Some((rec, _)) = &recorder {
                rec.fail_before_start(&e.to_string())?;
            }
            metrics::counter!(t::DAG_RUNS_TOTAL, "dag" => dag.id, "state" => DagRunState::Failed.to_string())
                .increment(1);
            return Err(e);
        }
    };
    let dag_run_id = match &recorder {
        Some((r, _)) => r.dag_run_id().to_owned(),
        None => uuid::Uuid::new_v4().simple().to_string(),
    };
    let (recording, handle) = match recorder {
        Some((rec, runs)) => {
            let (task_runs, records): (Vec<TaskRun>, Vec<TaskRecord>) = spec
                .nodes
                .iter()
                .zip(runs)
                .map(|(node, prev)| {
                    let (id, error_tagged) = prev.map_or((None, false), |(id, e)| (Some(id), e));
                    let run = rec.task_run(&node.id, id);
                    (run.clone(), TaskRecord { run, error_tagged })
                })
                .unzip();
            let logs = rec.logs();
            let handle = recorder::spawn(rec, spec, records, tx.clone());
            (Some((task_runs, logs)), Some(handle))
        }
        None => (None, None),
    };
    let observers = Observers::new(dag.id, task_ids.clone(), kept, cfg.on_event.clone(), handle);
    let limit = cfg
        .max_active_tasks
        .or(dag.max_active_tasks)
        .unwrap_or(usize::MAX);
    metrics::counter!(t::DAG_RUNS_TRIGGERED_TOTAL, "dag" => dag.id, "trigger" => run_facts.0.as_str())
        .increment(1);
    let mut sched = Scheduler::new(
        spec,
        starts,
        &dag_run_id,
        run_facts,
        params,
        limit,
        dag.dagrun_timeout,
        recording,
        observers,
        task_ids,
    );
    sched.connections = connections;
    let reused = sched.nodes.iter().filter(|n| n.reused).count();
    sched.observers.event(|| ExecEvent::Started {
        dag_run_id: dag_run_id.clone(),
        tasks: n,
        reused,
    });
    for (i, reason) in reruns {
        sched.observers.event(|| ExecEvent::Rerun {
            task: spec.nodes[i].id.clone(),
            reason,
        });
    }

    let mut exec = LocalExecutor::new(n, tx);
    let record_error = drive(&mut sched, &mut exec, &mut rx, cfg.cancel.take()).await;
    sched.observers.flush();

    let state = sched.outcome();
    if let Some(rec) = sched.observers.take_recorder() {
        rec.finish(state).await;
    }
    // A failure the recorder reported while finishing.
    let record_error = record_error.or_else(|| {
        std::iter::from_fn(|| rx.try_recv().ok()).find_map(|e| match e {
            Event::RecordFailed(e) => Some(e),
            _ => None,
        })
    });
    let duration = started.elapsed();
    metrics::counter!(t::DAG_RUNS_TOTAL, "dag" => dag.id, "state" => state.to_string())
        .increment(1);
    metrics::histogram!(t::DAG_RUN_DURATION_SECONDS, "dag" => dag.id)
        .record(duration.as_secs_f64());
    if let Some(e) = record_error {
        return Err(ExecError::Record(e));
    }
    if state == DagRunState::Success {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        metrics::gauge!(t::DAG_LAST_SUCCESS_TIMESTAMP_SECONDS, "dag" => dag.id).set(now);
    }
    Ok(report(spec, sched, dag_run_id, state, duration))
}

/// The ids of `spec`'s tasks, as metrics label them.
fn task_ids(spec: &DagSpec) -> Arc<[Arc<str>]> {
    spec.nodes
        .iter()
        .map(|n| Arc::from(n.id.as_str()))
        .collect()
}

/// Makes the series of a DAG's runs and (with the recorder whose handles are kept) of its
/// tasks, at zero where nothing happened yet: a counter that first appears at 1 has no
/// `increase()`, and the alerts on failed runs and on retries are built on it (see
/// `telemetry::handles`). Each run does this as it starts; a scheduler does it for every DAG
/// when it starts, so Prometheus has scraped the zeros before a first run can fail. Returns
/// the kept task handles, if there are.
pub(crate) fn series_at_zero(
    dag: &'static str,
    task_ids: &Arc<[Arc<str>]>,
) -> Option<Arc<DagHandles>> {
    for state in [
        DagRunState::Success,
        DagRunState::Failed,
        DagRunState::Killed,
    ] {
        metrics::counter!(t::DAG_RUNS_TOTAL, "dag" => dag, "state" => state.to_string())
            .increment(0);
    }
    DagHandles::kept(dag, task_ids)
}

/// [`series_at_zero`] for the DAG of `spec`.
pub(crate) fn spec_series_at_zero(spec: &DagSpec) {
    let _ = series_at_zero(spec.def.id, &task_ids(spec));
}

/// The loop: decide, start, wait for what comes next. Returns the recording failure that
/// stopped the run, if one did.
async fn drive(
    sched: &mut Scheduler,
    exec: &mut LocalExecutor,
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<Event>,
    mut cancel: Option<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>>,
) -> Option<record::RecordError> {
    let mut record_error = None;
    loop {
        sched.decide_pending();
        // An interrupt that came while events were handled stops the run before anything
        // else starts (the first poll also installs a signal handler before the first task).
        if let Some(signal) = cancel.as_mut()
            && signal.as_mut().now_or_never().is_some()
        {
            cancel = None;
            sched.stop(Stop::Interrupted);
            exec.stop_all().await;
            continue;
        }
        sched.start_ready(exec);
        if sched.is_done() {
            break;
        }
        if rx.is_empty() {
            sched.observers.flush();
        }
        let deadline = sched.next_deadline();
        let woke = match (&mut cancel, deadline) {
            // Nothing but attempts to wait for: skip building the select below, on the hot
            // path of a run in memory.
            (None, None) => rx.recv().await.map(Wake::Event),
            (c, d) => tokio::select! {
                biased;
                // The interrupt first: after Ctrl-C no completion starts another task.
                () = async {
                    match c.as_mut() {
                        Some(signal) => signal.await,
                        None => std::future::pending().await,
                    }
                } => Some(Wake::Cancel),
                () = async {
                    match d {
                        Some(d) => tokio::time::sleep_until(d).await,
                        None => std::future::pending().await,
                    }
                } => Some(Wake::Timer),
                e = rx.recv() => e.map(Wake::Event),
            },
        };
        let stop = match woke {
            None => break, // every sender is gone: nothing can report any more
            Some(Wake::Cancel) => {
                cancel = None;
                Some(Stop::Interrupted)
            }
            Some(Wake::Timer) => sched.on_timers(tokio::time::Instant::now()),
            Some(Wake::Event(e)) => {
                let mut stop = None;
                let mut next = Some(e);
                // Everything already queued, before deciding again.
                while let Some(e) = next.take().or_else(|| rx.try_recv().ok()) {
                    match e {
                        Event::RecordFailed(err) => {
                            record_error.get_or_insert(err);
                            stop = Some(Stop::RecordFailed);
                        }
                        e => sched.on_event(e, exec),
                    }
                }
                stop
            }
        };
        if let Some(why) = stop {
            sched.stop(why);
            exec.stop_all().await;
        }
    }
    record_error
}

enum Wake {
    Cancel,
    Timer,
    Event(Event),
}

fn report(
    spec: &DagSpec,
    sched: Scheduler,
    dag_run_id: String,
    state: DagRunState,
    duration: std::time::Duration,
) -> DagRunReport {
    let tasks = spec
        .nodes
        .iter()
        .zip(&sched.nodes)
        .map(|(s, n)| TaskReport {
            id: s.id.clone(),
            state: n.state,
            tries: n.try_number,
            reused: n.reused,
            error: n.error.clone(),
        })
        .collect();
    DagRunReport {
        dag_id: spec.def.id.to_owned(),
        dag_run_id,
        state,
        tasks,
        duration,
        ids: spec
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.id.clone(), i))
            .collect(),
        outputs: sched.nodes.into_iter().map(|n| n.output).collect(),
    }
}
