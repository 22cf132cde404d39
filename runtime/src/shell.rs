//! Shell tasks, what Airflow's `BashOperator` does: run a command inside a `#[task]`, stream
//! its stdout and stderr into the task log, fail the attempt on a non-zero exit, and hand its
//! stdout on as the task's output.
//!
//! The command runs in its own process group. When the attempt ends early (its `timeout`, or
//! Ctrl-C), the whole group is killed, so no grandchild keeps running.
//!
//! Inside a task (with `use oxflow::prelude::*;`):
//!
//! ```text
//! #[task(timeout = "10m")]
//! async fn fetch(day: &String) -> Result<ShellOutput, ShellError> {
//!     Shell::new("curl").args(["-fsS", "-o", "data.csv"]).arg(format!("https://example.com/{day}.csv")).run().await
//! }
//! ```
//!
//! The same builder works anywhere in async code:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), oxflow_runtime::shell::ShellError> {
//! use oxflow_runtime::shell::Shell;
//! let out = Shell::new("echo").arg("ready").run().await?;
//! assert_eq!(out.stdout, "ready\n");
//! # Ok(()) }
//! ```

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// A command to run from a task.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), oxflow_runtime::shell::ShellError> {
/// use oxflow_runtime::shell::Shell;
/// let out = Shell::bash("echo hello; echo warning >&2").run().await?;
/// assert_eq!(out.stdout, "hello\n");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Shell {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    cwd: Option<PathBuf>,
}

/// What a successful command printed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ShellOutput {
    /// Everything written to stdout.
    pub stdout: String,
    /// Everything written to stderr.
    pub stderr: String,
}

impl fmt::Display for ShellOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.stdout)
    }
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum ShellError {
    /// The program could not be started.
    #[error("cannot start `{program}`: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The command exited with a non-zero code or was killed by a signal.
    #[error("`{command}` {how}{}", if stderr_tail.is_empty() { String::new() } else { format!("; last stderr lines:\n{stderr_tail}") })]
    Exit {
        /// The command line.
        command: String,
        /// "exited with code 3" or "was killed by signal 9".
        how: String,
        /// The last lines of stderr.
        stderr_tail: String,
    },
    /// Reading the command's output failed.
    #[error("reading the output of `{command}`: {source}")]
    Io {
        /// The command line.
        command: String,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Kills the command's process group unless it has exited; runs when the attempt's future is
/// dropped (timeout, Ctrl-C) as well as on normal return.
struct GroupGuard {
    pgid: Option<i32>,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.pgid {
            use nix::sys::signal::{Signal, killpg};
            let _ = killpg(nix::unistd::Pid::from_raw(pgid), Signal::SIGKILL);
        }
    }
}

const STDERR_TAIL_LINES: usize = 20;

impl Shell {
    /// Runs `program` (looked up in `PATH`) with no arguments yet.
    pub fn new(program: impl Into<OsString>) -> Shell {
        Shell {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
        }
    }

    /// Runs `script` with `bash -c`, as Airflow's `bash_command`. Arguments added with
    /// [`Shell::arg`] become `$0`, `$1`, ...: pass values that way rather than formatting them
    /// into the script, so they need no quoting.
    pub fn bash(script: &str) -> Shell {
        Shell::new("bash").arg("-c").arg(script)
    }

    /// Adds an argument.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Shell {
        self.args.push(arg.into());
        self
    }

    /// Adds arguments.
    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Shell {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Sets an environment variable for the command.
    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Shell {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Runs the command in `dir`.
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Shell {
        self.cwd = Some(dir.into());
        self
    }

    fn command_line(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Runs the command to completion. Each line of stdout is logged at INFO and each line of
    /// stderr at WARN (target `oxflow::shell`), so both land in the task's attempt log.
    pub async fn run(&self) -> Result<ShellOutput, ShellError> {
        let command = self.command_line();
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(dir) = &self.cwd {
            cmd.current_dir(dir);
        }
        let mut child = cmd.spawn().map_err(|source| ShellError::Spawn {
            program: self.program.to_string_lossy().into_owned(),
            source,
        })?;
        let mut guard = GroupGuard {
            pgid: child.id().map(|p| p as i32),
        };
        tracing::info!(target: "oxflow::shell", "running `{command}`");
        let io_err = |source| ShellError::Io {
            command: command.clone(),
            source,
        };
        let (Some(out), Some(err)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(io_err(std::io::Error::other("no pipes to the child")));
        };
        let mut out_lines = BufReader::new(out).lines();
        let mut err_lines = BufReader::new(err).lines();
        let mut stdout = String::new();
        let mut stderr = String::new();
        let (mut out_open, mut err_open) = (true, true);
        // Read both pipes in this future (not spawned tasks) so the log lines are emitted
        // inside the attempt, where its log subscriber is active.
        while out_open || err_open {
            tokio::select! {
                line = out_lines.next_line(), if out_open => match line.map_err(io_err)? {
                    Some(l) => {
                        tracing::info!(target: "oxflow::shell", "{l}");
                        stdout.push_str(&l);
                        stdout.push('\n');
                    }
                    None => out_open = false,
                },
                line = err_lines.next_line(), if err_open => match line.map_err(io_err)? {
                    Some(l) => {
                        tracing::warn!(target: "oxflow::shell", "{l}");
                        stderr.push_str(&l);
                        stderr.push('\n');
                    }
                    None => err_open = false,
                },
            }
        }
        let status = child.wait().await.map_err(io_err)?;
        // The leader exited; kill what it may have left in its group (background jobs).
        drop(std::mem::replace(&mut guard, GroupGuard { pgid: None }));
        if status.success() {
            return Ok(ShellOutput { stdout, stderr });
        }
        use std::os::unix::process::ExitStatusExt;
        let how = match (status.code(), status.signal()) {
            (Some(c), _) => format!("exited with code {c}"),
            (None, Some(s)) => format!("was killed by signal {s}"),
            _ => "failed".to_owned(),
        };
        let lines: Vec<&str> = stderr.lines().collect();
        let tail = lines[lines.len().saturating_sub(STDERR_TAIL_LINES)..].join("\n");
        Err(ShellError::Exit {
            command,
            how,
            stderr_tail: tail,
        })
    }
}
