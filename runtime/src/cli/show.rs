//! Text for `list`, `show` and `runs`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::dag::{DagDef, DagSpec};
use crate::exec::{TAG_DAG, TAG_MAP_INDEX, TAG_STATE, TAG_TASK_ID, TAG_TRY_NUMBER};
use crate::schedule::{TAG_LOGICAL_DATE, TAG_RUN_TYPE};
use crate::tracking::{TAG_PARENT_RUN_ID, TrackingError, TrackingStore};

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

pub(crate) fn list(dags: &[&'static DagDef]) -> String {
    if dags.is_empty() {
        return "this binary defines no DAGs\n".to_owned();
    }
    let mut t = super::table(["dag", "tasks", "schedule", "description"]);
    for d in dags {
        t.add_row([
            d.id.to_owned(),
            d.nodes.len().to_string(),
            d.schedule.unwrap_or("-").to_owned(),
            first_line(d.description).to_owned(),
        ]);
    }
    format!("{t}\n")
}

fn duration(d: Option<std::time::Duration>) -> String {
    d.map_or_else(
        || "-".to_owned(),
        |d| humantime::format_duration(d).to_string(),
    )
}

pub(crate) fn show(spec: &DagSpec) -> String {
    let d = spec.def;
    let mut out = String::new();
    let _ = writeln!(out, "dag: {}", d.id);
    if !d.description.is_empty() {
        let _ = writeln!(out, "description: {}", d.description);
    }
    let _ = writeln!(out, "schedule: {}", d.schedule.unwrap_or("none"));
    if d.schedule.is_some() {
        let o = &d.scheduling;
        let _ = writeln!(
            out,
            "start date: {}; catchup: {}; max active runs: {}; overlap: {}",
            o.start()
                .map_or_else(|| "none".to_owned(), crate::schedule::format_time),
            o.catchup,
            o.max_active_runs,
            o.overlap
        );
    }
    if !d.tags.is_empty() {
        let _ = writeln!(out, "tags: {}", d.tags.join(", "));
    }
    let _ = writeln!(
        out,
        "max active tasks: {}",
        d.max_active_tasks
            .map_or_else(|| "unlimited".to_owned(), |n| n.to_string())
    );
    let _ = writeln!(out, "defined at: {}:{}", d.file, d.line);
    let mut t = super::table([
        "task",
        "inputs",
        "after",
        "flow",
        "output",
        "retries",
        "retry delay",
        "timeout",
        "trigger",
        "persist",
    ]);
    for (i, n) in spec.nodes.iter().enumerate() {
        let inputs: Vec<String> = n
            .inputs
            .iter()
            .enumerate()
            .map(|(k, input)| {
                let name = n.task.inputs.get(k).map_or("?", |p| p.name);
                let from = &spec.nodes[input.node].id;
                match input.element {
                    Some(e) => format!("{name} <- {from}.{e}"),
                    None => format!("{name} <- {from}"),
                }
            })
            .collect();
        let after: Vec<&str> = d.nodes[i]
            .after
            .iter()
            .map(|&a| spec.nodes[a].id.as_str())
            .collect();
        let mut flow = Vec::new();
        if let Some(g) = n.flow.group {
            let prefix = d.group_prefix(Some(g));
            flow.push(format!("group {}", prefix.trim_end_matches('.')));
        }
        if let Some(b) = n.flow.branch {
            flow.push(format!("branch: {}", b.arms.join(" | ")));
        }
        if let Some((b, arm)) = n.flow.follows {
            let pattern = spec.nodes[b]
                .flow
                .branch
                .and_then(|br| br.arms.get(arm))
                .copied()
                .unwrap_or("?");
            flow.push(format!("when {} = {pattern}", spec.nodes[b].id));
        }
        if let Some(m) = n.flow.map {
            let name = n.task.inputs.get(m.input).map_or("?", |p| p.name);
            flow.push(format!("mapped over {name}"));
        }
        if n.flow.join {
            flow.push("join".to_owned());
        }
        if n.task.short_circuit {
            flow.push("short-circuit".to_owned());
        }
        if let Some(s) = n.task.sensor {
            let mut line = format!(
                "sensor ({}): poke every {}{}, timeout {}",
                s.mode,
                humantime::format_duration(s.poke_interval),
                if s.exponential_backoff {
                    match s.max_wait {
                        Some(m) => format!(" x2 (max {})", humantime::format_duration(m)),
                        None => " x2".to_owned(),
                    }
                } else {
                    String::new()
                },
                humantime::format_duration(s.timeout)
            );
            if s.soft_fail {
                line.push_str(", soft_fail");
            }
            flow.push(line);
        }
        let o = &n.options;
        let delay = if o.retries > 0 {
            let mut s = humantime::format_duration(o.retry_delay).to_string();
            if o.backoff != 1.0 {
                s.push_str(&format!(" x{}", o.backoff));
            }
            if let Some(m) = o.max_retry_delay {
                s.push_str(&format!(" (max {})", humantime::format_duration(m)));
            }
            s
        } else {
            "-".to_owned()
        };
        t.add_row([
            n.id.clone(),
            inputs.join("\n"),
            after.join(", "),
            flow.join("\n"),
            match n.flow.map {
                Some(_) => format!("Vec<{}>", n.task.output_type),
                None => n.task.output_type.to_owned(),
            },
            o.retries.to_string(),
            delay,
            duration(o.timeout),
            o.trigger.to_string(),
            o.persist.to_string(),
        ]);
    }
    let _ = writeln!(out, "{t}");
    if let Some(p) = d.params {
        let mut pt = super::table(["param", "type", "default", "range", "help"]);
        for s in (p.schema)() {
            pt.add_row([
                s.name,
                s.type_name,
                s.default.unwrap_or("-"),
                s.range.unwrap_or("-"),
                s.help,
            ]);
        }
        let _ = writeln!(out, "params ({}):\n{pt}", (p.type_name)());
    }
    out
}

pub(crate) fn runs(
    store: &TrackingStore,
    def: &DagDef,
    limit: usize,
) -> Result<String, TrackingError> {
    let Some(exp) = store.get_experiment_by_name(def.id)? else {
        return Ok(format!(
            "dag `{}` has no recorded runs in this store
",
            def.id
        ));
    };
    let records = store.search_runs(&[&exp.experiment_id], "", &[], 50_000)?;
    let mut dag_runs = Vec::new();
    let mut tasks: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
    for r in &records {
        match r.tags.get(TAG_PARENT_RUN_ID) {
            Some(parent) => {
                if let Some(task) = r.tags.get(TAG_TASK_ID) {
                    let state = r.tags.get(TAG_STATE).cloned().unwrap_or_default();
                    // An instance of a mapped task shows as `task[k]`, after its task.
                    let task = match r.tags.get(TAG_MAP_INDEX) {
                        Some(k) => format!("{task}[{k}]"),
                        None => task.clone(),
                    };
                    let mut tries = r.tags.get(TAG_TRY_NUMBER).cloned().unwrap_or_default();
                    // A sensor's wait: its pokes so far, and its next poke while it waits.
                    if let Some(pokes) = r.tags.get(crate::exec::TAG_SENSOR_POKES) {
                        tries.push_str(&format!(", {pokes} not ready"));
                        if let Some(next) = r.tags.get(crate::exec::TAG_SENSOR_NEXT_POKE) {
                            tries.push_str(&format!(", next poke {next}"));
                        }
                    }
                    tasks
                        .entry(parent.clone())
                        .or_default()
                        .push((task, state, tries));
                }
            }
            None if r.tags.get(TAG_DAG).map(String::as_str) == Some(def.id) => dag_runs.push(r),
            None => {}
        }
    }
    if dag_runs.is_empty() {
        return Ok(format!(
            "{}dag `{}` has no recorded runs in this store\n",
            schedule_line(def, &exp),
            def.id
        ));
    }
    let mut t = super::table([
        "run id",
        "type",
        "logical date",
        "started",
        "duration",
        "state",
        "tasks",
    ]);
    for r in dag_runs.into_iter().take(limit) {
        let started = std::time::UNIX_EPOCH
            + std::time::Duration::from_millis(r.info.start_time_ms.max(0) as u64);
        let took = r
            .info
            .end_time_ms
            .map(|e| std::time::Duration::from_millis((e - r.info.start_time_ms).max(0) as u64));
        let mut task_states = tasks.remove(&r.info.run_id).unwrap_or_default();
        // Show tasks in the DAG's order.
        let order: BTreeMap<String, usize> = def
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let id = n.id.unwrap_or(n.task.name);
                (format!("{}{id}", def.group_prefix(n.flow.group)), i)
            })
            .collect();
        task_states.sort_by_key(|(id, _, _)| {
            let (task, index) = match id.split_once('[') {
                Some((task, rest)) => (task, rest.trim_end_matches(']').parse().ok()),
                None => (id.as_str(), None),
            };
            let at = order.get(task).copied().unwrap_or(usize::MAX);
            (at, index.map_or(0, |k: usize| k + 1))
        });
        let cell = if task_states.len() <= 12 {
            task_states
                .iter()
                .map(|(id, state, tries)| format!("{id}: {state} (try {tries})"))
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for (_, s, _) in &task_states {
                *counts.entry(s.as_str()).or_default() += 1;
            }
            counts
                .iter()
                .map(|(s, n)| format!("{s}: {n}"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let tag = |k: &str| r.tags.get(k).cloned();
        t.add_row([
            r.info.run_id.clone(),
            tag(TAG_RUN_TYPE).unwrap_or_else(|| "manual".to_owned()),
            tag(TAG_LOGICAL_DATE).unwrap_or_else(|| "-".to_owned()),
            humantime::format_rfc3339_seconds(started).to_string(),
            duration(took),
            r.tags
                .get(TAG_STATE)
                .cloned()
                .unwrap_or_else(|| r.info.status.to_string()),
            cell,
        ]);
    }
    Ok(format!("{}{t}\n", schedule_line(def, &exp)))
}

/// The DAG's schedule state, above its runs: paused or not, the latest interval taken.
fn schedule_line(def: &DagDef, exp: &crate::tracking::Experiment) -> String {
    let Some(schedule) = def.schedule else {
        return String::new();
    };
    let paused = exp
        .tags
        .get(crate::schedule::state::TAG_PAUSED)
        .is_some_and(|v| v == "true");
    let last = exp
        .tags
        .get(crate::schedule::state::TAG_LAST_INTERVAL_END)
        .map_or_else(|| "none yet".to_owned(), Clone::clone);
    format!(
        "schedule: {schedule}{}; latest scheduled interval ends {last}\n",
        if paused { " (paused)" } else { "" }
    )
}

/// What `backfill` did: one line per interval.
pub(crate) fn backfill(report: &crate::schedule::BackfillReport) -> String {
    if report.ran.is_empty() && report.kept.is_empty() {
        return "no interval of the DAG's schedule has its logical date in that range\n".to_owned();
    }
    let mut t = super::table(["logical date", "data interval end", "run"]);
    let mut rows: Vec<(crate::schedule::DataInterval, String)> = report
        .ran
        .iter()
        .map(|(i, s)| {
            (
                *i,
                s.map_or_else(
                    || "not recorded (see the warning)".to_owned(),
                    |s| s.to_string(),
                ),
            )
        })
        .chain(
            report
                .kept
                .iter()
                .map(|(i, s)| (*i, format!("kept: already {s}"))),
        )
        .collect();
    rows.sort_by_key(|(i, _)| *i);
    for (i, what) in rows {
        t.add_row([
            crate::schedule::format_time(i.start),
            crate::schedule::format_time(i.end),
            what,
        ]);
    }
    format!("{t}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dag::{DagAlerts, TaskOptions};
    use crate::schedule::ScheduleOptions;
    use crate::tracking::RunOptions;

    static WAITS: DagDef = DagDef {
        id: "waits",
        description: "",
        schedule: None,
        scheduling: ScheduleOptions::DEFAULT,
        tags: &[],
        max_active_tasks: None,
        dagrun_timeout: None,
        defaults: TaskOptions::EMPTY,
        params: None,
        nodes: &[],
        groups: &[],
        max_map_length: None,
        alerts: DagAlerts::NONE,
        file: "src/main.rs",
        line: 1,
    };

    static LANDED: crate::task::TaskDef = crate::task::TaskDef {
        name: "landed",
        options: TaskOptions::EMPTY,
        inputs: &[],
        output_type: "Vec<PathBuf>",
        is_async: false,
        invoke: |_| Box::pin(async { Err(crate::task::TaskError::NotReady) }),
        codec: None,
        params_type: None,
        short_circuit: false,
        conns: &[],
        sensor: Some(crate::sensor::SensorDef {
            poke_interval: std::time::Duration::from_secs(30),
            timeout: std::time::Duration::from_secs(3600),
            mode: crate::sensor::SensorMode::Reschedule,
            soft_fail: true,
            exponential_backoff: true,
            max_wait: Some(std::time::Duration::from_secs(600)),
        }),
    };

    static SENSED: DagDef = DagDef {
        id: "sensed",
        nodes: &[crate::dag::NodeDef {
            id: None,
            task: &LANDED,
            inputs: &[],
            after: &[],
            flow: crate::dag::NodeFlow::PLAIN,
        }],
        ..WAITS
    };

    #[test]
    fn show_and_graph_describe_a_sensor() {
        let spec = SENSED.spec().unwrap();
        let text = show(&spec);
        assert!(
            text.contains(
                "sensor (reschedule): poke every 30s x2 (max 10m), timeout 1h, soft_fail"
            ),
            "{text}"
        );
        let dot = spec.render(crate::dag::GraphFormat::Dot);
        assert!(dot.contains("landed [sensor: reschedule]"), "{dot}");
    }

    #[test]
    fn runs_shows_a_waiting_sensor_with_its_pokes_and_next_poke() {
        let store = TrackingStore::in_memory().unwrap();
        let exp = store.get_or_create_experiment("waits").unwrap();
        let tags = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect::<Vec<_>>()
        };
        let parent = store
            .create_run(
                &exp.experiment_id,
                RunOptions {
                    tags: tags(&[(TAG_DAG, "waits"), (TAG_STATE, "running")]),
                    ..Default::default()
                },
            )
            .unwrap();
        store
            .create_run(
                &exp.experiment_id,
                RunOptions {
                    tags: tags(&[
                        (TAG_TASK_ID, "landed"),
                        (TAG_STATE, "up_for_reschedule"),
                        (TAG_TRY_NUMBER, "1"),
                        (crate::exec::TAG_SENSOR_POKES, "3"),
                        (
                            crate::exec::TAG_SENSOR_NEXT_POKE,
                            "2026-03-01T00:01:30.000Z",
                        ),
                    ]),
                    parent_run_id: Some(parent.run_id.clone()),
                    ..Default::default()
                },
            )
            .unwrap();
        let text = runs(&store, &WAITS, 10).unwrap();
        assert!(
            text.contains(
                "landed: up_for_reschedule (try 1, 3 not ready, next poke 2026-03-01T00:01:30.000Z)"
            ),
            "{text}"
        );
    }
}
