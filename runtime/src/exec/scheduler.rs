//! Deciding: which task runs next, what a finished attempt means, when the run is over.
//!
//! The [`Scheduler`] owns every task's state and does no I/O: it hands attempts to an
//! [`Executor`] and tells each state change, as one [`Transition`], to the [`Observers`]
//! (recorder, telemetry, progress). Trigger rules are evaluated from per-task upstream counters
//! ([`super::trigger`]), and newly decidable tasks go through a work list rather than
//! recursion, so a 10,000-task chain of skips cannot overflow the stack.
//!
//! Branches, short-circuits and mapped tasks are decided here too. A branch task's output picks
//! one arm of the DAG body's `match`; the first tasks of every other arm end `skipped`, and the
//! skip reaches the rest through trigger rules, as after Airflow's `@task.branch`. A
//! short-circuit task returning `false` skips everything downstream of it, whatever the trigger
//! rules. A mapped task, once its list is known, becomes one *instance* per element: instances
//! are extra entries in the scheduler's table (after the DAG's nodes), each with its own tries,
//! retries and record; the mapped task ends when all of them have.
//!
//! Its steps, in the order the run loop calls them: [`Scheduler::decide_pending`],
//! [`Scheduler::start_ready`], then one of [`Scheduler::on_event`], [`Scheduler::on_timers`] or
//! [`Scheduler::stop`] for whatever woke the loop.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::executor::{Attempt, AttemptEnd, AttemptRecording, Event, Executor};
use super::observers::{Observers, PokeResult};
use super::record::{AttemptLogs, TaskRun, VISIBLE_AFTER};
use super::report::DagRunState;
use super::state::TaskState;
use super::tasklog::AttemptLog;
use super::transition::{AttemptFacts, SensorFacts, Transition};
use super::trigger::{Decision, UpstreamCounts, decide};
use crate::dag::DagSpec;
use crate::schedule::{DataInterval, RunType};
use crate::task::sensor::{SensorDef, SensorMode};
use crate::task::{InputValue, RunConnections, TaskError, TaskOutput};
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

/// One task's state in this run: a node of the DAG, or one instance of a mapped node.
pub(crate) struct Node {
    /// The DAG node this is, or this is an instance of.
    pub(crate) spec: usize,
    /// The instance's index in its mapped task's list.
    pub(crate) map_index: Option<usize>,
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
    /// Skipped whatever its trigger rule says (a branch not taken, a short-circuit), and why.
    forced_skip: Option<String>,
    /// A mapped node: its instances, once expanded, and how many have not finished.
    instances: Vec<usize>,
    instances_left: usize,
    /// A mapped node: what an earlier run of it left, per map index (resume).
    previous: BTreeMap<usize, InstanceStart>,
    /// A sensor: its wait so far.
    sensor: Option<SensorWait>,
}

/// Where a sensor's wait stands in this run.
pub(crate) struct SensorWait {
    def: SensorDef,
    /// When the first poke started (ms since the epoch), and the timeout it gives. Carried
    /// across retries and, read from the store, across a resume: the timeout counts from the
    /// very first poke.
    first_poke_ms: Option<i64>,
    deadline: Option<Instant>,
    /// Pokes that found the condition not met, in this run.
    pokes: u32,
    /// The next start is another poke of the same try, not a new try.
    repoke: bool,
    /// In poke mode, when the try's first poke started: the try lasts until the sensor ends.
    try_started: Option<Instant>,
}

impl SensorWait {
    fn new(def: SensorDef, first_poke_ms: Option<i64>) -> SensorWait {
        // A wait carried over from an earlier process keeps its clock: the time already spent
        // comes off the timeout.
        let deadline = first_poke_ms.map(|first| {
            let spent = Duration::from_millis(u64::try_from(now_ms() - first).unwrap_or(0));
            Instant::now() + def.timeout.saturating_sub(spent)
        });
        SensorWait {
            def,
            first_poke_ms,
            deadline,
            pokes: 0,
            repoke: false,
            try_started: None,
        }
    }

    fn facts(&self, next_poke_ms: Option<i64>) -> SensorFacts {
        SensorFacts {
            first_poke_ms: self.first_poke_ms.unwrap_or_else(now_ms),
            pokes: self.pokes,
            next_poke_ms,
        }
    }
}

