//! Tracking commands as clap types: `experiments list`, `runs list|show|compare|delete|restore`,
//! `runs mark-stale`. The command line of a pipeline binary embeds [`TrackingCommand`]; [`run`]
//! executes one.
//!
//! Runs nest: a DAG run's task runs, or any run started with `Run::start_child`, carry the tag
//! `mlflow.parentRunId`. `runs list` shows top-level runs unless `--all` is given (then with a
//! `Parent` column); `runs delete` and `runs restore` take the nested runs along.
//!
//! ```
//! use oxflow_runtime::tracking::cli::{TrackingCli, run_to};
//!
//! # let dir = tempfile::tempdir()?;
//! let uri = dir.path().display().to_string();
//! let cli = TrackingCli::from_args(["oxflow", "--tracking-uri", &uri, "experiments", "list"])?;
//! let mut out = Vec::new();
//! run_to(cli, &mut out)?;
//! assert!(String::from_utf8(out)?.contains("Default"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeSet, HashSet};
use std::io::Write;

use clap::{Args, Parser, Subcommand};
use comfy_table::Table;

use super::entities::{RunInfo, RunRecord};
use super::filter::{Filter, OrderBy, Target};
use super::matching::{MAX_SEARCH_RESULTS, ViewType};
use super::{TAG_PARENT_RUN_ID, TrackingError, TrackingStore};

/// The tracking commands with the store option, as a standalone parser.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "oxflow",
    about = "Inspect experiments and runs in a tracking store"
)]
pub struct TrackingCli {
    /// The store: a directory, `file://` URI or `http(s)://` MLflow server.
    /// Default: OXFLOW_TRACKING_URI, then MLFLOW_TRACKING_URI, then ./mlruns.
    #[arg(long, global = true)]
    pub tracking_uri: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: TrackingCommand,
}

impl TrackingCli {
    /// Parses arguments (the first is the program name), as clap's `try_parse_from` does.
    pub fn from_args<I, T>(args: I) -> Result<TrackingCli, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        TrackingCli::try_parse_from(args)
    }
}

/// `experiments ...` or `runs ...`.
#[derive(Subcommand, Debug, Clone)]
pub enum TrackingCommand {
    /// Experiments in the store.
    #[command(subcommand)]
    Experiments(ExperimentsCommand),
    /// Runs of an experiment.
    #[command(subcommand)]
    Runs(RunsCommand),
}

/// `experiments ...`.
#[derive(Subcommand, Debug, Clone)]
pub enum ExperimentsCommand {
    /// List experiments.
    List {
        /// Include deleted experiments.
        #[arg(long)]
        all: bool,
    },
}

/// `runs ...`.
#[derive(Subcommand, Debug, Clone)]
pub enum RunsCommand {
    /// List the top-level runs of an experiment (DAG runs, not their task runs; `--all` for
    /// every run), optionally filtered and ordered (MLflow's search syntax).
    List(RunsListArgs),
    /// Show one run: attributes, params, latest metrics, tags, artifacts.
    Show {
        /// The run id.
        run_id: String,
    },
    /// Params and latest metrics of several runs side by side; differing rows are marked `*`.
    Compare {
        /// Two or more run ids.
        #[arg(required = true, num_args = 2..)]
        run_ids: Vec<String>,
    },
    /// Mark runs deleted, with the runs nested under them (a DAG run's task runs); they stay
    /// in the store and `runs restore` brings them back.
    Delete {
        /// Run ids.
        #[arg(required = true)]
        run_ids: Vec<String>,
    },
    /// Restore deleted runs, with the deleted runs nested under them.
    Restore {
        /// Run ids.
        #[arg(required = true)]
        run_ids: Vec<String>,
    },
    /// Mark FAILED the runs left RUNNING by processes on this machine that died.
    MarkStale {
        /// Only this experiment (name or id).
        #[arg(long)]
        experiment: Option<String>,
    },
}

