//! The command line driven as a user would: a pipeline binary (the quickstart example), an
//! experiment binary (the train_experiment example) and the standalone `oxflow` binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn example(name: &str) -> PathBuf {
    // `cargo test` builds the examples next to the test binaries' `deps/` directory.
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bin = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: build the examples first",
        bin.display()
    );
    bin
}

fn quickstart() -> PathBuf {
    example("quickstart")
}

/// A command in `cwd` with the store and log settings of the environment removed.
fn command(bin: impl AsRef<std::ffi::OsStr>, cwd: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin);
    c.args(args)
        .current_dir(cwd)
        .env_remove("OXFLOW_TRACKING_URI")
        .env_remove("MLFLOW_TRACKING_URI")
        .env_remove("OXFLOW_LOG_DIR");
    c
}

fn run(cwd: &Path, args: &[&str]) -> Output {
    command(quickstart(), cwd, args).output().unwrap()
}

fn oxflow(cwd: &Path, args: &[&str]) -> Output {
    command(env!("CARGO_BIN_EXE_oxflow"), cwd, args)
        .output()
        .unwrap()
}

/// The DAG run id in the output of `run quickstart`.
fn dag_run_id(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("dag `quickstart` run "))
        .and_then(|l| l.split(':').next())
        .unwrap_or_else(|| panic!("no run id in {stdout}"))
        .to_owned()
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
    let run_id = dag_run_id(&stdout);
    // Not a terminal: plain progress lines on stderr.
    assert!(
        stderr
            .contains("fetch_labels: try 1 failed, will retry: label service unavailable (try 1)"),
        "{stderr}"
    );
    // The default store: `./mlflow.db`, artifacts in `./mlruns/<experiment>/<run>/artifacts`.
    assert!(dir.path().join("mlflow.db").is_file());
    let artifacts: Vec<_> = std::fs::read_dir(dir.path().join("mlruns"))
        .unwrap()
        .flatten()
        .flat_map(|exp| std::fs::read_dir(exp.path()).unwrap().flatten())
        .filter(|run| run.path().join("artifacts").is_dir())
        .collect();
    assert!(!artifacts.is_empty(), "no run artifacts under mlruns/");
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
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.contains("no logs for task `archiv`")
            && stderr.contains("tasks of this run: archive, fetch_labels, fit_linear"),
        "{stderr}"
    );

    // A resume keeps the params the run started with; an override is refused, not ignored.
    let out = run(
        dir.path(),
        &["run", "quickstart", "--resume", &run_id, "-P", "rows=9"],
    );
    let (_, stderr) = text(&out);
    // An error before anything ran: status 2, not a failed run's 1.
    assert_eq!(out.status.code(), Some(2));
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
        assert_eq!(out.status.code(), Some(2), "{args:?}");
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
    assert_eq!(out.status.code(), Some(2));
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
    // `--help` says what the two statuses mean.
    let (help, _) = text(
        &command(example("nightly"), dir.path(), &["run", "--help"])
            .output()
            .unwrap(),
    );
    assert!(
        help.contains("130  interrupted (Ctrl-C)") && help.contains("143  stopped by SIGTERM"),
        "{help}"
    );
}