/// What an earlier run left of one instance of a mapped task.
pub(crate) struct InstanceStart {
    /// Its task run, updated rather than written again.
    pub(crate) run_id: String,
    /// Whether that run carries an `oxflow.error` tag.
    pub(crate) error_tagged: bool,
    pub(crate) tries: u32,
    /// Its stored output, when it succeeded.
    pub(crate) output: Option<TaskOutput>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Timer {
    RetryDue {
        node: usize,
        try_number: u32,
    },
    /// A sensor's next poke.
    PokeDue {
        node: usize,
        try_number: u32,
    },
    DagRunTimeout,
}

/// What the resume plan says about one task.
pub(crate) enum Start {
    /// Not run before, or to run again; a mapped task keeps what its instances left.
    Fresh {
        tries: u32,
        instances: BTreeMap<usize, InstanceStart>,
        /// A sensor whose wait an earlier process left unfinished: when its first poke was.
        sensor_since: Option<i64>,
    },
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
    /// Sensors in poke mode whose next poke is due: they hold their slot, so they start
    /// without waiting for one.
    held: VecDeque<usize>,
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
    /// The connections the DAG's tasks declared, looked up before the run started.
    pub(crate) connections: Option<Arc<RunConnections>>,
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
                let (state, tries, output, frozen, previous, since) = match start {
                    Start::Fresh {
                        tries,
                        instances,
                        sensor_since,
                    } => (TaskState::None, tries, None, false, instances, sensor_since),
                    Start::Kept {
                        state,
                        tries,
                        output,
                    } => (state, tries, output, true, BTreeMap::new(), None),
                };
                Node {
                    spec: i,
                    map_index: None,
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
                    forced_skip: None,
                    instances: Vec::new(),
                    instances_left: 0,
                    previous,
                    sensor: n.task.sensor.map(|def| SensorWait::new(def, since)),
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
            held: VecDeque::new(),
            running: 0,
            limit: limit.max(1),
            active: 0,
            timers: BinaryHeap::new(),
            visible: VecDeque::new(),
            recording,
            stopped: None,
            observers,
            connections: None,
        };
        if let Some(d) = dagrun_timeout {
            s.timers
                .push(Reverse((Instant::now() + d, Timer::DagRunTimeout)));
        }
        // Carried-over tasks count as finished upstreams from the start.
        for i in 0..n {
            if s.nodes[i].frozen {
                if s.nodes[i].state == TaskState::Success {
                    s.short_circuit(i);
                    s.choose_branch(i);
                }
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
        self.active == 0 && self.ready.is_empty() && self.work.is_empty() && self.held.is_empty()
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
            if let Some(why) = self.nodes[i].forced_skip.clone() {
                self.end_unrun(i, TaskState::Skipped, Some(why));
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
                    None if self.spec.nodes[i].flow.map.is_some() => self.expand(i),
                    None => {
                        self.nodes[i].state = TaskState::Scheduled;
                        self.observers.progress(
                            i,
                            None,
                            TaskState::Scheduled,
                            self.nodes[i].try_number,
                        );
                        self.ready.push_back(i);
                    }
                },
            }
        }
    }

