//! The command line every pipeline binary gets through `oxflow::main()`.
//!
//! ```text
//! my-pipelines list                         every DAG in the binary
//! my-pipelines show iris                    tasks, options, params
//! my-pipelines graph iris --format mermaid  the graph as Mermaid or DOT
//! my-pipelines run iris -P n_trees=200      run it, recorded in the tracking store
//! my-pipelines run iris --resume <run id>   rerun what did not succeed
//! my-pipelines runs iris                    recent runs and their task states
//! my-pipelines scheduler                    every scheduled DAG on its schedule, until Ctrl-C
//! my-pipelines backfill iris --start 2026-03-01 --end 2026-03-07   runs for a range of dates
//! my-pipelines pause iris                   no more scheduled runs (and `unpause`)
//! my-pipelines logs <run id> train          a task's attempt logs
//! my-pipelines experiments list             the tracking store's experiments
//! my-pipelines runs list --experiment iris  runs, with --filter / --order-by as in MLflow
//! my-pipelines drift --reference a.csv --current b.csv   data drift report
//! my-pipelines monitor init mon --webhook URL            Prometheus, alerts, Grafana setup
//! oxflow project run <dir | git URL> -e main -P alpha=0.3  an oxflow.ron or MLproject entry point
//! oxflow project rerun <run id>                           the same commit and parameters again
//! ```
//!
//! The standalone `oxflow` binary ([`Program::Standalone`]) runs the same command line without
//! DAGs of its own: its DAG commands say where pipelines live. An experiment binary
//! (`#[experiment] fn train(..)`) gets its own, smaller one: [`run_experiment`].
//!
//! The store is `--tracking-uri`, else `OXFLOW_TRACKING_URI`, else `MLFLOW_TRACKING_URI`, else
//! the default store in the working directory. Exit statuses are [`Exit`]'s; every command's
//! `--help` lists its own. Output goes through [`QuietPipe`], so `| head` ends it quietly.

mod exit;
mod experiment;
pub(crate) mod output;
mod progress;
mod show;
mod table;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, Ordering};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::dag::{self, GraphFormat};
use crate::exec::{self, DagRunState, RunConfig};
use crate::monitor::init::{HostPort, WebhookUrl};
use crate::params::parse_override;
use crate::telemetry::export::{ExportOptions, Exporter};
use crate::tracking::TrackingStore;
use crate::tracking::cli::TrackingCommand;

pub use exit::Exit;
pub use experiment::run_experiment;
pub use output::QuietPipe;
pub use table::table;

const TRACKING_URI_HELP: &str = "Tracking store: a directory or `file://` URI, or an `http(s)://` \
    MLflow server (default: OXFLOW_TRACKING_URI, then MLFLOW_TRACKING_URI, then the default store \
    in the working directory)";

const RUN_AFTER_HELP: &str = "\
The run is recorded in the tracking store (see --tracking-uri). Its last line of output is the
exact command that shows it in MLflow's UI; that command depends on the store (a local store
is opened with `mlflow ui`, an MLflow server shows it at its own URL).

Exit status:
  0    the DAG run succeeded
  1    the DAG run failed (a task ended failed or upstream_failed)
  2    error before the run: bad arguments or -P params, unknown DAG, a store that cannot be opened
  130  interrupted (Ctrl-C); the run is recorded as killed
  143  stopped by SIGTERM (`kill`, a container stopping); the run is recorded as killed";

const STANDALONE_ABOUT: &str = "oxflow: tracked runs and experiments, task logs and data drift";

const STANDALONE_LONG_ABOUT: &str = "\
oxflow: tracked runs and experiments, task logs and data drift

Pipelines live in your own binary: a crate whose `main` calls `oxflow::main()` gets this
command line with the DAGs it defines (`cargo run -- list`, `cargo run -- run <dag>`; in
oxflow's repository, `cargo run --example quickstart -- list`). This `oxflow` command defines
no DAGs: it reads what those binaries recorded (`runs`, `experiments`, `logs`) and compares
data (`drift`).";

/// Which binary runs the command line.
///
/// ```
/// use oxflow_runtime::cli::Program;
/// let help = Program::Standalone.command().render_long_help().to_string();
/// assert!(help.contains("oxflow::main()"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Program {
    /// A pipeline binary: its `main` calls `oxflow::main()` and it defines DAGs.
    #[default]
    Pipelines,
    /// The standalone `oxflow` command: tracking, logs and drift, no DAGs of its own.
    Standalone,
}

impl Program {
    /// The clap command: [`Cli`]'s, with the standalone binary's explanations where it
    /// differs.
    pub fn command(self) -> clap::Command {
        let cmd = Cli::command();
        match self {
            Program::Pipelines => cmd,
            Program::Standalone => {
                let mut cmd = cmd
                    .about(STANDALONE_ABOUT)
                    .long_about(STANDALONE_LONG_ABOUT);
                // The DAG commands stay listed, to say where they work.
                for (name, about) in [
                    (
                        "list",
                        "List DAGs: `cargo run -- list` in your pipeline binary",
                    ),
                    (
                        "show",
                        "Show a DAG: `cargo run -- show <dag>` in your pipeline binary",
                    ),
                    (
                        "graph",
                        "Print a graph: `cargo run -- graph <dag>` in your pipeline binary",
                    ),
                    (
                        "run",
                        "Run a DAG: `cargo run -- run <dag>` in your pipeline binary",
                    ),
                ] {
                    cmd = cmd.mut_subcommand(name, |c| c.about(about));
                }
                cmd
            }
        }
    }
}

