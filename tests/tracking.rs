//! Behaviour of the tracking store as a user sees it: crash safety, several processes at once,
//! bad input refused with the store unchanged, and write-then-read round trips.
//!
//! The multi-process tests re-run this test binary as child processes (`child_entry`, ignored
//! unless `OXFLOW_TEST_CHILD` is set).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use oxflow::tracking::{
    FileStore, Metric, Run, RunOptions, RunStatus, Store, TrackingError, TrackingStore,
};
use proptest::prelude::*;

fn child(role: &str, store: impl AsRef<std::ffi::OsStr>, extra: &[(&str, String)]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "child_entry",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("OXFLOW_TEST_CHILD", role)
    .env("OXFLOW_TEST_STORE", store)
    .stdout(Stdio::null())
    .stderr(Stdio::inherit());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd
}

/// Kills the child process if the test fails before it does.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The child side of the multi-process tests.
#[test]
#[ignore = "run as a child process by the other tests"]
fn child_entry() {
    let Ok(role) = std::env::var("OXFLOW_TEST_CHILD") else {
        return;
    };
    // A path (file store) or a `sqlite:///` URI.
    let store = TrackingStore::open_uri(&std::env::var("OXFLOW_TEST_STORE").unwrap()).unwrap();
    match role.as_str() {
        // Logs as fast as it can until killed; after each flush, records how many values are
        // on disk in `progress` (written by rename, so the parent reads a whole number).
        "heavy" => {
            let progress = PathBuf::from(std::env::var("OXFLOW_TEST_PROGRESS").unwrap());
            let mut run = Run::start(&store, "crash", RunOptions::default()).unwrap();
            fs::write(progress.with_extension("run"), run.id()).unwrap();
            run.log_param("kind", "heavy").unwrap();
            for i in 0i64.. {
                run.log_metric_at("loss", 1.0 / (i + 1) as f64, i).unwrap();
                run.log_metric_at("acc", i as f64, i).unwrap();
                if i % 50 == 49 {
                    run.set_tag("progress", &i.to_string()).unwrap();
                    run.log_text(&format!("chunks/{}.txt", i / 50), &"x".repeat(1000))
                        .unwrap();
                    run.flush().unwrap();
                    let tmp = progress.with_extension("tmp");
                    fs::write(&tmp, (i + 1).to_string()).unwrap();
                    fs::rename(&tmp, &progress).unwrap();
                }
            }
        }
        "writer" => {
            let n: usize = std::env::var("OXFLOW_TEST_N").unwrap().parse().unwrap();
            let values: usize =
                std::env::var("OXFLOW_TEST_VALUES").map_or(300, |v| v.parse().unwrap());
            let mut run = Run::start(
                &store,
                "shared",
                RunOptions {
                    run_name: Some(format!("w{n}")),
                    ..Default::default()
                },
            )
            .unwrap();
            for i in 0..values {
                run.log_metric("m", i as f64).unwrap();
                if i % 10 == 0 {
                    run.log_param(&format!("p{i}"), i).unwrap();
                    run.set_tag(&format!("t{i}"), "v").unwrap();
                }
            }
            // Every writer logs the same param with the same value: allowed.
            run.log_param("common", "same").unwrap();
            run.end(RunStatus::Finished).unwrap();
        }
        // Registers 10 versions of one model, racing the other registrars.
        "registrar" => {
            let n: usize = std::env::var("OXFLOW_TEST_N").unwrap().parse().unwrap();
            for i in 0..10 {
                let v = store
                    .create_model_version(&oxflow::tracking::NewModelVersion {
                        name: "shared-model".into(),
                        source: format!("/models/w{n}/{i}"),
                        ..Default::default()
                    })
                    .unwrap();
                println!("v{}", v.version);
            }
        }
        // Only opens the store (creating the database when it is the first).
        "opener" => {}
        other => panic!("unknown child role {other}"),
    }
}