    /// A mapped task whose list is known: one instance per element, each scheduled at once (or
    /// carried over from an earlier run when the list was too). An empty list skips the task;
    /// a list longer than `max_map_length` fails it, before any instance starts.
    fn expand(&mut self, i: usize) {
        let node = &self.spec.nodes[i];
        let Some(map) = node.flow.map else { return };
        let input = &node.inputs[map.input];
        let source = &self.spec.nodes[input.node].id;
        let param = node.task.inputs.get(map.input).map_or("?", |p| p.name);
        let list = self.nodes[input.node].output.clone();
        let len = list.as_deref().and_then(|v| {
            let v = match input.project {
                Some(project) => project(v)?,
                None => v,
            };
            (map.len)(v)
        });
        let Some(len) = len else {
            let why = format!(
                "the list for input `{param}` from task `{source}` is not available; this is a bug in oxflow's generated code"
            );
            return self.end_unrun(i, TaskState::Failed, Some(why));
        };
        if len == 0 {
            let why = format!(
                "the list for input `{param}` from task `{source}` is empty, so no instance ran"
            );
            return self.end_unrun(i, TaskState::Skipped, Some(why));
        }
        let max = self.spec.def.max_map_length();
        if len > max {
            let why = format!(
                "task `{}` would map over {len} elements of `{param}` (from task `{source}`), more than max_map_length {max}; raise `#[dag(max_map_length = ...)]` or shorten the list",
                node.id
            );
            return self.end_unrun(i, TaskState::Failed, Some(why));
        }
        // Stored instance outputs fit only the list they were computed from: reuse them when
        // the list was carried over unchanged.
        let list_kept = self.nodes[input.node].frozen;
        let mut previous = std::mem::take(&mut self.nodes[i].previous);
        let first = self.nodes.len();
        self.nodes[i].state = TaskState::Running;
        self.nodes[i].instances = (first..first + len).collect();
        self.nodes[i].instances_left = len;
        let mut kept = Vec::new();
        for k in 0..len {
            let prev = previous.remove(&k);
            let tries = prev.as_ref().map_or(0, |p| p.tries);
            let output = prev
                .as_ref()
                .and_then(|p| p.output.clone())
                .filter(|_| list_kept);
            let u = self.nodes.len();
            if let (Some((runs, _)), Some(rec)) = (&mut self.recording, self.observers.recorder()) {
                let run = runs[i].instance(k, prev.as_ref().map(|p| p.run_id.clone()));
                rec.instance(
                    i,
                    k,
                    run.clone(),
                    prev.as_ref().is_some_and(|p| p.error_tagged),
                );
                runs.push(run);
            }
            self.nodes.push(Node {
                spec: i,
                map_index: Some(k),
                state: TaskState::Scheduled,
                counts: UpstreamCounts::default(),
                data_done: 0,
                data_total: 0,
                readers_left: 0,
                try_number: tries,
                first_try: tries + 1,
                output: None,
                error: None,
                started_ms: 0,
                body_running: false,
                retry_due: false,
                reused: false,
                frozen: false,
                forced_skip: None,
                instances: Vec::new(),
                instances_left: 0,
                previous: BTreeMap::new(),
                sensor: self.spec.nodes[i]
                    .task
                    .sensor
                    .map(|def| SensorWait::new(def, None)),
            });
            match output {
                Some(out) => kept.push((u, out)),
                None => {
                    self.observers
                        .progress(i, Some(k), TaskState::Scheduled, tries);
                    self.ready.push_back(u);
                }
            }
        }
        for (u, out) in kept {
            let n = &mut self.nodes[u];
            n.state = TaskState::Success;
            n.output = Some(out);
            n.reused = true;
            self.instance_finished(u);
        }
    }