/// Options of `runs list`.
#[derive(Args, Debug, Clone)]
pub struct RunsListArgs {
    /// Experiment name or id.
    #[arg(long, short = 'e')]
    pub experiment: String,
    /// Filter, e.g. "metrics.acc > 0.5 and params.opt = 'adam'".
    #[arg(long, short = 'f', default_value = "")]
    pub filter: String,
    /// Order, e.g. "metrics.acc DESC"; repeat for more keys.
    #[arg(long = "order-by", short = 'o')]
    pub order_by: Vec<String>,
    /// Most runs to list.
    #[arg(long, default_value_t = 100)]
    pub max_results: usize,
    /// Which runs: active (default), deleted or all.
    #[arg(long, default_value = "active", value_parser = ["active", "deleted", "all"])]
    pub view: String,
    /// List nested runs too (a DAG run's task runs, child runs), with their parent; by default
    /// only top-level runs are listed.
    #[arg(long, visible_alias = "nested")]
    pub all: bool,
}

/// Parses the process arguments as [`TrackingCli`], runs the command, prints errors to stderr
/// and returns the exit code: what a standalone `oxflow` binary's `main` needs.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     oxflow_runtime::tracking::cli::main()
/// }
/// ```
pub fn main() -> std::process::ExitCode {
    match run(TrackingCli::parse()) {
        Ok(()) => crate::cli::Exit::Success.into(),
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e}");
            crate::cli::Exit::Error.into()
        }
    }
}

/// Runs a tracking command, printing to stdout (a closed pipe ends the output quietly).
pub fn run(cli: TrackingCli) -> Result<(), TrackingError> {
    run_to(
        cli,
        &mut crate::cli::QuietPipe::new(std::io::stdout().lock()),
    )
}

/// Runs a tracking command, printing to `out`.
pub fn run_to(cli: TrackingCli, out: &mut dyn Write) -> Result<(), TrackingError> {
    let store = match &cli.tracking_uri {
        Some(uri) => TrackingStore::open_uri(uri)?,
        None => TrackingStore::from_env()?,
    };
    execute(&store, cli.command, out)
}

fn w(out: &mut dyn Write, text: impl std::fmt::Display) -> Result<(), TrackingError> {
    writeln!(out, "{text}").map_err(|e| TrackingError::io("write", "<output>", e))
}

fn table(header: Vec<String>) -> Table {
    crate::cli::table(header)
}

