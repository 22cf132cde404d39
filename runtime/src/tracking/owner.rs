//! Which process owns a RUNNING run, so that runs left RUNNING by a process that died
//! (a crash, `kill -9`) can be found and marked FAILED on any backend.
//!
//! A run started RUNNING carries the tag [`TAG_OWNER`] = `host:pid:start`, where `start` is the
//! process's start time in clock ticks since boot (so a later process reusing the pid is not
//! mistaken for the owner). MLflow ignores the tag.

use std::fs;
use std::path::Path;
use std::sync::OnceLock;

/// Tag on a RUNNING run naming the process that writes it: `host:pid:start`.
pub const TAG_OWNER: &str = "oxflow.owner";

/// This machine's host name.
pub(crate) fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty() && !s.contains(char::is_whitespace))
        .unwrap_or_else(|| "localhost".to_string())
}

/// `host:pid:start` for this process (computed once).
pub(crate) fn this_process() -> &'static str {
    static OWNER: OnceLock<String> = OnceLock::new();
    OWNER.get_or_init(|| {
        let pid = std::process::id().to_string();
        let start = process_stat(&pid).map_or_else(|| "0".to_string(), |s| s.start);
        format!("{}:{pid}:{start}", hostname())
    })
}

struct ProcStat {
    /// One-letter state (`R`, `S`, `Z` for a zombie, …).
    state: char,
    /// Start time in clock ticks since boot.
    start: String,
}

/// Fields 3 and 22 of `/proc/<pid>/stat`.
fn process_stat(pid: &str) -> Option<ProcStat> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces; fields after it follow the last `)`.
    let mut after = stat[stat.rfind(')')? + 1..].split_whitespace();
    let state = after.next()?.chars().next()?;
    let start = after.nth(18)?.to_string();
    Some(ProcStat { state, start })
}

/// Whether the process an owner tag names is gone, as far as this machine can tell: `None`
/// when the tag names another host or is malformed (then nobody here can tell), `Some(true)`
/// when it exited, was replaced by another process with its pid, or is a zombie (killed but
/// not yet reaped, so it will never write again).
pub(crate) fn owner_is_dead(owner: &str) -> Option<bool> {
    let mut parts = owner.rsplitn(3, ':');
    let (start, pid, host) = (parts.next()?, parts.next()?, parts.next()?);
    if host != hostname() || pid.parse::<u32>().is_err() {
        return None;
    }
    if !Path::new("/proc/self/stat").exists() {
        // No procfs: we cannot tell, so never declare a run stale.
        return None;
    }
    Some(match process_stat(pid) {
        None => true,
        Some(s) => s.state == 'Z' || (start != "0" && s.start != start),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_dead() {
        assert_eq!(owner_is_dead(this_process()), Some(false));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let start = process_stat(&pid.to_string()).map(|s| s.start);
        child.wait().unwrap();
        let owner = format!(
            "{}:{pid}:{}",
            hostname(),
            start.unwrap_or_else(|| "1".into())
        );
        assert_eq!(owner_is_dead(&owner), Some(true));
    }

    #[test]
    fn a_zombie_counts_as_dead() {
        let child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id().to_string();
        // Not waited for: once it exits it stays a zombie until reaped.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while process_stat(&pid).is_some_and(|s| s.state != 'Z') {
            assert!(std::time::Instant::now() < deadline, "child never exited");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let start = process_stat(&pid).unwrap().start;
        assert_eq!(
            owner_is_dead(&format!("{}:{pid}:{start}", hostname())),
            Some(true)
        );
        drop(child);
    }

    #[test]
    fn other_hosts_and_garbage_are_unknown() {
        assert_eq!(owner_is_dead("some-other-host:1:1"), None);
        assert_eq!(owner_is_dead("nonsense"), None);
    }
}
