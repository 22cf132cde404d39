//! Metric values in MLflow's `metrics` and `latest_metrics` tables: NaN and infinities encoded
//! as MLflow encodes them, exact duplicates dropped, the latest value kept by MLflow's rule,
//! and single values buffered into one transaction.

use std::time::Instant;

use rusqlite::{Connection, params};

use super::conn::Db;
use super::{FLUSH_INTERVAL, MAX_BUFFERED, SqlStore};
use crate::tracking::TrackingError;
use crate::tracking::entities::Metric;

/// How MLflow stores ±infinity: the largest finite double.
const INF_AS: f64 = f64::MAX;

/// `(value, is_nan)` as MLflow stores a metric value: NaN is 0 with `is_nan = 1`, ±inf is
/// ±1.7976931348623157e308.
pub(super) fn encode_value(v: f64) -> (f64, bool) {
    if v.is_nan() {
        (0.0, true)
    } else if v == f64::INFINITY {
        (INF_AS, false)
    } else if v == f64::NEG_INFINITY {
        (-INF_AS, false)
    } else {
        (v, false)
    }
}

/// The value MLflow's client reads back for a stored `(value, is_nan)`.
pub(super) fn decode_value(v: f64, is_nan: bool) -> f64 {
    if is_nan {
        f64::NAN
    } else if v >= INF_AS {
        f64::INFINITY
    } else if v <= -INF_AS {
        f64::NEG_INFINITY
    } else {
        v
    }
}

/// Metric values and params logged one at a time and not written yet.
#[derive(Default)]
pub(super) struct MetricBuffer {
    values: Vec<(String, Metric)>,
    /// `(run, key) → value`, already checked against the database.
    params: std::collections::HashMap<(String, String), String>,
    /// When the oldest buffered value was logged.
    pub(super) since: Option<Instant>,
}

impl MetricBuffer {
    pub(super) fn is_empty(&self) -> bool {
        self.values.is_empty() && self.params.is_empty()
    }

    /// How many writes are waiting.
    pub(super) fn len(&self) -> usize {
        self.values.len() + self.params.len()
    }

    /// The buffered value of a param, if it is buffered.
    pub(super) fn param(&self, run_id: &str, key: &str) -> Option<&str> {
        self.params
            .get(&(run_id.to_string(), key.to_string()))
            .map(String::as_str)
    }

    /// Buffers a param that is neither stored nor buffered yet.
    pub(super) fn push_param(&mut self, run_id: &str, key: &str, value: &str) {
        self.params
            .insert((run_id.to_string(), key.to_string()), value.to_string());
        self.since.get_or_insert_with(Instant::now);
    }
}

/// Writes every buffered value and param in one transaction; on a database error they stay
/// buffered. A buffered param that another process stored with another value in the meantime
/// (the only way it can conflict: it was checked when logged) is dropped, and reported once
/// the rest is committed.
pub(super) fn write_buffer(db: &Db, buf: &mut MetricBuffer) -> Result<(), TrackingError> {
    if buf.is_empty() {
        return Ok(());
    }
    let conflict = db.write(|c| {
        insert_metrics(db, c, buf.values.iter().map(|(r, m)| (r.as_str(), m)))?;
        insert_buffered_params(db, c, &buf.params)
    })?;
    buf.values.clear();
    buf.params.clear();
    buf.since = None;
    conflict.map_or(Ok(()), Err)
}

/// Inserts checked params; the first one found stored with another value is returned.
fn insert_buffered_params(
    db: &Db,
    c: &Connection,
    params: &std::collections::HashMap<(String, String), String>,
) -> Result<Option<TrackingError>, TrackingError> {
    let err = |e| db.map_err("log a param", e);
    let mut ins = c
        .prepare_cached(
            "INSERT INTO params (key, value, run_uuid) VALUES (?1, ?2, ?3) \
             ON CONFLICT (key, run_uuid) DO NOTHING",
        )
        .map_err(err)?;
    let mut conflict = None;
    for ((run, key), value) in params {
        if ins.execute(params![key, value, run]).map_err(err)? == 0 && conflict.is_none() {
            let old: String = c
                .query_row(
                    "SELECT value FROM params WHERE run_uuid = ?1 AND key = ?2",
                    params![run, key],
                    |r| r.get(0),
                )
                .map_err(err)?;
            if &old != value {
                conflict = Some(TrackingError::ParamChanged {
                    key: key.clone(),
                    run_id: run.clone(),
                    old,
                    new: value.clone(),
                });
            }
        }
    }
    Ok(conflict)
}

