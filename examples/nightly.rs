//! Shell tasks, what Airflow's `BashOperator` does: a nightly job that syncs a directory and then
//! compacts it, one task at a time. Run it with `cargo run --example nightly -- run nightly`.
//!
//! Each command runs in its own process group, so a timeout, Ctrl-C or `kill` (SIGTERM) stops
//! the command and everything it started: no `sleep` or `rsync` is left behind.

use oxflow::prelude::*;
use oxflow::shell::ShellError;

/// The job's parameters (`-P wait=5`).
#[oxflow::experiment(name = "nightly")]
#[derive(Debug)]
struct NightlyParams {
    /// Seconds the sync waits for the remote side.
    #[param(default = 1.0, range = 0.0..)]
    wait: f64,
}

/// Stands for a sync with a watchdog: a background job and a foreground wait, in one group.
#[task(timeout = "10m")]
async fn sync(params: &Params<NightlyParams>) -> Result<ShellOutput, ShellError> {
    Shell::bash("sleep \"$1\" & sleep \"$1\"; wait; echo synced")
        .arg("sync")
        .arg(params.wait.to_string())
        .run()
        .await
}

/// Runs after the sync, in the single slot the DAG allows.
#[task]
async fn compact() -> Result<ShellOutput, ShellError> {
    Shell::bash("echo compacted").run().await
}

/// Syncs, then compacts. Started by the host's cron rather than oxflow's scheduler, so it has
/// no `schedule`; `alerts(stale_after)` still lets `monitor rules` warn when it stops
/// succeeding, and its sync may retry more than the default before that alerts.
#[dag(
    max_active_tasks = 1,
    params = NightlyParams,
    alerts(stale_after = "36h", max_retries = 5)
)]
fn nightly() {
    let s = sync();
    s >> compact();
}

fn main() {
    oxflow::main()
}