/// The pipeline command line.
#[derive(Debug, Parser)]
#[command(
    name = "oxflow",
    about = "oxflow: run and inspect pipelines, tracked runs and data drift",
    version,
    after_help = exit::HELP
)]
pub struct Cli {
    #[arg(long, value_name = "URI", help = TRACKING_URI_HELP)]
    /// The tracking store, given before the command (`--tracking-uri X runs list`).
    pub tracking_uri: Option<String>,
    /// Root of the task log tree (default: `logs/` beside the store).
    #[arg(long, value_name = "DIR", env = "OXFLOW_LOG_DIR")]
    pub log_dir: Option<PathBuf>,
    /// A `connections.ron` holding the connections tasks declare, for those the environment
    /// (`OXFLOW_CONN_<ID>`) does not define.
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "OXFLOW_CONNECTIONS_FILE"
    )]
    pub connections: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--tracking-uri`, on the commands that use the tracking store (also accepted after them).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct StoreArgs {
    /// The tracking store.
    #[arg(long, global = true, value_name = "URI", help = TRACKING_URI_HELP)]
    pub tracking_uri: Option<String>,
}

/// `--log-dir`, on the commands that write or read task logs.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LogArgs {
    /// Root of the task log tree (default: `logs/` beside the store).
    #[arg(long, value_name = "DIR", env = "OXFLOW_LOG_DIR")]
    pub log_dir: Option<PathBuf>,
}

/// A pipeline command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every DAG in this binary.
    #[command(after_help = exit::QUERY_HELP)]
    List,
    /// Show a DAG's tasks, options and params.
    #[command(after_help = exit::QUERY_HELP)]
    Show {
        /// The DAG id.
        dag: String,
    },
    /// Print a DAG's graph.
    #[command(after_help = exit::QUERY_HELP)]
    Graph {
        /// The DAG id.
        dag: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "mermaid")]
        format: GraphFormat,
    },
    /// Run a DAG and record it in the tracking store.
    #[command(after_help = RUN_AFTER_HELP)]
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
        /// The tracking store.
        #[command(flatten)]
        store: StoreArgs,
        /// The task logs.
        #[command(flatten)]
        logs: LogArgs,
        /// Serve Prometheus metrics on this address while the run lasts (`/metrics`).
        #[arg(long, value_name = "HOST:PORT", env = "OXFLOW_METRICS_ADDR")]
        metrics_addr: Option<std::net::SocketAddr>,
        /// Push the run's metrics to this Pushgateway when it ends (job=<dag>,
        /// instance=<host>); a failed push is a warning, never a failed run.
        #[arg(long, value_name = "URL", env = "OXFLOW_PUSHGATEWAY")]
        pushgateway: Option<String>,
    },
    /// Run every scheduled DAG of this binary on its schedule, until Ctrl-C or SIGTERM.
    #[command(after_help = SCHEDULER_AFTER_HELP)]
    Scheduler {
        /// Schedule only these DAGs (repeatable; default: every DAG with a schedule).
        #[arg(long = "dag", value_name = "DAG")]
        dags: Vec<String>,
        /// After Ctrl-C or SIGTERM, how long running DAG runs may take to finish before they
        /// are stopped and recorded killed.
        #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = humantime::parse_duration)]
        grace: std::time::Duration,
        /// The tracking store, which also holds the schedule state.
        #[command(flatten)]
        store: StoreArgs,
        /// The task logs.
        #[command(flatten)]
        logs: LogArgs,
        /// Serve Prometheus metrics on this address while the scheduler runs (`/metrics`).
        #[arg(long, value_name = "HOST:PORT", env = "OXFLOW_METRICS_ADDR")]
        metrics_addr: Option<std::net::SocketAddr>,
    },
    /// Run a DAG for every interval whose logical date lies in a range (both ends included).
    #[command(after_help = BACKFILL_AFTER_HELP)]
    Backfill {
        /// The DAG id.
        dag: String,
        /// The first logical date: 2026-03-01, 2026-03-01T06:00:00 (UTC) or RFC 3339.
        #[arg(long, value_name = "DATE", value_parser = crate::schedule::parse_time)]
        start: chrono::DateTime<chrono::Utc>,
        /// The last logical date.
        #[arg(long, value_name = "DATE", value_parser = crate::schedule::parse_time)]
        end: chrono::DateTime<chrono::Utc>,
        /// Intervals that already have a run: run none of them again (default), the failed
        /// ones, or all of them (not one queued or running).
        #[arg(long, value_name = "none|failed|all", default_value = "none")]
        reprocess: crate::schedule::Reprocess,
        /// How many runs at once (default: the DAG's `max_active_runs`).
        #[arg(long, value_name = "N")]
        max_active_runs: Option<usize>,
        /// The tracking store.
        #[command(flatten)]
        store: StoreArgs,
        /// The task logs.
        #[command(flatten)]
        logs: LogArgs,
    },
    /// Pause a DAG: the scheduler starts no more runs of it (kept in the store).
    #[command(after_help = exit::QUERY_HELP)]
    Pause {
        /// The DAG id.
        dag: String,
        /// The tracking store.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Unpause a DAG.
    #[command(after_help = exit::QUERY_HELP)]
    Unpause {
        /// The DAG id.
        dag: String,
        /// The tracking store.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Recent runs of a DAG with their task states (`runs <dag>`), or a tracking command
    /// (`runs list --experiment X`, `runs show ID`, `runs compare ID ID..`, `runs delete ID`, ...).
    #[command(after_help = exit::QUERY_HELP)]
    Runs(RunsArgs),
    /// Experiments in the tracking store.
    #[command(after_help = exit::QUERY_HELP)]
    Experiments(ExperimentsArgs),
    /// The model registry: `models list`, `models show NAME`, `models register URI NAME`,
    /// `models stage NAME VERSION STAGE`, `models alias NAME ALIAS VERSION`, `models delete NAME`.
    #[command(after_help = exit::QUERY_HELP)]
    Models(ModelsArgs),
    /// Serve a model over HTTP with MLflow's scoring protocol (`/invocations`, `/ping`,
    /// `/health`, `/version`) and Prometheus metrics (`/metrics`).
    #[command(after_help = SERVE_AFTER_HELP)]
    Serve {
        /// What to serve, where, and the limits.
        #[command(flatten)]
        args: crate::serve::cli::ServeArgs,
        /// The tracking store holding the registry.
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Compare current data with reference data: per-column drift tests and dataset drift.
    #[command(after_help = exit::DRIFT_HELP)]
    Drift(crate::drift::cli::DriftArgs),
    /// Monitoring for this binary's DAGs: alert rules and their `promtool test rules` cases
    /// (`monitor rules`), or a whole Prometheus, Alertmanager, blackbox and Grafana setup
    /// (`monitor init DIR`).
    #[command(subcommand, after_help = exit::QUERY_HELP)]
    Monitor(MonitorCommand),
    /// Projects: run a pipeline by name with typed parameters from a directory or a git URL
    /// (`project run URI -e ENTRY -P k=v`), rerun a recorded one (`project rerun RUN_ID`), or
    /// write an oxflow.ron for this crate (`project init`). Reads oxflow.ron and MLflow's MLproject.
    #[command(subcommand)]
    Project(crate::project::cli::ProjectCommand),
    /// Print the logs of a task in a DAG run, every attempt.
    #[command(after_help = exit::QUERY_HELP)]
    Logs {
        /// The DAG run id.
        run_id: String,
        /// The task id.
        task: String,
        /// The tracking store.
        #[command(flatten)]
        store: StoreArgs,
        /// The task logs.
        #[command(flatten)]
        logs: LogArgs,
    },
}

const SCHEDULER_AFTER_HELP: &str = "\
Each run covers a data interval: a cron schedule's run for [start, end) starts at end, and its
logical date is start (tasks read both from TaskContext). The schedule state lives in the
tracking store, as tags on each DAG's experiment: a restarted scheduler neither repeats nor
loses an interval, and two schedulers on one SQLite or file store never both start one.

Exit status:
  0    stopped by Ctrl-C or SIGTERM (running runs finished, or were recorded killed after --grace)
  2    error: no scheduled DAG, a store that cannot be opened, an address in use";

const BACKFILL_AFTER_HELP: &str = "\
Examples:
  backfill nightly --start 2026-03-01 --end 2026-03-07
  backfill nightly --start 2026-03-01 --end 2026-03-07 --reprocess failed

Exit status:
  0    every run it started succeeded
  1    a run failed
  2    error: unknown DAG, a DAG without a schedule, bad dates, a store that cannot be opened
  130  interrupted (Ctrl-C); running runs are recorded as killed
  143  stopped by SIGTERM; running runs are recorded as killed";

const SERVE_AFTER_HELP: &str = "\
Examples:
  serve models:/house_price@champion --port 5000 --watch
  curl -X POST -H 'Content-Type: application/json' \\
       -d '{\"dataframe_records\": [{\"area\": 50.0}]}' http://127.0.0.1:5000/invocations

Exit status: 0 after Ctrl-C or SIGTERM (requests in flight finish first); 2 when the model cannot be loaded or the address is in use.";

/// `monitor ...`.
#[derive(Debug, Subcommand)]
pub enum MonitorCommand {
    /// Write alert rules for every DAG of this binary (a run failed; no success within N
    /// schedule intervals; a task retrying often), drift, scrape, probe and scoring-server
    /// rules, and unit tests that `promtool test rules` runs.
    Rules {
        /// The rule file to write.
        #[arg(long, value_name = "FILE", default_value = "alert_rules.yml")]
        out: PathBuf,
        /// The unit tests to write beside it.
        #[arg(long, value_name = "FILE", default_value = "alert_rules_test.yml")]
        tests: PathBuf,
        /// The thresholds.
        #[command(flatten)]
        rules: RuleArgs,
    },
    /// Write a working monitoring setup in DIR: prometheus.yml, alert rules and their tests,
    /// alertmanager.yml, blackbox.yml, and Grafana provisioning with dashboards for pipelines,
    /// serving and drift.
    Init(Box<InitArgs>),
}

/// The alert thresholds of `monitor rules` and `monitor init`.
#[derive(Debug, Clone, clap::Args)]
pub struct RuleArgs {
    /// A scheduled DAG alerts when it has not succeeded for this many schedule intervals.
    #[arg(long, value_name = "N", default_value_t = 2.0)]
    pub stale_after_intervals: f64,
    /// A task alerts when it retries more than this in a pushed run or within an hour.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub max_retries: u32,
    /// A scoring server alerts when more than this share of its requests answer 5xx over 5
    /// minutes (0.05: 5%).
    #[arg(long, value_name = "RATIO", default_value_t = 0.05)]
    pub max_error_ratio: f64,
    /// A scoring server alerts when its p99 latency over 5 minutes is above this.
    #[arg(long, value_name = "DURATION", default_value = "500ms", value_parser = humantime::parse_duration)]
    pub max_p99_latency: std::time::Duration,
    /// The registry whose models' own thresholds (tags `oxflow.alert.max_error_ratio` and
    /// `oxflow.alert.max_p99_latency`) replace the two above for them. Without it and
    /// without MLFLOW_TRACKING_URI, the default store is read only if it exists.
    #[command(flatten)]
    pub store: StoreArgs,
}

impl RuleArgs {
    /// The thresholds, with the registered models' own read from the store at `uri`.
    fn options(&self, uri: Option<String>) -> Result<crate::monitor::rules::RuleOptions, CliError> {
        let opts = crate::monitor::rules::RuleOptions {
            stale_after_intervals: self.stale_after_intervals,
            max_retries: self.max_retries,
            max_error_ratio: self.max_error_ratio,
            max_p99_latency: self.max_p99_latency,
            models: model_thresholds(uri)?,
        };
        opts.check().map_err(CliError::Other)?;
        Ok(opts)
    }
}

/// The registered models that carry their own alert thresholds. Writing rules never creates a
/// store: with no `--tracking-uri` and no tracking URI in the environment, the default store
/// is read only when it exists.
fn model_thresholds(
    uri: Option<String>,
) -> Result<Vec<crate::monitor::rules::ModelThresholds>, CliError> {
    use crate::tracking::{default_tracking_uri, tracking_uri_from_env};
    let from_env = ["OXFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI"]
        .iter()
        .any(|k| std::env::var(k).is_ok_and(|v| !v.trim().is_empty()));
    let uri = match uri {
        Some(u) => u,
        None if from_env => tracking_uri_from_env(),
        None => {
            let u = default_tracking_uri(Path::new("."));
            let exists = match u.strip_prefix("sqlite:///") {
                Some(db) => Path::new(db).exists(),
                None => true, // ./mlruns with file-store data
            };
            if !exists {
                return Ok(Vec::new());
            }
            u
        }
    };
    let store = open_store(Some(&uri))?;
    let mut out = Vec::new();
    for m in store.search_registered_models(None)? {
        if let Some(t) = crate::monitor::rules::ModelThresholds::from_tags(&m.name, &m.tags)
            .map_err(|e| CliError::Other(format!("{e} (in {uri})")))?
        {
            out.push(t);
        }
    }
    Ok(out)
}

/// `monitor init DIR`: addresses are `host:port` as Prometheus reaches them.
#[derive(Debug, Clone, clap::Args)]
pub struct InitArgs {
    /// The directory to write (created if missing).
    pub dir: PathBuf,
    /// A long-running pipeline process serving `/metrics` (its `--metrics-addr`); a target
    /// that stops answering alerts, so batch runs push with `--pushgateway` instead. Repeatable.
    #[arg(long = "pipeline", value_name = "HOST:PORT")]
    pub pipelines: Vec<HostPort>,
    /// A scoring server: its `/metrics` is scraped and its `/ping` probed. Repeatable.
    #[arg(long = "server", value_name = "HOST:PORT")]
    pub servers: Vec<HostPort>,
    /// Prometheus's own address (scraped, and Grafana's data source).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9090")]
    pub prometheus: HostPort,
    /// The Pushgateway batch runs push to.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9091")]
    pub pushgateway: HostPort,
    /// The Alertmanager Prometheus sends alerts to.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9093")]
    pub alertmanager: HostPort,
    /// The blackbox exporter that probes the servers.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:9115")]
    pub blackbox: HostPort,
    /// Where Alertmanager posts notifications (an `http(s)://` URL).
    #[arg(long, value_name = "URL")]
    pub webhook: WebhookUrl,
    /// How often Prometheus scrapes every target.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = humantime::parse_duration)]
    pub scrape_interval: std::time::Duration,
    /// How often Prometheus evaluates the alert rules.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = humantime::parse_duration)]
    pub evaluation_interval: std::time::Duration,
    /// How long Alertmanager waits for more alerts of a new group before notifying.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub group_wait: std::time::Duration,
    /// Overwrite files that exist.
    #[arg(long)]
    pub force: bool,
    /// The thresholds.
    #[command(flatten)]
    pub rules: RuleArgs,
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
    /// The tracking store.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `experiments <tracking command>`.
