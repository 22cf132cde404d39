//! Sensors: tasks that wait for something to be true (a file lands, an endpoint answers,
//! another DAG's run succeeded, a registry alias moves) and hand what they found downstream.
//!
//! A `#[sensor(...)]` function returns [`Poke<T>`] (or `Result<Poke<T>, E>`): `NotReady` to
//! be poked again after `poke_interval`, `Ready(v)` to end the wait with `v` as its output. The
//! executor pokes until ready or until `timeout` has passed since the first poke:
//!
//! - **`mode = "poke"`** (default) holds the sensor's `max_active_tasks` slot for the whole
//!   wait; **`mode = "reschedule"`** frees it between pokes, and the task is
//!   `up_for_reschedule` (recorded with its next poke time) meanwhile.
//! - **`timeout`** (default 7 days, Airflow's) is measured from the first poke, across retries
//!   and across a resume of the DAG run; a sensor that times out fails at once, never retried,
//!   or ends `skipped` with **`soft_fail = true`** (its downstream then follows its trigger
//!   rules as after any skip).
//! - **`exponential_backoff = true`** doubles the wait after each poke that was not ready,
//!   up to `max_wait` ([`SensorDef::interval_after`]).
//! - An `Err` from a poke is an error like a task's: retried with `retries`/`retry_delay`.
//! - A DAG's `default_args(timeout = ...)` limits each poke, as it limits each attempt of a task;
//!   the sensor's own `timeout` is its whole wait.
//!
//! The built-ins are values with a `poke(&self, ctx)` method for a `#[sensor]` function to call:
//! [`FileSensor`], [`HttpSensor`], [`ExternalDagSensor`], [`RegistryAliasSensor`].
//!
//! ```
//! use oxflow_runtime::sensor::Poke;
//! // what `#[sensor(poke_interval = "30s", timeout = "1h", mode = "reschedule")]` goes on:
//! fn partition_ready(rows: usize) -> Poke<usize> {
//!     Poke::when(rows > 0, rows)
//! }
//! assert_eq!(partition_ready(0), Poke::NotReady);
//! ```

mod alias;
mod error;
mod external;
mod file;
mod http;

pub use crate::task::sensor::{
    DEFAULT_POKE_INTERVAL, DEFAULT_SENSOR_TIMEOUT, Poke, SensorDef, SensorMode,
};
pub use alias::RegistryAliasSensor;
pub use error::SensorError;
pub use external::ExternalDagSensor;
pub use file::FileSensor;
pub use http::HttpSensor;
