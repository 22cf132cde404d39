//! Task states, with Airflow's names. (Why an attempt did not succeed is
//! [`TaskError`](super::TaskError), beside the other types a task is written against.)

use std::fmt;
use std::str::FromStr;

/// The state of a task instance, with Airflow's names.
///
/// ```
/// use oxflow_runtime::exec::TaskState;
/// assert_eq!("up_for_retry".parse::<TaskState>().unwrap(), TaskState::UpForRetry);
/// assert!(TaskState::Skipped.is_finished());
/// ```
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Not yet considered.
    #[default]
    None,
    /// Its trigger rule is met; waiting for a free slot.
    Scheduled,
    /// Handed to the worker pool.
    Queued,
    /// An attempt is running.
    Running,
    /// Finished successfully.
    Success,
    /// Failed on its last try.
    Failed,
    /// Failed, with tries left; waiting for the retry delay.
    UpForRetry,
    /// Not run because upstream tasks failed.
    UpstreamFailed,
    /// Not run because its trigger rule said so.
    Skipped,
    /// A sensor in `reschedule` mode whose last poke was not ready: it holds no slot and waits
    /// for its next poke (Airflow's `up_for_reschedule`).
    UpForReschedule,
}

impl TaskState {
    /// Every state.
    pub const ALL: [TaskState; 10] = [
        TaskState::None,
        TaskState::Scheduled,
        TaskState::Queued,
        TaskState::Running,
        TaskState::Success,
        TaskState::Failed,
        TaskState::UpForRetry,
        TaskState::UpstreamFailed,
        TaskState::Skipped,
        TaskState::UpForReschedule,
    ];

    /// Airflow's name of the state.
    pub const fn as_str(self) -> &'static str {
        match self {
            TaskState::None => "none",
            TaskState::Scheduled => "scheduled",
            TaskState::Queued => "queued",
            TaskState::Running => "running",
            TaskState::Success => "success",
            TaskState::Failed => "failed",
            TaskState::UpForRetry => "up_for_retry",
            TaskState::UpstreamFailed => "upstream_failed",
            TaskState::Skipped => "skipped",
            TaskState::UpForReschedule => "up_for_reschedule",
        }
    }

    /// Whether the state is final for this DAG run.
    pub const fn is_finished(self) -> bool {
        matches!(
            self,
            TaskState::Success | TaskState::Failed | TaskState::UpstreamFailed | TaskState::Skipped
        )
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A task state name that is not one of Airflow's.
///
/// ```
/// use oxflow_runtime::exec::TaskState;
/// let e = "done".parse::<TaskState>().unwrap_err();
/// assert_eq!(e.given, "done");
/// assert!(e.to_string().contains("expected one of: none, scheduled"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown task state `{given}`; expected one of: {}", TaskState::ALL.map(TaskState::as_str).join(", "))]
pub struct TaskStateParseError {
    /// The name that was given.
    pub given: String,
}

impl FromStr for TaskState {
    type Err = TaskStateParseError;
    fn from_str(s: &str) -> Result<Self, TaskStateParseError> {
        TaskState::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| TaskStateParseError {
                given: s.to_owned(),
            })
    }
}
