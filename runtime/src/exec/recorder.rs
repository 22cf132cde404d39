//! The recorder actor: the one place a DAG run's records are written from.
//!
//! The scheduling loop sends each [`Transition`] here over a channel and never waits for the
//! store. The actor runs on a thread of its own; it drains whatever is queued and writes it as
//! one unit ([`TrackingStore::batch`](crate::tracking::TrackingStore::batch): one transaction
//! on a SQL store), so a burst of quick tasks costs one commit, not one per task. A write that
//! fails reaches the loop as [`Event::RecordFailed`]; the loop then stops the run and sends
//! [`RecordCmd::Finish`], which the actor still tries, so the DAG run ends FAILED rather than
//! RUNNING where the store allows.

use std::sync::mpsc;

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

use super::executor::Event;
use super::record::{RecordError, Recorder, TaskRun};
use super::report::DagRunState;
use super::state::TaskState;
use super::transition::Transition;
use crate::dag::DagSpec;
use crate::tracking::TrackingError;

/// What the loop asks the recorder to write.
pub(crate) enum RecordCmd {
    /// A task changed state.
    Transition(Transition),
    /// An attempt has run for a while: show its task run as RUNNING.
    Visible {
        node: usize,
        try_number: u32,
        started_ms: i64,
    },
    /// The DAG run ended; the actor stops after writing it.
    Finish(DagRunState),
}

/// The loop's end of the recorder.
pub(crate) struct RecorderHandle {
    tx: mpsc::Sender<RecordCmd>,
    done: oneshot::Receiver<()>,
}

impl RecorderHandle {
    pub(crate) fn transition(&self, t: Transition) {
        // A send fails only once the actor has stopped, after `finish`.
        let _ = self.tx.send(RecordCmd::Transition(t));
    }

    pub(crate) fn visible(&self, node: usize, try_number: u32, started_ms: i64) {
        let _ = self.tx.send(RecordCmd::Visible {
            node,
            try_number,
            started_ms,
        });
    }

    /// Writes the end of the DAG run and waits until everything sent before is written.
    pub(crate) async fn finish(self, state: DagRunState) {
        let _ = self.tx.send(RecordCmd::Finish(state));
        let _ = self.done.await;
    }
}

/// Per-task facts the actor keeps between writes.
pub(crate) struct TaskRecord {
    pub(crate) run: TaskRun,
    /// Whether the task run carries an `oxflow.error` tag (to clear it after a success).
    pub(crate) error_tagged: bool,
}

/// Starts the actor on its own thread.
pub(crate) fn spawn(
    recorder: Recorder,
    spec: &DagSpec,
    tasks: Vec<TaskRecord>,
    events: UnboundedSender<Event>,
) -> RecorderHandle {
    let (tx, rx) = mpsc::channel();
    let (done_tx, done) = oneshot::channel();
    let spec = spec.clone();
    let actor = Actor {
        recorder,
        spec,
        tasks,
        failed: false,
    };
    let failures = events.clone();
    let spawned = std::thread::Builder::new()
        .name("oxflow-recorder".into())
        .spawn(move || {
            actor.run(rx, &events);
            let _ = done_tx.send(());
        });
    if let Err(e) = spawned {
        // No thread: stop the run at once rather than run it unrecorded.
        let _ = failures.send(Event::RecordFailed(RecordError::Tracking(
            TrackingError::io("start the recorder thread", std::path::Path::new("."), e),
        )));
    }
    RecorderHandle { tx, done }
}

struct Actor {
    recorder: Recorder,
    spec: DagSpec,
    tasks: Vec<TaskRecord>,
    /// A write failed: only the end of the DAG run is still attempted.
    failed: bool,
}

impl Actor {
    fn run(mut self, rx: mpsc::Receiver<RecordCmd>, events: &UnboundedSender<Event>) {
        let mut batch = Vec::new();
        while let Ok(first) = rx.recv() {
            batch.push(first);
            batch.extend(rx.try_iter());
            let finish = batch.iter().find_map(|c| match c {
                RecordCmd::Finish(s) => Some(*s),
                _ => None,
            });
            if !self.failed
                && let Err(e) = self.write(&mut batch)
            {
                self.failed = true;
                let _ = events.send(Event::RecordFailed(e));
            }
            batch.clear();
            if let Some(state) = finish {
                // Best effort after a failure: the run should not stay RUNNING, and is not a
                // success if part of it could not be recorded.
                let state = if self.failed {
                    DagRunState::Failed
                } else {
                    state
                };
                if let Err(e) = self.recorder.finish(state)
                    && !self.failed
                {
                    let _ = events.send(Event::RecordFailed(e));
                }
                return;
            }
        }
    }

    /// Writes a batch as one unit; the error names the task whose record failed.
    fn write(&mut self, batch: &mut Vec<RecordCmd>) -> Result<(), RecordError> {
        let store = self.recorder.store().clone();
        let mut at: Option<usize> = None;
        let result = store.batch(|| {
            for cmd in batch.drain(..) {
                match cmd {
                    RecordCmd::Transition(t) => {
                        at = Some(t.node);
                        self.apply(t)?;
                    }
                    RecordCmd::Visible {
                        node,
                        try_number,
                        started_ms,
                    } => {
                        at = Some(node);
                        self.tasks[node]
                            .run
                            .ensure_running(try_number, started_ms)?;
                    }
                    RecordCmd::Finish(_) => {}
                }
            }
            Ok(())
        });
        result.map_err(|e| match at {
            Some(node) => RecordError::Task {
                task: self.spec.nodes[node].id.clone(),
                source: Box::new(RecordError::Tracking(e)),
            },
            None => RecordError::Tracking(e),
        })
    }

    fn apply(&mut self, t: Transition) -> Result<(), TrackingError> {
        let node = &self.spec.nodes[t.node];
        let task = &mut self.tasks[t.node];
        let rec = &self.recorder;
        match (t.state, t.attempt) {
            (TaskState::Running, Some(a)) => {
                rec.attempt_started(&task.run, t.try_number, a.started_ms)
            }
            (TaskState::Success, Some(a)) => {
                let codec = if node.options.persist {
                    node.task.codec
                } else {
                    None
                };
                let output = a.output.as_ref();
                let tagged = rec.attempt_succeeded(
                    a.log.as_ref(),
                    &task.run,
                    t.try_number,
                    a.started_ms,
                    output,
                    codec,
                    task.error_tagged,
                )?;
                task.error_tagged = tagged;
                Ok(())
            }
            // A task that skipped itself (`Skip`) is recorded as any task that did not run:
            // finished, `skipped`, its reason as the error, no failure line in its log. (An
            // attempt stopped by the DAG-run timeout also ends `skipped`, but killed.)
            (TaskState::Skipped, Some(a)) if a.elapsed.is_some() && !a.killed => {
                task.error_tagged |= t.error.is_some();
                rec.task_not_run(&task.run, t.state, t.try_number, t.error.as_deref())
            }
            (state, Some(a)) if a.elapsed.is_some() => {
                task.error_tagged = true;
                rec.attempt_failed(
                    a.log.as_ref(),
                    &task.run,
                    t.try_number,
                    a.started_ms,
                    state,
                    t.error.as_deref().unwrap_or(""),
                    a.killed,
                )
            }
            (state, None) if state.is_finished() => {
                task.error_tagged |= t.error.is_some();
                rec.task_not_run(&task.run, state, t.try_number, t.error.as_deref())
            }
            _ => Ok(()),
        }
    }
}