/// Inserts metric values (`INSERT OR IGNORE`: MLflow drops exact duplicates) and moves each
/// run's latest value forward when a value's `(step, timestamp, value)` is greater.
pub(super) fn insert_metrics<'a>(
    db: &Db,
    c: &Connection,
    values: impl IntoIterator<Item = (&'a str, &'a Metric)>,
) -> Result<(), TrackingError> {
    let err = |e| db.map_err("log a metric", e);
    let mut ins = c
        .prepare_cached(
            "INSERT OR IGNORE INTO metrics (key, value, timestamp, run_uuid, step, is_nan) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .map_err(err)?;
    // Per (run, key), only the greatest value of this call can become the latest one.
    let mut latest: std::collections::HashMap<(&str, &str), &Metric> =
        std::collections::HashMap::new();
    for (run, m) in values {
        let (v, nan) = encode_value(m.value);
        ins.execute(params![m.key, v, m.timestamp_ms, run, m.step, nan])
            .map_err(err)?;
        latest
            .entry((run, m.key.as_str()))
            .and_modify(|l| {
                if m.is_later_than(l) {
                    *l = m;
                }
            })
            .or_insert(m);
    }
    // NaN sorts above every number (as `f64::total_cmp` orders it in the file store).
    let mut up = c
        .prepare_cached(
            "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (key, run_uuid) DO UPDATE SET value = excluded.value, \
             timestamp = excluded.timestamp, step = excluded.step, is_nan = excluded.is_nan \
             WHERE (excluded.step, coalesce(excluded.timestamp, 0), excluded.is_nan, excluded.value) \
             > (latest_metrics.step, coalesce(latest_metrics.timestamp, 0), latest_metrics.is_nan, \
             latest_metrics.value)",
        )
        .map_err(err)?;
    for ((run, key), m) in latest {
        let (v, nan) = encode_value(m.value);
        up.execute(params![key, v, m.timestamp_ms, m.step, nan, run])
            .map_err(err)?;
    }
    Ok(())
}

impl SqlStore {
    pub(super) fn log_metric_impl(
        &self,
        run_id: &str,
        metric: &Metric,
    ) -> Result<(), TrackingError> {
        // Refused now, not at the next flush, on a database this process may not write.
        if self.db().read_only {
            return Err(self.db().not_writable());
        }
        // Lock order everywhere: connection, then buffer.
        let c = self.db().lock();
        self.check_active_cached(&c, run_id)?;
        let mut buf = self.inner.buffer.lock();
        buf.values.push((run_id.to_string(), metric.clone()));
        let since = *buf.since.get_or_insert_with(Instant::now);
        if buf.values.len() >= MAX_BUFFERED || since.elapsed() >= FLUSH_INTERVAL {
            write_buffer(self.db(), &mut buf)?;
        }
        Ok(())
    }

    pub(super) fn get_metric_history_impl(
        &self,
        run_id: &str,
        key: &str,
    ) -> Result<Vec<Metric>, TrackingError> {
        let c = self.db().lock();
        let err = |e| self.db().map_err("read a metric history", e);
        let exists: bool = c
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM runs WHERE run_uuid = ?1)",
                [run_id],
                |r| r.get(0),
            )
            .map_err(err)?;
        if !exists {
            return Err(TrackingError::RunNotFound {
                run_id: run_id.to_string(),
            });
        }
        // Logging order: the rowid of each insert.
        let mut st = c
            .prepare_cached(
                "SELECT key, value, timestamp, step, is_nan FROM metrics \
                 WHERE run_uuid = ?1 AND key = ?2 ORDER BY rowid",
            )
            .map_err(err)?;
        st.query_map(params![run_id, key], super::runs::latest_metric)
            .and_then(|rows| rows.collect())
            .map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_and_infinities_are_encoded_as_mlflow_does() {
        assert_eq!(encode_value(f64::NAN), (0.0, true));
        assert_eq!(encode_value(f64::INFINITY), (1.7976931348623157e308, false));
        assert_eq!(
            encode_value(f64::NEG_INFINITY),
            (-1.7976931348623157e308, false)
        );
        assert_eq!(encode_value(0.5), (0.5, false));
        assert!(decode_value(0.0, true).is_nan());
        assert_eq!(decode_value(f64::MAX, false), f64::INFINITY);
        assert_eq!(decode_value(-f64::MAX, false), f64::NEG_INFINITY);
        assert_eq!(decode_value(0.5, false), 0.5);
    }
}