/// Runs `bin args` with stdout (and, if `stderr_too`, stderr) writing into a pipe whose reading
/// end is already closed, as `| head -1` leaves it; returns the exit status and what the
/// command wrote to stderr when that was captured.
fn into_closed_pipe(
    bin: impl AsRef<std::ffi::OsStr>,
    cwd: &Path,
    args: &[&str],
    stderr_too: bool,
) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let mut c = command(bin, cwd, args);
    c.stdout(writer.try_clone().unwrap());
    if stderr_too {
        c.stderr(writer);
    } else {
        drop(writer);
        c.stderr(Stdio::piped());
    }
    let out = c.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (stdout, _) = text(&run(d, &["run", "quickstart", "-P", "rows=300"]));
    let run_id = dag_run_id(&stdout);
    let ox = env!("CARGO_BIN_EXE_oxflow");
    std::fs::write(d.join("ref.csv"), "x,c\n1,a\n2,b\n3,a\n").unwrap();
    let q = quickstart();
    let cases: [(&std::ffi::OsStr, &[&str]); 8] = [
        (ox.as_ref(), &["runs", "show", &run_id]),
        (ox.as_ref(), &["runs", "list", "-e", "quickstart"]),
        (ox.as_ref(), &["logs", &run_id, "fetch_labels"]),
        (
            ox.as_ref(),
            &["drift", "--reference", "ref.csv", "--current", "ref.csv"],
        ),
        (ox.as_ref(), &["--help"]),
        (q.as_ref(), &["list"]),
        (q.as_ref(), &["show", "quickstart"]),
        (q.as_ref(), &["runs", "quickstart"]),
    ];
    for (bin, args) in cases {
        let (code, stderr) = into_closed_pipe(bin, d, args, false);
        assert_eq!((code, stderr.as_str()), (Some(0), ""), "{args:?}");
    }
    // A run still runs to its end and is recorded, whatever happens to its output.
    let (code, _) = into_closed_pipe(&q, d, &["run", "quickstart", "-P", "rows=300"], true);
    assert_eq!(code, Some(0));
    let (runs, _) = text(&run(d, &["runs", "quickstart"]));
    assert_eq!(runs.matches("| success ").count(), 2, "{runs}");
    // And `drift --fail-on-drift` still says what it found.
    std::fs::write(d.join("cur.csv"), "x,c\n,a\n,b\n,a\n").unwrap();
    let (code, stderr) = into_closed_pipe(
        ox,
        d,
        &[
            "drift",
            "--reference",
            "ref.csv",
            "--current",
            "cur.csv",
            "--fail-on-drift",
        ],
        false,
    );
    assert_eq!((code, stderr.as_str()), (Some(1), ""));
}

#[test]
fn the_standalone_binary_says_where_pipelines_live() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (help, _) = text(&oxflow(d, &["--help"]));
    assert!(
        help.contains(
            "Pipelines live in your own binary: a crate whose `main` calls `oxflow::main()`"
        ),
        "{help}"
    );
    assert!(
        help.contains("run          Run a DAG: `cargo run -- run <dag>` in your pipeline binary"),
        "{help}"
    );
    let cases: [(&[&str], &str); 5] = [
        (&["list"], "run `cargo run -- list` in its crate"),
        (
            &["show", "iris"],
            "run `cargo run -- show iris` in its crate",
        ),
        (
            &["graph", "iris"],
            "run `cargo run -- graph iris` in its crate",
        ),
        (&["run", "iris"], "run `cargo run -- run iris` in its crate"),
        (
            &["runs", "iris"],
            "`oxflow runs list --experiment iris --all` lists its recorded runs here",
        ),
    ];
    for (args, want) in cases {
        let out = oxflow(d, args);
        let (_, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(
            stderr.starts_with("error: the `oxflow` command defines no DAGs: pipelines live in your own binary, whose `main` calls `oxflow::main()`")
                && stderr.contains(want),
            "{args:?}: {stderr}"
        );
    }
    let (version, _) = text(&oxflow(d, &["--version"]));
    assert_eq!(version, format!("oxflow {}\n", env!("CARGO_PKG_VERSION")));
    // A pipeline binary keeps its DAG commands.
    let (help, _) = text(&run(d, &["--help"]));
    assert!(
        help.contains("List every DAG in this binary") && !help.contains("your own binary"),
        "{help}"
    );
}

