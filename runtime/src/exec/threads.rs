//! Threads for the recorder actor and the output writers, reused from one DAG run to the next.
//!
//! Each DAG run needs a thread for its recorder (the store's calls block) and, when its tasks
//! return outputs, writer threads beside it. Spawning them per run cost a scheduler starting a
//! hundred DAG runs at once most of the delay between a run's due time and its first task (an
//! OS thread with its stack is 30–100 µs here, several times more on a loaded machine). A
//! thread that finishes its job here waits [`IDLE_FOR`] for the next one before it exits, so
//! a process running DAGs one after another, or a scheduler, spawns threads only for the runs
//! it has going at once.
//!
//! Hand-written because the pools of well-kept crates are bounded (tokio's blocking pool,
//! `blocking`, `threadpool`): a recorder holds its thread for the whole DAG run and waits for
//! tasks that may themselves need a blocking thread, so a bound could deadlock a process with
//! many long runs. Here there is no bound: a job never waits for a thread.

use std::sync::Mutex;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::Duration;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// How long an idle thread waits for another job.
const IDLE_FOR: Duration = Duration::from_secs(10);

/// Idle threads, each as the sender of its own job channel, with an id to find it by.
static IDLE: Mutex<Vec<(u64, Sender<Job>)>> = Mutex::new(Vec::new());

/// Runs `job` on an idle thread, or on a new one named `oxflow-exec` when none is idle.
pub(crate) fn run(job: impl FnOnce() + Send + 'static) -> std::io::Result<()> {
    let mut job: Job = Box::new(job);
    loop {
        let idle = IDLE.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let Some((_, tx)) = idle else { break };
        // A send fails only if that thread is gone (it panicked out of its loop): try another.
        match tx.send(job) {
            Ok(()) => return Ok(()),
            Err(mpsc::SendError(back)) => job = back,
        }
    }
    std::thread::Builder::new()
        .name("oxflow-exec".into())
        .spawn(move || worker(job))
        .map(drop)
}

/// A thread's life: its first job, then whatever it is handed while idle, until it has been
/// idle for [`IDLE_FOR`].
fn worker(first: Job) {
    static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let (tx, rx) = mpsc::channel::<Job>();
    let mut job = first;
    loop {
        job();
        IDLE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((id, tx.clone()));
        job = match rx.recv_timeout(IDLE_FOR) {
            Ok(next) => next,
            Err(RecvTimeoutError::Disconnected) => return,
            Err(RecvTimeoutError::Timeout) => {
                let mut idle = IDLE.lock().unwrap_or_else(|e| e.into_inner());
                match idle.iter().position(|(i, _)| *i == id) {
                    Some(at) => {
                        idle.swap_remove(at);
                        return;
                    }
                    // Taken off the list just now: its job is on the way.
                    None => {
                        drop(idle);
                        match rx.recv() {
                            Ok(next) => next,
                            Err(_) => return,
                        }
                    }
                }
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn jobs_run_once_each_and_idle_threads_are_reused() {
        let ran = Arc::new(AtomicUsize::new(0));
        let threads = Arc::new(Mutex::new(std::collections::HashSet::new()));
        for _ in 0..20 {
            let (done_tx, done_rx) = mpsc::channel();
            let (ran, threads) = (ran.clone(), threads.clone());
            run(move || {
                ran.fetch_add(1, Ordering::SeqCst);
                threads.lock().unwrap().insert(std::thread::current().id());
                done_tx.send(()).unwrap();
            })
            .unwrap();
            done_rx.recv().unwrap();
            // Let the thread put itself back on the idle list.
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(ran.load(Ordering::SeqCst), 20);
        // One after another: the same few threads (other tests may use some at once).
        assert!(threads.lock().unwrap().len() < 20, "no thread was reused");
    }

    #[test]
    fn jobs_that_wait_for_each_other_each_get_a_thread() {
        // Ten jobs that all wait for the last one started: no bound, so no deadlock.
        let barrier = Arc::new(std::sync::Barrier::new(10));
        let (tx, rx) = mpsc::channel();
        for _ in 0..10 {
            let (barrier, tx) = (barrier.clone(), tx.clone());
            run(move || {
                barrier.wait();
                tx.send(()).unwrap();
            })
            .unwrap();
        }
        for _ in 0..10 {
            rx.recv_timeout(Duration::from_secs(10)).unwrap();
        }
    }
}