#[derive(Debug, clap::Args)]
pub struct ExperimentsArgs {
    /// A tracking command on experiments.
    #[command(subcommand)]
    pub command: crate::tracking::cli::ExperimentsCommand,
    /// The tracking store.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// `models <command>`.
#[derive(Debug, clap::Args)]
pub struct ModelsArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: crate::model::cli::ModelsCommand,
    /// The tracking store.
    #[command(flatten)]
    pub store: StoreArgs,
}

/// A command that failed; printed as `error: ...` with exit status 2.
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
    /// A drift check could not run: bad arguments or input, or a report not written.
    #[error(transparent)]
    Drift(#[from] crate::drift::DriftError),
    #[error(transparent)]
    /// Metrics could not be exported (`--metrics-addr`, `--pushgateway`).
    Export(#[from] crate::telemetry::export::ExportError),
    /// The output could not be written (a closed pipe is not an error).
    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),
    /// A DAG command in the standalone `oxflow` binary, which has no DAGs.
    #[error(
        "the `oxflow` command defines no DAGs: pipelines live in your own binary, whose `main` \
         calls `oxflow::main()`; run `cargo run -- {command}` in its crate (in oxflow's \
         repository: `cargo run --example quickstart -- list`){hint}"
    )]
    NoDags {
        /// The command as the user would type it in their binary, e.g. `run iris`.
        command: String,
        /// More to say for this command (may be empty).
        hint: String,
    },
    /// The scheduler or a backfill could not start or run.
    #[error(transparent)]
    Scheduler(#[from] crate::schedule::SchedulerError),
    /// Anything else, with its explanation.
    #[error("{0}")]
    Other(String),
    /// A model or registry command failed.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    /// The scoring server could not start.
    #[error(transparent)]
    Serve(#[from] crate::serve::cli::ServeError),
    /// A monitoring setup could not be written.
    #[error(transparent)]
    Monitor(#[from] crate::monitor::init::InitError),
    /// A project could not be read, fetched, built or run.
    #[error(transparent)]
    Project(#[from] crate::project::ProjectError),
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        CliError::Output(e)
    }
}

fn tracking_command(uri: Option<&str>, cmd: TrackingCommand) -> Result<Exit, CliError> {
    let store = open_store(uri)?;
    let mut out = output::stdout();
    crate::tracking::cli::execute(&store, cmd, &mut out)?;
    Ok(Exit::Success)
}

/// The store named by `--tracking-uri` or the environment: a directory, or an MLflow server.
fn open_store(uri: Option<&str>) -> Result<TrackingStore, CliError> {
    Ok(match uri {
        Some(u) => TrackingStore::open_uri(u)?,
        None => TrackingStore::from_env()?,
    })
}

/// Parses the process's arguments, runs the command and exits with its status ([`Exit`]):
/// the `main` of a pipeline binary.
pub fn main() {
    main_as(Program::Pipelines)
}

/// The `main` of the standalone `oxflow` command: the same command line, with help and errors
/// that say pipelines live in the user's own binary.
pub fn standalone_main() {
    main_as(Program::Standalone)
}

/// Parses the process's arguments for `program`, runs the command and exits with its status.
pub fn main_as(program: Program) -> ! {
    init_warnings();
    // `--oxflow-schema` / `--oxflow-check`: what `project run` asks a pipeline binary before
    // running it (hidden: not a command a person types).
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(code) =
        crate::project::answer_schema_flags(&args, crate::project::dag_schema, |dag, pairs| {
            let def = dag::find(dag).map_err(|e| e.to_string())?;
            exec::resolve_params(def, pairs)
                .map(|(_, logged)| logged)
                .map_err(|e| e.to_string())
        })
    {
        std::process::exit(code);
    }
    let matches = program.command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    run_cli(program, cli).exit()
}

/// Shows warnings (a retried request, a malformed record skipped in a listing) on stderr,
/// and the scoring server's access log and model swaps (targets `oxflow::serve...`, with a
/// timestamp), unless the program installed its own subscriber.
fn init_warnings() {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{Layer, fmt};
    let warnings = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .with_filter(
            Targets::new()
                .with_default(tracing::Level::WARN)
                .with_target("oxflow::serve", tracing::level_filters::LevelFilter::OFF),
        );
    let server = fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_filter(Targets::new().with_target("oxflow::serve", tracing::Level::INFO));
    let _ = tracing_subscriber::registry()
        .with(warnings)
        .with(server)
        .try_init();
}

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// Waits for Ctrl-C (SIGINT) or SIGTERM; returns which came.
pub(crate) async fn stop_signal() -> i32 {
    use tokio::signal::unix::{SignalKind, signal};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut int), Ok(mut term)) => tokio::select! {
            _ = int.recv() => SIGINT,
            _ = term.recv() => SIGTERM,
        },
        // No handler could be installed: the default action (exit) stays.
        _ => std::future::pending().await,
    }
}