#[test]
fn runs_list_shows_the_hierarchy_and_delete_takes_task_runs_along() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut ids = Vec::new();
    for _ in 0..2 {
        let (stdout, stderr) = text(&run(d, &["run", "quickstart", "-P", "rows=300"]));
        assert!(stdout.contains(": success in "), "{stdout}{stderr}");
        ids.push(dag_run_id(&stdout));
    }
    let rows = |table: &str| -> Vec<String> {
        table
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| Run ID"))
            .map(str::to_owned)
            .collect()
    };

    // By default: the DAG runs, not their 9 task runs each.
    let (list, _) = text(&oxflow(d, &["runs", "list", "-e", "quickstart"]));
    let top = rows(&list);
    assert_eq!(top.len(), 2, "{list}");
    assert!(ids.iter().all(|id| list.contains(id.as_str())), "{list}");
    assert!(
        list.ends_with("2 run(s); nested runs not listed: --all lists them\n"),
        "{list}"
    );

    // --all: every run, each task run naming its DAG run in the Parent column.
    let (all, _) = text(&oxflow(d, &["runs", "list", "-e", "quickstart", "--all"]));
    assert!(
        all.lines()
            .nth(1)
            .unwrap()
            .starts_with("| Run ID                           | Name")
            && all.lines().nth(1).unwrap().contains("| Parent "),
        "{all}"
    );
    let all_rows = rows(&all);
    assert_eq!(all_rows.len(), 20, "{all}");
    for id in &ids {
        assert_eq!(
            all_rows.iter().filter(|r| r.contains(id.as_str())).count(),
            10,
            "the DAG run and its 9 task runs: {all}"
        );
    }

    // Deleting a DAG run deletes its task runs; restoring brings them all back.
    let out = oxflow(d, &["runs", "delete", &ids[0]]);
    assert_eq!(
        text(&out).0,
        format!("deleted run {} and 9 nested run(s)\n", ids[0])
    );
    let (all, _) = text(&oxflow(d, &["runs", "list", "-e", "quickstart", "--all"]));
    assert_eq!(rows(&all).len(), 10, "{all}");
    assert!(!all.contains(ids[0].as_str()), "{all}");
    let (deleted, _) = text(&oxflow(
        d,
        &[
            "runs",
            "list",
            "-e",
            "quickstart",
            "--all",
            "--view",
            "deleted",
        ],
    ));
    assert_eq!(rows(&deleted).len(), 10, "{deleted}");
    let out = oxflow(d, &["runs", "restore", &ids[0]]);
    assert_eq!(
        text(&out).0,
        format!("restored run {} and 9 nested run(s)\n", ids[0])
    );
    let (all, _) = text(&oxflow(d, &["runs", "list", "-e", "quickstart", "--all"]));
    assert_eq!(rows(&all).len(), 20, "{all}");
}

