//! Task logs: tracing events inside an attempt go to that attempt's file.
//!
//! One subscriber serves a whole DAG run. Each attempt runs inside an `attempt` span that carries
//! its open log file as a span extension; the [`AttemptLogLayer`] writes every event to the file
//! of the nearest enclosing attempt span. A subscriber per attempt would be simpler, but every
//! new `Dispatch` makes tracing rebuild the interest of every callsite across all live
//! dispatchers, which is quadratic in the number of running tasks (10,000 fan-out tasks spent
//! most of their time there).
//!
//! The file is created on the first line written to it, by whichever thread writes first, so
//! starting an attempt does no I/O. A successful attempt that logged nothing itself gets no file
//! at all: a file and its directory are two inodes, which on ext4 cost more than the rest of
//! the task's record, and the lines it would hold (start and end of the attempt) are in the
//! task's run already; [`load_task_log`](super::load_task_log) rebuilds them from there.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::{Dispatch, Event, Level, Metadata, Span, Subscriber};
use tracing_subscriber::Registry;
use tracing_subscriber::layer::{Context, Layer, Layered, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

use crate::task::LogScope;

/// The log file of one attempt, stored on its span.
struct AttemptFile(Arc<LazyFile>);

/// A log file created with its first line (the attempt's header line) on first write.
pub(crate) struct LazyFile {
    path: PathBuf,
    header: String,
    file: Mutex<Option<File>>,
}

impl LazyFile {
    /// A log at `path` whose first line will be `header`.
    pub(crate) fn new(path: PathBuf, header: String) -> LazyFile {
        LazyFile {
            path,
            header,
            file: Mutex::new(None),
        }
    }

    /// Appends `text`, creating the file (and its directory) first if needed.
    pub(crate) fn write(&self, text: &[u8]) -> std::io::Result<()> {
        let mut slot = self
            .file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slot.is_none() {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            file.write_all(self.header.as_bytes())?;
            *slot = Some(file);
        }
        match slot.as_mut() {
            Some(f) => f.write_all(text),
            None => Ok(()),
        }
    }

    /// Whether a line has been written (the file exists).
    pub(crate) fn is_created(&self) -> bool {
        self.file
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .is_some()
    }

    /// The file's path.
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.path
    }
}

/// One log line as the layer writes it.
pub(crate) fn line(level: &Level, target: &str, message: &str) -> String {
    format!(
        "{} {:>5} {target}: {message}\n",
        humantime::format_rfc3339_micros(std::time::SystemTime::now()),
        level
    )
}

/// Routes events to the log file of the attempt they happen in; INFO and above.
pub(crate) struct AttemptLogLayer;

type RunSubscriber = Layered<AttemptLogLayer, Registry>;

/// Collects an event's message and fields as `message k=v k=v`.
#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Visit for Line {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }
}

impl<S> Layer<S> for AttemptLogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn enabled(&self, metadata: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        metadata.is_span() || *metadata.level() <= Level::INFO
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        for span in scope {
            let ext = span.extensions();
            let Some(AttemptFile(file)) = ext.get::<AttemptFile>() else {
                continue;
            };
            let mut line = Line::default();
            event.record(&mut line);
            let meta = event.metadata();
            line.message.push_str(&line.fields);
            // Connection secrets never reach the file (Airflow's secrets masker).
            let message = crate::conn::mask::redact(&line.message);
            let text = self::line(meta.level(), meta.target(), &message);
            // A file that cannot be created loses the task's own lines; the recorder's line
            // about the attempt reports the error.
            let _ = file.write(text.as_bytes());
            return;
        }
    }
}

/// The subscriber of one DAG run's task logs.
pub(crate) fn run_dispatch() -> Dispatch {
    Dispatch::new(Registry::default().with(AttemptLogLayer))
}

/// Opens an attempt's span on `dispatch`, writing to `file`.
pub(crate) fn attempt_span(dispatch: &Dispatch, file: Arc<LazyFile>) -> Span {
    let span = tracing::dispatcher::with_default(
        dispatch,
        || tracing::info_span!(target: "oxflow", "attempt"),
    );
    if let (Some(id), Some(sub)) = (span.id(), dispatch.downcast_ref::<RunSubscriber>())
        && let Some(data) = sub.span(&id)
    {
        data.extensions_mut().insert(AttemptFile(file));
    }
    span
}

/// Where an attempt logs: the run's subscriber and the attempt's span (what the task's own
/// code runs in), and the file they write to.
#[derive(Clone)]
pub(crate) struct AttemptLog {
    pub(crate) scope: LogScope,
    pub(crate) file: Arc<LazyFile>,
}

impl AttemptLog {
    /// Runs `f` with the attempt's span entered on the run's subscriber.
    pub(crate) fn in_scope<R>(&self, f: impl FnOnce() -> R) -> R {
        self.scope.in_scope(f)
    }
}
