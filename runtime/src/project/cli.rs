//! `project init`, `project run`, `project rerun`.

use std::path::PathBuf;

use super::runner::{ProjectFile, RunOutcome, RunRequest};
use super::{ProjectError, init, rerun, run};
use crate::cli::output::{eprint_line, print_line};

/// The exit statuses of `project run` and `project rerun`, for `--help`.
pub(crate) const RUN_HELP: &str = "\
Exit status: the entry point's own (0 when it succeeded); 2 when nothing was run: a malformed
project file, an unknown entry point or parameter, a value of the wrong type, a git URL or
--version that does not exist, a failed build (nothing is recorded then); 130/143 when Ctrl-C or
SIGTERM stopped it (the run is recorded as KILLED).";

/// `project ...`.
#[derive(Debug, clap::Subcommand)]
pub enum ProjectCommand {
    /// Write a commented oxflow.ron for the crate in DIR from the DAGs and experiments its
    /// binaries and examples report (they are built with `cargo build --release`).
    Init {
        /// The crate's directory.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Only these binaries or examples (repeatable).
        #[arg(long = "target", value_name = "NAME")]
        targets: Vec<String>,
        /// Overwrite an existing oxflow.ron.
        #[arg(long)]
        force: bool,
    },
    /// Run an entry point of a project: a directory or a git URL (https://, ssh://, git@host:,
    /// file://; `#subdir` for a project inside the repository), recorded as an MLflow project run.
    #[command(after_help = RUN_HELP)]
    Run(Box<RunArgs>),
    /// Run a recorded project run again: same source, commit, entry point and parameters.
    #[command(after_help = RUN_HELP)]
    Rerun {
        /// The run to reproduce.
        run_id: String,
        /// `local` (the only one oxflow runs) for an MLproject that declares an environment.
        #[arg(long, value_name = "MANAGER")]
        env_manager: Option<String>,
        /// A name for the new run.
        #[arg(long, value_name = "NAME")]
        run_name: Option<String>,
        /// The tracking store.
        #[command(flatten)]
        store: crate::cli::StoreArgs,
    },
}

/// `project run`'s arguments (MLflow's `mlflow run` spelling).
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// A directory or git URL, with an optional `#subdirectory`.
    pub uri: String,
    /// The entry point.
    #[arg(short = 'e', long = "entry-point", default_value = "main")]
    pub entry_point: String,
    /// A parameter: `-P name=value` (repeatable).
    #[arg(short = 'P', long = "param-list", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// The git commit, branch or tag to run.
    #[arg(short = 'v', long, value_name = "REF")]
    pub version: Option<String>,
    /// The experiment to record into (default: oxflow.ron's `experiment`, else the DAG's id or
    /// the #[experiment]'s name; for an MLproject MLFLOW_EXPERIMENT_NAME, MLFLOW_EXPERIMENT_ID,
    /// else `Default`).
    #[arg(long, value_name = "NAME")]
    pub experiment_name: Option<String>,
    /// A name for the run.
    #[arg(long, value_name = "NAME")]
    pub run_name: Option<String>,
    /// MLflow's environment manager: only `local` (the current environment) runs here.
    #[arg(long, value_name = "MANAGER")]
    pub env_manager: Option<String>,
    /// Which project file to read when the directory has both.
    #[arg(long, value_enum, default_value = "auto")]
    pub file: ProjectFile,
    /// The tracking store.
    #[command(flatten)]
    pub store: crate::cli::StoreArgs,
}

/// How a project command ended: `Ok(Some(code))` is the entry point's exit status.
pub(crate) fn execute(
    cmd: ProjectCommand,
    top_uri: Option<String>,
) -> Result<Option<i32>, ProjectError> {
    match cmd {
        ProjectCommand::Init {
            dir,
            targets,
            force,
        } => {
            let (file, text) = init(&dir, &targets, force)?;
            let entries = super::Manifest::parse(&text, &file)?
                .entry_points
                .keys()
                .cloned()
                .collect::<Vec<_>>();
            let _ = print_line(format_args!(
                "wrote {} with entry points: {}\nrun one with `oxflow project run {} -e ENTRY`",
                file.display(),
                entries.join(", "),
                dir.display()
            ));
            Ok(None)
        }
        ProjectCommand::Run(args) => {
            let args = *args;
            let outcome = run(&RunRequest {
                uri: args.uri,
                entry: args.entry_point,
                params: args.params,
                version: args.version,
                experiment_name: args.experiment_name,
                run_name: args.run_name,
                env_manager: args.env_manager,
                file: args.file,
                tracking_uri: args.store.tracking_uri.or(top_uri),
                extra_tags: Vec::new(),
            })?;
            Ok(Some(report(&outcome)))
        }
        ProjectCommand::Rerun {
            run_id,
            env_manager,
            run_name,
            store,
        } => {
            let uri = store.tracking_uri.or(top_uri);
            let outcome = rerun(&run_id, uri.as_deref(), env_manager, run_name)?;
            Ok(Some(report(&outcome)))
        }
    }
}

fn report(o: &RunOutcome) -> i32 {
    if o.exit_code != 0 {
        eprint_line(format_args!(
            "the entry point exited with status {}",
            o.exit_code
        ));
    }
    let _ = print_line(format_args!("project run {}: {}", o.run_id, o.status));
    let _ = print_line(format_args!("see it in MLflow's UI: {}", o.ui_command));
    o.exit_code
}
