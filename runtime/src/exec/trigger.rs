//! Trigger-rule decisions from counts of upstream states.
//!
//! The executor keeps, per task, how many upstreams succeeded, failed (`failed` or
//! `upstream_failed`) and were skipped, and asks [`decide`] after each change. Counting keeps a
//! fan-in of 10,000 upstreams at O(1) per update instead of rescanning every upstream.

use crate::dag::TriggerRule;

/// Upstream states of one task, counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UpstreamCounts {
    /// Number of upstream tasks.
    pub total: usize,
    /// Upstreams in `success`.
    pub success: usize,
    /// Upstreams in `failed` or `upstream_failed`.
    pub failed: usize,
    /// Upstreams in `skipped`.
    pub skipped: usize,
}

impl UpstreamCounts {
    /// Upstreams in a final state.
    pub fn done(&self) -> usize {
        self.success + self.failed + self.skipped
    }
    fn all_done(&self) -> bool {
        self.done() == self.total
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

/// Airflow's decision for `rule` (its `TriggerRuleDep`), from the counts alone.
///
/// ```
/// use oxflow_runtime::dag::TriggerRule;
/// use oxflow_runtime::exec::trigger::{Decision, UpstreamCounts, decide};
/// let c = UpstreamCounts { total: 2, success: 1, failed: 1, skipped: 0 };
/// assert_eq!(decide(TriggerRule::AllSuccess, c), Decision::UpstreamFailed);
/// assert_eq!(decide(TriggerRule::AllDone, c), Decision::Run);
/// ```
pub fn decide(rule: TriggerRule, c: UpstreamCounts) -> Decision {
    use Decision::*;
    use TriggerRule as R;
    if c.total == 0 {
        return Run;
    }
    let done = c.all_done();
    match rule {
        R::AllSuccess => {
            if c.failed > 0 {
                UpstreamFailed
            } else if c.skipped > 0 {
                Skip
            } else if c.success == c.total {
                Run
            } else {
                Wait
            }
        }
        R::AllFailed => {
            if c.success + c.skipped > 0 {
                Skip
            } else if c.failed == c.total {
                Run
            } else {
                Wait
            }
        }
        R::AllDone | R::Always => {
            if done {
                Run
            } else {
                Wait
            }
        }
        R::AllDoneMinOneSuccess => {
            if !done {
                Wait
            } else if c.success > 0 {
                Run
            } else if c.skipped == c.total {
                Skip
            } else {
                UpstreamFailed
            }
        }
        R::OneSuccess => {
            if c.success > 0 {
                Run
            } else if !done {
                Wait
            } else if c.skipped == c.total {
                Skip
            } else {
                UpstreamFailed
            }
        }
        R::OneFailed => {
            if c.failed > 0 {
                Run
            } else if done {
                Skip
            } else {
                Wait
            }
        }
        R::OneDone => {
            if c.success + c.failed > 0 {
                Run
            } else if done {
                Skip
            } else {
                Wait
            }
        }
        R::NoneFailed => {
            if c.failed > 0 {
                UpstreamFailed
            } else if done {
                Run
            } else {
                Wait
            }
        }
        R::NoneFailedMinOneSuccess => {
            if c.failed > 0 {
                UpstreamFailed
            } else if !done {
                Wait
            } else if c.success > 0 {
                Run
            } else {
                Skip
            }
        }
        R::NoneSkipped => {
            if c.skipped > 0 {
                Skip
            } else if done {
                Run
            } else {
                Wait
            }
        }
        R::AllSkipped => {
            if c.success + c.failed > 0 {
                Skip
            } else if c.skipped == c.total {
                Run
            } else {
                Wait
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Decision::*;
    use TriggerRule as R;

    fn c(success: usize, failed: usize, skipped: usize, running: usize) -> UpstreamCounts {
        UpstreamCounts {
            total: success + failed + skipped + running,
            success,
            failed,
            skipped,
        }
    }

    /// The whole matrix, one row per rule: (all success), (one failed), (one skipped),
    /// (all failed), (all skipped), (one success + one still running), (one failed + one running).
    #[test]
    fn trigger_rule_matrix() {
        let cases = [
            c(2, 0, 0, 0),
            c(1, 1, 0, 0),
            c(1, 0, 1, 0),
            c(0, 2, 0, 0),
            c(0, 0, 2, 0),
            c(1, 0, 0, 1),
            c(0, 1, 0, 1),
        ];
        let expected: [(R, [Decision; 7]); 12] = [
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
                ],
            ),
            (R::AllFailed, [Skip, Skip, Skip, Run, Skip, Skip, Wait]),
            (R::AllDone, [Run, Run, Run, Run, Run, Wait, Wait]),
            (
                R::AllDoneMinOneSuccess,
                [Run, Run, Run, UpstreamFailed, Skip, Wait, Wait],
            ),
            (
                R::OneSuccess,
                [Run, Run, Run, UpstreamFailed, Skip, Run, Wait],
            ),
            (R::OneFailed, [Skip, Run, Skip, Run, Skip, Wait, Run]),
            (R::OneDone, [Run, Run, Run, Run, Skip, Run, Run]),
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
                ],
            ),
            (R::NoneSkipped, [Run, Run, Skip, Run, Skip, Wait, Wait]),
            (R::AllSkipped, [Skip, Skip, Skip, Skip, Run, Skip, Skip]),
            (R::Always, [Run, Run, Run, Run, Run, Wait, Wait]),
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
