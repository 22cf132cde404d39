//! Task options (`retries`, `timeout`, `trigger`, ...) and Airflow's trigger rules.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// When a task may run, given the states of its upstream tasks: Airflow's trigger rules.
///
/// Each rule decides as Airflow 3 does ([`crate::exec::trigger`] says where oxflow departs).
/// "Failed" counts both `failed` and `upstream_failed` upstreams, as in Airflow, except in
/// `one_done`.
///
/// ```
/// use oxflow_runtime::dag::TriggerRule;
/// assert_eq!(TriggerRule::AllDone.as_str(), "all_done");
/// assert!("sometimes".parse::<TriggerRule>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TriggerRule {
    /// Every upstream succeeded (the default).
    #[default]
    AllSuccess,
    /// Every upstream failed.
    AllFailed,
    /// Every upstream finished, whatever its state.
    AllDone,
    /// Every upstream finished and at least one succeeded; skipped as soon as one upstream was
    /// skipped (Airflow 3 does not count skipped upstreams as done for this rule).
    AllDoneMinOneSuccess,
    /// At least one upstream succeeded; runs without waiting for the others.
    OneSuccess,
    /// At least one upstream failed; runs without waiting for the others.
    OneFailed,
    /// At least one upstream succeeded or failed (`upstream_failed` does not count).
    OneDone,
    /// No upstream failed (successes and skips only).
    NoneFailed,
    /// No upstream failed and at least one succeeded.
    NoneFailedMinOneSuccess,
    /// No upstream was skipped.
    NoneSkipped,
    /// Every upstream was skipped.
    AllSkipped,
    /// Runs whatever its upstreams did, without waiting for them, except for the tasks whose
    /// outputs it reads.
    Always,
}

impl TriggerRule {
    /// Every rule, in Airflow's documentation order.
    pub const ALL: [TriggerRule; 12] = [
        TriggerRule::AllSuccess,
        TriggerRule::AllFailed,
        TriggerRule::AllDone,
        TriggerRule::AllDoneMinOneSuccess,
        TriggerRule::OneSuccess,
        TriggerRule::OneFailed,
        TriggerRule::OneDone,
        TriggerRule::NoneFailed,
        TriggerRule::NoneFailedMinOneSuccess,
        TriggerRule::NoneSkipped,
        TriggerRule::AllSkipped,
        TriggerRule::Always,
    ];

    /// The rule's Airflow name, such as `"all_success"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TriggerRule::AllSuccess => "all_success",
            TriggerRule::AllFailed => "all_failed",
            TriggerRule::AllDone => "all_done",
            TriggerRule::AllDoneMinOneSuccess => "all_done_min_one_success",
            TriggerRule::OneSuccess => "one_success",
            TriggerRule::OneFailed => "one_failed",
            TriggerRule::OneDone => "one_done",
            TriggerRule::NoneFailed => "none_failed",
            TriggerRule::NoneFailedMinOneSuccess => "none_failed_min_one_success",
            TriggerRule::NoneSkipped => "none_skipped",
            TriggerRule::AllSkipped => "all_skipped",
            TriggerRule::Always => "always",
        }
    }
}

impl fmt::Display for TriggerRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A trigger rule name that is not one of Airflow's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown trigger rule `{given}`; expected one of: {}", TriggerRule::ALL.map(TriggerRule::as_str).join(", "))]
pub struct TriggerRuleParseError {
    /// The name that was given.
    pub given: String,
}

impl FromStr for TriggerRule {
    type Err = TriggerRuleParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TriggerRule::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| TriggerRuleParseError {
                given: s.to_owned(),
            })
    }
}

