//! Why an attempt did not succeed ([`TaskError`]), and the two errors a task returns to say
//! how it ended: [`Skip`] and [`Fail`] (Airflow's skip and fail exceptions).

use std::error::Error;
use std::time::Duration;

/// An error a task returned, kept whole: its type, its message and its `source()` chain.
pub type BoxError = Box<dyn Error + Send + Sync + 'static>;

/// Return it from a task (or return an error whose `source()` chain holds it) to end the task
/// `skipped` rather than failed: Airflow's `AirflowSkipException`. The task's downstream then
/// follows its trigger rules as after any skip; no retry is made.
///
/// ```
/// use oxflow_runtime::exec::Skip;
///
/// fn load(rows: usize) -> Result<Vec<u8>, Skip> {
///     if rows == 0 {
///         return Err(Skip::new("no new rows today"));
///     }
///     Ok(vec![0; rows])
/// }
/// assert_eq!(load(0).unwrap_err().reason(), "no new rows today");
/// ```
///
/// An error of your own may carry it as its source (`#[source]` or `#[from]` with thiserror).
/// `#[error(transparent)]` does not work: it forwards `source()` to the `Skip`'s own source,
/// which hides the `Skip`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Skip {
    reason: String,
}

impl Skip {
    /// Skips the task, saying why.
    pub fn new(reason: impl Into<String>) -> Skip {
        Skip {
            reason: reason.into(),
        }
    }

    /// Why the task skipped itself.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// Return it from a task (or return an error whose `source()` chain holds it) to fail the task at
/// once, without the retries it has left: Airflow's `AirflowFailException`, for errors no retry
/// can fix (bad input, a missing credential).
///
/// ```
/// use oxflow_runtime::exec::Fail;
///
/// fn parse(text: &str) -> Result<u32, Fail> {
///     text.trim().parse().map_err(|e| Fail::because(format!("`{text}` is not a count"), e))
/// }
/// let e = parse("many").unwrap_err();
/// assert_eq!(e.to_string(), "`many` is not a count");
/// assert!(std::error::Error::source(&e).is_some());
/// ```
///
/// As with [`Skip`], an error of your own may carry it as its `source()`, but not through
/// `#[error(transparent)]`.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct Fail {
    reason: String,
    #[source]
    source: Option<BoxError>,
}

impl Fail {
    /// Fails the task without retry, saying why.
    pub fn new(reason: impl Into<String>) -> Fail {
        Fail {
            reason: reason.into(),
            source: None,
        }
    }

    /// Fails the task without retry, saying why and keeping the error that caused it as the
    /// `source()`.
    pub fn because(reason: impl Into<String>, cause: impl Into<BoxError>) -> Fail {
        Fail {
            reason: reason.into(),
            source: Some(cause.into()),
        }
    }

    /// Why the task failed.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

/// Why an attempt did not succeed.
///
/// A task's own error is kept whole ([`TaskError::Failed`]), so `{:#}` with anyhow, or
/// [`TaskError::chain`], shows its causes.
///
/// ```
/// use oxflow_runtime::exec::{Skip, TaskError};
/// let e = TaskError::from_task_error(Box::new(Skip::new("nothing to do")));
/// assert!(matches!(&e, TaskError::Skip { reason } if reason == "nothing to do"));
/// assert!(!e.is_retryable());
/// ```
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// The task returned `Err`: the error, whole. It displays as the error does and its
    /// `source()` is the error's.
    #[error(transparent)]
    Failed(BoxError),
    /// The task returned an error that is, or is caused by, a [`Fail`]: failed without retry.
    #[error(transparent)]
    Fatal(BoxError),
    /// The task returned a [`Skip`] (or an error caused by one): it ends `skipped`.
    #[error("skipped: {reason}")]
    Skip {
        /// The reason the task gave.
        reason: String,
    },
    /// The task panicked.
    #[error("panicked: {message}")]
    Panicked {
        /// The panic message.
        message: String,
    },
    /// The attempt ran longer than the task's `timeout`.
    #[error("timed out after {}", humantime::format_duration(*after))]
    TimedOut {
        /// The timeout.
        after: Duration,
    },
    /// The run was interrupted (Ctrl-C) while the attempt ran.
    #[error("killed: the DAG run was interrupted")]
    Killed,
    /// An input is not available because its upstream did not succeed.
    #[error("input `{input}` is not available: upstream task `{upstream}` did not succeed")]
    MissingInput {
        /// The task's parameter.
        input: String,
        /// The upstream task.
        upstream: String,
    },
    /// Something the task asks to be injected is not there.
    #[error("{0}")]
    Injection(String),
    /// A sensor's poke found its condition not met yet ([`Poke::NotReady`]): not a failure;
    /// the executor pokes again after the sensor's interval, until its timeout.
    ///
    /// [`Poke::NotReady`]: super::sensor::Poke::NotReady
    #[error("not ready yet")]
    NotReady,
}

impl TaskError {
    /// The attempt's error for an error the task returned: [`TaskError::Skip`] if it is, or is
    /// caused by, a [`Skip`]; [`TaskError::Fatal`] for a [`Fail`]; else [`TaskError::Failed`].
    /// The outermost of the two in the `source()` chain decides.
    pub fn from_task_error(error: BoxError) -> TaskError {
        let mut cause: Option<&(dyn Error + 'static)> = Some(&*error);
        while let Some(e) = cause {
            if let Some(skip) = e.downcast_ref::<Skip>() {
                return TaskError::Skip {
                    reason: skip.reason.clone(),
                };
            }
            if e.is::<Fail>() {
                return TaskError::Fatal(error);
            }
            cause = e.source();
        }
        TaskError::Failed(error)
    }

    /// Whether another attempt may be made (tries allowing): not after a [`Skip`], a [`Fail`] or
    /// an interrupt.
    ///
    /// ```
    /// use oxflow_runtime::exec::TaskError;
    /// assert!(TaskError::Panicked { message: "oops".into() }.is_retryable());
    /// assert!(!TaskError::Killed.is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        !matches!(
            self,
            TaskError::Skip { .. } | TaskError::Fatal(_) | TaskError::Killed | TaskError::NotReady
        )
    }

    /// The message followed by every cause in the `source()` chain, `: `-separated (what
    /// anyhow's `{:#}` prints): what a failed attempt records.
    ///
    /// ```
    /// use oxflow_runtime::exec::{Fail, TaskError};
    /// let io = std::io::Error::new(std::io::ErrorKind::NotFound, "rows.csv not found");
    /// let e = TaskError::from_task_error(Box::new(Fail::because("cannot load the rows", io)));
    /// assert_eq!(e.chain(), "cannot load the rows: rows.csv not found");
    /// ```
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut cause = self.source();
        while let Some(e) = cause {
            let part = e.to_string();
            // A wrapper that repeats its cause's message adds nothing.
            if !text.ends_with(&part) {
                text.push_str(": ");
                text.push_str(&part);
            }
            cause = e.source();
        }
        text
    }
}
