//! The live display of a running DAG: an indicatif bar on a terminal, plain lines otherwise
//! (CI logs, pipes).

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::dag::DagSpec;
use crate::exec::{DagRunReport, ExecEvent, TaskState};

/// Shows a DAG run's progress; cheap to clone into the executor's event callback.
#[derive(Clone)]
pub(crate) struct Progress {
    inner: Arc<Inner>,
}

struct Inner {
    dag: String,
    bar: Option<ProgressBar>,
    running: Mutex<BTreeSet<String>>,
}

fn now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

impl Progress {
    pub(crate) fn new(spec: &DagSpec) -> Progress {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(spec.nodes.len() as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {prefix} [{bar:30}] {pos}/{len} {elapsed} {wide_msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_prefix(spec.def.id.to_owned());
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            inner: Arc::new(Inner {
                dag: spec.def.id.to_owned(),
                bar,
                running: Mutex::new(BTreeSet::new()),
            }),
        }
    }

    fn line(&self, text: String) {
        match &self.inner.bar {
            Some(bar) => bar.println(text),
            None => super::output::eprint_line(format_args!("{} {text}", now())),
        }
    }

    fn set_running_message(&self) {
        if let (Some(bar), Ok(running)) = (&self.inner.bar, self.inner.running.lock()) {
            let names: Vec<&str> = running.iter().map(String::as_str).take(6).collect();
            let more = running.len().saturating_sub(names.len());
            let mut msg = format!("running: {}", names.join(", "));
            if more > 0 {
                msg.push_str(&format!(" +{more}"));
            }
            bar.set_message(msg);
        }
    }

    pub(crate) fn event(&self, e: &ExecEvent) {
        match e {
            ExecEvent::Started {
                dag_run_id,
                tasks,
                reused,
            } => {
                if let Some(bar) = &self.inner.bar {
                    bar.set_position(*reused as u64);
                }
                let reused = if *reused > 0 {
                    format!(", {reused} reused from the earlier run")
                } else {
                    String::new()
                };
                self.line(format!(
                    "dag `{}` run {dag_run_id}: {tasks} tasks{reused}",
                    self.inner.dag
                ));
            }
            ExecEvent::Rerun { task, reason } => {
                self.line(format!("{task}: runs again: {reason}"));
            }
            // An instance of a mapped task: only what needs attention, the bar counts tasks.
            ExecEvent::Task {
                task,
                map_index: Some(k),
                state,
                try_number,
                error,
            } => match state {
                TaskState::UpForRetry => self.line(format!(
                    "{task}[{k}]: try {try_number} failed, will retry: {}",
                    error.as_deref().unwrap_or("")
                )),
                TaskState::Failed => self.line(format!(
                    "{task}[{k}]: failed after {try_number} tries: {}",
                    error.as_deref().unwrap_or("")
                )),
                _ => {}
            },
            ExecEvent::Task {
                task,
                map_index: None,
                state,
                try_number,
                error,
            } => {
                let mut finished = false;
                if let Ok(mut running) = self.inner.running.lock() {
                    if *state == TaskState::Running {
                        running.insert(task.clone());
                    } else {
                        finished = running.remove(task) || state.is_finished();
                    }
                }
                match state {
                    TaskState::Running => {
                        if self.inner.bar.is_none() {
                            self.line(format!("{task}: running (try {try_number})"));
                        }
                    }
                    TaskState::UpForRetry => self.line(format!(
                        "{task}: try {try_number} failed, will retry: {}",
                        error.as_deref().unwrap_or("")
                    )),
                    TaskState::Success => {
                        if self.inner.bar.is_none() {
                            self.line(format!("{task}: success (try {try_number})"));
                        }
                    }
                    TaskState::Failed => self.line(format!(
                        "{task}: failed after {try_number} tries: {}",
                        error.as_deref().unwrap_or("")
                    )),
                    TaskState::UpstreamFailed | TaskState::Skipped => {
                        let why = error
                            .as_deref()
                            .map(|e| format!(": {e}"))
                            .unwrap_or_default();
                        self.line(format!("{task}: {state}{why}"));
                    }
                    TaskState::UpForReschedule => {
                        if self.inner.bar.is_none() {
                            self.line(format!(
                                "{task}: not ready, up for reschedule (try {try_number})"
                            ));
                        }
                    }
                    TaskState::None | TaskState::Scheduled | TaskState::Queued => {}
                }
                if let Some(bar) = &self.inner.bar
                    && state.is_finished()
                    && finished
                {
                    bar.inc(1);
                }
                self.set_running_message();
            }
        }
    }

    /// Prints the task table and the run's one-line outcome on stdout.
    pub(crate) fn finish(&self, report: &DagRunReport) -> std::io::Result<()> {
        if let Some(bar) = &self.inner.bar {
            bar.finish_and_clear();
        }
        let mut table = super::table(["task", "state", "tries", "error"]);
        let interesting: Vec<_> = if report.tasks.len() > 40 {
            report
                .tasks
                .iter()
                .filter(|t| t.state != TaskState::Success)
                .collect()
        } else {
            report.tasks.iter().collect()
        };
        for t in &interesting {
            let state = if t.reused {
                format!("{} (reused)", t.state)
            } else {
                t.state.to_string()
            };
            let mut error = t.error.clone().unwrap_or_default();
            if error.len() > 100 {
                let mut end = 100;
                while !error.is_char_boundary(end) {
                    end -= 1;
                }
                error.truncate(end);
                error.push('…');
            }
            table.add_row([t.id.clone(), state, t.tries.to_string(), error]);
        }
        if !interesting.is_empty() {
            super::output::print_line(&table)?;
        }
        let succeeded = report
            .tasks
            .iter()
            .filter(|t| t.state == TaskState::Success)
            .count();
        super::output::print_line(format_args!(
            "dag `{}` run {}: {} in {:.3}s ({succeeded}/{} tasks succeeded)",
            report.dag_id,
            report.dag_run_id,
            report.state,
            report.duration.as_secs_f64(),
            report.tasks.len()
        ))
    }
}