#[test]
fn every_store_records_the_user_mlflow_would() {
    // MLflow's user is Python's `getpass.getuser()`: LOGNAME before USER. The SQLite store and
    // the file store both record it as the run's `user_id`, not only in the `mlflow.user` tag.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run_id = |out: &Output| {
        let (stdout, stderr) = text(out);
        assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
        stdout
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("run "))
            .and_then(|l| l.split(' ').next())
            .unwrap_or_else(|| panic!("{stdout}"))
            .to_string()
    };
    let train = |uri: Option<&str>| {
        let mut c = command(example("train_experiment"), d, &["-P", "n_trees=5"]);
        c.env("LOGNAME", "ada").env("USER", "bob");
        if let Some(uri) = uri {
            c.env("OXFLOW_TRACKING_URI", uri);
        }
        c.output().unwrap()
    };

    let sql_run = run_id(&train(None));
    let db = rusqlite::Connection::open(d.join("mlflow.db")).unwrap();
    let user: String = db
        .query_row(
            "SELECT user_id FROM runs WHERE run_uuid = ?1",
            [&sql_run],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(user, "ada");

    let files = d.join("files");
    let file_run = run_id(&train(Some(files.to_str().unwrap())));
    let meta = std::fs::read_dir(&files)
        .unwrap()
        .map(|e| e.unwrap().path().join(&file_run).join("meta.yaml"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no meta.yaml for run {file_run} under {}", files.display()));
    let meta = std::fs::read_to_string(&meta).unwrap();
    assert!(meta.lines().any(|l| l == "user_id: ada"), "{meta}");
}

#[test]
fn an_experiment_prints_its_run_and_records_the_system_account() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut c = command(example("train_experiment"), d, &["-P", "n_trees=50"]);
    for var in ["USER", "LOGNAME", "LNAME", "USERNAME"] {
        c.env_remove(var);
    }
    let out = c.output().unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    let run_id = lines[0]
        .strip_prefix("run ")
        .and_then(|l| l.strip_suffix(" in experiment `iris`: FINISHED"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert_eq!(run_id.len(), 32, "{stdout}");
    // The default store: MLflow's SQLite database in the working directory.
    assert_eq!(lines[1], "see it in MLflow's UI: mlflow ui", "{stdout}");
    assert!(d.join("mlflow.db").is_file());

    let id = Command::new("id").arg("-un").output().unwrap();
    let account = String::from_utf8_lossy(&id.stdout).trim().to_owned();
    let (show, _) = text(&oxflow(d, &["runs", "show", run_id]));
    let user = show
        .lines()
        .find(|l| l.starts_with("| mlflow.user "))
        .unwrap_or_else(|| panic!("{show}"));
    assert_eq!(
        user.split('|').nth(2).map(str::trim),
        Some(account.as_str()),
        "{show}"
    );
    // The dataset the run trained on, with its context.
    let dataset = show
        .lines()
        .find(|l| l.starts_with("| iris (b1c7a2f0) "))
        .unwrap_or_else(|| panic!("{show}"));
    assert_eq!(dataset.split('|').nth(2).map(str::trim), Some("training"));

    // A failing experiment says so with status 1; bad params are errors, status 2.
    let out = command(example("train_experiment"), d, &["-P", "fail=true"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("error: asked to fail") && stdout.contains(": FAILED\n"));
    let out = command(example("train_experiment"), d, &["-P", "trees=1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn order_by_errors_are_labelled_as_order_by_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = oxflow(
        d,
        &[
            "runs",
            "list",
            "-e",
            "Default",
            "--order-by",
            "metrics.acc DOWN",
        ],
    );
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr.starts_with("error: invalid order_by clause: expected ASC or DESC"),
        "{stderr}"
    );
    let out = oxflow(
        d,
        &[
            "runs",
            "list",
            "-e",
            "Default",
            "--filter",
            "metrics.acc ~ 1",
        ],
    );
    assert!(
        text(&out).1.starts_with("error: invalid search filter: "),
        "{:?}",
        text(&out)
    );
}

#[test]
fn a_run_ends_with_the_command_that_shows_it_in_mlflow() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The default store is `./mlflow.db`, which plain `mlflow ui` opens.
    let (stdout, _) = text(&run(d, &["run", "quickstart", "-P", "rows=300"]));
    assert_eq!(
        stdout.lines().last(),
        Some("see it in MLflow's UI: mlflow ui"),
        "{stdout}"
    );
    // A database elsewhere is named with its absolute path.
    std::fs::create_dir(d.join("db dir")).unwrap();
    let (stdout, _) = text(&run(
        d,
        &[
            "run",
            "quickstart",
            "-P",
            "rows=300",
            "--tracking-uri",
            "sqlite:///db dir/m.db",
        ],
    ));
    assert!(
        stdout.ends_with(&format!(
            "see it in MLflow's UI: mlflow ui --backend-store-uri 'sqlite:///{}'\n",
            d.canonicalize().unwrap().join("db dir/m.db").display()
        )),
        "{stdout}"
    );
    // A file store: its root, wherever the store is.
    std::fs::create_dir(d.join("elsewhere")).unwrap();
    let (stdout, _) = text(&run(
        &d.join("elsewhere"),
        &[
            "run",
            "quickstart",
            "-P",
            "rows=300",
            "--tracking-uri",
            "../other runs",
        ],
    ));
    assert!(
        stdout.ends_with(&format!(
            "--backend-store-uri '{}'\n",
            d.canonicalize().unwrap().join("other runs").display()
        )),
        "{stdout}"
    );
    // Nothing to look at without a record.
    let (stdout, _) = text(&run(
        d,
        &["run", "quickstart", "-P", "rows=300", "--no-record"],
    ));
    assert!(!stdout.contains("MLflow"), "{stdout}");

    let (help, _) = text(&run(d, &["run", "--help"]));
    assert!(
        help.contains("Its last line of output is the\nexact command that shows it in MLflow's UI; that command depends on the store"),
        "{help}"
    );
}

#[test]
fn tables_share_one_ascii_style() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let boxed = |s: &str| s.chars().any(|c| ('\u{2500}'..='\u{257f}').contains(&c));
    for args in [
        &["show", "quickstart"][..],
        &["list"],
        &["run", "quickstart", "-P", "rows=300"],
        &["runs", "quickstart"],
        &["experiments", "list"],
    ] {
        let (stdout, _) = text(&run(d, args));
        assert!(
            stdout.contains("+-") && !boxed(&stdout),
            "{args:?}: {stdout}"
        );
    }
}

#[test]
fn a_silent_tracking_server_fails_in_the_time_limit_and_says_what_it_retries() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    // Accepts connections and never answers.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let t = std::time::Instant::now();
    let out = command(
        env!("CARGO_BIN_EXE_oxflow"),
        dir.path(),
        &["--tracking-uri", &uri, "experiments", "list"],
    )
    .env("OXFLOW_HTTP_TIMEOUT", "3")
    .output()
    .unwrap();
    let took = t.elapsed();
    let (_, err) = text(&out);
    assert!(!out.status.success());
    assert!(took < std::time::Duration::from_secs(10), "took {took:?}");
    assert!(err.contains("retrying"), "{err}");
    assert!(err.contains(&uri), "{err}");
    assert!(err.contains("OXFLOW_HTTP_TIMEOUT"), "{err}");
}

#[test]
fn serve_refuses_options_out_of_range_before_loading_anything() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, value, says) in [
        ("--workers", "0", "--workers must be at least 1"),
        ("-w", "0", "--workers must be at least 1"),
        ("--timeout", "0", "--timeout must be at least 1 second"),
        ("--watch", "0", "--watch must be at least 1 second"),
        (
            "--drift-window",
            "0",
            "--drift-window and --drift-interval must be at least 1",
        ),
    ] {
        // The model does not exist: the option is what must be reported.
        let out = oxflow(
            dir.path(),
            &["serve", "models:/absent@champion", flag, value],
        );
        let (_, err) = text(&out);
        assert!(!out.status.success(), "{flag} {value} was accepted");
        assert!(err.contains(says), "{flag} {value}: {err}");
    }
    // A count that is not a number is clap's to reject, naming the option.
    let out = oxflow(
        dir.path(),
        &["serve", "models:/absent@champion", "-w", "two"],
    );
    assert!(!out.status.success());
    assert!(text(&out).1.contains("--workers"), "{}", text(&out).1);
}

