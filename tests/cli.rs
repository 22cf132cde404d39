//! The command line of a pipeline binary, driven as a user would: the quickstart example.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn quickstart() -> PathBuf {
    // `cargo test` builds the examples next to the test binaries' `deps/` directory.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bin = dir
        .join("examples")
        .join(format!("quickstart{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: build the examples first",
        bin.display()
    );
    bin
}

fn run(cwd: &Path, args: &[&str]) -> Output {
    Command::new(quickstart())
        .args(args)
        .current_dir(cwd)
        .env_remove("OXFLOW_TRACKING_URI")
        .env_remove("MLFLOW_TRACKING_URI")
        .env_remove("OXFLOW_LOG_DIR")
        .output()
        .unwrap()
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn run_records_in_mlruns_and_runs_logs_show_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["run", "quickstart", "-P", "rows=300"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("fetch_labels | success | 3"), "{stdout}");
    let run_id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("dag `quickstart` run "))
        .and_then(|l| l.split(':').next())
        .unwrap()
        .to_owned();
    // Not a terminal: plain progress lines on stderr.
    assert!(
        stderr
            .contains("fetch_labels: try 1 failed, will retry: label service unavailable (try 1)"),
        "{stderr}"
    );
    assert!(dir.path().join("mlruns").is_dir());
    assert!(
        dir.path()
            .join("logs/dag_id=quickstart")
            .join(format!("run_id={run_id}"))
            .is_dir()
    );

    let (runs, _) = text(&run(dir.path(), &["runs", "quickstart"]));
    assert!(
        runs.contains(&run_id) && runs.contains("fetch_labels: success (try 3)"),
        "{runs}"
    );

    let (logs, _) = text(&run(dir.path(), &["logs", &run_id, "fetch_labels"]));
    assert!(
        logs.contains("attempt 2 failed: label service unavailable (try 2)"),
        "{logs}"
    );
    assert!(logs.contains("--- attempt 3"), "{logs}");

    let out = run(dir.path(), &["logs", &run_id, "archiv"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.contains("no logs for task `archiv`")
            && stderr.contains("tasks with logs: archive, fetch_labels, fit_linear"),
        "{stderr}"
    );

    // A resume keeps the params the run started with; an override is refused, not ignored.
    let out = run(
        dir.path(),
        &["run", "quickstart", "--resume", &run_id, "-P", "rows=9"],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.starts_with("error: ") && stderr.contains("rows=9") && stderr.contains("rows=300"),
        "{stderr}"
    );

    let (logs, _) = text(&run(dir.path(), &["logs", &run_id, "archive"]));
    assert!(
        logs.contains(&format!("INFO oxflow::shell: archiving run {run_id}")),
        "{logs}"
    );
}

#[test]
fn list_show_and_graph_describe_the_dag() {
    let dir = tempfile::tempdir().unwrap();
    let (list, _) = text(&run(dir.path(), &["list"]));
    assert!(
        list.contains("quickstart") && list.contains("0 3 * * *"),
        "{list}"
    );
    let (show, _) = text(&run(dir.path(), &["show", "quickstart"]));
    assert!(
        show.contains("fetch_labels")
            && show.contains("200ms x2")
            && show.contains("test_fraction"),
        "{show}"
    );
    let (dot, _) = text(&run(
        dir.path(),
        &["graph", "quickstart", "--format", "dot"],
    ));
    assert!(
        dot.starts_with("digraph \"quickstart\"") && dot.contains("[style=dashed]"),
        "{dot}"
    );
}

#[test]
fn bad_input_gets_a_clear_error_and_a_failing_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["run", "nope"],
            "error: no DAG `nope`; this binary has: quickstart",
        ),
        (
            &["run", "quickstart", "-P", "depth=3"],
            "error: unknown parameter `depth`; valid parameters: rows, noise, test_fraction",
        ),
        (
            &["run", "quickstart", "-P", "rows=many"],
            "error: invalid value `many` for parameter `rows`: expected an unsigned integer (usize)",
        ),
        (
            &["run", "quickstart", "-P", "rows"],
            "error: malformed parameter override `rows`: expected key=value",
        ),
        (
            &["run", "quickstart", "-P", "test_fraction=2"],
            "error: parameter `test_fraction` = 2 is out of range 0.0..=1.0",
        ),
    ];
    for (args, want) in cases {
        let out = run(dir.path(), args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(stderr.contains(want), "{args:?}: {stderr}");
    }
    assert!(
        !dir.path().join("mlruns").exists(),
        "nothing recorded for rejected runs"
    );

    // A store that cannot be created is reported before any task runs.
    std::fs::write(dir.path().join("file"), b"x").unwrap();
    let out = run(
        dir.path(),
        &["--tracking-uri", "file/mlruns", "run", "quickstart"],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr.starts_with("error: ")
            && stderr.contains("file/mlruns")
            && !stderr.contains("generate"),
        "{stderr}"
    );
}

