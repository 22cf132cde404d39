//! Tracking commands as clap types: `experiments list`, `runs list|show|compare|delete|restore`,
//! `runs mark-stale`. The command line of a pipeline binary embeds [`TrackingCommand`]; [`run`]
//! executes one.
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

use std::collections::BTreeSet;
use std::io::Write;

use clap::{Args, Parser, Subcommand};
use comfy_table::Table;

use super::entities::{RunInfo, RunRecord};
use super::filter::{Filter, OrderBy, Target};
use super::search::ViewType;
use super::{TrackingError, TrackingStore};

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
    /// List runs of an experiment, optionally filtered and ordered (MLflow's search syntax).
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
    /// Mark runs deleted (they stay on disk and can be restored).
    Delete {
        /// Run ids.
        #[arg(required = true)]
        run_ids: Vec<String>,
    },
    /// Restore deleted runs.
    Restore {
        /// Run ids.
        #[arg(required = true)]
        run_ids: Vec<String>,
    },
    /// Mark FAILED the runs left RUNNING by processes that died (file store only).
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
        TrackingCommand::Runs(RunsCommand::List(args)) => {
            let exp = resolve_experiment(store, &args.experiment)?;
            let view = match args.view.as_str() {
                "deleted" => ViewType::DeletedOnly,
                "all" => ViewType::All,
                _ => ViewType::ActiveOnly,
            };
            let order: Vec<&str> = args.order_by.iter().map(String::as_str).collect();
            let runs =
                store.search_runs_view(&[&exp], &args.filter, &order, args.max_results, view)?;
            // Show a column for each metric, param and tag the filter or ordering mentions.
            let mut cols: Vec<Target> = Vec::new();
            let filter = Filter::parse(&args.filter)?;
            let targets = filter.clauses.iter().map(|c| c.target.clone()).chain(
                order
                    .iter()
                    .filter_map(|o| OrderBy::parse(o).ok())
                    .map(|o| o.target),
            );
            for t in targets {
                if matches!(t, Target::Metric(_) | Target::Param(_) | Target::Tag(_))
                    && !cols.contains(&t)
                {
                    cols.push(t);
                }
            }
            let mut header: Vec<String> = ["Run ID", "Name", "Status", "Started", "Duration"]
                .iter()
                .map(|s| s.to_string())
                .collect();
            header.extend(cols.iter().map(|t| t.to_string()));
            let mut t = table(header);
            for r in &runs {
                let mut row = info_row(&r.info);
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
            w(out, format!("{} run(s)", runs.len()))
        }
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
                store.delete_run(&id)?;
                w(out, format!("deleted run {id}"))?;
            }
            Ok(())
        }
        TrackingCommand::Runs(RunsCommand::Restore { run_ids }) => {
            for id in run_ids {
                store.restore_run(&id)?;
                w(out, format!("restored run {id}"))?;
            }
            Ok(())
        }
        TrackingCommand::Runs(RunsCommand::MarkStale { experiment }) => {
            let TrackingStore::File(fs) = store else {
                return Err(TrackingError::InvalidArgument {
                    what: "store",
                    value: "MLflow server".into(),
                    reason: "finding runs of dead processes needs the file store on this machine"
                        .into(),
                });
            };
            let exp = experiment
                .map(|e| resolve_experiment(store, &e))
                .transpose()?;
            let marked = fs.mark_stale_runs_failed(exp.as_deref())?;
            for id in &marked {
                w(out, format!("marked run {id} FAILED"))?;
            }
            w(out, format!("{} stale run(s)", marked.len()))
        }
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
