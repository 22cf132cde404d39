//! What a `#[sensor]` is, to the executor: the value each poke returns ([`Poke`]) and the
//! options that say how often to poke and for how long ([`SensorDef`]).
//!
//! The waiting itself is the scheduler's (`exec`): a poke is one invocation of the task's
//! generated `invoke`, which turns [`Poke::NotReady`] into [`TaskError::NotReady`]
//! (super::TaskError::NotReady) and `Ready(v)` into the output `v`.

use std::time::Duration;

/// What one poke of a sensor found: not yet, or the value the sensor hands downstream.
///
/// A `#[sensor]` function returns `Poke<T>` (or `Result<Poke<T>, E>`); the `T` of `Ready` is the
/// sensor's output, which downstream tasks receive typed like any task output (Airflow's
/// `PokeReturnValue(is_done, xcom_value)`).
///
/// ```
/// use oxflow_runtime::sensor::Poke;
/// fn rows_landed(rows: usize) -> Poke<usize> {
///     if rows == 0 { Poke::NotReady } else { Poke::Ready(rows) }
/// }
/// assert_eq!(rows_landed(0), Poke::NotReady);
/// assert_eq!(rows_landed(3).ready(), Some(3));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Poke<T> {
    /// The condition is not met yet: poke again after the poke interval.
    NotReady,
    /// The condition is met; the value is the sensor's output.
    Ready(T),
}

impl<T> Poke<T> {
    /// `Ready(v)` when `condition` holds, else `NotReady`: `Poke::when(path.exists(), path)`.
    ///
    /// ```
    /// use oxflow_runtime::sensor::Poke;
    /// assert_eq!(Poke::when(true, 7), Poke::Ready(7));
    /// assert_eq!(Poke::when(false, 7), Poke::NotReady);
    /// ```
    pub fn when(condition: bool, value: T) -> Poke<T> {
        if condition {
            Poke::Ready(value)
        } else {
            Poke::NotReady
        }
    }

    /// Whether the condition is met.
    ///
    /// ```
    /// assert!(oxflow_runtime::sensor::Poke::Ready(()).is_ready());
    /// ```
    pub fn is_ready(&self) -> bool {
        matches!(self, Poke::Ready(_))
    }

    /// The value, if ready.
    ///
    /// ```
    /// use oxflow_runtime::sensor::Poke;
    /// assert_eq!(Poke::<u8>::NotReady.ready(), None);
    /// ```
    pub fn ready(self) -> Option<T> {
        match self {
            Poke::Ready(v) => Some(v),
            Poke::NotReady => None,
        }
    }

    /// Maps the ready value.
    ///
    /// ```
    /// use oxflow_runtime::sensor::Poke;
    /// assert_eq!(Poke::Ready(2).map(|n| n * 10), Poke::Ready(20));
    /// ```
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Poke<U> {
        match self {
            Poke::Ready(v) => Poke::Ready(f(v)),
            Poke::NotReady => Poke::NotReady,
        }
    }
}

impl<T> From<Option<T>> for Poke<T> {
    /// `Some(v)` is ready with `v`, `None` is not ready.
    ///
    /// ```
    /// use oxflow_runtime::sensor::Poke;
    /// assert_eq!(Poke::from(Some(1)), Poke::Ready(1));
    /// ```
    fn from(value: Option<T>) -> Poke<T> {
        match value {
            Some(v) => Poke::Ready(v),
            None => Poke::NotReady,
        }
    }
}

/// How a sensor waits between pokes (Airflow's `mode`).
///
/// ```
/// use oxflow_runtime::sensor::SensorMode;
/// assert_eq!(SensorMode::default(), SensorMode::Poke);
/// assert_eq!(SensorMode::Reschedule.as_str(), "reschedule");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SensorMode {
    /// Holds its `max_active_tasks` slot for the whole wait and sleeps between pokes (the
    /// default): cheap for short waits.
    #[default]
    Poke,
    /// Frees its slot between pokes; the task is `up_for_reschedule` until its next poke is due.
    /// For long waits, so a waiting sensor does not keep other tasks from running.
    Reschedule,
}

impl SensorMode {
    /// The mode's Airflow name.
    ///
    /// ```
    /// assert_eq!(oxflow_runtime::sensor::SensorMode::Poke.as_str(), "poke");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            SensorMode::Poke => "poke",
            SensorMode::Reschedule => "reschedule",
        }
    }
}

