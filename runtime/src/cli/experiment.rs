//! The command line of an experiment binary: what `#[experiment] fn train(params: P, run: &mut
//! Run)` expands to calls [`run_experiment`].

use std::fmt::Display;

use crate::params::{ParamSet, help_text, parse_override};

/// The entry point `#[experiment] fn train(params: P, run: &mut Run)` expands to: parses
/// `-P key=value` overrides from the command line (`--help` lists the parameters), opens the
/// store from the environment, starts a run in `experiment`, logs the parameters, runs `body`,
/// and ends the run FINISHED, FAILED (error or panic) or KILLED (Ctrl-C).
pub fn run_experiment<P: ParamSet, T, E: Display>(
    experiment: &str,
    program: &str,
    body: fn(P, &mut crate::tracking::Run) -> Result<T, E>,
) -> std::process::ExitCode {
    use std::process::ExitCode;

    use crate::tracking::{Run, RunOptions, RunStatus, TrackingStore};

    let mut overrides = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let kv = match arg.as_str() {
            "-h" | "--help" => {
                println!(
                    "usage: {program} [-P key=value]...\n\nparameters of experiment `{experiment}`:\n{}",
                    help_text(P::schema())
                );
                return ExitCode::SUCCESS;
            }
            "-P" | "--param" => match args.next() {
                Some(kv) => kv,
                None => {
                    eprintln!("error: {arg} needs key=value");
                    return ExitCode::from(2);
                }
            },
            other => match other
                .strip_prefix("-P")
                .or_else(|| other.strip_prefix("--param="))
            {
                Some(kv) => kv.to_string(),
                None => {
                    eprintln!(
                        "error: unexpected argument `{other}`; usage: {program} [-P key=value]..."
                    );
                    return ExitCode::from(2);
                }
            },
        };
        match parse_override(&kv) {
            Ok(pair) => overrides.push(pair),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let params = match P::from_overrides(&overrides) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let started = TrackingStore::from_env().and_then(|store| {
        let mut run = Run::start(&store, experiment, RunOptions::default())?;
        run.log_params(&params.to_pairs())?;
        Ok((store, run))
    });
    let (store, mut run) = match started {
        Ok(x) => x,
        Err(e) => {
            eprintln!("error: cannot start a run in experiment `{experiment}`: {e}");
            return ExitCode::FAILURE;
        }
    };
    watch_ctrl_c(store, run.id().to_string());
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(params, &mut run)));
    match outcome {
        Ok(Ok(_)) => match run.end(RunStatus::Finished) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Ok(Err(e)) => {
            let msg = e.to_string();
            eprintln!("error: {msg}");
            let short: String = msg
                .chars()
                .take(crate::tracking::validation::MAX_TAG_VALUE_LENGTH)
                .collect();
            let _ = run.set_tag("oxflow.error", &short);
            if let Err(e) = run.end(RunStatus::Failed) {
                eprintln!("error: {e}");
            }
            ExitCode::FAILURE
        }
        Err(_) => {
            if let Err(e) = run.end(RunStatus::Failed) {
                eprintln!("error: {e}");
            }
            ExitCode::from(101)
        }
    }
}

/// On Ctrl-C, ends the run KILLED and exits with status 130.
fn watch_ctrl_c(store: crate::tracking::TrackingStore, run_id: String) {
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
                let _ = store.set_terminated(
                    &run_id,
                    crate::tracking::RunStatus::Killed,
                    crate::tracking::now_ms(),
                );
                eprintln!("interrupted: run {run_id} ended KILLED");
                std::process::exit(130);
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot watch for Ctrl-C; an interrupted run will stay RUNNING");
    }
}
