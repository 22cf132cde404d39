//! Deciding: which task runs next, what a finished attempt means, when the run is over.
//!
//! The [`Scheduler`] owns every task's state and does no I/O: it hands attempts to an
//! [`Executor`] and tells each state change, as one [`Transition`], to the [`Observers`]
//! (recorder, telemetry, progress). Trigger rules are evaluated from per-task upstream counters
//! ([`super::trigger`]), and newly decidable tasks go through a work list rather than
//! recursion, so a 10,000-task chain of skips cannot overflow the stack.
//!
//! Its steps, in the order the run loop calls them: [`Scheduler::decide_pending`],
//! [`Scheduler::start_ready`], then one of [`Scheduler::on_event`], [`Scheduler::on_timers`] or
//! [`Scheduler::stop`] for whatever woke the loop.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::executor::{Attempt, AttemptEnd, AttemptRecording, Event, Executor};
use super::observers::Observers;
use super::record::{AttemptLogs, TaskRun, VISIBLE_AFTER};
use super::report::DagRunState;
use super::state::TaskState;
use super::transition::{AttemptFacts, Transition};
use super::trigger::{Decision, UpstreamCounts, decide};
use crate::dag::DagSpec;
use crate::schedule::{DataInterval, RunType};
use crate::task::{InputValue, TaskError, TaskOutput};
use crate::tracking::now_ms;

/// Why a run stops before every task is decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Ctrl-C, SIGTERM, or the caller's cancel signal.
    Interrupted,
    /// The DAG's `dagrun_timeout` passed.
    TimedOut(Duration),
    /// The recorder could not write.
    RecordFailed,
}

/// One task's state in this run.
pub(crate) struct Node {
    pub(crate) state: TaskState,
    counts: UpstreamCounts,
    /// Data upstreams (tasks whose output it reads) in a final state, of `data_total`.
    data_done: usize,
    data_total: usize,
    /// Tasks reading its output that have not reached a final state: at zero the output goes.
    readers_left: usize,
    pub(crate) try_number: u32,
    /// The first try number of this run (a resumed task continues its numbering).
    first_try: u32,
    pub(crate) output: Option<TaskOutput>,
    pub(crate) error: Option<String>,
    started_ms: i64,
    /// An attempt's body still runs after its attempt ended (timed out): it holds a slot and
    /// the next attempt waits for it.
    body_running: bool,
    /// The retry delay has passed, but the body of the last attempt still runs.
    retry_due: bool,
    pub(crate) reused: bool,
    /// Carried over from an earlier run (resume): never decided again.
    frozen: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    RetryDue { node: usize, try_number: u32 },
    DagRunTimeout,
}

/// What the resume plan says about one task.
pub(crate) enum Start {
    /// Not run before, or to run again.
    Fresh { tries: u32 },
    /// Carried over: succeeded (with its output, if stored) or skipped.
    Kept {
        state: TaskState,
        tries: u32,
        output: Option<TaskOutput>,
    },
}

/// The decisions of one DAG run.
pub(crate) struct Scheduler {
    spec: DagSpec,
    pub(crate) nodes: Vec<Node>,
    /// For each task, the tasks reading its output (each once).
    consumers: Vec<Vec<usize>>,
    /// For each task, the tasks whose output it reads (each once).
    suppliers: Vec<Vec<usize>>,
    task_ids: Arc<[Arc<str>]>,
    dag_id: Arc<str>,
    dag_run_id: Arc<str>,
    run: (RunType, Option<DataInterval>),
    params: Option<TaskOutput>,
    work: VecDeque<usize>,
    ready: VecDeque<usize>,
    /// Task bodies running (attempts, and bodies outliving their timed-out attempt).
    running: usize,
    limit: usize,
    /// Tasks with an attempt running or a retry pending.
    active: usize,
    timers: BinaryHeap<Reverse<(Instant, Timer)>>,
    /// Attempts to show as RUNNING in the store if still going then (in start order).
    visible: VecDeque<(Instant, usize, u32)>,
    recording: Option<(Vec<TaskRun>, Arc<AttemptLogs>)>,
    pub(crate) stopped: Option<Stop>,
    pub(crate) observers: Observers,
}

