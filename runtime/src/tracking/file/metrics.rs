//! Metric values: buffered in memory and appended to `metrics/<key>` as whole lines, at least
//! every flush interval; and the metric file format (`timestamp value step`).

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::{FileStore, Inner, lock};
use crate::tracking::TrackingError;
use crate::tracking::entities::Metric;
use crate::tracking::fsutil::{self, python_float_repr};

pub(super) const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_millis(1000);
/// Buffered metric bytes that trigger a flush regardless of time.
const MAX_BUFFERED_BYTES: usize = 1 << 20;

#[derive(Default)]
pub(super) struct MetricBuffer {
    /// Metric file -> complete lines not yet appended.
    files: HashMap<PathBuf, Vec<u8>>,
    bytes: usize,
    since: Option<Instant>,
}

pub(super) fn flush_buffer(buf: &mut MetricBuffer) -> Result<(), TrackingError> {
    let mut first_err = None;
    for (path, bytes) in buf.files.drain() {
        if let Err(e) = append(&path, &bytes)
            && first_err.is_none()
        {
            first_err = Some(e);
        }
    }
    buf.bytes = 0;
    buf.since = None;
    first_err.map_or(Ok(()), Err)
}

fn append(path: &Path, bytes: &[u8]) -> Result<(), TrackingError> {
    let open = || fs::OpenOptions::new().create(true).append(true).open(path);
    let mut f = match open() {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(p) = path.parent() {
                fsutil::create_dir_all(p)?;
            }
            open().map_err(|e| TrackingError::io("open", path, e))?
        }
        Err(e) => return Err(TrackingError::io("open", path, e)),
    };
    // One write of whole lines with O_APPEND: a killed process leaves all of them or none,
    // and lines from several processes never interleave.
    f.write_all(bytes)
        .map_err(|e| TrackingError::io("append to", path, e))
}

impl FileStore {
    /// Buffers metric values of the run in `run_dir`, one line each in `metrics/<key>`.
    pub(super) fn buffer_metrics(
        &self,
        run_dir: &Path,
        metrics: &[Metric],
    ) -> Result<(), TrackingError> {
        let mdir = run_dir.join("metrics");
        let mut lines: HashMap<&str, String> = HashMap::new();
        for m in metrics {
            let s = lines.entry(&m.key).or_default();
            use std::fmt::Write as _;
            let _ = writeln!(
                s,
                "{} {} {}",
                m.timestamp_ms,
                python_float_repr(m.value),
                m.step
            );
        }
        self.buffer_lines(lines.into_iter().map(|(k, s)| (mdir.join(k), s)))
    }

    fn buffer_lines(
        &self,
        lines: impl IntoIterator<Item = (PathBuf, String)>,
    ) -> Result<(), TrackingError> {
        let mut buf = lock(&self.inner.buffer);
        for (path, line) in lines {
            buf.bytes += line.len();
            buf.files
                .entry(path)
                .or_default()
                .extend_from_slice(line.as_bytes());
        }
        let interval = Duration::from_millis(self.inner.flush_interval_ms.load(Ordering::Relaxed));
        let since = *buf.since.get_or_insert_with(Instant::now);
        if buf.bytes >= MAX_BUFFERED_BYTES || since.elapsed() >= interval {
            flush_buffer(&mut buf)?;
        }
        drop(buf);
        self.start_flusher();
        Ok(())
    }

    /// Starts, once per store, a thread that flushes buffered metrics at the flush interval,
    /// so a value never waits longer than that even when nothing else is logged.
    fn start_flusher(&self) {
        if self.inner.flusher_started.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak: Weak<Inner> = Arc::downgrade(&self.inner);
        let spawned = std::thread::Builder::new()
            .name("oxflow-tracking-flush".into())
            .spawn(move || {
                loop {
                    let interval = match weak.upgrade() {
                        Some(inner) => {
                            Duration::from_millis(inner.flush_interval_ms.load(Ordering::Relaxed))
                        }
                        None => return,
                    };
                    std::thread::sleep(interval.min(Duration::from_millis(250)));
                    let Some(inner) = weak.upgrade() else { return };
                    let mut buf = lock(&inner.buffer);
                    if buf.since.is_some_and(|s| s.elapsed() >= interval)
                        && let Err(e) = flush_buffer(&mut buf)
                    {
                        tracing::warn!(error = %e, "could not flush buffered metrics");
                    }
                }
            });
        if spawned.is_err() {
            // Without the thread, values are still flushed on the next log call past the
            // interval, on flush() and when the run ends.
            self.inner.flusher_started.store(false, Ordering::Release);
        }
    }
}

/// Parses a metric file: lines `ts value [step [dataset_name dataset_digest]]`.
pub(super) fn read_metric_file(path: &Path, key: &str) -> Result<Vec<Metric>, TrackingError> {
    let text = super::read_text(path)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(' ').collect();
        let bad = || {
            TrackingError::corrupt(
                path,
                format!("line {}: `{line}` is not `timestamp value step`", i + 1),
            )
        };
        if !matches!(f.len(), 2 | 3 | 5) {
            return Err(bad());
        }
        let timestamp_ms = f[0].parse().map_err(|_| bad())?;
        let value = fsutil::parse_python_float(f[1]).ok_or_else(bad)?;
        let step = if f.len() >= 3 {
            f[2].parse().map_err(|_| bad())?
        } else {
            0
        };
        out.push(Metric {
            key: key.to_string(),
            value,
            timestamp_ms,
            step,
        });
    }
    Ok(out)
}