/// Runs a parsed command line and returns how it ended ([`Exit`]: 0 success, 1 a failed DAG
/// run or drift found with `--fail-on-drift`, 2 an error, 130 interrupted by Ctrl-C, 143 stopped
/// by SIGTERM). Errors are printed to stderr.
///
/// ```no_run
/// use clap::Parser;
/// use oxflow_runtime::cli::{Cli, Exit, Program, run_cli};
/// let cli = Cli::parse_from(["my-pipelines", "list"]);
/// assert_eq!(run_cli(Program::Pipelines, cli), Exit::Success);
/// ```
pub fn run_cli(program: Program, cli: Cli) -> Exit {
    match dispatch(program, cli) {
        Ok(code) => code,
        Err(e) => {
            output::eprint_line(format_args!("error: {e}"));
            Exit::Error
        }
    }
}

/// The `service` label of this program's metrics: the binary's name.
fn service_name() -> String {
    std::env::args_os()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "oxflow".to_owned())
}

/// The error a DAG command gets in the standalone binary.
fn no_dags(command: String, hint: String) -> CliError {
    CliError::NoDags { command, hint }
}

fn dispatch(program: Program, cli: Cli) -> Result<Exit, CliError> {
    let top_uri = cli.tracking_uri;
    let top_logs = cli.log_dir;
    // A connections file that was named is read now, by every command that runs DAGs, so a
    // mistyped path or a broken file is reported even when no task of this DAG needs it.
    if let Some(f) = &cli.connections
        && matches!(
            cli.command,
            Command::Run { .. } | Command::Scheduler { .. } | Command::Backfill { .. }
        )
        && program != Program::Standalone
    {
        crate::conn::ConnectionsFile::load(f)
            .map_err(|e| CliError::Exec(exec::ExecError::Connections(vec![e])))?;
    }
    // The environment first, then the file, as Airflow searches its env backend first.
    let connections = cli
        .connections
        .map(|f| crate::conn::Connections::from_env().with_file(f));
    let uri = |s: &StoreArgs| s.tracking_uri.clone().or_else(|| top_uri.clone());
    let standalone = program == Program::Standalone;
    match cli.command {
        Command::List if standalone => Err(no_dags("list".into(), String::new())),
        Command::Show { dag } if standalone => Err(no_dags(format!("show {dag}"), String::new())),
        Command::Graph { dag, .. } if standalone => {
            Err(no_dags(format!("graph {dag}"), String::new()))
        }
        Command::Run { dag, .. } if standalone => Err(no_dags(format!("run {dag}"), String::new())),
        Command::Scheduler { .. } if standalone => Err(no_dags("scheduler".into(), String::new())),
        Command::Backfill { dag, .. } if standalone => {
            Err(no_dags(format!("backfill {dag}"), String::new()))
        }
        Command::Pause { dag, .. } if standalone => {
            Err(no_dags(format!("pause {dag}"), String::new()))
        }
        Command::Unpause { dag, .. } if standalone => {
            Err(no_dags(format!("unpause {dag}"), String::new()))
        }
        Command::Scheduler {
            dags,
            grace,
            store,
            logs,
            metrics_addr,
        } => {
            let defs = if dags.is_empty() {
                dag::registered()
            } else {
                dags.iter()
                    .map(|d| dag::find(d))
                    .collect::<Result<Vec<_>, _>>()?
            };
            let store = open_store(uri(&store).as_deref())?;
            let opts = crate::schedule::SchedulerOptions {
                grace,
                log_root: logs.log_dir.or(top_logs),
                connections,
                ..Default::default()
            };
            let scheduler = crate::schedule::Scheduler::new(store, defs)?.options(opts);
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| CliError::Other(format!("cannot start the tokio runtime: {e}")))?;
            // Kept for as long as the scheduler runs: `/metrics` answers throughout.
            let _exporter = match metrics_addr {
                Some(addr) => {
                    let _in_runtime = runtime.enter();
                    Some(Exporter::install(ExportOptions {
                        metrics_addr: Some(addr),
                        ..ExportOptions::new(&service_name())
                    })?)
                }
                None => None,
            };
            output::eprint_line(format_args!(
                "scheduling {} (Ctrl-C or SIGTERM stops it; running runs get {} to finish)",
                scheduler.dag_ids().join(", "),
                humantime::format_duration(grace)
            ));
            let report = runtime.block_on(scheduler.run(async {
                stop_signal().await;
            }))?;
            runtime.shutdown_background();
            output::eprint_line(format_args!(
                "scheduler stopped: {} run(s) started, {} skipped, {} killed after the grace period, {} left queued",
                report.started, report.skipped, report.killed, report.left_queued
            ));
            Ok(Exit::Success)
        }
        Command::Backfill {
            dag,
            start,
            end,
            reprocess,
            max_active_runs,
            store,
            logs,
        } => {
            let def = dag::find(&dag)?;
            if start > end {
                return Err(CliError::Other(format!(
                    "--start {} is after --end {}",
                    crate::schedule::format_time(start),
                    crate::schedule::format_time(end)
                )));
            }
            let store = open_store(uri(&store).as_deref())?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| CliError::Other(format!("cannot start the tokio runtime: {e}")))?;
            let signal = Arc::new(AtomicI32::new(0));
            let seen = signal.clone();
            let report = runtime.block_on(crate::schedule::backfill(
                &store,
                crate::schedule::Backfill {
                    dag: def,
                    start,
                    end,
                    reprocess,
                    max_active_runs,
                    log_root: logs.log_dir.or(top_logs),
                    connections,
                },
                async move {
                    seen.store(stop_signal().await, Ordering::SeqCst);
                },
            ))?;
            runtime.shutdown_background();
            output::print(show::backfill(&report))?;
            Ok(match signal.load(Ordering::SeqCst) {
                SIGTERM => Exit::Terminated,
                SIGINT => Exit::Interrupted,
                _ if report.succeeded() => Exit::Success,
                _ => Exit::Failure,
            })
        }
        Command::Pause { dag, store } => pause(&dag, uri(&store).as_deref(), true),
        Command::Unpause { dag, store } => pause(&dag, uri(&store).as_deref(), false),
        Command::List => {
            output::print(show::list(&dag::registered()))?;
            Ok(Exit::Success)
        }
        Command::Show { dag } => {
            let spec = dag::find(&dag)?.spec()?;
            output::print(show::show(&spec))?;
            Ok(Exit::Success)
        }
        Command::Graph { dag, format } => {
            let spec = dag::find(&dag)?.spec()?;
            output::print(spec.render(format))?;
            Ok(Exit::Success)
        }
        Command::Run {
            dag,
            params,
            resume,
            max_active_tasks,
            no_record,
            store,
            logs,
            metrics_addr,
            pushgateway,
        } => {
            let spec = dag::find(&dag)?.spec()?;
            let mut cfg = RunConfig::in_memory();
            for p in &params {
                cfg.params.push(parse_override(p)?);
            }
            // Bad params are rejected before the store is touched.
            exec::resolve_params(spec.def, &cfg.params)?;
            let mut ui = None;
            if !no_record {
                // Opening checks the store is writable, before any task runs.
                let store = open_store(uri(&store).as_deref())?;
                ui = Some(store.ui_command());
                cfg.store = Some(store);
                cfg.log_root = logs.log_dir.or(top_logs);
            }
            // A project runner (`oxflow project run`, `mlflow run`) created the run this DAG run
            // records into, with the project's source tags.
            if !no_record && resume.is_none() {
                cfg.attach = crate::tracking::Run::run_id_from_env();
            }
            cfg.resume = resume;
            cfg.max_active_tasks = max_active_tasks;
            cfg.connections = connections;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| CliError::Other(format!("cannot start the tokio runtime: {e}")))?;
            // Before any task runs: a port in use stops here, naming the address.
            let exporter = if metrics_addr.is_some() || pushgateway.is_some() {
                let _in_runtime = runtime.enter();
                Some(Exporter::install(ExportOptions {
                    metrics_addr,
                    pushgateway,
                    ..ExportOptions::new(&service_name())
                })?)
            } else {
                None
            };
            let display = progress::Progress::new(&spec);
            let events = display.clone();
            // Ctrl-C and SIGTERM (`kill`, a container stopping) both stop the run cleanly; the
            // exit code says which: 130 or 143.
            let signal = Arc::new(AtomicI32::new(0));
            let seen = signal.clone();
            cfg = cfg
                .on_event(move |e| events.event(e))
                .cancel_on(async move {
                    seen.store(stop_signal().await, Ordering::SeqCst);
                });
            let report = runtime.block_on(exec::execute(&spec, cfg));
            // Every async attempt has been dropped (its process group killed); a sync task
            // killed by the signal may still be running on a blocking thread: do not wait for
            // it, the run is already recorded as KILLED.
            runtime.shutdown_background();
            // Pushed whatever the outcome: a failed night is what the dashboard must show.
            if let Some(exporter) = &exporter
                && let Err(e) = exporter.push(&dag)
            {
                output::eprint_line(format_args!("warning: {e}"));
            }
            let report = report?;
            display.finish(&report)?;
            if let Some(ui) = ui {
                output::print_line(format_args!("see it in MLflow's UI: {ui}"))?;
            }
            Ok(match report.state {
                DagRunState::Success => Exit::Success,
                DagRunState::Failed => Exit::Failure,
                DagRunState::Killed if signal.load(Ordering::SeqCst) == SIGTERM => {
                    Exit::Terminated
                }
                DagRunState::Killed => Exit::Interrupted,
            })
        }
        Command::Runs(RunsArgs {
            command: Some(cmd),
            store,
            ..
        }) => tracking_command(uri(&store).as_deref(), TrackingCommand::Runs(cmd)),
        Command::Runs(RunsArgs { dag: Some(dag), .. }) if standalone => Err(no_dags(
            format!("runs {dag}"),
            format!("; `oxflow runs list --experiment {dag} --all` lists its recorded runs here"),
        )),
        Command::Runs(RunsArgs {
            dag: Some(dag),
            limit,
            store,
            ..
        }) => {
            let def = dag::find(&dag)?;
            let store = open_store(uri(&store).as_deref())?;
            output::print(show::runs(&store, def, limit)?)?;
            Ok(Exit::Success)
        }
        Command::Runs(RunsArgs { .. }) => Err(CliError::Other(
            "`runs` needs a DAG id (`runs <dag>`) or a command (`runs list --experiment X`, `runs show ID`, ...)"
                .into(),
        )),
        Command::Experiments(ExperimentsArgs { command, store }) => tracking_command(
            uri(&store).as_deref(),
            TrackingCommand::Experiments(command),
        ),
        Command::Models(ModelsArgs { command, store }) => {
            let store = open_store(uri(&store).as_deref())?;
            crate::model::cli::execute(&store, command, &mut output::stdout())?;
            Ok(Exit::Success)
        }
        Command::Serve { args, store } => {
            let store = open_store(uri(&store).as_deref())?;
            crate::serve::cli::run(&args, store, &service_name(), async {
                stop_signal().await;
            })?;
            Ok(Exit::Success)
        }
        // Drift has its own failure status: 1 means drift found with --fail-on-drift.
        Command::Drift(args) => {
            let exporter = match &args.pushgateway {
                Some(url) => Some(Exporter::install(ExportOptions {
                    pushgateway: Some(url.clone()),
                    ..ExportOptions::new(&service_name())
                })?),
                None => None,
            };
            let exit = crate::drift::cli::run_to(&args, &mut output::stdout())?;
            if let Some(exporter) = &exporter
                && let Err(e) = exporter.push(&args.push_job)
            {
                output::eprint_line(format_args!("warning: {e}"));
            }
            Ok(exit)
        }
        Command::Monitor(MonitorCommand::Rules { out, tests, rules }) => {
            let opts = rules.options(uri(&rules.store))?;
            let dags = dag::registered();
            crate::monitor::rules::check_dags(&dags).map_err(CliError::Other)?;
            // The tests name the rule file relative to themselves when they sit beside it.
            let rule_ref = if out.parent() == tests.parent() {
                out.file_name().map(PathBuf::from).unwrap_or_else(|| out.clone())
            } else {
                std::path::absolute(&out).unwrap_or_else(|_| out.clone())
            };
            let yaml = |r: Result<String, serde_saphyr::ser::Error>| {
                r.map_err(|e| CliError::Other(format!("cannot write the rules as YAML: {e}")))
            };
            let rules = yaml(crate::monitor::rules::alert_rules(&dags, &opts).to_yaml())?;
            let cases = yaml(
                crate::monitor::rules::rule_tests(&dags, &opts, &rule_ref.display().to_string())
                    .to_yaml(),
            )?;
            for (path, text) in [(&out, rules), (&tests, cases)] {
                std::fs::write(path, text).map_err(|e| {
                    CliError::Other(format!("cannot write {}: {e}", path.display()))
                })?;
            }
            output::print_line(format_args!(
                "wrote {} ({} DAG(s)) and {}; check them with `promtool test rules {}`",
                out.display(),
                dags.len(),
                tests.display(),
                tests.display()
            ))?;
            Ok(Exit::Success)
        }
        Command::Monitor(MonitorCommand::Init(args)) => {
            let store_uri = uri(&args.rules.store);
            monitor_init(args, store_uri)
        }
        Command::Project(cmd) => Ok(match crate::project::cli::execute(cmd, top_uri.clone())? {
            None => Exit::Success,
            Some(code) => Exit::Passed(u8::try_from(code).unwrap_or(1)),
        }),
        Command::Logs {
            run_id,
            task,
            store,
            logs,
        } => {
            let store = open_store(uri(&store).as_deref())?;
            let log_dir = logs.log_dir.or(top_logs);
            output::print(exec::load_task_log(
                &store,
                log_dir.as_deref(),
                &run_id,
                &task,
            )?)?;
            Ok(Exit::Success)
        }
    }
}

