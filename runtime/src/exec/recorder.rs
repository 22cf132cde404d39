//! The recorder actor: the one place a DAG run's records are written from.
//!
//! The scheduling loop sends each [`Transition`] here over a channel and never waits for the
//! store. The actor runs on a thread of its own; it drains whatever is queued and writes it as
//! one unit ([`TrackingStore::batch`](crate::tracking::TrackingStore::batch): one transaction
//! on a SQL store), so a burst of quick tasks costs one commit, not one per task. A write that
//! fails reaches the loop as [`Event::RecordFailed`]; the loop then stops the run and sends
//! [`RecordCmd::Finish`], which the actor still tries, so the DAG run ends FAILED rather than
//! RUNNING where the store allows.
//!
//! Stored outputs are files (the task run's `xcom/return_value.json` artifact), and creating a
//! file and its directories costs more than the rest of a task's record on ext4. They are
//! written by [`OutputWriters`], a few threads beside the actor, after the record that names
//! them is committed: the rows of the next tasks do not wait for them, and inode creation runs
//! in parallel. The end of the DAG run is written only once every output is stored, so when
//! `execute` returns everything is on disk; a process killed in between leaves a successful
//! task run without its output, which a resume runs again.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::oneshot;

use super::executor::Event;
use super::record::{PendingOutput, RecordError, Recorder, TaskRun, XCOM_ARTIFACT};
use super::report::DagRunState;
use super::state::TaskState;
use super::transition::Transition;
use crate::dag::DagSpec;
use crate::tracking::{TrackingError, TrackingStore};