    /// An instance reached a final state; after the last one, its mapped task ends: `failed`
    /// if one failed, `skipped` if all were skipped, else `success` with the outputs of the
    /// instances that succeeded, in map-index order.
    fn instance_finished(&mut self, u: usize) {
        let i = self.nodes[u].spec;
        self.nodes[i].instances_left -= 1;
        if self.nodes[i].instances_left > 0 {
            return;
        }
        let instances = std::mem::take(&mut self.nodes[i].instances);
        let mut failed = 0;
        let mut upstream_failed = 0;
        let mut outputs = Vec::new();
        for &u in &instances {
            let n = &mut self.nodes[u];
            match n.state {
                TaskState::Success => outputs.extend(n.output.take()),
                TaskState::Failed => failed += 1,
                TaskState::UpstreamFailed => upstream_failed += 1,
                _ => {}
            }
        }
        self.nodes[i].instances = instances;
        let len = self.nodes[i].instances.len();
        let (state, error) = if failed > 0 {
            (
                TaskState::Failed,
                Some(format!("{failed} of {len} mapped instances failed")),
            )
        } else if upstream_failed > 0 {
            (
                TaskState::UpstreamFailed,
                Some(format!(
                    "{upstream_failed} of {len} mapped instances did not run"
                )),
            )
        } else if outputs.is_empty() {
            (
                TaskState::Skipped,
                Some(format!("all {len} mapped instances were skipped")),
            )
        } else {
            (TaskState::Success, None)
        };
        if state == TaskState::Success
            && !self.consumers[i].is_empty()
            && let Some(collect) = self.spec.nodes[i].flow.map.and_then(|m| m.collect)
        {
            self.nodes[i].output = collect(outputs);
        }
        let n = &mut self.nodes[i];
        n.state = state;
        n.error = error.clone();
        self.observers.transition(Transition {
            node: i,
            map_index: None,
            state,
            try_number: n.try_number,
            error,
            attempt: None,
            sensor: None,
        });
        self.finished(i);
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

    /// Step 2: starts attempts while slots are free (and the next poke of each sensor in poke
    /// mode that is due: it still holds its slot).
    pub(crate) fn start_ready(&mut self, exec: &mut impl Executor) {
        while self.stopped.is_none() {
            let Some(i) = self.held.pop_front() else {
                break;
            };
            self.launch(i, exec, true);
        }
        while self.running < self.limit && self.stopped.is_none() {
            let Some(i) = self.ready.pop_front() else {
                break;
            };
            self.launch(i, exec, false);
        }
    }

    /// Starts an attempt of task `i`: a new try, or the next poke of a sensor's try. `held`:
    /// a sensor in poke mode, whose slot and running state carry over from its last poke.
    fn launch(&mut self, i: usize, exec: &mut impl Executor, held: bool) {
        let (spec, map_index) = (self.nodes[i].spec, self.nodes[i].map_index);
        let node = &self.spec.nodes[spec];
        let n = &mut self.nodes[i];
        let repoke = n
            .sensor
            .as_mut()
            .is_some_and(|w| std::mem::take(&mut w.repoke));
        if !repoke {
            n.try_number += 1;
        }
        let try_number = n.try_number;
        if let Some(w) = &mut n.sensor {
            let now = Instant::now();
            if w.first_poke_ms.is_none() {
                w.first_poke_ms = Some(now_ms());
                w.deadline = Some(now + w.def.timeout);
            }
            if !held {
                w.try_started = Some(now);
            }
        }
        // Like Airflow's clear: a resumed task gets its retries again.
        let max_tries = n.first_try + node.options.retries;
        let record = self.recording.as_ref().map(|(runs, logs)| {
            if !held {
                let now = Instant::now();
                n.started_ms = now_ms();
                self.visible.push_back((now + VISIBLE_AFTER, i, try_number));
            }
            AttemptRecording {
                task_run: runs[i].clone(),
                logs: logs.clone(),
                started_ms: n.started_ms,
            }
        });
        n.state = TaskState::Running;
        let started_ms = n.started_ms;
        if !held {
            self.observers
                .progress(spec, map_index, TaskState::Queued, try_number);
        }
        let mapped = node.flow.map.zip(map_index);
        let inputs = node
            .inputs
            .iter()
            .enumerate()
            .map(|(k, input)| InputValue {
                value: self.nodes[input.node].output.clone(),
                project: input.project,
                element: mapped
                    .filter(|(m, _)| m.input == k)
                    .map(|(m, index)| (m.element, index)),
                upstream: self.task_ids[input.node].clone(),
            })
            .collect();
        exec.start(Attempt {
            node: i,
            map_index,
            task: node.task,
            dag_id: self.dag_id.clone(),
            dag_run_id: self.dag_run_id.clone(),
            task_id: self.task_ids[spec].clone(),
            run: self.run,
            try_number,
            max_tries,
            timeout: node.options.timeout,
            inputs,
            params: self.params.clone(),
            connections: self.connections.clone(),
            record,
        });
        if held {
            // Still running, in its slot, since its first poke: nothing changes state.
            return;
        }
        self.running += 1;
        self.active += 1;
        self.observers.transition(Transition {
            node: spec,
            map_index,
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
            sensor: None,
        });
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
        if n.sensor.is_some() {
            let result = match &end.result {
                Ok(_) => PokeResult::Ready,
                Err(TaskError::NotReady) => PokeResult::NotReady,
                Err(_) => PokeResult::Error,
            };
            self.observers.sensor_poke(n.spec, result);
            if result == PokeResult::NotReady {
                let (elapsed, log) = (end.elapsed, end.log);
                return self.not_ready(i, elapsed, log);
            }
        }
        // A sensor in poke mode has run since its try's first poke.
        let elapsed = match &n.sensor {
            Some(w) if w.def.mode == SensorMode::Poke => {
                w.try_started.map_or(end.elapsed, |t| t.elapsed())
            }
            _ => end.elapsed,
        };
        let sensor = n.sensor.as_ref().map(|w| w.facts(None));
        let facts = |output, killed| AttemptFacts {
            started_ms: n.started_ms,
            elapsed: Some(elapsed),
            output,
            log: end.log.as_deref().cloned(),
            killed,
        };
        let try_number = n.try_number;
        let (spec, map_index) = (n.spec, n.map_index);
        match end.result {
            Ok(output) => {
                self.active -= 1;
                // An instance's output waits for its siblings, to be collected.
                let keep =
                    map_index.is_some() || self.consumers[i].is_empty() || n.readers_left > 0;
                // The recorder stores the output; nothing else needs it in the transition.
                let recorded = self.observers.recorder().is_some();
                let facts = facts(recorded.then(|| output.clone()), false);
                if keep {
                    n.output = Some(output);
                }
                n.error = None;
                n.state = TaskState::Success;
                self.observers.transition(Transition {
                    node: spec,
                    map_index,
                    state: TaskState::Success,
                    try_number,
                    error: None,
                    attempt: Some(facts),
                    sensor,
                });
                if map_index.is_none() {
                    self.short_circuit(i);
                    self.choose_branch(i);
                }
                self.finished(i);
            }
            Err(err) => {
                // The task's own error with its causes, as anyhow's `{:#}` shows them.
                // Connection secrets masked: the message is recorded, shown and reported.
                let message = crate::conn::mask::redact(&err.chain()).into_owned();
                let retries = self.spec.nodes[spec].options.retries;
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
                    node: spec,
                    map_index,
                    state,
                    try_number,
                    error: Some(message),
                    attempt: Some(facts),
                    sensor,
                });
                if retry {
                    let delay = self.spec.nodes[spec]
                        .options
                        .delay_before_try(try_number + 1);
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

    /// A sensor's poke found its condition not met. Past the sensor's timeout (counted from its
    /// first poke) it ends `failed`, or `skipped` with `soft_fail`, without retry (Airflow's
    /// `AirflowSensorTimeout`); else its next poke is due after the poke interval (backed off,
    /// and never later than the timeout). In poke mode it keeps its slot meanwhile; in
    /// reschedule mode it frees it and is `up_for_reschedule`.
    fn not_ready(&mut self, i: usize, elapsed: Duration, log: Option<Box<AttemptLog>>) {
        let now = Instant::now();
        let n = &mut self.nodes[i];
        let (spec, map_index, try_number) = (n.spec, n.map_index, n.try_number);
        let Some(w) = n.sensor.as_mut() else { return };
        w.pokes += 1;
        let def = w.def;
        let deadline = w.deadline.unwrap_or(now);
        let attempt = |elapsed| AttemptFacts {
            started_ms: n.started_ms,
            elapsed: Some(elapsed),
            output: None,
            log: log.as_deref().cloned(),
            killed: false,
        };
        if now >= deadline {
            let state = if def.soft_fail {
                TaskState::Skipped
            } else {
                TaskState::Failed
            };
            let message = format!(
                "sensor timed out: not ready after {} poke{} in {} (timeout {}){}",
                w.pokes,
                if w.pokes == 1 { "" } else { "s" },
                humantime::format_duration(Duration::from_millis(
                    u64::try_from(now_ms() - w.first_poke_ms.unwrap_or_else(now_ms)).unwrap_or(0)
                )),
                humantime::format_duration(def.timeout),
                if def.soft_fail {
                    "; soft_fail skips it"
                } else {
                    ""
                }
            );
            let sensor = Some(w.facts(None));
            let elapsed = match def.mode {
                SensorMode::Poke => w.try_started.map_or(elapsed, |t| t.elapsed()),
                SensorMode::Reschedule => elapsed,
            };
            n.state = state;
            n.error = Some(message.clone());
            let facts = attempt(elapsed);
            self.active -= 1;
            self.observers.sensor_timed_out(spec);
            self.observers.transition(Transition {
                node: spec,
                map_index,
                state,
                try_number,
                error: Some(message),
                attempt: Some(facts),
                sensor,
            });
            return self.finished(i);
        }
        let wait = def.interval_after(w.pokes).min(deadline - now);
        let next_ms = now_ms() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
        let sensor = Some(w.facts(Some(next_ms)));
        w.repoke = true;
        self.timers.push(Reverse((
            now + wait,
            Timer::PokeDue {
                node: i,
                try_number,
            },
        )));
        match def.mode {
            SensorMode::Poke => {
                // The slot stays taken until the sensor ends.
                self.running += 1;
                self.observers.transition(Transition {
                    node: spec,
                    map_index,
                    state: TaskState::Running,
                    try_number,
                    error: None,
                    attempt: None,
                    sensor,
                });
            }
            SensorMode::Reschedule => {
                n.state = TaskState::UpForReschedule;
                let facts = attempt(elapsed);
                self.observers.transition(Transition {
                    node: spec,
                    map_index,
                    state: TaskState::UpForReschedule,
                    try_number,
                    error: None,
                    attempt: Some(facts),
                    sensor,
                });
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
            .progress(n.spec, n.map_index, TaskState::Scheduled, n.try_number);
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
                r.visible(n.spec, n.map_index, try_number, n.started_ms);
            }
        }
        while let Some(Reverse((due, timer))) = self.timers.peek().copied() {
            if due > now {
                break;
            }
            self.timers.pop();
            match timer {
                Timer::DagRunTimeout => return Some(Stop::TimedOut(self.dagrun_timeout())),
                Timer::PokeDue { node, try_number } => {
                    let n = &mut self.nodes[node];
                    if n.try_number != try_number {
                        continue;
                    }
                    match n.state {
                        // Poke mode: in its slot still.
                        TaskState::Running if !n.body_running => self.held.push_back(node),
                        TaskState::UpForReschedule => {
                            n.state = TaskState::Scheduled;
                            self.active -= 1;
                            self.observers.progress(
                                n.spec,
                                n.map_index,
                                TaskState::Scheduled,
                                n.try_number,
                            );
                            self.ready.push_back(node);
                        }
                        _ => {}
                    }
                }
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
        self.held.clear();
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
        // Instances first: a mapped task ends after its instances, as in a run that finishes.
        for i in (0..self.nodes.len()).rev() {
            let n = &mut self.nodes[i];
            if !n.instances.is_empty() && n.state == TaskState::Running {
                n.state = end_state;
                n.error = Some(message.clone());
                let (spec, try_number) = (n.spec, n.try_number);
                self.observers.transition(Transition {
                    node: spec,
                    map_index: None,
                    state: end_state,
                    try_number,
                    error: Some(message.clone()),
                    attempt: None,
                    sensor: None,
                });
                continue;
            }
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
                TaskState::UpForReschedule if end_state == TaskState::Skipped => None,
                // A sensor waiting between pokes is not running: like a task not started, it
                // stays as it is, so its record keeps `up_for_reschedule` and a resume of the
                // run waits on with the clock of its first poke.
                TaskState::UpForReschedule => {
                    self.active -= 1;
                    continue;
                }
                _ => continue,
            };
            if matches!(
                n.state,
                TaskState::Running | TaskState::UpForRetry | TaskState::UpForReschedule
            ) {
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
            let (spec, map_index, try_number) = (n.spec, n.map_index, n.try_number);
            self.observers.transition(Transition {
                node: spec,
                map_index,
                state: end_state,
                try_number,
                error: Some(message.clone()),
                attempt,
                sensor: None,
            });
        }
    }

    /// A short-circuit task (node `i` of the DAG) that returned `false`: every task downstream
    /// of it ends `skipped`, whatever its trigger rule.
    fn short_circuit(&mut self, i: usize) {
        let node = &self.spec.nodes[i];
        if !node.task.short_circuit {
            return;
        }
        let go_on = self.nodes[i]
            .output
            .as_deref()
            .and_then(|o| o.downcast_ref::<bool>())
            .copied()
            .unwrap_or(true);
        if go_on {
            return;
        }
        let why = format!("short-circuit task `{}` returned false", node.id);
        for d in self.spec.downstream_closure(&[i]) {
            if d != i && self.nodes[d].forced_skip.is_none() {
                self.nodes[d].forced_skip = Some(why.clone());
            }
        }
    }

    /// A branch task that succeeded: the arms its output does not match are skipped. Tasks that
    /// start an arm are skipped directly (Airflow skips a branch's unchosen direct
    /// downstreams); the rest of each arm follows by trigger rules.
    fn choose_branch(&mut self, i: usize) {
        let Some(branch) = self.spec.nodes[i].flow.branch else {
            return;
        };
        // A branch carried over by a resume without its output decides nothing again.
        let Some(output) = self.nodes[i].output.as_deref() else {
            return;
        };
        let chosen = (branch.choose)(output);
        let id = &self.spec.nodes[i].id;
        let why = match chosen.and_then(|k| branch.arms.get(k)) {
            Some(arm) => format!("branch `{id}` chose `{arm}`"),
            None => format!("branch `{id}` chose no arm"),
        };
        for k in 0..self.spec.nodes[i].downstream.len() {
            let d = self.spec.nodes[i].downstream[k];
            if let Some((b, arm)) = self.spec.nodes[d].flow.follows
                && b == i
                && Some(arm) != chosen
                && self.nodes[d].forced_skip.is_none()
            {
                self.nodes[d].forced_skip = Some(why.clone());
            }
        }
    }

    /// Task `i` reached a final state: its downstream learns of it, and the outputs it read
    /// are freed once every reader is done.
    fn finished(&mut self, i: usize) {
        if self.nodes[i].map_index.is_some() {
            return self.instance_finished(i);
        }
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
            map_index: None,
            state,
            try_number,
            error,
            attempt: None,
            sensor: None,
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
