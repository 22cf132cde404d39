//! The command line of an experiment binary: what `#[experiment] fn train(params: P, run: &mut
//! Run)` expands to calls [`run_experiment`].

use std::fmt::Display;
use std::process::ExitCode;

use super::Exit;
use super::output::{eprint_line, print_line};
use crate::params::{ParamSet, help_text, parse_override};
use crate::tracking::{Run, RunOptions, RunStatus, TrackingStore};

/// The entry point `#[experiment] fn train(params: P, run: &mut Run)` expands to: parses
/// `-P key=value` overrides from the command line (`--help` lists the parameters and the exit
/// statuses), opens the store from the environment, starts a run in `experiment`, logs the
/// parameters, runs `body`, and ends the run FINISHED, FAILED (error or panic) or KILLED
/// (Ctrl-C). It then prints the run id and the command that shows the run in MLflow's UI.
///
/// Exit statuses ([`Exit`]): 0 finished, 1 `body` returned an error, 2 bad arguments or a
/// store that cannot be opened (no run is started), 101 `body` panicked, 130 Ctrl-C.
///
/// ```no_run
/// use oxflow_runtime::tracking::{Run, TrackingError};
/// # #[derive(Debug)] struct P;
/// # impl oxflow_runtime::params::ParamSet for P {
/// #     fn defaults() -> Self { P }
/// #     fn schema() -> &'static [oxflow_runtime::params::ParamSpec] { &[] }
/// #     fn set(&mut self, k: &str, _: &str) -> Result<(), oxflow_runtime::params::ParamError> { Err(oxflow_runtime::params::ParamError::unknown::<P>(k)) }
/// #     fn validate(&self) -> Result<(), oxflow_runtime::params::ParamError> { Ok(()) }
/// #     fn to_pairs(&self) -> Vec<(String, String)> { Vec::new() }
/// # }
/// fn train(_params: P, run: &mut Run) -> Result<(), TrackingError> {
///     run.log_metric("accuracy", 0.9)
/// }
/// fn main() -> std::process::ExitCode {
///     oxflow_runtime::cli::run_experiment::<P, _, _>("iris", "train", train)
/// }
/// ```
pub fn run_experiment<P: ParamSet, T, E: Display>(
    experiment: &str,
    program: &str,
    body: fn(P, &mut Run) -> Result<T, E>,
) -> ExitCode {
    // `--oxflow-schema` / `--oxflow-check`: what `project run` asks before running it.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(code) = crate::project::answer_schema_flags(
        &args,
        || crate::project::experiment_schema(experiment, P::schema()),
        |_, pairs| {
            P::from_overrides(pairs)
                .map(|p| p.to_pairs())
                .map_err(|e| e.to_string())
        },
    ) {
        return ExitCode::from(u8::try_from(code).unwrap_or(2));
    }
    let params = match parse_args::<P>(experiment, program, args.into_iter()) {
        Ok(Some(p)) => p,
        Ok(None) => return Exit::Success.into(),
        Err(e) => {
            eprint_line(format_args!("error: {e}"));
            return Exit::Error.into();
        }
    };
    let started = TrackingStore::from_env().and_then(|store| {
        // Started by a project runner (`oxflow project run`, `mlflow run`): log into the run it
        // created with the project's source tags. It logged the parameters it passed from the
        // same `-P` values; only the ones it did not know (this struct's other fields) are added.
        let (mut run, logged) = match Run::run_id_from_env() {
            Some(id) => {
                let run = Run::resume(&store, &id)?;
                let logged = run.record()?.params;
                let name = store.get_experiment(&run.info().experiment_id)?.name;
                (run, Some((logged, name)))
            }
            None => (Run::start(&store, experiment, RunOptions::default())?, None),
        };
        let pairs: Vec<(String, String)> = params
            .to_pairs()
            .into_iter()
            .filter(|(k, _)| logged.as_ref().is_none_or(|(l, _)| !l.contains_key(k)))
            .collect();
        run.log_params(&pairs)?;
        Ok((store, run, logged.map(|(_, name)| name)))
    });
    let (store, mut run, attached_to) = match started {
        Ok(x) => x,
        Err(e) => {
            eprint_line(format_args!(
                "error: cannot start a run in experiment `{experiment}`: {e}"
            ));
            return Exit::Error.into();
        }
    };
    let experiment = attached_to.as_deref().unwrap_or(experiment);
    let run_id = run.id().to_string();
    watch_ctrl_c(store.clone(), run_id.clone());
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(params, &mut run)));
    let (status, exit) = match outcome {
        Ok(Ok(_)) => (RunStatus::Finished, Exit::Success),
        Ok(Err(e)) => {
            let msg = e.to_string();
            eprint_line(format_args!("error: {msg}"));
            let short: String = msg
                .chars()
                .take(crate::tracking::validation::MAX_TAG_VALUE_LENGTH)
                .collect();
            let _ = run.set_tag("oxflow.error", &short);
            (RunStatus::Failed, Exit::Failure)
        }
        Err(_) => (RunStatus::Failed, Exit::Panicked),
    };
    if let Err(e) = run.end(status) {
        eprint_line(format_args!("error: cannot end run {run_id}: {e}"));
        return Exit::Error.into();
    }
    // Where to look, last: the run id and the exact command for this store.
    let _ = print_line(format_args!(
        "run {run_id} in experiment `{experiment}`: {status}"
    ));
    let _ = print_line(format_args!(
        "see it in MLflow's UI: {}",
        store.ui_command()
    ));
    exit.into()
}

