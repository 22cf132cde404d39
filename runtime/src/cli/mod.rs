//! The command line every pipeline binary gets through `oxflow::main()`.
//!
//! ```text
//! my-pipelines list                         every DAG in the binary
//! my-pipelines show iris                    tasks, options, params
//! my-pipelines graph iris --format mermaid  the graph as Mermaid or DOT
//! my-pipelines run iris -P n_trees=200      run it, recorded in ./mlruns
//! my-pipelines run iris --resume <run id>   rerun what did not succeed
//! my-pipelines runs iris                    recent runs and their task states
//! my-pipelines logs <run id> train          a task's attempt logs
//! my-pipelines experiments list             the tracking store's experiments
//! my-pipelines runs list --experiment iris  runs, with --filter / --order-by as in MLflow
//! my-pipelines drift --reference a.csv --current b.csv   data drift report
//! ```
//!
//! The standalone `oxflow` binary runs the same command line. An experiment binary
//! (`#[experiment] fn train(..)`) gets its own, smaller one: [`run_experiment`].
//!
//! The store is `--tracking-uri`, else `OXFLOW_TRACKING_URI`, else `MLFLOW_TRACKING_URI`, else
//! `./mlruns`.

mod experiment;
mod progress;
mod show;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::dag::{self, GraphFormat};
use crate::exec::{self, DagRunState, RunConfig};
use crate::params::parse_override;
use crate::tracking::TrackingStore;
use crate::tracking::cli::TrackingCommand;

pub use experiment::run_experiment;

/// The pipeline command line.
#[derive(Debug, Parser)]
#[command(
    about = "oxflow: run and inspect pipelines, tracked runs and data drift",
    version
)]
pub struct Cli {
    /// Tracking store: a directory, a `file://` URI, or (for the tracking commands) an
    /// `http(s)://` MLflow server (default: OXFLOW_TRACKING_URI, then MLFLOW_TRACKING_URI, then
    /// ./mlruns).
    #[arg(long, global = true)]
    pub tracking_uri: Option<String>,
    /// Root of the task log tree (default: `logs/` beside the store).
    #[arg(long, global = true, env = "OXFLOW_LOG_DIR")]
    pub log_dir: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// A pipeline command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every DAG in this binary.
    List,
    /// Show a DAG's tasks, options and params.
    Show {
        /// The DAG id.
        dag: String,
    },
    /// Print a DAG's graph.
    Graph {
        /// The DAG id.
        dag: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "mermaid")]
        format: GraphFormat,
    },
    /// Run a DAG and record it in the tracking store.
    Run {
        /// The DAG id.
        dag: String,
        /// Override a param: `-P key=value` (repeatable).
        #[arg(short = 'P', long = "param", value_name = "KEY=VALUE")]
        params: Vec<String>,
        /// Continue an earlier run: rerun only the tasks that did not succeed, and their
        /// downstream, reusing stored outputs.
        #[arg(long, value_name = "RUN_ID")]
        resume: Option<String>,
        /// Override the DAG's `max_active_tasks`.
        #[arg(long)]
        max_active_tasks: Option<usize>,
        /// Run in memory: record nothing (no resume, no logs).
        #[arg(long, conflicts_with = "resume")]
        no_record: bool,
    },
    /// Recent runs of a DAG with their task states (`runs <dag>`), or a tracking command
    /// (`runs list --experiment X`, `runs show ID`, `runs compare ID ID..`, `runs delete ID`, ...).
    Runs(RunsArgs),
    /// Experiments in the tracking store.
    #[command(subcommand)]
    Experiments(crate::tracking::cli::ExperimentsCommand),
    /// Compare current data with reference data: per-column drift tests and dataset drift.
    Drift(crate::drift::cli::DriftArgs),
    /// Print the logs of a task in a DAG run, every attempt.
    Logs {
        /// The DAG run id.
        run_id: String,
        /// The task id.
        task: String,
    },
}

/// `runs <dag>` or `runs <tracking command>`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RunsArgs {
    /// A tracking command on runs.
    #[command(subcommand)]
    pub command: Option<crate::tracking::cli::RunsCommand>,
    /// The DAG whose recent runs to show.
    pub dag: Option<String>,
    /// How many DAG runs to show.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
}

