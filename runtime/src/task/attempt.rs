//! What an executor lends one attempt beyond its inputs: the task's tracking run, the scope its
//! log lines go to, and a watch on its body. The executor that records a run implements them
//! (`exec`); this module only says what an attempt may ask of them, so the types a task is
//! written against do not depend on how a run is executed or recorded.

use std::sync::Arc;

use tracing::{Dispatch, Span};

use crate::tracking::{Run, TrackingError};

/// The tracking run of one task instance, written on first use: by the task (`&mut Run`), or
/// by the executor when the attempt ends or has run for a while, whichever comes first.
pub(crate) trait TaskRunHandle: Send + Sync {
    /// The run's id, if the run has been written.
    fn run_id(&self) -> Option<String>;

    /// The run, written as RUNNING for attempt `try_number` (started at `started_ms`) if it
    /// does not exist yet.
    fn open(&self, try_number: u32, started_ms: i64) -> Result<Run, TrackingError>;
}

/// The task run of an attempt of a recorded DAG run.
#[derive(Clone)]
pub(crate) struct AttemptRun {
    pub(crate) run: Arc<dyn TaskRunHandle>,
    pub(crate) try_number: u32,
    pub(crate) started_ms: i64,
}

/// Where the tracing events of an attempt go: the DAG run's subscriber, inside the attempt's
/// span.
#[derive(Clone)]
pub(crate) struct LogScope {
    pub(crate) dispatch: Dispatch,
    pub(crate) span: Span,
}

impl LogScope {
    /// Runs `f` with the attempt's span entered on the run's subscriber.
    pub(crate) fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        tracing::dispatcher::with_default(&self.dispatch, || self.span.in_scope(f))
    }
}

/// Told when a task's body has returned (or unwound).
pub(crate) trait BodyEnd: Send + Sync {
    /// The body is done.
    fn body_ended(&self);
}

/// Travels with the attempt's [`Invocation`](super::Invocation), so it is dropped where the
/// body ends: on the blocking thread after a sync body returns, which may be after its
/// attempt timed out.
pub(crate) struct BodyGuard(pub(crate) Arc<dyn BodyEnd>);

impl Drop for BodyGuard {
    fn drop(&mut self) {
        self.0.body_ended();
    }
}