/// Where the run goes and how to look at it, for `--help`.
const RECORDED_HELP: &str = "\
the run is recorded in the tracking store: OXFLOW_TRACKING_URI, else MLFLOW_TRACKING_URI, else
the default store in the working directory. The last line printed is the command that shows the
run in MLflow's UI (the command depends on the store).";

/// A command line an experiment binary refuses.
#[derive(Debug, thiserror::Error)]
enum ArgError {
    /// `-P` at the end, without its value.
    #[error("{flag} needs key=value")]
    MissingValue { flag: String },
    /// Anything but `-P` and `--help`.
    #[error("unexpected argument `{arg}`; usage: {program} [-P key=value]...")]
    Unexpected { arg: String, program: String },
    /// A malformed, unknown, mistyped or out-of-range parameter.
    #[error(transparent)]
    Param(#[from] crate::params::ParamError),
}

/// The parameters the command line sets, or `None` when it asked for `--help` (printed).
fn parse_args<P: ParamSet>(
    experiment: &str,
    program: &str,
    mut args: impl Iterator<Item = String>,
) -> Result<Option<P>, ArgError> {
    let mut overrides = Vec::new();
    while let Some(arg) = args.next() {
        let kv = match arg.as_str() {
            "-h" | "--help" => {
                let _ = print_line(format_args!(
                    "usage: {program} [-P key=value]...\n\nparameters of experiment `{experiment}`:\n{}\n{}\n\n{}",
                    help_text(P::schema()),
                    RECORDED_HELP,
                    super::exit::EXPERIMENT_HELP
                ));
                return Ok(None);
            }
            "-P" | "--param" => args
                .next()
                .ok_or_else(|| ArgError::MissingValue { flag: arg.clone() })?,
            other => match other
                .strip_prefix("-P")
                .or_else(|| other.strip_prefix("--param="))
            {
                Some(kv) => kv.to_string(),
                None => {
                    return Err(ArgError::Unexpected {
                        arg: other.to_string(),
                        program: program.to_string(),
                    });
                }
            },
        };
        overrides.push(parse_override(&kv)?);
    }
    Ok(Some(P::from_overrides(&overrides)?))
}

/// On Ctrl-C, ends the run KILLED and exits with status 130.
fn watch_ctrl_c(store: TrackingStore, run_id: String) {
    let spawned = std::thread::Builder::new()
        .name("oxflow-ctrl-c".into())
        .spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            if rt.block_on(tokio::signal::ctrl_c()).is_ok() {
                let _ = store.set_terminated(&run_id, RunStatus::Killed, crate::tracking::now_ms());
                eprint_line(format_args!("interrupted: run {run_id} ended KILLED"));
                std::process::exit(130);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot watch for Ctrl-C; an interrupted run will stay RUNNING");
    }
}