/// `pause DAG` / `unpause DAG`.
fn pause(dag: &str, uri: Option<&str>, paused: bool) -> Result<Exit, CliError> {
    let def = dag::find(dag)?;
    let store = open_store(uri)?;
    crate::schedule::state::set_paused(&store, def.id, paused).map_err(scheduler_state(def.id))?;
    output::print_line(format_args!(
        "{} {}{}",
        if paused { "paused" } else { "unpaused" },
        def.id,
        if def.schedule.is_none() {
            " (it has no schedule: only `run` starts it)"
        } else {
            ""
        }
    ))?;
    Ok(Exit::Success)
}

fn scheduler_state(dag: &str) -> impl Fn(crate::schedule::state::StateError) -> CliError + '_ {
    move |source| {
        CliError::Scheduler(crate::schedule::SchedulerError::State {
            dag: dag.to_owned(),
            source: Box::new(source),
        })
    }
}

/// `monitor init DIR`: writes the setup and says how to check and start it.
fn monitor_init(args: Box<InitArgs>, store_uri: Option<String>) -> Result<Exit, CliError> {
    use crate::monitor::init::{InitOptions, generate, write};
    let args = *args;
    let opts = InitOptions {
        pipelines: args.pipelines,
        servers: args.servers,
        prometheus: args.prometheus,
        pushgateway: args.pushgateway,
        alertmanager: args.alertmanager,
        blackbox: args.blackbox,
        webhook: args.webhook,
        scrape_interval: args.scrape_interval,
        evaluation_interval: args.evaluation_interval,
        group_wait: args.group_wait,
        rules: args.rules.options(store_uri)?,
    };
    let dags = dag::registered();
    let files = generate(&dags, &opts, &args.dir)?;
    write(&args.dir, &files, args.force)?;
    let d = args.dir.display();
    output::print(format!(
        "wrote {n} files in {d} (alert rules for {dags} DAG(s)):\n{list}\n\
         check them:\n  \
         promtool check config {d}/prometheus.yml && promtool test rules {d}/alert_rules_test.yml\n\
         start them (Debian names the last three prometheus-pushgateway, prometheus-alertmanager, \
         prometheus-blackbox-exporter):\n  \
         prometheus --config.file={d}/prometheus.yml --web.listen-address={prom}\n  \
         pushgateway --web.listen-address={push}\n  \
         alertmanager --config.file={d}/alertmanager.yml --web.listen-address={am}\n  \
         blackbox_exporter --config.file={d}/blackbox.yml --web.listen-address={bb}\n\
         and point Grafana's provisioning at {d}/grafana/provisioning\n",
        n = files.len(),
        dags = dags.len(),
        list = files
            .iter()
            .map(|f| format!("  {}", f.path.display()))
            .collect::<Vec<_>>()
            .join("\n"),
        prom = opts.prometheus,
        push = opts.pushgateway,
        am = opts.alertmanager,
        bb = opts.blackbox,
    ))?;
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_command_lines_are_well_formed() {
        Program::Pipelines.command().debug_assert();
        Program::Standalone.command().debug_assert();
    }
}