#[test]
fn kill_9_during_heavy_logging_leaves_a_readable_store() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("mlruns");
    FileStore::open(&root).unwrap();
    let progress = dir.path().join("progress");
    let mut proc = KillOnDrop(
        child(
            "heavy",
            &root,
            &[("OXFLOW_TEST_PROGRESS", progress.display().to_string())],
        )
        .spawn()
        .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done: i64 = fs::read_to_string(&progress)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        if done >= 2000 {
            break;
        }
        assert!(Instant::now() < deadline, "child made no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    proc.0.kill().unwrap(); // SIGKILL
    proc.0.wait().unwrap();
    let flushed: i64 = fs::read_to_string(&progress).unwrap().parse().unwrap();
    let run_id = fs::read_to_string(progress.with_extension("run")).unwrap();

    let store = TrackingStore::from(FileStore::open(&root).unwrap());
    let rec = store.get_run(&run_id).unwrap();
    assert_eq!(rec.info.status, RunStatus::Running);
    assert_eq!(rec.params["kind"], "heavy");
    for key in ["loss", "acc"] {
        let hist = store.get_metric_history(&run_id, key).unwrap();
        assert!(
            hist.len() as i64 >= flushed,
            "{key}: {} values on disk, {flushed} flushed",
            hist.len()
        );
        // Values arrive whole and in order: steps 0, 1, 2, ... with no gap.
        for (i, m) in hist.iter().enumerate() {
            assert_eq!(m.step, i as i64, "{key}");
        }
    }
    let tag: i64 = rec.tags["progress"].parse().unwrap();
    assert!(tag + 1 >= flushed);
    for a in store.list_artifacts(&run_id, "chunks").unwrap() {
        assert_eq!(store.read_artifact(&run_id, &a.path).unwrap().len(), 1000);
    }
    // No temporary file or half-made run is visible to readers.
    let exp = store.get_experiment_by_name("crash").unwrap().unwrap();
    assert_eq!(store.list_runs(&exp.experiment_id).unwrap().len(), 1);

    // The run left RUNNING by the dead process can be marked failed.
    let marked = store.mark_stale_runs_failed(None).unwrap();
    assert_eq!(marked, vec![run_id.clone()]);
    let rec = store.get_run(&run_id).unwrap();
    assert_eq!(rec.info.status, RunStatus::Failed);
    assert!(rec.info.end_time_ms.is_some());
    assert!(store.mark_stale_runs_failed(None).unwrap().is_empty());
}

#[test]
fn live_runs_are_not_marked_stale() {
    let dir = tempfile::tempdir().unwrap();
    let store = TrackingStore::from(FileStore::open(dir.path()).unwrap());
    let run = Run::start(&store, "live", RunOptions::default()).unwrap();
    assert!(store.mark_stale_runs_failed(None).unwrap().is_empty());
    run.end(RunStatus::Finished).unwrap();
}

#[test]
fn eight_processes_log_to_one_store_and_nothing_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("mlruns");
    FileStore::open(&root).unwrap();
    let procs: Vec<_> = (0..8)
        .map(|n| {
            child("writer", &root, &[("OXFLOW_TEST_N", n.to_string())])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut p in procs {
        assert!(p.wait().unwrap().success());
    }
    let store = FileStore::open(&root).unwrap();
    let exps: Vec<_> = store
        .list_experiments(false)
        .unwrap()
        .into_iter()
        .filter(|e| e.name == "shared")
        .collect();
    assert_eq!(exps.len(), 1, "one experiment per name");
    let runs = store
        .list_run_records(&exps[0].experiment_id, false)
        .unwrap();
    assert_eq!(runs.len(), 8);
    let mut names: Vec<_> = runs.iter().map(|r| r.info.run_name.clone()).collect();
    names.sort();
    assert_eq!(names, (0..8).map(|n| format!("w{n}")).collect::<Vec<_>>());
    for r in &runs {
        assert_eq!(r.info.status, RunStatus::Finished);
        assert_eq!(r.params.len(), 31);
        assert_eq!(r.metrics["m"].step, 299);
        let hist = store.get_metric_history(&r.info.run_id, "m").unwrap();
        assert_eq!(hist.len(), 300);
    }
}

/// Every file under `root` with its content, to compare a store before and after.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                out.insert(p.clone(), Vec::new());
                stack.push(p);
            } else {
                out.insert(p.clone(), fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[test]
fn bad_input_is_a_clear_error_and_the_store_is_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let file = FileStore::open(dir.path().join("mlruns")).unwrap();
    let store = TrackingStore::from(&file);
    let mut run = Run::start(&store, "bad-input", RunOptions::default()).unwrap();
    run.log_param("lr", "0.1").unwrap();
    run.log_metric("loss", 1.0).unwrap();
    run.flush().unwrap();
    let id = run.id().to_string();
    let before = snapshot(file.root());

    let cases: Vec<(&str, Result<(), TrackingError>, &str)> = vec![
        (
            "invalid metric key",
            store.log_metric(&id, "a@b", 1.0, 0, 0),
            "invalid metric key `a@b`",
        ),
        (
            "key with ..",
            store.log_param(&id, "../x", "1"),
            "invalid param key `../x`",
        ),
        (
            "absolute key",
            store.set_tag(&id, "/etc/x", "1"),
            "invalid tag key `/etc/x`",
        ),
        (
            "traversal in artifact",
            store.log_artifact_bytes(&id, "../../x", b"1"),
            "invalid artifact path `../../x`",
        ),
        (
            "absolute artifact",
            store.log_artifact_bytes(&id, "/tmp/x", b"1"),
            "invalid artifact path `/tmp/x`",
        ),
        (
            "long param",
            store.log_param(&id, "p", &"v".repeat(6001)),
            "6001 characters, at most 6000",
        ),
        (
            "long tag",
            store.set_tag(&id, "t", &"v".repeat(8001)),
            "8001 characters, at most 8000",
        ),
        (
            "long key",
            store.log_param(&id, &"k".repeat(251), "1"),
            "251 characters, at most 250",
        ),
        (
            "changed param",
            run.log_param("lr", "0.2"),
            "already logged with value `0.1`",
        ),
        (
            "negative timestamp",
            store.log_metric(&id, "loss", 1.0, -1, 0),
            "timestamp -1 is negative",
        ),
        (
            "unknown run",
            store.log_param("0123456789abcdef0123456789abcdef", "x", "1"),
            "not found",
        ),
        (
            "batch with one bad param",
            store.log_batch(
                &id,
                &[Metric {
                    key: "ok".into(),
                    value: 1.0,
                    timestamp_ms: 1,
                    step: 0,
                }],
                &[("fine".into(), "1".into()), ("lr".into(), "9".into())],
                &[],
            ),
            "already logged",
        ),
        (
            "batch with duplicate keys",
            store.log_batch(
                &id,
                &[],
                &[("d".into(), "1".into()), ("d".into(), "1".into())],
                &[],
            ),
            "duplicate param key `d`",
        ),
    ];
    for (what, res, want) in cases {
        let msg = res.expect_err(what).to_string();
        assert!(
            msg.contains(want),
            "{what}: `{msg}` should contain `{want}`"
        );
    }
    store.flush().unwrap();
    assert_eq!(snapshot(file.root()), before, "the store changed");
}

fn key_strategy() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_][a-zA-Z0-9_.: -]{0,12}(/[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,8}){0,2}"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn write_then_read_round_trips(
        params in prop::collection::btree_map(key_strategy(), ".{0,40}", 0..6),
        tags in prop::collection::btree_map(key_strategy(), "(?s).{0,40}", 0..6),
        metrics in prop::collection::vec((key_strategy(), any::<f64>(), 0i64..4_000_000_000_000, any::<i64>()), 0..8),
        name in "[ -~éü€]{1,30}",
    ) {
        // Keys that are prefixes of others (`a` and `a/b`) cannot both be files.
        let clash = |m: &BTreeMap<String, String>| m.keys().any(|k| m.keys().any(|o| o.starts_with(&format!("{k}/"))));
        prop_assume!(!clash(&params) && !clash(&tags));
        let keys: Vec<&String> = metrics.iter().map(|m| &m.0).collect();
        prop_assume!(!keys.iter().any(|k| keys.iter().any(|o| o.starts_with(&format!("{k}/")))));
        prop_assume!(!tags.contains_key("mlflow.runName"));
        prop_assume!(!name.trim().is_empty());

        let dir = tempfile::tempdir().unwrap();
        let store = TrackingStore::from(FileStore::open(dir.path()).unwrap());
        let exp = store.get_or_create_experiment(&name).unwrap();
        let info = store.create_run(&exp.experiment_id, RunOptions { run_name: Some(name.clone()), ..Default::default() }).unwrap();
        for (k, v) in &params { store.log_param(&info.run_id, k, v).unwrap(); }
        let tag_refs: Vec<(&str, &str)> = tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        store.set_tags(&info.run_id, &tag_refs).unwrap();
        for (k, v, ts, step) in &metrics { store.log_metric(&info.run_id, k, *v, *ts, *step).unwrap(); }

        // A fresh handle reads from disk only.
        let other = FileStore::open(dir.path()).unwrap();
        store.flush().unwrap();
        let rec = other.get_run(&info.run_id).unwrap();
        prop_assert_eq!(&rec.params, &params);
        prop_assert_eq!(&rec.info.run_name, &name);
        for (k, v) in &tags { prop_assert_eq!(&rec.tags[k], v); }
        for (k, _, _, _) in &metrics {
            let want: Vec<_> = metrics.iter().filter(|m| &m.0 == k).collect();
            let hist = other.get_metric_history(&info.run_id, k).unwrap();
            prop_assert_eq!(hist.len(), want.len());
            for (h, w) in hist.iter().zip(&want) {
                prop_assert!(h.value.to_bits() == w.1.to_bits() || (h.value.is_nan() && w.1.is_nan()));
                prop_assert_eq!(h.timestamp_ms, w.2);
                prop_assert_eq!(h.step, w.3);
            }
        }
        prop_assert_eq!(other.get_experiment_by_name(&name).unwrap().unwrap().experiment_id, exp.experiment_id);
    }
}

