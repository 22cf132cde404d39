//! Checkpoints of the write-ahead log, run by a thread of their own instead of inside a commit.
//!
//! SQLite's automatic checkpoint runs inside the `COMMIT` that takes the log past 1,000 pages:
//! that commit copies the log into the database file and fsyncs both before it returns, so
//! one write in a few hundred waits for the disk. Measured on this project's ext4 disk with
//! `cargo bench --bench tracking`: start and end of 100 runs 15.8 ms with the automatic
//! checkpoint, 9.7 ms without; 100,000 metrics by batch 404 ms and 314 ms.
//!
//! So the writing connection's WAL hook (which replaces the automatic checkpoint: SQLite
//! implements `wal_autocheckpoint` with the same hook) only wakes a checkpointer thread once
//! the log holds [`CHECKPOINT_PAGES`] pages; the thread runs a `PASSIVE` checkpoint on its own
//! connection, which never blocks the writer or a reader. Durability does not change: with
//! `synchronous=NORMAL` a commit is in the log when it returns, and a checkpoint, wherever it
//! runs, fsyncs the log before it copies it. If the thread cannot be started or cannot open
//! its connection, the hook checkpoints in the commit as SQLite would.
//!
//! rusqlite's hook API is used as is; what is written here is only the hand-off (no crate
//! offers a checkpointer thread for a connection it does not own).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags};

/// Log size, in pages, at which a checkpoint starts: SQLite's own `wal_autocheckpoint` default.
const CHECKPOINT_PAGES: i32 = 1000;

/// Log size, in multiples of [`CHECKPOINT_PAGES`], at which the committing thread checkpoints
/// itself: under sustained writing a checkpoint running beside the writer never finds the log
/// fully copied when the next transaction begins, which is when SQLite starts the log over,
/// so the log would grow without bound.
const CATCH_UP_FACTOR: i32 = 4;

/// The checkpointer of one database: started by the first commit that needs it, stopped (and
/// joined) when the store that owns the writing connection is dropped.
pub(super) struct Checkpointer {
    path: PathBuf,
    busy_timeout: Duration,
    /// Wakes the thread; `None` before it starts and after [`Checkpointer::stop`].
    wake: Mutex<Option<SyncSender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// The thread could not start or open its connection: checkpoint in the commit instead.
    inline: AtomicBool,
    /// [`Checkpointer::stop`] ran: a commit after it (none is expected) checkpoints inline.
    stopped: AtomicBool,
}

impl Checkpointer {
    /// Installs the WAL hook on `conn` (the writing connection of the database at `path`).
    pub(super) fn install(
        conn: &mut Connection,
        path: &Path,
        busy_timeout: Duration,
    ) -> rusqlite::Result<Arc<Checkpointer>> {
        let cp = Arc::new(Checkpointer {
            // Absolute: the thread opens it later, perhaps after the process changed directory.
            path: std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
            busy_timeout,
            wake: Mutex::new(None),
            thread: Mutex::new(None),
            inline: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
        });
        let hook = Arc::clone(&cp);
        conn.wal_hook(Some(move |wal: &mut rusqlite::hooks::Wal, pages| {
            let behind = pages >= CHECKPOINT_PAGES * CATCH_UP_FACTOR;
            if pages >= CHECKPOINT_PAGES && (behind || !hook.hand_off()) {
                // An error here would make the committed statement report one; the commit
                // stands either way, and the next commit tries again.
                if let Err(e) = wal.checkpoint() {
                    tracing::debug!(error = %e, "WAL checkpoint in the commit did not complete");
                }
            }
            Ok(())
        }))?;
        Ok(cp)
    }

    /// Wakes the thread (starting it the first time); false when the caller must checkpoint.
    fn hand_off(&self) -> bool {
        if self.inline.load(Ordering::Relaxed) || self.stopped.load(Ordering::Relaxed) {
            return false;
        }
        let mut wake = self.wake.lock();
        if wake.is_none() {
            // Capacity 1: wake-ups while a checkpoint runs fold into one more pass.
            let (tx, rx) = sync_channel(1);
            let path = self.path.clone();
            let busy = self.busy_timeout;
            let spawned = std::thread::Builder::new()
                .name("oxflow-sqlite-checkpoint".into())
                .spawn(move || run(&path, busy, rx));
            match spawned {
                Ok(handle) => {
                    *self.thread.lock() = Some(handle);
                    *wake = Some(tx);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not start the WAL checkpoint thread; checkpointing in commits");
                    self.inline.store(true, Ordering::Relaxed);
                    return false;
                }
            }
        }
        match wake.as_ref().map(|tx| tx.try_send(())) {
            Some(Ok(()) | Err(TrySendError::Full(()))) => true,
            // The thread ended: it could not open its connection.
            Some(Err(TrySendError::Disconnected(()))) | None => {
                self.inline.store(true, Ordering::Relaxed);
                false
            }
        }
    }

    /// Stops the thread and waits for it, so that the writing connection, closed next, is the
    /// database's last and folds the log into the file as SQLite does on close.
    pub(super) fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
        drop(self.wake.lock().take());
        if let Some(handle) = self.thread.lock().take() {
            let _ = handle.join();
        }
    }
}

/// The thread: one `PASSIVE` checkpoint per wake-up, until the store is dropped.
fn run(path: &Path, busy_timeout: Duration, wake: Receiver<()>) {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .and_then(|c| c.busy_timeout(busy_timeout).map(|()| c));
    let conn = match conn {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "could not open a connection for WAL checkpoints; checkpointing in commits");
            return;
        }
    };
    while wake.recv().is_ok() {
        if let Err(e) = conn.wal_checkpoint_v2(None::<&str>, rusqlite::wal::CheckpointMode::PASSIVE)
        {
            tracing::debug!(path = %path.display(), error = %e, "WAL checkpoint did not complete");
        }
    }
}
