//! Why a built-in sensor's poke failed (as opposed to "not ready yet").

use crate::conn::ConnError;
use crate::tracking::TrackingError;

/// A built-in sensor could not poke: its configuration is wrong, or the store refused a read.
/// "Not ready yet" is never an error: it is [`Poke::NotReady`](super::Poke::NotReady).
///
/// ```
/// use oxflow_runtime::sensor::HttpSensor;
/// let err = HttpSensor::url("ftp//not a url").unwrap_err();
/// assert!(err.to_string().contains("`ftp//not a url`"));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum SensorError {
    /// A glob pattern that does not parse.
    #[error("FileSensor: `{pattern}` is not a valid glob pattern: {source}")]
    Pattern {
        /// The pattern.
        pattern: String,
        /// What is wrong with it.
        #[source]
        source: glob::PatternError,
    },
    /// A URL an [`HttpSensor`](super::HttpSensor) cannot request.
    #[error(
        "HttpSensor: `{url}` is not an http(s) URL: {reason}; write it as `http://host:port/path`"
    )]
    Url {
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The connection an [`HttpSensor`](super::HttpSensor) names is missing or unusable.
    #[error(transparent)]
    Conn(#[from] ConnError),
    /// An answer with a status the sensor does not wait through (not the expected one, not in
    /// the not-ready list, and an error status).
    #[error(
        "HttpSensor: GET {url} answered {status}, which is neither {expected} nor a status to wait through ({waits}): {body}"
    )]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
        /// The expected status.
        expected: u16,
        /// The statuses that mean "not ready", comma-separated.
        waits: String,
        /// The start of the body.
        body: String,
    },
    /// The tracking store refused a read.
    #[error("{sensor}: {source}")]
    Store {
        /// The sensor.
        sensor: &'static str,
        /// The store's error.
        #[source]
        source: TrackingError,
    },
    /// The other DAG's run for this logical date ended in a state the sensor fails on:
    /// which run, for which date, in which state.
    #[error("ExternalDagSensor: {what}")]
    UpstreamFailed {
        /// What the sensor found.
        what: String,
        /// Why no retry is made: a [`Fail`](crate::exec::Fail) in the error's `source()` chain
        /// fails the sensor at once.
        #[source]
        cause: crate::exec::Fail,
    },
    /// The sensor needs a logical date, and this run has none (a manual run).
    #[error(
        "ExternalDagSensor: this run of `{dag}` has no logical date (a manual run), so there is no run of `{waits_for}` to match; trigger it from the schedule or a backfill, or set one with `.logical_date(...)`"
    )]
    NoLogicalDate {
        /// This DAG.
        dag: String,
        /// The DAG waited on.
        waits_for: String,
    },
    /// A stored value the sensor reads back does not parse.
    #[error("{sensor}: {what}")]
    Corrupt {
        /// The sensor.
        sensor: &'static str,
        /// What is wrong.
        what: String,
    },
}