/// Runs a command against an open store.
pub fn execute(
    store: &TrackingStore,
    cmd: TrackingCommand,
    out: &mut dyn Write,
) -> Result<(), TrackingError> {
    match cmd {
        TrackingCommand::Experiments(ExperimentsCommand::List { all }) => {
            let mut t = table(vec![
                "ID".into(),
                "Name".into(),
                "Stage".into(),
                "Created".into(),
            ]);
            for e in store.list_experiments(all)? {
                t.add_row(vec![
                    e.experiment_id,
                    e.name,
                    e.lifecycle_stage,
                    e.creation_time_ms.map(fmt_time).unwrap_or_default(),
                ]);
            }
            w(out, t)
        }
        TrackingCommand::Runs(RunsCommand::List(args)) => list_runs(store, &args, out),
        TrackingCommand::Runs(RunsCommand::Show { run_id }) => {
            let r = store.get_run(&run_id)?;
            let mut t = table(vec!["Attribute".into(), "Value".into()]);
            let i = &r.info;
            for (k, v) in [
                ("run_id", i.run_id.clone()),
                ("name", i.run_name.clone()),
                ("experiment_id", i.experiment_id.clone()),
                ("status", i.status.to_string()),
                ("started", fmt_time(i.start_time_ms)),
                ("ended", i.end_time_ms.map(fmt_time).unwrap_or_default()),
                ("duration", duration(i)),
                ("user", i.user_id.clone()),
                ("lifecycle_stage", i.lifecycle_stage.clone()),
                ("artifact_uri", i.artifact_uri.clone()),
            ] {
                t.add_row(vec![k.to_string(), v]);
            }
            w(out, t)?;
            let section = |title: &str, rows: Vec<(String, String)>, out: &mut dyn Write| {
                if rows.is_empty() {
                    return Ok(());
                }
                let mut t = table(vec![title.to_string(), "Value".into()]);
                for (k, v) in rows {
                    t.add_row(vec![k, v]);
                }
                w(out, t)
            };
            section("Param", r.params.clone().into_iter().collect(), out)?;
            section(
                "Metric (latest)",
                r.metrics
                    .iter()
                    .map(|(k, m)| (k.clone(), format!("{} (step {})", fmt_num(m.value), m.step)))
                    .collect(),
                out,
            )?;
            section("Tag", r.tags.clone().into_iter().collect(), out)?;
            section(
                "Dataset (digest)",
                r.inputs
                    .iter()
                    .map(|i| {
                        (
                            format!("{} ({})", i.dataset.name, i.dataset.digest),
                            i.context().unwrap_or_default().to_string(),
                        )
                    })
                    .collect(),
                out,
            )?;
            let arts = store.list_artifacts(&run_id, "")?;
            section(
                "Artifact",
                arts.into_iter()
                    .map(|a| {
                        (
                            a.path,
                            if a.is_dir {
                                "dir".into()
                            } else {
                                format!("{} bytes", a.file_size.unwrap_or(0))
                            },
                        )
                    })
                    .collect(),
                out,
            )
        }
        TrackingCommand::Runs(RunsCommand::Compare { run_ids }) => {
            let runs = run_ids
                .iter()
                .map(|id| store.get_run(id))
                .collect::<Result<Vec<RunRecord>, _>>()?;
            w(out, compare_table(&runs))
        }
        TrackingCommand::Runs(RunsCommand::Delete { run_ids }) => {
            for id in run_ids {
                let run = store.get_run(&id)?;
                let nested = delete_with_nested(store, &run.info)?;
                w(out, format!("deleted run {id}{}", nested_note(nested)))?;
            }
            Ok(())
        }
        TrackingCommand::Runs(RunsCommand::Restore { run_ids }) => {
            for id in run_ids {
                let run = store.get_run(&id)?;
                let nested = restore_with_nested(store, &run.info)?;
                w(out, format!("restored run {id}{}", nested_note(nested)))?;
            }
            Ok(())
        }
        TrackingCommand::Runs(RunsCommand::MarkStale { experiment }) => {
            let exp = experiment
                .map(|e| resolve_experiment(store, &e))
                .transpose()?;
            let marked = store.mark_stale_runs_failed(exp.as_deref())?;
            for id in &marked {
                w(out, format!("marked run {id} FAILED"))?;
            }
            w(out, format!("{} stale run(s)", marked.len()))
        }
    }
}

/// The filter that keeps top-level runs (no parent) out of a user's filter.
const TOP_LEVEL: &str = "tags.mlflow.parentRunId IS NULL";

/// `user` and `clause`, both MLflow filters (a conjunction of comparisons, so `and` joins them).
fn and(user: &str, clause: &str) -> String {
    if user.trim().is_empty() {
        clause.to_string()
    } else {
        format!("{user} and {clause}")
    }
}

