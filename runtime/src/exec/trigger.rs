//! Trigger-rule decisions from counts of upstream states, rule by rule as Airflow 3 decides them
//! (`TriggerRuleDep._evaluate_direct_relatives` in `airflow/ti_deps/deps/trigger_rule_dep.py`).
//!
//! The executor keeps, per task, how many upstreams succeeded, failed, ended `upstream_failed`
//! and were skipped, and asks [`decide`] after each change. Counting keeps a fan-in of 10,000
//! upstreams at O(1) per update instead of rescanning every upstream.
//!
//! Where oxflow departs from Airflow, on purpose:
//! - a task never runs before the tasks whose *outputs* it reads have finished, whatever its
//!   rule (it could not be handed its inputs); `always` therefore waits for those, and runs at
//!   once when it reads none, as in Airflow;
//! - Airflow's `all_done_setup_success` is absent: oxflow has no setup and teardown tasks.

use crate::dag::TriggerRule;

/// Upstream states of one task, counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UpstreamCounts {
    /// Number of upstream tasks.
    pub total: usize,
    /// Upstreams in `success`.
    pub success: usize,
    /// Upstreams in `failed`.
    pub failed: usize,
    /// Upstreams in `upstream_failed`.
    pub upstream_failed: usize,
    /// Upstreams in `skipped`.
    pub skipped: usize,
}

impl UpstreamCounts {
    /// Upstreams in a final state.
    pub fn done(&self) -> usize {
        self.success + self.failed + self.upstream_failed + self.skipped
    }
    fn all_done(&self) -> bool {
        self.done() >= self.total
    }
    /// `failed` or `upstream_failed`: what most rules count as a failure.
    fn any_failure(&self) -> usize {
        self.failed + self.upstream_failed
    }
}

/// What a task's trigger rule says, given its upstream counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Not decidable yet: wait for more upstreams.
    Wait,
    /// The task may run.
    Run,
    /// The task is `skipped`.
    Skip,
    /// The task is `upstream_failed`.
    UpstreamFailed,
}