impl std::fmt::Display for SensorMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Airflow's `[sensors] default_timeout`: 7 days.
pub const DEFAULT_SENSOR_TIMEOUT: Duration = Duration::from_secs(7 * 24 * 3600);

/// Airflow's default `poke_interval`: 60 s.
pub const DEFAULT_POKE_INTERVAL: Duration = Duration::from_secs(60);

/// A sensor's options, as `#[sensor(...)]` writes them.
///
/// ```
/// use std::time::Duration;
/// use oxflow_runtime::sensor::{SensorDef, SensorMode};
/// let def = SensorDef { mode: SensorMode::Reschedule, ..SensorDef::DEFAULT };
/// assert_eq!(def.timeout, Duration::from_secs(604_800));
/// assert_eq!(def.interval_after(3), Duration::from_secs(60));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SensorDef {
    /// The wait between two pokes (before backoff).
    pub poke_interval: Duration,
    /// How long the sensor may wait in all, from its first poke; then it fails (or, with
    /// `soft_fail`, is skipped). Never retried.
    pub timeout: Duration,
    /// Whether the slot is held between pokes.
    pub mode: SensorMode,
    /// A timeout ends the sensor `skipped` rather than `failed`.
    pub soft_fail: bool,
    /// The wait doubles after each poke that is not ready ([`SensorDef::interval_after`]).
    pub exponential_backoff: bool,
    /// Upper bound on one wait when backing off (Airflow's `max_wait`).
    pub max_wait: Option<Duration>,
}

impl SensorDef {
    /// Airflow's defaults: poke every 60 s for at most 7 days, in `poke` mode.
    pub const DEFAULT: SensorDef = SensorDef {
        poke_interval: DEFAULT_POKE_INTERVAL,
        timeout: DEFAULT_SENSOR_TIMEOUT,
        mode: SensorMode::Poke,
        soft_fail: false,
        exponential_backoff: false,
        max_wait: None,
    };

    /// The wait after the `pokes`-th poke that was not ready (from 1).
    ///
    /// Without backoff it is `poke_interval`. With `exponential_backoff` it is
    /// `poke_interval × 2^(pokes − 1)`, capped by `max_wait` (Airflow's
    /// `poke_interval × 2^(pokes − 2)` without its jitter, which would make waits
    /// unpredictable in tests and dashboards, and without its 1 s floor, so short intervals
    /// stay short). The scheduler further caps every wait by the time left before the timeout,
    /// so the last poke happens at the timeout, as in Airflow.
    ///
    /// ```
    /// use std::time::Duration;
    /// use oxflow_runtime::sensor::SensorDef;
    /// let def = SensorDef {
    ///     poke_interval: Duration::from_secs(10),
    ///     exponential_backoff: true,
    ///     max_wait: Some(Duration::from_secs(60)),
    ///     ..SensorDef::DEFAULT
    /// };
    /// let waits: Vec<u64> = (1..=5).map(|n| def.interval_after(n).as_secs()).collect();
    /// assert_eq!(waits, [10, 20, 40, 60, 60]);
    /// ```
    pub fn interval_after(&self, pokes: u32) -> Duration {
        if !self.exponential_backoff {
            return self.poke_interval;
        }
        let exponent = pokes.saturating_sub(1).min(40);
        let wait = self
            .poke_interval
            .checked_mul(1u32 << exponent.min(31))
            .and_then(|d| {
                if exponent > 31 {
                    d.checked_mul(1u32 << (exponent - 31))
                } else {
                    Some(d)
                }
            })
            .unwrap_or(Duration::MAX);
        match self.max_wait {
            Some(max) => wait.min(max),
            None => wait,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_never_overflows_and_stays_capped() {
        let def = SensorDef {
            poke_interval: Duration::from_secs(60),
            exponential_backoff: true,
            ..SensorDef::DEFAULT
        };
        // Uncapped it grows to 2^40 intervals at most and stops there, never overflowing.
        assert_eq!(def.interval_after(1), Duration::from_secs(60));
        assert_eq!(def.interval_after(41), def.interval_after(10_000));
        assert!(def.interval_after(u32::MAX) > Duration::from_secs(60 << 30));
        let capped = SensorDef {
            max_wait: Some(Duration::from_secs(300)),
            ..def
        };
        assert_eq!(capped.interval_after(u32::MAX), Duration::from_secs(300));
        // Without backoff the interval is the interval, capped or not.
        let flat = SensorDef {
            exponential_backoff: false,
            ..capped
        };
        assert_eq!(flat.interval_after(7), Duration::from_secs(60));
    }
}
