//! [`Exit`]: how a command ended, as a process exit status that scripts and CI can rely on.
//!
//! The numbers are stable and each command's `--help` lists the ones it uses:
//!
//! | status | meaning |
//! | --- | --- |
//! | 0 | done: a DAG run succeeded, no dataset drift, a listing printed |
//! | 1 | the work ran and its result is negative: a DAG run failed, dataset drift with `--fail-on-drift`, an experiment returned an error |
//! | 2 | nothing was checked or run: a usage error, bad input (unknown DAG or run, a missing, empty or malformed file, a bad `-P`), a store or report file that cannot be read or written |
//! | 101 | an experiment's code panicked (Rust's own status for a panic) |
//! | 130 | interrupted by Ctrl-C; the run is recorded as killed |
//! | 143 | stopped by SIGTERM (`kill`, a container stopping); the run is recorded as killed |
//!
//! So CI can tell "the pipeline failed" or "the data drifted" (1) from "the check itself
//! is broken" (2).

use std::process::ExitCode;

/// How a command ended; [`Exit::code`] is its process exit status.
///
/// ```
/// use oxflow_runtime::cli::Exit;
/// assert_eq!(Exit::Success.code(), 0);
/// assert_eq!(Exit::Failure.code(), 1);
/// assert_eq!(Exit::Error.code(), 2);
/// assert_eq!(Exit::Interrupted.code(), 130);
/// assert_eq!(Exit::Terminated.code(), 143);
/// let code: std::process::ExitCode = Exit::Error.into();
/// assert_eq!(code, std::process::ExitCode::from(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Exit {
    /// 0: the command did what was asked and found nothing wrong.
    Success,
    /// 1: the work ran and its result is negative: a DAG run failed, dataset drift was found
    /// with `--fail-on-drift`, an experiment's code returned an error.
    Failure,
    /// 2: nothing was checked or run: a usage error, bad input, or a store or file that
    /// cannot be read or written. The message on stderr says which.
    Error,
    /// 101: an experiment's code panicked.
    Panicked,
    /// 130: interrupted by Ctrl-C (SIGINT): 128 + the signal's number, as shells report it.
    Interrupted,
    /// 143: stopped by SIGTERM (`kill`, a container or service manager stopping it), handled
    /// like Ctrl-C: 128 + the signal's number.
    Terminated,
    /// The exit status of a program oxflow ran on the user's behalf (`project run`'s entry
    /// point), passed on unchanged.
    Passed(u8),
}

impl Exit {
    /// The process exit status.
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Error => 2,
            Exit::Panicked => 101,
            Exit::Interrupted => 130,
            Exit::Terminated => 143,
            Exit::Passed(code) => code,
        }
    }

    /// Ends the process with this status.
    pub fn exit(self) -> ! {
        std::process::exit(i32::from(self.code()))
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// The exit statuses of the pipeline command line, for `--help`.
pub(crate) const HELP: &str = "\
Exit status:
  0    success
  1    a DAG run failed (`run`), or dataset drift was found with `drift --fail-on-drift`
  2    error: bad arguments or input, unknown DAG or run, a store or file that cannot be read or written
  130  interrupted (Ctrl-C); the run is recorded as killed
  143  stopped by SIGTERM; the run is recorded as killed";

/// The exit statuses of `drift`, for its `--help`.
pub(crate) const DRIFT_HELP: &str = "\
Exit status:
  0    no dataset drift (or drift found without --fail-on-drift)
  1    dataset drift found, with --fail-on-drift
  2    error, nothing was checked: bad arguments, a missing, empty or malformed input file, a report that cannot be written";

/// The exit statuses of the other commands (listings, tracking commands, logs).
pub(crate) const QUERY_HELP: &str = "\
Exit status:
  0    success
  2    error: bad arguments, unknown experiment, run or task, a store that cannot be read";

/// The exit statuses of an experiment binary, for its `--help`.
pub(crate) const EXPERIMENT_HELP: &str = "\
exit status:
  0    the run finished
  1    the experiment returned an error; the run is recorded as failed
  2    error before the run: bad arguments or -P params, a store that cannot be opened
  101  the experiment panicked; the run is recorded as failed
  130  interrupted (Ctrl-C); the run is recorded as killed";
