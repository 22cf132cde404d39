//! Resume: reading an earlier DAG run back and deciding what runs again.
//!
//! Reading writes nothing, so a corrupt record, a refused resume (another live process runs
//! it) or params given with `--resume` stop before the store changes.

use std::collections::{BTreeMap, HashMap};

use super::config::ExecError;
use super::record::{
    RecordError, TAG_DAG, TAG_ERROR, TAG_HOST, TAG_MAP_INDEX, TAG_OUTPUT_TYPE, TAG_PID,
    TAG_SENSOR_FIRST_POKE, TAG_STATE, TAG_TASK_ID, TAG_TRY_NUMBER, XCOM_ARTIFACT, host_name,
    parse_ms,
};
use super::scheduler::{InstanceStart, Start};
use super::state::TaskState;
use crate::dag::DagSpec;
use crate::task::xcom::CodecError;
use crate::task::{OutputCodec, TaskOutput};
use crate::tracking::{RunStatus, TAG_PARENT_RUN_ID as TAG_PARENT, TrackingError, TrackingStore};

/// The most task runs a resume reads back (MLflow's `max_results` limit).
const MAX_TASK_RUNS: usize = 50_000;

/// A task of an earlier run, read back for resume.
pub(crate) struct PreviousTask {
    pub(crate) run_id: String,
    pub(crate) tries: u32,
    /// The state it ended in (`None` if the tag is missing or unknown).
    pub(crate) state: Option<TaskState>,
    /// The stored output (`Ok(None)` when none was stored), or why it cannot be reused.
    pub(crate) output: Result<Option<TaskOutput>, String>,
    /// Whether its run carries an `oxflow.error` tag.
    pub(crate) error_tagged: bool,
    /// A sensor whose wait was cut short (the process stopped while it was running or
    /// `up_for_reschedule`): when its first poke started, in ms since the epoch.
    pub(crate) sensor_since: Option<i64>,
}

/// An earlier DAG run, read back for resume. Reading writes nothing.
pub(crate) struct PreviousRun {
    pub(crate) run_id: String,
    pub(crate) experiment_id: String,
    /// The params the run was started with.
    pub(crate) params: Vec<(String, String)>,
    /// The process executing it, if the run is marked running: (pid, host).
    pub(crate) running_in: Option<(u32, String)>,
    /// One entry per node of the DAG.
    pub(crate) tasks: Vec<Option<PreviousTask>>,
    /// The instances of each mapped node, by map index.
    pub(crate) instances: Vec<BTreeMap<usize, PreviousTask>>,
}

/// Whether process `pid` of this machine is alive.
pub(crate) fn process_alive(pid: u32) -> bool {
    use nix::errno::Errno;
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) | Err(Errno::EPERM) => true,
        Err(_) => false,
    }
}