/// A command that failed; printed as `error: ...` with exit code 1.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The DAG is unknown or invalid.
    #[error(transparent)]
    Dag(#[from] dag::DagError),
    /// Running failed before or while recording.
    #[error(transparent)]
    Exec(#[from] exec::ExecError),
    /// The store could not be read.
    #[error(transparent)]
    Tracking(#[from] crate::tracking::TrackingError),
    /// Logs could not be read.
    #[error(transparent)]
    Record(#[from] exec::RecordError),
    /// A `-P` override is malformed.
    #[error(transparent)]
    Param(#[from] crate::params::ParamError),
    /// Anything else, with its explanation.
    #[error("{0}")]
    Other(String),
}

fn tracking_command(uri: Option<&str>, cmd: TrackingCommand) -> Result<ExitCode, CliError> {
    let store = open_store(uri)?;
    crate::tracking::cli::execute(&store, cmd, &mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}

/// The store named by `--tracking-uri` or the environment: a directory, or an MLflow server.
fn open_store(uri: Option<&str>) -> Result<TrackingStore, CliError> {
    Ok(match uri {
        Some(u) => TrackingStore::open_uri(u)?,
        None => TrackingStore::from_env()?,
    })
}

/// Parses the process's arguments, runs the command and exits with its code.
pub fn main() {
    let cli = Cli::parse();
    let code = run_cli(cli);
    std::process::exit(code_number(code));
}

fn code_number(code: ExitCode) -> i32 {
    if code == ExitCode::SUCCESS {
        0
    } else if code == ExitCode::from(130) {
        130
    } else {
        1
    }
}

/// Runs a parsed command line; returns the process exit code (0 success, 1 failure, 130
/// interrupted; `drift` returns 1 for drift found with `--fail-on-drift` and 2 for errors).
/// Errors are printed to stderr.
pub fn run_cli(cli: Cli) -> ExitCode {
    match dispatch(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::List => {
            print!("{}", show::list(&dag::registered()));
            Ok(ExitCode::SUCCESS)
        }
        Command::Show { dag } => {
            let spec = dag::find(&dag)?.spec()?;
            print!("{}", show::show(&spec));
            Ok(ExitCode::SUCCESS)
        }
        Command::Graph { dag, format } => {
            let spec = dag::find(&dag)?.spec()?;
            print!("{}", spec.render(format));
            Ok(ExitCode::SUCCESS)
        }
        Command::Run {
            dag,
            params,
            resume,
            max_active_tasks,
            no_record,
        } => {
            let spec = dag::find(&dag)?.spec()?;
            let mut cfg = RunConfig::in_memory();
            for p in &params {
                cfg.params.push(parse_override(p)?);
            }
            // Bad params are rejected before the store is touched.
            exec::resolve_params(spec.def, &cfg.params)?;
            if !no_record {
                // Opening checks the store is writable, before any task runs.
                cfg.store = Some(open_store(cli.tracking_uri.as_deref())?);
                cfg.log_root = cli.log_dir;
            }
            cfg.resume = resume;
            cfg.max_active_tasks = max_active_tasks;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| CliError::Other(format!("cannot start the tokio runtime: {e}")))?;
            let display = progress::Progress::new(&spec);
            let events = display.clone();
            cfg = cfg.on_event(move |e| events.event(e)).cancel_on(async {
                if tokio::signal::ctrl_c().await.is_err() {
                    std::future::pending::<()>().await
                }
            });
            let report = runtime.block_on(exec::execute(&spec, cfg));
            // A sync task killed by Ctrl-C may still be running on a blocking thread: do not
            // wait for it; the run is already recorded as KILLED.
            runtime.shutdown_background();
            let report = report?;
            display.finish(&report);
            Ok(match report.state {
                DagRunState::Success => ExitCode::SUCCESS,
                DagRunState::Failed => ExitCode::FAILURE,
                DagRunState::Killed => ExitCode::from(130),
            })
        }
        Command::Runs(RunsArgs { command: Some(cmd), .. }) => {
            tracking_command(cli.tracking_uri.as_deref(), TrackingCommand::Runs(cmd))
        }
        Command::Runs(RunsArgs { dag: Some(dag), limit, .. }) => {
            let def = dag::find(&dag)?;
            let store = open_store(cli.tracking_uri.as_deref())?;
            print!("{}", show::runs(&store, def, limit)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Runs(RunsArgs { .. }) => Err(CliError::Other(
            "`runs` needs a DAG id (`runs <dag>`) or a command (`runs list --experiment X`, `runs show ID`, ...)"
                .into(),
        )),
        Command::Experiments(cmd) => {
            tracking_command(cli.tracking_uri.as_deref(), TrackingCommand::Experiments(cmd))
        }
        // `drift` keeps its own exit codes: 1 means drift found (with --fail-on-drift), 2 an error.
        Command::Drift(args) => Ok(crate::drift::cli::run(&args).unwrap_or_else(|e| {
            eprintln!("error: {e}");
            ExitCode::from(2)
        })),
        Command::Logs { run_id, task } => {
            let store = open_store(cli.tracking_uri.as_deref())?;
            print!(
                "{}",
                exec::load_task_log(&store, cli.log_dir.as_deref(), &run_id, &task)?
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
