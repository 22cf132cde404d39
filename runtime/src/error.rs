//! The root error: any of oxflow's errors, for code that handles them all the same way.
//!
//! Each concept has its own typed error ([`crate::dag::DagError`],
//! [`crate::exec::ExecError`], [`crate::tracking::TrackingError`], [`crate::drift::DriftError`],
//! ...); `?` converts each into [`Error`], which keeps it as its `source()`.
//!
//! ```
//! fn open() -> Result<(), oxflow_runtime::Error> {
//!     oxflow_runtime::dag::find("no-such-dag")?;
//!     Ok(())
//! }
//! assert!(open().unwrap_err().to_string().starts_with("no DAG `no-such-dag`"));
//! ```

/// Any error of oxflow's runtime.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A DAG is unknown or cannot run.
    #[error(transparent)]
    Dag(#[from] crate::dag::DagError),
    /// A DAG run could not start or be recorded.
    #[error(transparent)]
    Exec(#[from] crate::exec::ExecError),
    /// Reading or writing a DAG run's records failed.
    #[error(transparent)]
    Record(#[from] crate::exec::RecordError),
    /// The tracking store refused an operation.
    #[error(transparent)]
    Tracking(#[from] crate::tracking::TrackingError),
    /// A parameter was rejected.
    #[error(transparent)]
    Param(#[from] crate::params::ParamError),
    /// Drift detection failed.
    #[error(transparent)]
    Drift(#[from] crate::drift::DriftError),
    /// A model could not be scored, saved or loaded.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
}
