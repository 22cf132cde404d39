//! Where commands print: standard output and error that a closed pipe does not break.
//!
//! `oxflow runs show ID | head -1` closes the pipe after one line. Rust ignores `SIGPIPE`, so
//! the next write fails with `BrokenPipe`, and `println!` would panic. Like other command-line
//! tools, oxflow stops printing quietly instead; the command still finishes (a DAG run still
//! records its end, `drift --fail-on-drift` still exits 1 on drift) and keeps its exit status.

use std::io::{self, Write};

/// A writer that discards everything after the reader went away (`BrokenPipe`), reporting
/// success, and passes every other error on.
///
/// ```
/// use std::io::Write;
/// use oxflow_runtime::cli::QuietPipe;
/// let mut out = QuietPipe::new(Vec::new());
/// writeln!(out, "hello")?;
/// assert_eq!(out.get_ref(), b"hello\n");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct QuietPipe<W> {
    inner: W,
    closed: bool,
}

impl<W: Write> QuietPipe<W> {
    /// Wraps a writer.
    pub fn new(inner: W) -> Self {
        QuietPipe {
            inner,
            closed: false,
        }
    }

    /// The wrapped writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// True once a write found the pipe closed.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    fn quiet<T>(&mut self, r: io::Result<T>, done: T) -> io::Result<T> {
        match r {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(done)
            }
            r => r,
        }
    }
}

impl<W: Write> Write for QuietPipe<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        let r = self.inner.write(buf);
        self.quiet(r, buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.closed {
            return Ok(());
        }
        let r = self.inner.flush();
        self.quiet(r, ())
    }
}

/// Standard output for a command's results.
pub(crate) fn stdout() -> QuietPipe<io::StdoutLock<'static>> {
    QuietPipe::new(io::stdout().lock())
}

/// Writes `text` and a newline to standard output; a closed pipe is ignored, any other write
/// error is returned.
pub(crate) fn print_line(text: impl std::fmt::Display) -> io::Result<()> {
    let mut out = stdout();
    writeln!(out, "{text}")?;
    out.flush()
}

/// Writes `text` to standard output as is; a closed pipe is ignored.
pub(crate) fn print(text: impl std::fmt::Display) -> io::Result<()> {
    let mut out = stdout();
    write!(out, "{text}")?;
    out.flush()
}

/// Writes a line to standard error. Nothing is left to tell if that fails, so a failure is
/// ignored (where `eprintln!` would panic, e.g. with `2>&1 | head -1`).
pub(crate) fn eprint_line(text: impl std::fmt::Display) {
    let _ = writeln!(io::stderr().lock(), "{text}");
}