/// Reads an earlier DAG run back: its params, the process executing it, every task's run,
/// tries, state and stored output. Writes nothing, so a corrupt record aborts with the store
/// unchanged.
pub(crate) fn read_run(
    store: &TrackingStore,
    spec: &DagSpec,
    dag_run_id: &str,
) -> Result<PreviousRun, RecordError> {
    let dag = spec.def;
    let parent = store.get_run(dag_run_id)?;
    let found = parent.tags.get(TAG_DAG).cloned();
    if found.as_deref() != Some(dag.id) {
        return Err(RecordError::NotThisDag {
            run_id: dag_run_id.to_owned(),
            dag: dag.id.to_owned(),
            found,
        });
    }
    let running_in = match (
        parent.info.status,
        parent.tags.get(TAG_PID).and_then(|p| p.parse().ok()),
        parent.tags.get(TAG_HOST),
    ) {
        (RunStatus::Running, Some(pid), Some(host)) => Some((pid, host.clone())),
        _ => None,
    };
    let experiment_id = parent.info.experiment_id.clone();
    let mut tasks: Vec<Option<PreviousTask>> = (0..spec.nodes.len()).map(|_| None).collect();
    let mut instances: Vec<BTreeMap<usize, PreviousTask>> =
        (0..spec.nodes.len()).map(|_| BTreeMap::new()).collect();
    let index: HashMap<&str, usize> = spec
        .nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.id.as_str(), i))
        .collect();
    // The DAG run's task runs: MLflow's search grammar works for the file store and a server.
    let filter = format!("tags.`{TAG_PARENT}` = '{dag_run_id}'");
    for record in store.search_runs(&[&experiment_id], &filter, &[], MAX_TASK_RUNS)? {
        let info = &record.info;
        let Some(&i) = record
            .tags
            .get(TAG_TASK_ID)
            .and_then(|t| index.get(t.as_str()))
        else {
            continue; // a task since removed from the DAG
        };
        let tries = record
            .tags
            .get(TAG_TRY_NUMBER)
            .and_then(|t| t.parse().ok())
            .unwrap_or(0);
        let state = record
            .tags
            .get(TAG_STATE)
            .and_then(|s| s.parse::<TaskState>().ok());
        let node = &spec.nodes[i];
        let map_index = record
            .tags
            .get(TAG_MAP_INDEX)
            .and_then(|k| k.parse::<usize>().ok());
        // A mapped task's own record holds no output: its `Vec` is rebuilt from its
        // instances' below.
        let stores_output = node.flow.map.is_none() || map_index.is_some();
        let output = match (state, node.task.codec, node.options.persist) {
            (Some(TaskState::Success), Some(codec), true) if stores_output => {
                read_output(store, &info.run_id, codec, record.tags.get(TAG_OUTPUT_TYPE))?
            }
            _ => Ok(None),
        };
        let task = PreviousTask {
            run_id: info.run_id.clone(),
            tries,
            state,
            output,
            error_tagged: record.tags.contains_key(TAG_ERROR),
            // A sensor that ended (timed out, failed, succeeded) starts a fresh wait when it
            // runs again, as after Airflow's clear; one whose wait was cut short waits on.
            sensor_since: match state {
                Some(TaskState::UpForReschedule | TaskState::Running | TaskState::UpForRetry) => {
                    record
                        .tags
                        .get(TAG_SENSOR_FIRST_POKE)
                        .and_then(|t| parse_ms(t))
                }
                _ => None,
            },
        };
        match map_index {
            Some(k) => {
                instances[i].insert(k, task);
            }
            None => tasks[i] = Some(task),
        }
    }
    for (i, task) in tasks.iter_mut().enumerate() {
        let Some(collect) = spec.nodes[i].flow.map.and_then(|m| m.collect) else {
            continue;
        };
        let Some(task) = task.as_mut() else { continue };
        if task.state != Some(TaskState::Success) {
            continue;
        }
        let mut outputs = Vec::new();
        let mut complete = true;
        for inst in instances[i].values() {
            if inst.state == Some(TaskState::Success) {
                match &inst.output {
                    Ok(Some(o)) => outputs.push(o.clone()),
                    _ => complete = false,
                }
            }
        }
        task.output = Ok(complete.then(|| collect(outputs)).flatten());
    }
    Ok(PreviousRun {
        run_id: dag_run_id.to_owned(),
        experiment_id,
        params: parent.params.into_iter().collect(),
        running_in,
        tasks,
        instances,
    })
}

/// A task's stored output: `Ok(Err(reason))` when it no longer fits the task (its type
/// changed), an error when the record itself is damaged.
fn read_output(
    store: &TrackingStore,
    run_id: &str,
    codec: OutputCodec,
    stored_type: Option<&String>,
) -> Result<Result<Option<TaskOutput>, String>, RecordError> {
    let now = (codec.type_name)();
    if let Some(was) = stored_type
        && was != now
    {
        return Ok(Err(format!(
            "its output type changed from `{was}` to `{now}`"
        )));
    }
    if codec.is_unit() {
        // Never stored (see `Recorder::attempt_succeeded`): there is only one value.
        return Ok((codec.decode)(b"null").map(Some).map_err(|e| e.to_string()));
    }
    // Where the output is, for messages: the file, or the artifact's URI.
    let place = store.artifact_location(run_id, XCOM_ARTIFACT)?;
    match store.read_artifact(run_id, XCOM_ARTIFACT) {
        Ok(bytes) => match (codec.decode)(&bytes) {
            Ok(v) => Ok(Ok(Some(v))),
            // Well-formed JSON of another shape: the type changed under the same name.
            Err(CodecError::Data(reason)) => Ok(Err(format!(
                "its stored output no longer reads as `{now}` ({reason})"
            ))),
            Err(e) => Err(RecordError::Corrupt {
                file: place,
                reason: e.to_string(),
            }),
        },
        // Success recorded but no output stored (persisted off, or the process died between
        // the two writes): rerun the task if something needs it.
        Err(TrackingError::ArtifactNotFound { .. }) => Ok(Ok(None)),
        Err(e) => Err(RecordError::Corrupt {
            file: place,
            reason: e.to_string(),
        }),
    }
}