#[test]
fn cli_lists_shows_compares_deletes_and_restores() {
    use oxflow::tracking::cli::{TrackingCli, run_to};

    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    let mut ids = Vec::new();
    for (i, (lr, acc)) in [("0.1", 0.8), ("0.1", 0.9), ("0.2", 0.7)]
        .into_iter()
        .enumerate()
    {
        let mut run = Run::start(
            &store,
            "cli",
            RunOptions {
                run_name: Some(format!("r{i}")),
                ..Default::default()
            },
        )
        .unwrap();
        run.log_param("lr", lr).unwrap();
        run.log_param("seed", 7).unwrap();
        run.log_metric("acc", acc).unwrap();
        ids.push(run.id().to_string());
    }
    let uri = dir.path().display().to_string();
    let cli = |args: &[&str]| -> Result<String, TrackingError> {
        let mut argv = vec!["oxflow", "--tracking-uri", &uri];
        argv.extend_from_slice(args);
        let mut out = Vec::new();
        run_to(TrackingCli::from_args(argv).unwrap(), &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    };
    let out = cli(&["experiments", "list"]).unwrap();
    assert!(out.contains("cli") && out.contains("Default"), "{out}");
    let out = cli(&[
        "runs",
        "list",
        "-e",
        "cli",
        "--filter",
        "metrics.acc > 0.75",
        "--order-by",
        "metrics.acc DESC",
    ])
    .unwrap();
    assert!(out.contains("2 run(s)"), "{out}");
    assert!(out.find("r1").unwrap() < out.find("r0").unwrap(), "{out}");
    assert!(out.contains("metrics.acc") && out.contains("0.9"), "{out}");
    let out = cli(&["runs", "show", &ids[0]]).unwrap();
    assert!(
        out.contains("FINISHED") && out.contains("lr") && out.contains("0.8 (step 0)"),
        "{out}"
    );
    let out = cli(&["runs", "compare", &ids[0], &ids[2]]).unwrap();
    let lr_line = out.lines().find(|l| l.contains("params.lr")).unwrap();
    let seed_line = out.lines().find(|l| l.contains("params.seed")).unwrap();
    assert!(lr_line.contains('*') && !seed_line.contains('*'), "{out}");
    cli(&["runs", "delete", &ids[2]]).unwrap();
    assert!(
        cli(&["runs", "list", "-e", "cli"])
            .unwrap()
            .contains("2 run(s)")
    );
    assert!(
        cli(&["runs", "list", "-e", "cli", "--view", "deleted"])
            .unwrap()
            .contains("1 run(s)")
    );
    cli(&["runs", "restore", &ids[2]]).unwrap();
    assert!(
        cli(&["runs", "list", "-e", "cli"])
            .unwrap()
            .contains("3 run(s)")
    );
    let err = cli(&["runs", "list", "-e", "cli", "--filter", "metrics.acc >"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("position 13"), "{err}");
    assert!(
        cli(&["runs", "list", "-e", "nope"])
            .unwrap_err()
            .to_string()
            .contains("`nope` not found")
    );
}

#[test]
fn metric_history_plot_is_an_svg_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path()).unwrap();
    let mut run = Run::start(&store, "plot", RunOptions::default()).unwrap();
    for v in [0.9, 0.5, f64::NAN, 0.2] {
        run.log_metric("loss", v).unwrap();
    }
    let path = run.log_metric_plot("loss").unwrap();
    assert_eq!(path, "plots/loss.svg");
    let svg = String::from_utf8(store.read_artifact(run.id(), &path).unwrap()).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    // Three finite points on the line.
    let points = svg
        .split("points=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert_eq!(points.split(' ').count(), 3);
}

// ------------------------------------------------------------------ the SQLite default store

fn sqlite_uri(db: &Path) -> String {
    format!("sqlite:///{}", db.display())
}

/// `PRAGMA integrity_check` on a database, as SQLite reports it (`ok` when intact).
fn integrity(db: &Path) -> String {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    c.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap()
}

/// kill -9 at 20 different points of heavy logging into one database: after each, the database
/// is intact, every value logged before the last flush is there, and the next writer carries on.
#[test]
fn kill_9_twenty_times_leaves_an_intact_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    // `OXFLOW_TEST_KILL9_DIR` keeps the database for MLflow's client to read
    // (tests/interop/mlflow_sqlite.sh).
    let kept = std::env::var_os("OXFLOW_TEST_KILL9_DIR").map(PathBuf::from);
    let dir_path = kept.clone().unwrap_or_else(|| dir.path().to_path_buf());
    fs::create_dir_all(&dir_path).unwrap();
    let db = dir_path.join("mlflow.db");
    let uri = sqlite_uri(&db);
    TrackingStore::open_uri(&uri).unwrap();
    let mut seen_runs = 0;
    for round in 0..20u64 {
        let progress = dir_path.join(format!("progress{round}"));
        let mut proc = KillOnDrop(
            child(
                "heavy",
                &uri,
                &[("OXFLOW_TEST_PROGRESS", progress.display().to_string())],
            )
            .spawn()
            .unwrap(),
        );
        // A different point each round: after 50 to 1,000 flushed values, then a few
        // milliseconds more, so the kill lands inside a write as often as between writes.
        let wanted = 50 + (round * 7919) % 950;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let done: u64 = fs::read_to_string(&progress)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            if done >= wanted {
                break;
            }
            assert!(Instant::now() < deadline, "round {round}: no progress");
            std::thread::sleep(Duration::from_millis(2));
        }
        std::thread::sleep(Duration::from_millis(round % 7));
        proc.0.kill().unwrap(); // SIGKILL
        proc.0.wait().unwrap();
        assert_eq!(integrity(&db), "ok", "round {round}");

        let flushed: i64 = fs::read_to_string(&progress).unwrap().parse().unwrap();
        let run_id = fs::read_to_string(progress.with_extension("run")).unwrap();
        let store = TrackingStore::open_uri(&uri).unwrap();
        let rec = store.get_run(&run_id).unwrap();
        assert_eq!(rec.params["kind"], "heavy");
        for key in ["loss", "acc"] {
            let hist = store.get_metric_history(&run_id, key).unwrap();
            assert!(
                hist.len() as i64 >= flushed,
                "round {round}, {key}: {} values stored, {flushed} flushed",
                hist.len()
            );
            for (i, m) in hist.iter().enumerate() {
                assert_eq!(m.step, i as i64, "round {round}, {key}: no gap");
            }
            assert_eq!(
                rec.metrics[key].step,
                hist.len() as i64 - 1,
                "round {round}: latest_metrics in step with the history"
            );
        }
        for a in store.list_artifacts(&run_id, "chunks").unwrap() {
            assert_eq!(store.read_artifact(&run_id, &a.path).unwrap().len(), 1000);
        }
        let exp = store.get_experiment_by_name("crash").unwrap().unwrap();
        seen_runs += 1;
        assert_eq!(
            store.list_runs(&exp.experiment_id).unwrap().len(),
            seen_runs,
            "every earlier run is still there"
        );
    }
}