#[test]
fn ctrl_c_stops_the_run_and_records_it_killed() {
    let dir = tempfile::tempdir().unwrap();
    // Enough rows that `generate` (a sync task) is still running when the interrupt comes.
    let child = Command::new(quickstart())
        .args(["run", "quickstart", "-P", "rows=400000000"])
        .current_dir(dir.path())
        .env_remove("OXFLOW_TRACKING_URI")
        .env_remove("MLFLOW_TRACKING_URI")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1200));
    let started = std::time::Instant::now();
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_millis(1500),
        "stopped within a second: {:?}",
        started.elapsed()
    );
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("generate     | failed | 1     | killed: the DAG run was interrupted"),
        "{stdout}"
    );
    assert!(stdout.contains(": killed in "), "{stdout}");
    let (runs, _) = text(&run(dir.path(), &["runs", "quickstart"]));
    assert!(
        runs.contains("| killed ") && runs.contains("generate: failed (try 1)"),
        "{runs}"
    );
}

fn example(name: &str) -> PathBuf {
    quickstart().with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// Processes whose command line contains `needle`.
fn processes_with(needle: &str) -> Vec<String> {
    let ps = Command::new("ps")
        .args(["-eo", "pid,stat,args"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&ps.stdout)
        .lines()
        .filter(|l| l.contains(needle) && !l.contains(" Z "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn ctrl_c_and_sigterm_leave_no_shell_child_running() {
    let dir = tempfile::tempdir().unwrap();
    // The race shows on a busy machine (the survivors were first seen beside builds): keep
    // the cores busy while the signals come.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let spinners: Vec<_> = (0..3)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            })
        })
        .collect();
    for rep in 0..20 {
        // A unique duration marks this repetition's `sleep` processes.
        // (ending in 1: the param prints as the shortest decimal, without trailing zeros)
        let wait = format!("31.{rep:02}{}1", std::process::id());
        let needle = format!("sleep {wait}");
        let (signal, code) = if rep % 2 == 0 {
            ("INT", 130)
        } else {
            ("TERM", 143)
        };
        let child = Command::new(example("nightly"))
            .args(["run", "nightly", "-P", &format!("wait={wait}")])
            .current_dir(dir.path())
            .env_remove("OXFLOW_TRACKING_URI")
            .env_remove("MLFLOW_TRACKING_URI")
            .env_remove("OXFLOW_LOG_DIR")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while processes_with(&needle).len() < 2 {
            assert!(
                std::time::Instant::now() < deadline,
                "the shell task never started"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let started = std::time::Instant::now();
        let kill = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(kill.success());
        let out = child.wait_with_output().unwrap();
        let took = started.elapsed();
        let (stdout, stderr) = text(&out);
        assert_eq!(
            out.status.code(),
            Some(code),
            "SIG{signal}: {stdout}\n{stderr}"
        );
        assert!(
            took < std::time::Duration::from_millis(1500),
            "SIG{signal} took {took:?}"
        );
        // The group was killed before the process exited; give the kernel a moment to reap.
        std::thread::sleep(std::time::Duration::from_millis(100));
        let survivors = processes_with(&needle);
        assert!(
            survivors.is_empty(),
            "repetition {rep}, SIG{signal}: survivors {survivors:?}"
        );
        assert!(
            !stderr.contains("compact: running"),
            "no task starts after the signal: {stderr}"
        );
        assert!(
            stdout.contains("sync    | failed | 1     | killed: the DAG run was interrupted"),
            "{stdout}"
        );
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for s in spinners {
        s.join().unwrap();
    }
    let runs = Command::new(example("nightly"))
        .args(["runs", "nightly", "--limit", "2"])
        .current_dir(dir.path())
        .env_remove("OXFLOW_TRACKING_URI")
        .env_remove("MLFLOW_TRACKING_URI")
        .output()
        .unwrap();
    let (runs, _) = text(&runs);
    assert!(
        !runs.contains("| running "),
        "SIGTERM leaves no run RUNNING: {runs}"
    );
    assert_eq!(runs.matches("| killed ").count(), 2, "{runs}");
}