/// Which tasks a resume reruns: those that did not succeed or get skipped, those whose stored
/// output cannot be used any more, and everything downstream of them; plus any task whose
/// output was not stored but that a rerun task reads. Skipped tasks stay skipped, so what
/// succeeded downstream of them is not rerun.
pub(crate) fn plan_resume(
    spec: &DagSpec,
    previous: &mut PreviousRun,
) -> (Vec<Start>, Vec<(usize, String)>) {
    let n = spec.nodes.len();
    let mut reasons: Vec<(usize, String)> = Vec::new();
    let mut roots: Vec<usize> = Vec::new();
    for (i, prev) in previous.tasks.iter().enumerate() {
        match prev {
            Some(p) if p.state == Some(TaskState::Skipped) => {}
            Some(p) if p.state == Some(TaskState::Success) => {
                if let Err(why) = &p.output {
                    reasons.push((i, why.clone()));
                    roots.push(i);
                }
            }
            _ => roots.push(i),
        }
    }
    let mut redo = vec![false; n];
    loop {
        for i in spec.downstream_closure(&roots) {
            redo[i] = true;
        }
        // A rerun task reads its inputs: an upstream kept without a stored output runs too.
        let mut more = Vec::new();
        for (i, node) in spec.nodes.iter().enumerate() {
            if !redo[i] {
                continue;
            }
            for input in &node.inputs {
                let u = input.node;
                let stored = previous.tasks[u]
                    .as_ref()
                    .is_some_and(|p| matches!(p.output, Ok(Some(_))));
                if !redo[u] && !stored && !more.contains(&u) {
                    let kept_skipped = previous.tasks[u]
                        .as_ref()
                        .is_some_and(|p| p.state == Some(TaskState::Skipped));
                    if !kept_skipped {
                        reasons.push((
                            u,
                            format!(
                                "its output was not stored, and `{}` needs it",
                                spec.nodes[i].id
                            ),
                        ));
                        more.push(u);
                    }
                }
            }
        }
        if more.is_empty() {
            break;
        }
        roots = more;
    }
    let starts = previous
        .tasks
        .iter_mut()
        .enumerate()
        .map(|(i, prev)| {
            let tries = prev.as_ref().map_or(0, |p| p.tries);
            match prev {
                Some(p) if !redo[i] => Start::Kept {
                    state: p.state.unwrap_or(TaskState::Success),
                    tries,
                    output: std::mem::replace(&mut p.output, Ok(None)).ok().flatten(),
                },
                _ => Start::Fresh {
                    tries,
                    sensor_since: prev.as_ref().and_then(|p| p.sensor_since),
                    instances: std::mem::take(&mut previous.instances[i])
                        .into_iter()
                        .map(|(k, p)| {
                            let output = match (p.state, p.output) {
                                (Some(TaskState::Success), Ok(o)) => o,
                                _ => None,
                            };
                            let start = InstanceStart {
                                run_id: p.run_id,
                                error_tagged: p.error_tagged,
                                tries: p.tries,
                                output,
                            };
                            (k, start)
                        })
                        .collect(),
                },
            }
        })
        .collect();
    reasons.sort_by_key(|r| r.0);
    reasons.dedup_by_key(|r| r.0);
    (starts, reasons)
}

/// Refuses to take over a run another live process is executing.
pub(crate) fn check_not_running(previous: &PreviousRun) -> Result<(), ExecError> {
    let Some((pid, host)) = &previous.running_in else {
        return Ok(());
    };
    let here = host_name();
    let (alive, checked) = if *host == here {
        (*pid == std::process::id() || process_alive(*pid), true)
    } else {
        (true, false)
    };
    if alive {
        return Err(ExecError::RunInProgress {
            run_id: previous.run_id.clone(),
            pid: *pid,
            host: host.clone(),
            checked,
        });
    }
    Ok(())
}