/// 8 processes × 10,000 metric values into one database at once: every process succeeds (no
/// "database is locked" reaches the user) and every value is stored.
#[test]
fn eight_processes_log_ten_thousand_metrics_each_into_one_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mlflow.db");
    let uri = sqlite_uri(&db);
    let procs: Vec<_> = (0..8)
        .map(|n| {
            child(
                "writer",
                &uri,
                &[
                    ("OXFLOW_TEST_N", n.to_string()),
                    ("OXFLOW_TEST_VALUES", "10000".into()),
                ],
            )
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect();
    for p in procs {
        let out = p.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(!stderr.contains("locked"), "{stderr}");
    }
    assert_eq!(integrity(&db), "ok");
    let store = TrackingStore::open_uri(&uri).unwrap();
    let exp = store.get_experiment_by_name("shared").unwrap().unwrap();
    let runs = store
        .search_runs(&[&exp.experiment_id], "", &[], 100)
        .unwrap();
    assert_eq!(runs.len(), 8);
    for r in &runs {
        assert_eq!(r.info.status, RunStatus::Finished);
        assert_eq!(r.params.len(), 1001);
        assert_eq!(r.metrics["m"].step, 9999);
        let hist = store.get_metric_history(&r.info.run_id, "m").unwrap();
        assert_eq!(hist.len(), 10_000, "run {}", r.info.run_name);
    }
}

/// 8 processes open one database that does not exist yet, at the same moment, 15 times over:
/// each one opens it (no "database is locked" while they race to create and configure it) and
/// the result is one intact database with MLflow's schema.
#[test]
fn eight_processes_create_one_new_database_at_once() {
    let dir = tempfile::tempdir().unwrap();
    for round in 0..15 {
        let db = dir.path().join(format!("round{round}.db"));
        let uri = sqlite_uri(&db);
        let procs: Vec<_> = (0..8)
            .map(|_| {
                child("opener", &uri, &[])
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for p in procs {
            let out = p.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "round {round}: {stderr}");
        }
        assert_eq!(integrity(&db), "ok");
        let store = TrackingStore::open_uri(&uri).unwrap();
        assert!(store.get_experiment_by_name("Default").unwrap().is_some());
    }
}

/// 8 processes register versions of one model at once, on the default store and on the file
/// store: 80 distinct version numbers, 1 to 80, each with its own source, nothing lost.
#[test]
fn eight_processes_register_versions_of_one_model_and_get_distinct_numbers() {
    let dir = tempfile::tempdir().unwrap();
    for uri in [
        sqlite_uri(&dir.path().join("mlflow.db")),
        dir.path().join("mlruns").display().to_string(),
    ] {
        let store = TrackingStore::open_uri(&uri).unwrap();
        store
            .create_registered_model("shared-model", None, &[])
            .unwrap();
        let procs: Vec<_> = (0..8)
            .map(|n| {
                child("registrar", &uri, &[("OXFLOW_TEST_N", n.to_string())])
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for p in procs {
            let out = p.wait_with_output().unwrap();
            assert!(out.status.success(), "{uri}");
        }
        let versions = store
            .search_model_versions(&oxflow::tracking::ModelVersionQuery {
                name: Some("shared-model".into()),
                ..Default::default()
            })
            .unwrap();
        let mut numbers: Vec<u64> = versions.iter().map(|v| v.version).collect();
        numbers.sort();
        assert_eq!(numbers, (1..=80).collect::<Vec<_>>(), "{uri}");
        let mut sources: Vec<&str> = versions.iter().map(|v| v.source.as_str()).collect();
        sources.sort();
        sources.dedup();
        assert_eq!(
            sources.len(),
            80,
            "{uri}: every registration kept its source"
        );
    }
}