/// A store with experiment `faults` and one finished run with a param and a metric; returns
/// the store root and the run id.
fn store_with_a_run(dir: &Path) -> (PathBuf, String) {
    use oxflow::tracking::{FileStore, RunOptions, RunStatus, TrackingStore, now_ms};
    let root = dir.join("mlruns");
    let store = TrackingStore::from(FileStore::open(&root).unwrap());
    let exp = store.get_or_create_experiment("faults").unwrap();
    let run = store
        .create_run(&exp.experiment_id, RunOptions::default())
        .unwrap();
    store.log_param(&run.run_id, "lr", "0.1").unwrap();
    store
        .log_metric(&run.run_id, "acc", 0.9, now_ms(), 0)
        .unwrap();
    store
        .set_terminated(&run.run_id, RunStatus::Finished, now_ms())
        .unwrap();
    (root, run.run_id)
}

/// The directory of a run in the store.
fn run_dir(root: &Path, run_id: &str) -> PathBuf {
    std::fs::read_dir(root)
        .unwrap()
        .flatten()
        .map(|e| e.path().join(run_id))
        .find(|p| p.is_dir())
        .unwrap()
}

#[test]
fn a_run_with_a_missing_or_truncated_meta_yaml_is_reported() {
    for damage in ["missing", "truncated"] {
        let dir = tempfile::tempdir().unwrap();
        let (root, run_id) = store_with_a_run(dir.path());
        let meta = run_dir(&root, &run_id).join("meta.yaml");
        if damage == "missing" {
            std::fs::remove_file(&meta).unwrap();
        } else {
            let text = std::fs::read_to_string(&meta).unwrap();
            std::fs::write(&meta, &text[..text.len() / 3]).unwrap();
        }
        let uri = root.display().to_string();
        let list = oxflow(
            dir.path(),
            &["--tracking-uri", &uri, "runs", "list", "-e", "faults"],
        );
        let (_, err) = text(&list);
        assert!(list.status.success(), "{damage}: {err}");
        assert!(err.contains(&meta.display().to_string()), "{damage}: {err}");
        let show = oxflow(
            dir.path(),
            &["--tracking-uri", &uri, "runs", "show", &run_id],
        );
        let (_, err) = text(&show);
        assert!(!show.status.success(), "{damage}");
        assert!(err.contains(&meta.display().to_string()), "{damage}: {err}");
        assert!(
            !err.contains("not found in the tracking store"),
            "{damage}: {err}"
        );
    }
}