/// What the loop asks the recorder to write.
pub(crate) enum RecordCmd {
    /// A task changed state.
    Transition(Transition),
    /// A mapped task expanded: the record of one of its instances.
    Instance {
        node: usize,
        map_index: usize,
        record: TaskRecord,
    },
    /// An attempt has run for a while: show its task run as RUNNING.
    Visible {
        node: usize,
        map_index: Option<usize>,
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

    /// Hands over the record of an instance of a mapped task, shared with its attempts.
    pub(crate) fn instance(&self, node: usize, map_index: usize, run: TaskRun, error_tagged: bool) {
        let _ = self.tx.send(RecordCmd::Instance {
            node,
            map_index,
            record: TaskRecord { run, error_tagged },
        });
    }

    pub(crate) fn visible(
        &self,
        node: usize,
        map_index: Option<usize>,
        try_number: u32,
        started_ms: i64,
    ) {
        let _ = self.tx.send(RecordCmd::Visible {
            node,
            map_index,
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
    let outputs = OutputWriters::start(recorder.store().clone(), events.clone());
    let actor = Actor {
        recorder,
        spec,
        tasks,
        instances: HashMap::new(),
        failed: false,
        pending: Vec::new(),
        outputs,
    };
    let failures = events.clone();
    let spawned = super::threads::run(move || {
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
    /// The instances of mapped tasks, by (node, map index).
    instances: HashMap<(usize, usize), TaskRecord>,
    /// A write failed: only the end of the DAG run is still attempted.
    failed: bool,
    /// Outputs of the batch being written, handed to `outputs` once it commits.
    pending: Vec<(usize, PendingOutput)>,
    outputs: OutputWriters,
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
                // Every output is stored before the run is shown as ended.
                if !self.outputs.wait() {
                    self.failed = true;
                }
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
                    RecordCmd::Instance {
                        node,
                        map_index,
                        record,
                    } => {
                        self.instances.insert((node, map_index), record);
                    }
                    RecordCmd::Visible {
                        node,
                        map_index,
                        try_number,
                        started_ms,
                    } => {
                        at = Some(node);
                        if let Some(task) = self.record(node, map_index) {
                            task.run.ensure_running(try_number, started_ms)?;
                        }
                    }
                    RecordCmd::Finish(_) => {}
                }
            }
            Ok(())
        });
        let pending = std::mem::take(&mut self.pending);
        if result.is_ok() {
            for (node, output) in pending {
                self.outputs.store(self.spec.nodes[node].id.clone(), output);
            }
        }
        result.map_err(|e| match at {
            Some(node) => RecordError::Task {
                task: self.spec.nodes[node].id.clone(),
                source: Box::new(RecordError::Tracking(e)),
            },
            None => RecordError::Tracking(e),
        })
    }

    fn record(&mut self, node: usize, map_index: Option<usize>) -> Option<&mut TaskRecord> {
        match map_index {
            None => self.tasks.get_mut(node),
            Some(k) => self.instances.get_mut(&(node, k)),
        }
    }

    fn apply(&mut self, t: Transition) -> Result<(), TrackingError> {
        let node = &self.spec.nodes[t.node];
        let task = match t.map_index {
            None => &mut self.tasks[t.node],
            Some(k) => match self.instances.get_mut(&(t.node, k)) {
                Some(task) => task,
                None => return Ok(()),
            },
        };
        let rec = &self.recorder;
        let sensor = t.sensor;
        let try_number = t.try_number;
        let written = match (t.state, t.attempt) {
            // A sensor in poke mode that waits in its slot: still running.
            (TaskState::Running, None) if sensor.is_some() => Ok(()),
            (TaskState::UpForReschedule, Some(a)) => rec.sensor_rescheduled(
                a.log.as_ref(),
                &task.run,
                t.try_number,
                a.started_ms,
                sensor.and_then(|f| f.next_poke_ms),
            ),
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
                let (tagged, pending) = rec.attempt_succeeded(
                    a.log.as_ref(),
                    &task.run,
                    t.try_number,
                    a.started_ms,
                    output,
                    codec,
                    task.error_tagged,
                )?;
                task.error_tagged = tagged;
                self.pending.extend(pending.map(|p| (t.node, p)));
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
        };
        written?;
        match sensor {
            // A poke-mode sensor's run is written as RUNNING once it waits, so its wait shows.
            Some(facts) => {
                let started = facts.first_poke_ms;
                let ensure = (t.state == TaskState::Running).then_some((try_number, started));
                rec.sensor_facts(&task.run, &facts, ensure)
            }
            None => Ok(()),
        }
    }
}

/// Threads that store task outputs beside the recorder (see the module docs).
struct OutputWriters {
    jobs: Option<mpsc::Sender<OutputJob>>,
    /// The receiving end, until the threads start.
    idle: Option<mpsc::Receiver<OutputJob>>,
    shared: Arc<WriterShared>,
    /// Writer threads started: they return once `jobs` is dropped.
    writers: usize,
}

struct OutputJob {
    task: String,
    output: PendingOutput,
}

/// What the writers share with the actor.
struct WriterShared {
    store: TrackingStore,
    events: UnboundedSender<Event>,
    progress: Mutex<WriterProgress>,
    done: Condvar,
}

#[derive(Default)]
struct WriterProgress {
    /// Outputs handed over and not written yet.
    in_flight: usize,
    /// A write failed (reported to the loop as it happened).
    failed: bool,
}

/// How many outputs are written at once. Inode creation on ext4 waits on the file system more
/// than it uses a core: a 1,000-task chain, five interleaved rounds on a busy 2-core machine,
/// took a median 3.0 ms per task with the outputs written on the recorder's thread and 1.7 ms
/// with two writers (on tmpfs, where files are cheap, the hand-off costs ~10 µs per task).
const OUTPUT_WRITERS: usize = 2;

impl WriterShared {
    /// Writes one output, reports a failure to the loop, and counts it done.
    fn write(&self, job: OutputJob) {
        let written =
            self.store
                .log_artifact_bytes(&job.output.run_id, XCOM_ARTIFACT, &job.output.bytes);
        let mut p = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = written {
            p.failed = true;
            let _ = self.events.send(Event::RecordFailed(RecordError::Task {
                task: job.task,
                source: Box::new(RecordError::Tracking(e)),
            }));
        }
        p.in_flight -= 1;
        self.done.notify_all();
    }
}

impl OutputWriters {
    /// The writers of one DAG run. Their threads (reused ones, see [`super::threads`]) are
    /// taken with the first output: many DAG runs carry none.
    fn start(store: TrackingStore, events: UnboundedSender<Event>) -> OutputWriters {
        let (tx, rx) = mpsc::channel::<OutputJob>();
        let shared = Arc::new(WriterShared {
            store,
            events,
            progress: Mutex::new(WriterProgress::default()),
            done: Condvar::new(),
        });
        OutputWriters {
            jobs: Some(tx),
            idle: Some(rx),
            shared,
            writers: 0,
        }
    }

    /// Starts the writer threads, once.
    fn spawn_threads(&mut self) {
        let Some(rx) = self.idle.take() else { return };
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..OUTPUT_WRITERS {
            let (rx, shared) = (rx.clone(), self.shared.clone());
            let started = super::threads::run(move || {
                loop {
                    let job = match rx.lock() {
                        Ok(rx) => rx.recv(),
                        Err(_) => return,
                    };
                    let Ok(job) = job else { return };
                    shared.write(job);
                }
            });
            self.writers += usize::from(started.is_ok());
        }
    }

    /// Hands an output over; written at once, on this thread, if no writer thread started.
    fn store(&mut self, task: String, output: PendingOutput) {
        self.spawn_threads();
        self.shared
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .in_flight += 1;
        let job = OutputJob { task, output };
        match (&self.jobs, self.writers) {
            (Some(tx), 1..) => {
                if let Err(mpsc::SendError(job)) = tx.send(job) {
                    self.shared.write(job);
                }
            }
            _ => self.shared.write(job),
        }
    }

    /// Waits until every output handed over is written; `false` if one could not be.
    fn wait(&self) -> bool {
        let mut p = self
            .shared
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        while p.in_flight > 0 {
            p = self.shared.done.wait(p).unwrap_or_else(|e| e.into_inner());
        }
        !p.failed
    }
}