impl Scheduler {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        spec: &DagSpec,
        starts: Vec<Start>,
        dag_run_id: &str,
        run: (RunType, Option<DataInterval>),
        params: Option<TaskOutput>,
        limit: usize,
        dagrun_timeout: Option<Duration>,
        recording: Option<(Vec<TaskRun>, Arc<AttemptLogs>)>,
        observers: Observers,
        task_ids: Arc<[Arc<str>]>,
    ) -> Scheduler {
        let n = spec.nodes.len();
        let mut consumers = vec![Vec::new(); n];
        let mut suppliers = vec![Vec::new(); n];
        for (d, node) in spec.nodes.iter().enumerate() {
            for input in &node.inputs {
                if consumers[input.node].last() != Some(&d) {
                    consumers[input.node].push(d);
                }
                if !suppliers[d].contains(&input.node) {
                    suppliers[d].push(input.node);
                }
            }
        }
        let nodes = spec
            .nodes
            .iter()
            .zip(starts)
            .enumerate()
            .map(|(i, (n, start))| {
                let (state, tries, output, frozen) = match start {
                    Start::Fresh { tries } => (TaskState::None, tries, None, false),
                    Start::Kept {
                        state,
                        tries,
                        output,
                    } => (state, tries, output, true),
                };
                Node {
                    state,
                    counts: UpstreamCounts {
                        total: n.upstream.len(),
                        ..Default::default()
                    },
                    data_done: 0,
                    data_total: suppliers[i].len(),
                    readers_left: consumers[i].len(),
                    try_number: tries,
                    first_try: tries + 1,
                    output,
                    error: None,
                    started_ms: 0,
                    body_running: false,
                    retry_due: false,
                    reused: frozen,
                    frozen,
                }
            })
            .collect();
        let mut s = Scheduler {
            spec: spec.clone(),
            nodes,
            consumers,
            suppliers,
            task_ids,
            dag_id: Arc::from(spec.def.id),
            dag_run_id: Arc::from(dag_run_id),
            run,
            params,
            work: VecDeque::new(),
            ready: VecDeque::new(),
            running: 0,
            limit: limit.max(1),
            active: 0,
            timers: BinaryHeap::new(),
            visible: VecDeque::new(),
            recording,
            stopped: None,
            observers,
        };
        if let Some(d) = dagrun_timeout {
            s.timers
                .push(Reverse((Instant::now() + d, Timer::DagRunTimeout)));
        }
        // Carried-over tasks count as finished upstreams from the start.
        for i in 0..n {
            if s.nodes[i].frozen {
                s.finished(i);
            }
        }
        for i in 0..n {
            if !s.nodes[i].frozen && s.nodes[i].counts.total == 0 {
                s.work.push_back(i);
            }
        }
        s
    }

    /// Whether nothing is left to wait for.
    pub(crate) fn is_done(&self) -> bool {
        self.active == 0 && self.ready.is_empty() && self.work.is_empty()
    }

    /// The next moment a timer is due, if any.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let timer = self.timers.peek().map(|Reverse((at, _))| *at);
        let visible = self.visible.front().map(|v| v.0);
        match (timer, visible) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Step 1: decides every task whose upstream counts changed.
    pub(crate) fn decide_pending(&mut self) {
        while let Some(i) = self.work.pop_front() {
            if self.nodes[i].state != TaskState::None {
                continue;
            }
            let n = &self.nodes[i];
            let mut decision = decide(self.spec.nodes[i].options.trigger, n.counts);
            // Whatever the rule, a task never runs before the tasks whose outputs it reads are
            // finished: it could not be handed its inputs.
            if decision == Decision::Run && n.data_done < n.data_total {
                decision = Decision::Wait;
            }
            match decision {
                Decision::Wait => {}
                Decision::Skip => self.end_unrun(i, TaskState::Skipped, None),
                Decision::UpstreamFailed => self.end_unrun(i, TaskState::UpstreamFailed, None),
                Decision::Run => match self.missing_input(i) {
                    Some((state, why)) => self.end_unrun(i, state, Some(why)),
                    None => {
                        self.nodes[i].state = TaskState::Scheduled;
                        self.observers
                            .progress(i, TaskState::Scheduled, self.nodes[i].try_number);
                        self.ready.push_back(i);
                    }
                },
            }
        }
    }

    /// A required input (`&T`, not `Option<&T>`) whose upstream did not succeed: the task
    /// cannot run. A skipped upstream skips it (no task failed, so the run must not fail);
    /// a failed one makes it `upstream_failed`, with a message saying how to run without it.
    fn missing_input(&self, i: usize) -> Option<(TaskState, String)> {
        let node = &self.spec.nodes[i];
        let mut skipped = None;
        for (k, input) in node.inputs.iter().enumerate() {
            let param = node.task.inputs.get(k);
            if param.is_some_and(|p| p.optional) {
                continue;
            }
            let up = self.nodes[input.node].state;
            if up == TaskState::Success {
                continue;
            }
            let name = param.map_or("?", |p| p.name);
            let upstream = &self.spec.nodes[input.node].id;
            if up == TaskState::Skipped {
                skipped.get_or_insert_with(|| {
                    format!("input `{name}` comes from task `{upstream}`, which was skipped")
                });
            } else {
                let how = if up == TaskState::UpstreamFailed {
                    "did not run (upstream_failed)"
                } else {
                    "failed"
                };
                return Some((
                    TaskState::UpstreamFailed,
                    format!(
                        "input `{name}` is not available: upstream task `{upstream}` {how}; \
                         to run without it, declare the parameter as `Option<&T>`"
                    ),
                ));
            }
        }
        skipped.map(|why| (TaskState::Skipped, why))
    }

    /// Step 2: starts attempts while slots are free.
    pub(crate) fn start_ready(&mut self, exec: &mut impl Executor) {
        while self.running < self.limit && self.stopped.is_none() {
            let Some(i) = self.ready.pop_front() else {
                break;
            };
            let node = &self.spec.nodes[i];
            let n = &mut self.nodes[i];
            n.try_number += 1;
            let try_number = n.try_number;
            // Like Airflow's clear: a resumed task gets its retries again.
            let max_tries = n.first_try + node.options.retries;
            let record = self.recording.as_ref().map(|(runs, logs)| {
                let now = Instant::now();
                n.started_ms = now_ms();
                self.visible.push_back((now + VISIBLE_AFTER, i, try_number));
                AttemptRecording {
                    task_run: runs[i].clone(),
                    logs: logs.clone(),
                    started_ms: n.started_ms,
                }
            });
            n.state = TaskState::Running;
            let started_ms = n.started_ms;
            self.observers.progress(i, TaskState::Queued, try_number);
            let inputs = node
                .inputs
                .iter()
                .map(|input| InputValue {
                    value: self.nodes[input.node].output.clone(),
                    project: input.project,
                    upstream: self.task_ids[input.node].clone(),
                })
                .collect();
            exec.start(Attempt {
                node: i,
                task: node.task,
                dag_id: self.dag_id.clone(),
                dag_run_id: self.dag_run_id.clone(),
                task_id: self.task_ids[i].clone(),
                run: self.run,
                try_number,
                max_tries,
                timeout: node.options.timeout,
                inputs,
                params: self.params.clone(),
                record,
            });
            self.running += 1;
            self.active += 1;
            self.observers.transition(Transition {
                node: i,
                state: TaskState::Running,
                try_number,
                error: None,
                attempt: Some(AttemptFacts {
                    started_ms,
                    elapsed: None,
                    output: None,
                    log: None,
                    killed: false,
                }),
            });
        }
    }

    /// Step 3: what an executor reported.
    pub(crate) fn on_event(&mut self, event: Event, exec: &mut impl Executor) {
        match event {
            Event::Attempt(end) => self.on_attempt(end, exec),
            Event::BodyEnded { node, try_number } => self.on_body_ended(node, try_number),
            // The loop stops the run; the scheduler never sees it.
            Event::RecordFailed(_) => {}
        }
    }

    fn on_attempt(&mut self, end: AttemptEnd, exec: &mut impl Executor) {
        let i = end.node;
        let n = &mut self.nodes[i];
        if n.state != TaskState::Running || n.try_number != end.try_number {
            return; // stopped before it reported
        }
        exec.ended(i);
        if end.body_running {
            n.body_running = true;
        } else {
            self.running -= 1;
        }
        let facts = |output, killed| AttemptFacts {
            started_ms: n.started_ms,
            elapsed: Some(end.elapsed),
            output,
            log: end.log.as_deref().cloned(),
            killed,
        };
        let try_number = n.try_number;
        match end.result {
            Ok(output) => {
                self.active -= 1;
                let keep = self.consumers[i].is_empty() || n.readers_left > 0;
                // The recorder stores the output; nothing else needs it in the transition.
                let recorded = self.observers.recorder().is_some();
                let facts = facts(recorded.then(|| output.clone()), false);
                if keep {
                    n.output = Some(output);
                }
                n.error = None;
                n.state = TaskState::Success;
                self.observers.transition(Transition {
                    node: i,
                    state: TaskState::Success,
                    try_number,
                    error: None,
                    attempt: Some(facts),
                });
                self.finished(i);
            }
            Err(err) => {
                // The task's own error with its causes, as anyhow's `{:#}` shows them.
                let message = err.chain();
                let retries = self.spec.nodes[i].options.retries;
                // A `Skip` ends the task `skipped`, and its downstream follows its trigger rules
                // as after any skip; a `Fail` (like an interrupt) is not retried.
                let retry = err.is_retryable() && try_number - n.first_try < retries;
                let state = if matches!(err, TaskError::Skip { .. }) {
                    TaskState::Skipped
                } else if retry {
                    TaskState::UpForRetry
                } else {
                    TaskState::Failed
                };
                n.state = state;
                n.error = Some(message.clone());
                let facts = facts(None, matches!(err, TaskError::Killed));
                self.observers.transition(Transition {
                    node: i,
                    state,
                    try_number,
                    error: Some(message),
                    attempt: Some(facts),
                });
                if retry {
                    let delay = self.spec.nodes[i].options.delay_before_try(try_number + 1);
                    self.timers.push(Reverse((
                        Instant::now() + delay,
                        Timer::RetryDue {
                            node: i,
                            try_number,
                        },
                    )));
                } else {
                    self.active -= 1;
                    self.finished(i);
                }
            }
        }
    }

    fn on_body_ended(&mut self, i: usize, try_number: u32) {
        let n = &mut self.nodes[i];
        if !n.body_running || n.try_number != try_number {
            return;
        }
        n.body_running = false;
        self.running -= 1;
        if std::mem::take(&mut n.retry_due) {
            self.schedule_retry(i);
        }
    }

    fn schedule_retry(&mut self, i: usize) {
        let n = &mut self.nodes[i];
        n.state = TaskState::Scheduled;
        self.active -= 1;
        self.observers
            .progress(i, TaskState::Scheduled, n.try_number);
        self.ready.push_back(i);
    }

    /// Handles every timer due by `now`; returns a stop the loop must carry out.
    pub(crate) fn on_timers(&mut self, now: Instant) -> Option<Stop> {
        while let Some(&(due, i, try_number)) = self.visible.front() {
            if due > now {
                break;
            }
            self.visible.pop_front();
            let n = &self.nodes[i];
            if n.state == TaskState::Running
                && n.try_number == try_number
                && let Some(r) = self.observers.recorder()
            {
                r.visible(i, try_number, n.started_ms);
            }
        }
        while let Some(Reverse((due, timer))) = self.timers.peek().copied() {
            if due > now {
                break;
            }
            self.timers.pop();
            match timer {
                Timer::DagRunTimeout => return Some(Stop::TimedOut(self.dagrun_timeout())),
                Timer::RetryDue { node, try_number } => {
                    let n = &mut self.nodes[node];
                    if n.state != TaskState::UpForRetry || n.try_number != try_number {
                        continue;
                    }
                    if n.body_running {
                        n.retry_due = true;
                    } else {
                        self.schedule_retry(node);
                    }
                }
            }
        }
        None
    }

    fn dagrun_timeout(&self) -> Duration {
        self.spec.def.dagrun_timeout.unwrap_or_default()
    }

    /// Stops the run: no task starts any more, and every task with an attempt running or a
    /// retry pending ends now. The caller then stops the executor's attempts.
    ///
    /// - interrupted: those tasks end `failed` (killed); tasks not started stay as they are;
    /// - DAG-run timeout: every unfinished task ends `skipped`, as Airflow does;
    /// - recording failed: those tasks end `failed` (killed).
    pub(crate) fn stop(&mut self, why: Stop) {
        if self.stopped.is_some() {
            return;
        }
        self.stopped = Some(why);
        self.ready.clear();
        self.work.clear();
        self.timers.clear();
        self.visible.clear();
        let message = match why {
            Stop::Interrupted => TaskError::Killed.to_string(),
            Stop::TimedOut(after) => format!(
                "skipped: the DAG run timed out after {}",
                humantime::format_duration(after)
            ),
            Stop::RecordFailed => "killed: the DAG run stopped because recording failed".into(),
        };
        let end_state = match why {
            Stop::TimedOut(_) => TaskState::Skipped,
            _ => TaskState::Failed,
        };
        for i in 0..self.nodes.len() {
            let n = &mut self.nodes[i];
            let attempt = match n.state {
                TaskState::Running => Some(AttemptFacts {
                    started_ms: n.started_ms,
                    // Known when recorded; in memory no clock is read per attempt.
                    elapsed: Some(if n.started_ms > 0 {
                        Duration::from_millis(
                            u64::try_from(now_ms() - n.started_ms).unwrap_or_default(),
                        )
                    } else {
                        Duration::ZERO
                    }),
                    output: None,
                    log: None,
                    killed: true,
                }),
                TaskState::UpForRetry => None,
                TaskState::None | TaskState::Scheduled | TaskState::Queued
                    if end_state == TaskState::Skipped =>
                {
                    None
                }
                _ => continue,
            };
            if matches!(n.state, TaskState::Running | TaskState::UpForRetry) {
                self.active -= 1;
            }
            n.state = end_state;
            n.error = Some(message.clone());
            // An up_for_retry task ends with the attempt that failed before.
            let attempt = attempt.or_else(|| {
                (end_state == TaskState::Failed).then(|| AttemptFacts {
                    started_ms: n.started_ms,
                    elapsed: Some(Duration::ZERO),
                    output: None,
                    log: None,
                    killed: true,
                })
            });
            let try_number = n.try_number;
            self.observers.transition(Transition {
                node: i,
                state: end_state,
                try_number,
                error: Some(message.clone()),
                attempt,
            });
        }
    }

    /// Task `i` reached a final state: its downstream learns of it, and the outputs it read
    /// are freed once every reader is done.
    fn finished(&mut self, i: usize) {
        let state = self.nodes[i].state;
        for k in 0..self.spec.nodes[i].downstream.len() {
            let d = self.spec.nodes[i].downstream[k];
            let c = &mut self.nodes[d].counts;
            match state {
                TaskState::Success => c.success += 1,
                TaskState::Skipped => c.skipped += 1,
                TaskState::UpstreamFailed => c.upstream_failed += 1,
                _ => c.failed += 1,
            }
            self.work.push_back(d);
        }
        for k in 0..self.consumers[i].len() {
            let d = self.consumers[i][k];
            self.nodes[d].data_done += 1;
        }
        for k in 0..self.suppliers[i].len() {
            let u = self.suppliers[i][k];
            let up = &mut self.nodes[u];
            up.readers_left -= 1;
            if up.readers_left == 0 {
                up.output = None;
            }
        }
    }

    /// Ends a task that will not run.
    fn end_unrun(&mut self, i: usize, state: TaskState, error: Option<String>) {
        let n = &mut self.nodes[i];
        n.state = state;
        n.error = error.clone();
        let try_number = n.try_number;
        self.observers.transition(Transition {
            node: i,
            state,
            try_number,
            error,
            attempt: None,
        });
        self.finished(i);
    }

    /// The run's final state.
    pub(crate) fn outcome(&self) -> DagRunState {
        match self.stopped {
            Some(Stop::Interrupted) => DagRunState::Killed,
            Some(_) => DagRunState::Failed,
            None if self
                .nodes
                .iter()
                .any(|n| matches!(n.state, TaskState::Failed | TaskState::UpstreamFailed)) =>
            {
                DagRunState::Failed
            }
            None => DagRunState::Success,
        }
    }
}