/// `runs list`: top-level runs unless `--all`, with a column per metric, param and tag the filter
/// or ordering names.
fn list_runs(
    store: &TrackingStore,
    args: &RunsListArgs,
    out: &mut dyn Write,
) -> Result<(), TrackingError> {
    // Check what the user wrote first, so an error quotes it, not the filter built from it.
    let filter = Filter::parse(&args.filter)?;
    let order_by = args
        .order_by
        .iter()
        .map(|o| OrderBy::parse(o))
        .collect::<Result<Vec<_>, _>>()?;
    let exp = resolve_experiment(store, &args.experiment)?;
    let view = match args.view.as_str() {
        "deleted" => ViewType::DeletedOnly,
        "all" => ViewType::All,
        _ => ViewType::ActiveOnly,
    };
    let order: Vec<&str> = args.order_by.iter().map(String::as_str).collect();
    let search = if args.all {
        args.filter.clone()
    } else {
        and(&args.filter, TOP_LEVEL)
    };
    let runs = store.search_runs_view(&[&exp], &search, &order, args.max_results, view)?;
    // Show a column for each metric, param and tag the filter or ordering mentions.
    let mut cols: Vec<Target> = Vec::new();
    let targets = filter
        .clauses
        .iter()
        .map(|c| c.target.clone())
        .chain(order_by.into_iter().map(|o| o.target));
    for t in targets {
        if matches!(t, Target::Metric(_) | Target::Param(_) | Target::Tag(_)) && !cols.contains(&t)
        {
            cols.push(t);
        }
    }
    let mut header: Vec<String> = ["Run ID", "Name", "Status", "Started", "Duration"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if args.all {
        header.insert(2, "Parent".into());
    }
    header.extend(cols.iter().map(|t| t.to_string()));
    let mut t = table(header);
    for r in &runs {
        let mut row = info_row(&r.info);
        if args.all {
            row.insert(
                2,
                r.tags.get(TAG_PARENT_RUN_ID).cloned().unwrap_or_default(),
            );
        }
        for c in &cols {
            row.push(match c {
                Target::Metric(k) => r
                    .metrics
                    .get(k)
                    .map(|m| fmt_num(m.value))
                    .unwrap_or_default(),
                Target::Param(k) => r.params.get(k).cloned().unwrap_or_default(),
                Target::Tag(k) => r.tags.get(k).cloned().unwrap_or_default(),
                _ => String::new(),
            });
        }
        t.add_row(row);
    }
    w(out, t)?;
    if args.all {
        return w(out, format!("{} run(s)", runs.len()));
    }
    let nested = and(&args.filter, "tags.mlflow.parentRunId IS NOT NULL");
    let hidden = !store
        .search_runs_view(&[&exp], &nested, &[], 1, view)?
        .is_empty();
    w(
        out,
        format!(
            "{} run(s){}",
            runs.len(),
            if hidden {
                "; nested runs not listed: --all lists them"
            } else {
                ""
            }
        ),
    )
}

fn nested_note(n: usize) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(" and {n} nested run(s)")
    }
}

/// Deletes the runs nested under `parent` (depth first), then `parent`; returns how many nested
/// runs were deleted. Children go first so that an interrupted delete, run again, finishes the
/// job: the parent stays findable until its children are gone.
fn delete_with_nested(store: &TrackingStore, parent: &RunInfo) -> Result<usize, TrackingError> {
    let mut seen = HashSet::new();
    let n = delete_children(store, parent, &mut seen)?;
    store.delete_run(&parent.run_id)?;
    Ok(n)
}

fn delete_children(
    store: &TrackingStore,
    parent: &RunInfo,
    seen: &mut HashSet<String>,
) -> Result<usize, TrackingError> {
    let mut n = 0;
    // Each pass deletes what it found, so the next finds the rest, however many there are.
    loop {
        let children = children_of(store, parent, ViewType::ActiveOnly)?;
        if children.is_empty() {
            return Ok(n);
        }
        for c in children {
            still_changing(seen, &c.info.run_id, "delete")?;
            n += delete_children(store, &c.info, seen)?;
            store.delete_run(&c.info.run_id)?;
            n += 1;
        }
    }
}

/// Restores `parent`, then the deleted runs nested under it; returns how many nested runs
/// were restored.
fn restore_with_nested(store: &TrackingStore, parent: &RunInfo) -> Result<usize, TrackingError> {
    store.restore_run(&parent.run_id)?;
    let mut seen = HashSet::new();
    restore_children(store, parent, &mut seen)
}

fn restore_children(
    store: &TrackingStore,
    parent: &RunInfo,
    seen: &mut HashSet<String>,
) -> Result<usize, TrackingError> {
    let mut n = 0;
    loop {
        let children = children_of(store, parent, ViewType::DeletedOnly)?;
        if children.is_empty() {
            return Ok(n);
        }
        for c in children {
            still_changing(seen, &c.info.run_id, "restore")?;
            store.restore_run(&c.info.run_id)?;
            n += 1 + restore_children(store, &c.info, seen)?;
        }
    }
}