/// Options of one task as written in `#[task(...)]` or a DAG's `default_args(...)`; `None`
/// means "not set here", so a task's own setting wins over the DAG's default, which wins over
/// oxflow's default.
///
/// ```
/// use oxflow_runtime::dag::TaskOptions;
/// let task = TaskOptions { retries: Some(3), ..TaskOptions::EMPTY };
/// let dag = TaskOptions { retries: Some(1), persist: Some(false), ..TaskOptions::EMPTY };
/// let opts = task.or(dag).resolve();
/// assert_eq!((opts.retries, opts.persist), (3, false));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct TaskOptions {
    /// How many times a failed attempt is retried.
    pub retries: Option<u32>,
    /// The wait before the first retry.
    pub retry_delay: Option<Duration>,
    /// Factor the wait grows by after each retry (exponential backoff); 1.0 keeps it constant.
    pub backoff: Option<f64>,
    /// Upper bound on the wait between retries.
    pub max_retry_delay: Option<Duration>,
    /// Time limit of one attempt.
    pub timeout: Option<Duration>,
    /// When the task may run, given its upstream states.
    pub trigger: Option<TriggerRule>,
    /// Whether the output is stored with the run, so a resumed run reuses it.
    pub persist: Option<bool>,
}

impl TaskOptions {
    /// No option set.
    pub const EMPTY: TaskOptions = TaskOptions {
        retries: None,
        retry_delay: None,
        backoff: None,
        max_retry_delay: None,
        timeout: None,
        trigger: None,
        persist: None,
    };

    /// Each option of `self`, or `fallback`'s where `self` does not set it.
    pub const fn or(self, fallback: TaskOptions) -> TaskOptions {
        macro_rules! pick {
            ($f:ident) => {
                match self.$f {
                    Some(v) => Some(v),
                    None => fallback.$f,
                }
            };
        }
        TaskOptions {
            retries: pick!(retries),
            retry_delay: pick!(retry_delay),
            backoff: pick!(backoff),
            max_retry_delay: pick!(max_retry_delay),
            timeout: pick!(timeout),
            trigger: pick!(trigger),
            persist: pick!(persist),
        }
    }

    /// Fills every unset option with oxflow's default: no retries, 1 s retry delay, no backoff,
    /// no timeout, `all_success`, outputs persisted.
    pub fn resolve(self) -> ResolvedOptions {
        ResolvedOptions {
            retries: self.retries.unwrap_or(0),
            retry_delay: self.retry_delay.unwrap_or(Duration::from_secs(1)),
            backoff: self.backoff.unwrap_or(1.0),
            max_retry_delay: self.max_retry_delay,
            timeout: self.timeout,
            trigger: self.trigger.unwrap_or_default(),
            persist: self.persist.unwrap_or(true),
        }
    }
}

/// A task's options after defaults are applied.
///
/// ```
/// use std::time::Duration;
/// use oxflow_runtime::dag::TaskOptions;
/// let o = TaskOptions {
///     retry_delay: Some(Duration::from_secs(2)),
///     backoff: Some(2.0),
///     max_retry_delay: Some(Duration::from_secs(5)),
///     ..TaskOptions::EMPTY
/// }
/// .resolve();
/// assert_eq!(o.delay_before_try(2), Duration::from_secs(2));
/// assert_eq!(o.delay_before_try(3), Duration::from_secs(4));
/// assert_eq!(o.delay_before_try(4), Duration::from_secs(5));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResolvedOptions {
    /// How many times a failed attempt is retried.
    pub retries: u32,
    /// The wait before the first retry.
    pub retry_delay: Duration,
    /// Factor the wait grows by after each retry.
    pub backoff: f64,
    /// Upper bound on the wait between retries.
    pub max_retry_delay: Option<Duration>,
    /// Time limit of one attempt.
    pub timeout: Option<Duration>,
    /// When the task may run.
    pub trigger: TriggerRule,
    /// Whether the output is stored with the run.
    pub persist: bool,
}

impl ResolvedOptions {
    /// The wait before attempt `try_number` (2 for the first retry):
    /// `retry_delay * backoff^(try_number - 2)`, capped by `max_retry_delay`.
    pub fn delay_before_try(&self, try_number: u32) -> Duration {
        let exponent = try_number.saturating_sub(2) as i32;
        let secs = self.retry_delay.as_secs_f64() * self.backoff.powi(exponent);
        let delay = if secs.is_finite() && secs < 1e9 {
            Duration::from_secs_f64(secs.max(0.0))
        } else {
            Duration::from_secs(1_000_000_000)
        };
        match self.max_retry_delay {
            Some(max) => delay.min(max),
            None => delay,
        }
    }
}