#[test]
fn a_metric_file_that_is_not_utf8_is_reported_by_listings_filters_and_show() {
    let dir = tempfile::tempdir().unwrap();
    let (root, run_id) = store_with_a_run(dir.path());
    let metric = run_dir(&root, &run_id).join("metrics/acc");
    std::fs::write(&metric, b"1 0.\xff9 0\n").unwrap();
    let uri = root.display().to_string();
    let name = metric.display().to_string();
    for args in [
        vec!["runs", "list", "-e", "faults"],
        vec!["runs", "list", "-e", "faults", "-f", "metrics.acc > 0.5"],
    ] {
        let mut all = vec!["--tracking-uri", uri.as_str()];
        all.extend(args.iter().copied());
        let out = oxflow(dir.path(), &all);
        let (_, err) = text(&out);
        assert!(out.status.success(), "{args:?}: {err}");
        assert!(
            err.contains(&name) && err.contains("UTF-8"),
            "{args:?}: {err}"
        );
    }
    let show = oxflow(
        dir.path(),
        &["--tracking-uri", &uri, "runs", "show", &run_id],
    );
    let (_, err) = text(&show);
    assert!(!show.status.success());
    assert!(err.contains(&name) && err.contains("UTF-8"), "{err}");
}

#[test]
fn a_store_that_may_only_be_read_can_be_listed_and_refuses_writes_by_path() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (root, run_id) = store_with_a_run(dir.path());
    let uri = root.display().to_string();
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    // As root, permissions do not apply: run the command as `nobody`, who may read the store
    // (0755 directories, 0644 files) but not write it. Otherwise take write permission away.
    let as_reader = |args: &[&str]| -> Output {
        if is_root {
            let mut c = command("setpriv", dir.path(), &[]);
            c.args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
                .arg(env!("CARGO_BIN_EXE_oxflow"))
                .args(args);
            c.output().unwrap()
        } else {
            oxflow(dir.path(), args)
        }
    };
    if is_root {
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let probe = as_reader(&["--version"]);
        if !probe.status.success() {
            eprintln!(
                "skipped: cannot run the CLI as `nobody` with setpriv: {}",
                text(&probe).1
            );
            return;
        }
    } else {
        for e in walk(&root) {
            let mode = if e.is_dir() { 0o555 } else { 0o444 };
            std::fs::set_permissions(&e, std::fs::Permissions::from_mode(mode)).unwrap();
        }
    }
    for args in [
        vec!["experiments", "list"],
        vec!["runs", "list", "-e", "faults"],
        vec!["runs", "show", run_id.as_str()],
    ] {
        let mut all = vec!["--tracking-uri", uri.as_str()];
        all.extend(args.iter().copied());
        let out = as_reader(&all);
        let (stdout, err) = text(&out);
        assert!(out.status.success(), "{args:?}: {err}");
        assert!(!err.contains("not writable"), "{args:?}: {err}");
        assert!(
            stdout.contains("faults") || stdout.contains(&run_id),
            "{args:?}: {stdout}"
        );
    }
    let delete = as_reader(&["--tracking-uri", &uri, "runs", "delete", &run_id]);
    let (_, err) = text(&delete);
    assert!(!delete.status.success());
    assert!(err.contains("is not writable"), "{err}");
    assert!(err.contains(&root.display().to_string()), "{err}");
    if !is_root {
        for e in walk(&root) {
            let mode = if e.is_dir() { 0o755 } else { 0o644 };
            let _ = std::fs::set_permissions(&e, std::fs::Permissions::from_mode(mode));
        }
    }
}

fn walk(p: &Path) -> Vec<PathBuf> {
    let mut out = vec![p.to_path_buf()];
    if p.is_dir() {
        for e in std::fs::read_dir(p).unwrap().flatten() {
            out.extend(walk(&e.path()));
        }
    }
    out
}