/// The runs whose parent is `parent`, in `view`.
fn children_of(
    store: &TrackingStore,
    parent: &RunInfo,
    view: ViewType,
) -> Result<Vec<RunRecord>, TrackingError> {
    let filter = format!(
        "tags.mlflow.parentRunId = '{}'",
        parent.run_id.replace('\\', "\\\\").replace('\'', "\\'")
    );
    store.search_runs_view(
        &[&parent.experiment_id],
        &filter,
        &[],
        MAX_SEARCH_RESULTS,
        view,
    )
}

/// A run met twice while walking nested runs means the store did not apply the change: stop
/// rather than loop.
fn still_changing(
    seen: &mut HashSet<String>,
    run_id: &str,
    action: &str,
) -> Result<(), TrackingError> {
    if seen.insert(run_id.to_string()) {
        Ok(())
    } else {
        Err(TrackingError::InvalidArgument {
            what: "run",
            value: run_id.to_string(),
            reason: format!(
                "the store still lists it after the {action}; nothing more was changed"
            ),
        })
    }
}

/// The params and latest metrics of several runs side by side, differing rows marked `*`.
pub fn compare_table(runs: &[RunRecord]) -> Table {
    let mut header = vec![String::new(), "Key".to_string()];
    header.extend(runs.iter().map(|r| {
        format!(
            "{} ({})",
            r.info.run_name,
            &r.info.run_id[..r.info.run_id.len().min(8)]
        )
    }));
    let mut t = table(header);
    let mut add =
        |kind: &str, keys: BTreeSet<&String>, get: &dyn Fn(&RunRecord, &str) -> Option<String>| {
            for k in keys {
                let vals: Vec<Option<String>> = runs.iter().map(|r| get(r, k)).collect();
                let differs = vals.iter().any(|v| v != &vals[0]);
                let mut row = vec![
                    if differs {
                        "*".to_string()
                    } else {
                        String::new()
                    },
                    format!("{kind}.{k}"),
                ];
                row.extend(vals.into_iter().map(|v| v.unwrap_or_else(|| "-".into())));
                t.add_row(row);
            }
        };
    add(
        "params",
        runs.iter().flat_map(|r| r.params.keys()).collect(),
        &|r, k| r.params.get(k).cloned(),
    );
    add(
        "metrics",
        runs.iter().flat_map(|r| r.metrics.keys()).collect(),
        &|r, k| r.metrics.get(k).map(|m| fmt_num(m.value)),
    );
    let mut status = vec![String::new(), "status".to_string()];
    status.extend(runs.iter().map(|r| r.info.status.to_string()));
    if runs.iter().any(|r| r.info.status != runs[0].info.status) {
        status[0] = "*".into();
    }
    t.add_row(status);
    t
}

fn resolve_experiment(store: &TrackingStore, name_or_id: &str) -> Result<String, TrackingError> {
    if let Some(e) = store.get_experiment_by_name(name_or_id)? {
        return Ok(e.experiment_id);
    }
    match store.get_experiment(name_or_id) {
        Ok(e) => Ok(e.experiment_id),
        Err(TrackingError::ExperimentNotFound { .. } | TrackingError::InvalidId { .. }) => {
            Err(TrackingError::ExperimentNotFound {
                experiment: name_or_id.to_string(),
            })
        }
        Err(e) => Err(e),
    }
}

fn info_row(i: &RunInfo) -> Vec<String> {
    vec![
        i.run_id.clone(),
        i.run_name.clone(),
        i.status.to_string(),
        fmt_time(i.start_time_ms),
        duration(i),
    ]
}

fn duration(i: &RunInfo) -> String {
    match i.end_time_ms {
        Some(end) if end >= i.start_time_ms => {
            let ms = (end - i.start_time_ms) as u64;
            humantime::format_duration(std::time::Duration::from_millis(ms)).to_string()
        }
        _ => String::new(),
    }
}

fn fmt_time(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

fn fmt_num(v: f64) -> String {
    super::fsutil::python_float_repr(v)
}