/// Airflow 3's decision for `rule`, from the counts alone. Airflow first sets the state a
/// rule forces (`skipped`, `upstream_failed`), then lets the task run if the rule is met;
/// each arm below follows that order.
///
/// ```
/// use oxflow_runtime::dag::TriggerRule;
/// use oxflow_runtime::exec::trigger::{Decision, UpstreamCounts, decide};
/// let c = UpstreamCounts { total: 2, success: 1, failed: 1, ..Default::default() };
/// assert_eq!(decide(TriggerRule::AllSuccess, c), Decision::UpstreamFailed);
/// assert_eq!(decide(TriggerRule::AllDone, c), Decision::Run);
/// ```
pub fn decide(rule: TriggerRule, c: UpstreamCounts) -> Decision {
    use Decision::*;
    use TriggerRule as R;
    // Airflow: a task without upstreams, or with `always`, passes at once.
    if c.total == 0 || rule == R::Always {
        return Run;
    }
    let done = c.all_done();
    let failures = c.any_failure();
    match rule {
        // upstream_failed on any failure, skipped on any skip; runs when all succeeded.
        R::AllSuccess => {
            if failures > 0 {
                UpstreamFailed
            } else if c.skipped > 0 {
                Skip
            } else if c.success >= c.total {
                Run
            } else {
                Wait
            }
        }
        // skipped on any success or skip; runs when all failed (either kind).
        R::AllFailed => {
            if c.success + c.skipped > 0 {
                Skip
            } else if failures >= c.total {
                Run
            } else {
                Wait
            }
        }
        // runs when all are done, whatever their states.
        R::AllDone => {
            if done {
                Run
            } else {
                Wait
            }
        }
        // skipped as soon as one upstream is skipped (skipped tasks are not "done" for this
        // rule); upstream_failed when all are done without a success; runs when all are done
        // and one succeeded.
        R::AllDoneMinOneSuccess => {
            if c.skipped > 0 {
                Skip
            } else if !done {
                Wait
            } else if c.success == 0 {
                UpstreamFailed
            } else {
                Run
            }
        }
        // runs on the first success; when all are done without one: skipped if all were
        // skipped, else upstream_failed.
        R::OneSuccess => {
            if c.success > 0 {
                Run
            } else if !done {
                Wait
            } else if c.skipped >= c.total {
                Skip
            } else {
                UpstreamFailed
            }
        }
        // runs on the first failure (either kind); skipped when all are done without one.
        R::OneFailed => {
            if failures > 0 {
                Run
            } else if done {
                Skip
            } else {
                Wait
            }
        }
        // runs on the first success or `failed` (not `upstream_failed`); skipped when all are
        // done without one.
        R::OneDone => {
            if c.success + c.failed > 0 {
                Run
            } else if done {
                Skip
            } else {
                Wait
            }
        }
        // upstream_failed on any failure; runs when all are done.
        R::NoneFailed => {
            if failures > 0 {
                UpstreamFailed
            } else if done {
                Run
            } else {
                Wait
            }
        }
        // upstream_failed on any failure; skipped when all were skipped; runs when all are
        // done (so one succeeded).
        R::NoneFailedMinOneSuccess => {
            if failures > 0 {
                UpstreamFailed
            } else if c.skipped >= c.total {
                Skip
            } else if done {
                Run
            } else {
                Wait
            }
        }
        // skipped on any skip; runs when all are done.
        R::NoneSkipped => {
            if c.skipped > 0 {
                Skip
            } else if done {
                Run
            } else {
                Wait
            }
        }
        // skipped on any success or failure (either kind); runs when all were skipped.
        R::AllSkipped => {
            if c.success + failures > 0 {
                Skip
            } else if c.skipped >= c.total {
                Run
            } else {
                Wait
            }
        }
        R::Always => Run,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Decision::*;
    use TriggerRule as R;

    fn c(
        success: usize,
        failed: usize,
        upstream_failed: usize,
        skipped: usize,
        running: usize,
    ) -> UpstreamCounts {
        UpstreamCounts {
            total: success + failed + upstream_failed + skipped + running,
            success,
            failed,
            upstream_failed,
            skipped,
        }
    }

    /// The whole matrix, one row per rule, worked out from Airflow 3's `trigger_rule_dep.py`:
    /// (all success), (one failed), (one skipped), (all failed), (all skipped),
    /// (one success + one running), (one failed + one running), (all upstream_failed),
    /// (one upstream_failed + one running), (one skipped + one running).
    #[test]
    fn trigger_rule_matrix() {
        let cases = [
            c(2, 0, 0, 0, 0),
            c(1, 1, 0, 0, 0),
            c(1, 0, 0, 1, 0),
            c(0, 2, 0, 0, 0),
            c(0, 0, 0, 2, 0),
            c(1, 0, 0, 0, 1),
            c(0, 1, 0, 0, 1),
            c(0, 0, 2, 0, 0),
            c(0, 0, 1, 0, 1),
            c(0, 0, 0, 1, 1),
        ];
        let expected: [(R, [Decision; 10]); 12] = [
            (
                R::AllSuccess,
                [
                    Run,
                    UpstreamFailed,
                    Skip,
                    UpstreamFailed,
                    Skip,
                    Wait,
                    UpstreamFailed,
                    UpstreamFailed,
                    UpstreamFailed,
                    Skip,
                ],
            ),
            (
                R::AllFailed,
                [Skip, Skip, Skip, Run, Skip, Skip, Wait, Run, Wait, Skip],
            ),
            (
                R::AllDone,
                [Run, Run, Run, Run, Run, Wait, Wait, Run, Wait, Wait],
            ),
            (
                R::AllDoneMinOneSuccess,
                [
                    Run,
                    Run,
                    Skip,
                    UpstreamFailed,
                    Skip,
                    Wait,
                    Wait,
                    UpstreamFailed,
                    Wait,
                    Skip,
                ],
            ),
            (
                R::OneSuccess,
                [
                    Run,
                    Run,
                    Run,
                    UpstreamFailed,
                    Skip,
                    Run,
                    Wait,
                    UpstreamFailed,
                    Wait,
                    Wait,
                ],
            ),
            (
                R::OneFailed,
                [Skip, Run, Skip, Run, Skip, Wait, Run, Run, Run, Wait],
            ),
            // upstream_failed does not count: all upstream_failed skips it.
            (
                R::OneDone,
                [Run, Run, Run, Run, Skip, Run, Run, Skip, Wait, Wait],
            ),
            (
                R::NoneFailed,
                [
                    Run,
                    UpstreamFailed,
                    Run,
                    UpstreamFailed,
                    Run,
                    Wait,
                    UpstreamFailed,
                    UpstreamFailed,
                    UpstreamFailed,
                    Wait,
                ],
            ),
            (
                R::NoneFailedMinOneSuccess,
                [
                    Run,
                    UpstreamFailed,
                    Run,
                    UpstreamFailed,
                    Skip,
                    Wait,
                    UpstreamFailed,
                    UpstreamFailed,
                    UpstreamFailed,
                    Wait,
                ],
            ),
            (
                R::NoneSkipped,
                [Run, Run, Skip, Run, Skip, Wait, Wait, Run, Wait, Skip],
            ),
            (
                R::AllSkipped,
                [Skip, Skip, Skip, Skip, Run, Skip, Skip, Skip, Skip, Wait],
            ),
            (
                R::Always,
                [Run, Run, Run, Run, Run, Run, Run, Run, Run, Run],
            ),
        ];
        for (rule, row) in expected {
            for (counts, want) in cases.iter().zip(row) {
                assert_eq!(decide(rule, *counts), want, "{rule} with {counts:?}");
            }
        }
    }

    #[test]
    fn no_upstream_runs_at_once() {
        for rule in R::ALL {
            assert_eq!(decide(rule, UpstreamCounts::default()), Run);
        }
    }
}