#[test]
fn runs_mark_stale_fails_the_runs_of_a_dead_process_by_their_owner_tag() {
    use oxflow::tracking::{FileStore, RunOptions, RunStatus, TAG_OWNER, TrackingStore};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("mlruns");
    let store = TrackingStore::from(FileStore::open(&root).unwrap());
    let exp = store.get_or_create_experiment("stale").unwrap();
    // A process that has exited: its pid names no live process with its start time.
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into());
    let dead = store
        .create_run(
            &exp.experiment_id,
            RunOptions {
                tags: vec![(TAG_OWNER.into(), format!("{host}:{pid}:1"))],
                ..Default::default()
            },
        )
        .unwrap();
    let live = store
        .create_run(&exp.experiment_id, RunOptions::default())
        .unwrap();
    let uri = root.display().to_string();
    let out = oxflow(
        dir.path(),
        &[
            "--tracking-uri",
            &uri,
            "runs",
            "mark-stale",
            "--experiment",
            "stale",
        ],
    );
    let (stdout, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert!(stdout.contains(&dead.run_id), "{stdout}");
    assert!(!stdout.contains(&live.run_id), "{stdout}");
    let reader = TrackingStore::from(FileStore::open(&root).unwrap());
    assert_eq!(
        reader.get_run(&dead.run_id).unwrap().info.status,
        RunStatus::Failed
    );
    assert_eq!(
        reader.get_run(&live.run_id).unwrap().info.status,
        RunStatus::Running
    );
}

#[test]
fn an_experiment_with_a_malformed_meta_yaml_is_reported_and_the_others_listed() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = store_with_a_run(dir.path());
    let broken = root.join("123456789");
    std::fs::create_dir(&broken).unwrap();
    std::fs::write(broken.join("meta.yaml"), b"name: [unclosed\n").unwrap();
    let uri = root.display().to_string();
    let out = oxflow(dir.path(), &["--tracking-uri", &uri, "experiments", "list"]);
    let (stdout, err) = text(&out);
    assert!(out.status.success(), "{err}");
    assert!(stdout.contains("faults"), "{stdout}");
    assert!(
        err.contains(&broken.join("meta.yaml").display().to_string()),
        "{err}"
    );
}

#[test]
fn models_commands_manage_the_registry_train_register_filled() {
    let dir = tempfile::tempdir().unwrap();
    let train = |noise: &str| {
        let o = command(example("train_register"), dir.path(), &[noise])
            .output()
            .unwrap();
        let (out, err) = text(&o);
        assert!(o.status.success(), "{out}{err}");
        out
    };
    let first = train("0.05");
    assert!(first.contains("version 1 is the first champion"), "{first}");
    let second = train("0.6");
    assert!(second.contains("champion keeps its place"), "{second}");

    let ok = |args: &[&str]| {
        let o = oxflow(dir.path(), args);
        let (out, err) = text(&o);
        assert!(o.status.success(), "{args:?}: {out}{err}");
        out
    };
    let list = ok(&["models", "list"]);
    assert!(
        list.contains("house-prices") && list.contains("champion→1"),
        "{list}"
    );
    ok(&["models", "stage", "house-prices", "2", "staging"]);
    ok(&["models", "alias", "house-prices", "challenger", "2"]);
    let show = ok(&["models", "show", "house-prices"]);
    assert!(
        show.contains("Staging") && show.contains("challenger"),
        "{show}"
    );
    assert!(show.contains("models:/m-"), "{show}");

    // Register the first version's LoggedModel again, under another name.
    let source = show
        .split_whitespace()
        .find(|w| w.starts_with("models:/m-"))
        .unwrap()
        .to_string();
    let reg = ok(&["models", "register", &source, "house-prices-copy"]);
    assert!(reg.contains("version 1 of `house-prices-copy`"), "{reg}");

    // Refused: a reserved alias, a stage MLflow does not have, a name with a path in it.
    for args in [
        &["models", "alias", "house-prices", "latest", "1"][..],
        &["models", "stage", "house-prices", "1", "prod"],
        &["models", "register", &source, "../escape"],
    ] {
        let o = oxflow(dir.path(), args);
        let (out, err) = text(&o);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {out}{err}");
        assert!(err.starts_with("error: "), "{err}");
    }

    ok(&["models", "delete", "house-prices", "--alias", "challenger"]);
    ok(&["models", "delete", "house-prices", "2"]);
    ok(&["models", "delete", "house-prices-copy"]);
    let list = ok(&["models", "list"]);
    assert!(
        !list.contains("house-prices-copy") && list.contains("house-prices"),
        "{list}"
    );
}
