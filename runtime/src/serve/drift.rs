//! Live drift: a served model with a reference profile tests the inputs it scored, in a
//! sliding window, against its training data, and exports per-feature gauges with the same
//! names, tests and thresholds as `oxflow drift` (labelled with the model), so one alert covers
//! batch and live drift.
//!
//! Nothing on the request path waits for this: a scored request hands its parsed rows to a
//! bounded queue with `try_send` (a full queue drops the sample, counted in
//! `oxflow_serve_drift_samples_dropped_total`), and one thread per served model keeps the
//! window and runs the tests every interval.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use metrics::Counter;
use serde_json::{Map, Value};

use crate::model::{ReferenceProfile, ScoringRequest};
use crate::telemetry::{LABEL_MODEL, SERVE_DRIFT_SAMPLES_DROPPED_TOTAL};

/// Requests waiting for the drift thread before new ones are dropped.
const QUEUE: usize = 1024;

/// How the window is kept and tested.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DriftWindow {
    /// Rows kept: the most recent ones scored.
    pub rows: usize,
    /// Time between tests.
    pub every: Duration,
    /// Fewer rows than this are not tested.
    pub min_rows: usize,
}

impl Default for DriftWindow {
    fn default() -> Self {
        DriftWindow {
            rows: 1000,
            every: Duration::from_secs(30),
            min_rows: 100,
        }
    }
}

/// The request side of a model's drift thread.
pub(crate) struct DriftFeed {
    tx: SyncSender<Value>,
    dropped: Counter,
}

impl DriftFeed {
    /// Starts the thread for `model` (the `model` label) testing against `profile`; it ends
    /// when the feed is dropped (the model was replaced and its last request finished).
    pub(crate) fn start(
        model: &str,
        profile: Arc<ReferenceProfile>,
        window: DriftWindow,
    ) -> DriftFeed {
        let (tx, rx) = std::sync::mpsc::sync_channel(QUEUE);
        let name = model.to_owned();
        let spawned = std::thread::Builder::new()
            .name(format!("drift {model}"))
            .spawn(move || run(&name, &profile, window, rx));
        if let Err(e) = spawned {
            tracing::warn!(target: "oxflow::serve", model, "live drift is off: cannot start its thread: {e}");
        }
        DriftFeed {
            tx,
            dropped: metrics::counter!(SERVE_DRIFT_SAMPLES_DROPPED_TOTAL, LABEL_MODEL => model.to_owned()),
        }
    }

    /// Hands a scored request (the parsed body) to the drift thread, without waiting.
    pub(crate) fn offer(&self, request: Value) {
        match self.tx.try_send(request) {
            Ok(()) | Err(TrySendError::Disconnected(_)) => {}
            Err(TrySendError::Full(_)) => self.dropped.increment(1),
        }
    }
}

fn run(model: &str, profile: &ReferenceProfile, window: DriftWindow, rx: Receiver<Value>) {
    let mut rows: VecDeque<Map<String, Value>> = VecDeque::with_capacity(window.rows);
    let mut next = Instant::now() + window.every;
    let mut fresh = false;
    loop {
        match rx.recv_timeout(next.saturating_duration_since(Instant::now())) {
            Ok(request) => {
                if let Ok(parsed) = ScoringRequest::parse(&request) {
                    for r in parsed.records {
                        if rows.len() == window.rows {
                            rows.pop_front();
                        }
                        rows.push_back(r);
                        fresh = true;
                    }
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        if Instant::now() < next {
            continue;
        }
        next = Instant::now() + window.every;
        if !fresh || rows.len() < window.min_rows {
            continue;
        }
        fresh = false;
        let current: Vec<Map<String, Value>> = rows.iter().cloned().collect();
        if let Some(report) = profile.check(&current) {
            crate::drift::metrics::record_labelled(
                &report,
                &[metrics::Label::new(LABEL_MODEL, model.to_owned())],
            );
        }
    }
}
