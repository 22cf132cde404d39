//! Unit tests of the SQLite store: what is specific to MLflow's tables. Behaviour shared with
//! the file store is checked in `tests/store_conformance.rs`.

use std::path::Path;

use rusqlite::Connection;

use super::*;
use crate::tracking::{RunOptions, RunStatus, TrackingStore};

fn rows(db: &Path, sql: &str) -> Vec<Vec<String>> {
    let c = Connection::open(db).unwrap();
    let mut st = c.prepare(sql).unwrap();
    let n = st.column_count();
    st.query_map([], |r| {
        (0..n)
            .map(|i| {
                let v: rusqlite::types::Value = r.get(i)?;
                Ok(match v {
                    rusqlite::types::Value::Null => "NULL".to_string(),
                    rusqlite::types::Value::Integer(i) => i.to_string(),
                    rusqlite::types::Value::Real(f) => format!("{f:?}"),
                    rusqlite::types::Value::Text(t) => t,
                    rusqlite::types::Value::Blob(_) => "<blob>".into(),
                })
            })
            .collect()
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

#[test]
fn a_new_database_has_mlflow_s_rows_and_settings() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mlflow.db");
    let store = SqlStore::open(&db).unwrap();
    assert_eq!(
        rows(&db, "SELECT version_num FROM alembic_version"),
        [["dc11669786a5"]]
    );
    assert_eq!(
        rows(&db, "SELECT name, description FROM workspaces"),
        [["default", "Default workspace for legacy resources"]]
    );
    let exp0 = rows(
        &db,
        "SELECT experiment_id, name, artifact_location, lifecycle_stage, workspace FROM experiments",
    );
    let root = dir.path().join("mlruns");
    assert_eq!(
        exp0,
        [[
            "0".to_string(),
            "Default".into(),
            root.join("0").display().to_string(),
            "active".into(),
            "default".into()
        ]]
    );
    assert_eq!(rows(&db, "PRAGMA journal_mode"), [["wal"]]);
    assert_eq!(store.uri(), format!("sqlite:///{}", db.display()));
    assert_eq!(store.default_log_root(), dir.path().join("logs"));
    assert!(
        store
            .ui_command()
            .starts_with("mlflow ui --backend-store-uri ")
    );
}

#[test]
fn runs_and_metrics_are_stored_as_mlflow_stores_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mlflow.db");
    let store = SqlStore::open(&db).unwrap();
    let exp = store.get_or_create_experiment("e").unwrap();
    assert_eq!(exp.experiment_id, "1");
    assert_eq!(
        exp.artifact_location,
        dir.path().join("mlruns/1").display().to_string()
    );
    let run = store
        .create_run(
            "1",
            RunOptions {
                run_name: Some("r".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(run.run_id.len(), 32);
    for (v, ts) in [
        (1.0, 10),
        (f64::NAN, 11),
        (f64::INFINITY, 12),
        (f64::NEG_INFINITY, 13),
    ] {
        store
            .log_metric(
                &run.run_id,
                &Metric {
                    key: "m".into(),
                    value: v,
                    timestamp_ms: ts,
                    step: 0,
                },
            )
            .unwrap();
    }
    store.flush().unwrap();
    let got = rows(&db, "SELECT value, is_nan FROM metrics ORDER BY timestamp");
    assert_eq!(
        got,
        [
            ["1.0", "0"],
            ["0.0", "1"],
            ["1.7976931348623157e308", "0"],
            ["-1.7976931348623157e308", "0"]
        ]
    );
    let r = rows(
        &db,
        "SELECT name, source_type, user_id IS NOT NULL, status, lifecycle_stage, artifact_uri \
         FROM runs",
    );
    assert_eq!(r[0][0], "r");
    assert_eq!(r[0][1], "UNKNOWN");
    assert_eq!(r[0][2], "1");
    assert_eq!(r[0][3], "RUNNING");
    assert_eq!(r[0][4], "active");
    assert_eq!(
        r[0][5],
        format!("{}/mlruns/1/{}/artifacts", dir.path().display(), run.run_id)
    );
    assert_eq!(
        rows(&db, "SELECT value FROM tags WHERE key = 'mlflow.runName'"),
        [["r"]]
    );
    store.delete_run(&run.run_id).unwrap();
    assert_eq!(
        rows(
            &db,
            "SELECT lifecycle_stage, deleted_time IS NOT NULL FROM runs"
        ),
        [["deleted", "1"]]
    );
}

#[test]
fn batch_is_one_transaction_and_rolls_back_on_error() {
    let store = TrackingStore::in_memory().unwrap();
    let exp = store.get_or_create_experiment("e").unwrap();
    let run = store
        .create_run(&exp.experiment_id, RunOptions::default())
        .unwrap();
    let res: Result<(), TrackingError> = store.batch(|| {
        store.log_param(&run.run_id, "a", "1")?;
        store.log_metric(&run.run_id, "m", 1.0, 1, 0)?;
        store.batch(|| store.set_tag(&run.run_id, "t", "x"))?;
        store.log_param(&run.run_id, "a", "2")
    });
    assert!(matches!(res, Err(TrackingError::ParamChanged { .. })));
    let rec = store.get_run(&run.run_id).unwrap();
    assert!(rec.params.is_empty(), "{:?}", rec.params);
    assert!(!rec.tags.contains_key("t"));
    assert!(rec.metrics.is_empty());
    store
        .batch(|| {
            store.log_param(&run.run_id, "a", "1")?;
            store.log_metric(&run.run_id, "m", 1.0, 1, 0)
        })
        .unwrap();
    let rec = store.get_run(&run.run_id).unwrap();
    assert_eq!(rec.params["a"], "1");
    assert_eq!(rec.metrics["m"].value, 1.0);
}

#[test]
fn opening_refuses_what_is_not_mlflow_s_database() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.db");
    std::fs::write(&text, "hello, this is not a database at all").unwrap();
    let err = SqlStore::open(&text).unwrap_err();
    assert!(matches!(err, TrackingError::NotSqlite { .. }), "{err}");
    assert!(err.to_string().contains("notes.db"));

    let foreign = dir.path().join("app.db");
    Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE users (id INTEGER)")
        .unwrap();
    let before = std::fs::read(&foreign).unwrap();
    let err = SqlStore::open(&foreign).unwrap_err();
    assert!(
        matches!(err, TrackingError::ForeignDatabase { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("experiments"), "{err}");
    assert_eq!(std::fs::read(&foreign).unwrap(), before, "nothing written");

    let old = dir.path().join("old.db");
    drop(SqlStore::open(&old).unwrap());
    Connection::open(&old)
        .unwrap()
        .execute_batch(
            "PRAGMA journal_mode=DELETE; UPDATE alembic_version SET version_num = '75868b020152'",
        )
        .unwrap();
    let err = SqlStore::open(&old).unwrap_err().to_string();
    assert!(err.contains("mlflow db upgrade sqlite:///"), "{err}");
    assert!(
        err.contains("75868b020152") && err.contains("dc11669786a5"),
        "{err}"
    );
    assert_eq!(
        rows(&old, "PRAGMA journal_mode"),
        [["delete"]],
        "nothing written"
    );

    Connection::open(&old)
        .unwrap()
        .execute_batch("UPDATE alembic_version SET version_num = 'abcdef123456'")
        .unwrap();
    let err = SqlStore::open(&old).unwrap_err().to_string();
    assert!(
        err.contains("abcdef123456") && err.contains(schema::ALLOW_UNKNOWN_REVISION_ENV),
        "{err}"
    );

    let err = SqlStore::open(dir.path().join("missing/dir/m.db"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("missing/dir") && err.contains("does not exist"),
        "{err}"
    );
}

#[test]
fn a_read_only_database_is_readable_and_refuses_writes_by_name() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("ro");
    std::fs::create_dir(&sub).unwrap();
    let db = sub.join("mlflow.db");
    let run_id = {
        let store = SqlStore::open(&db).unwrap();
        let run = store.create_run("0", RunOptions::default()).unwrap();
        store
            .update_run(&run.run_id, Some(RunStatus::Finished), Some(now()))
            .unwrap();
        run.run_id
    };
    let reader = SqlStore::open_read_only(&db).unwrap();
    assert_eq!(
        reader.get_run(&run_id).unwrap().info.status,
        RunStatus::Finished
    );
    let err = reader.set_tags(&run_id, &[("a", "1")]).unwrap_err();
    assert!(matches!(err, TrackingError::NotWritable { .. }), "{err}");
    // Buffered writes are refused when made, not at a later flush.
    let metric = crate::tracking::Metric {
        key: "m".into(),
        value: 1.0,
        timestamp_ms: 1,
        step: 0,
    };
    let err = reader.log_metric(&run_id, &metric).unwrap_err();
    assert!(matches!(err, TrackingError::NotWritable { .. }), "{err}");
    let err = reader.log_param(&run_id, "p", "1").unwrap_err();
    assert!(matches!(err, TrackingError::NotWritable { .. }), "{err}");
    drop(reader);
    if nix::unistd::geteuid().is_root() {
        eprintln!("skipped the permission part: root can write read-only files");
        return;
    }
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o555)).unwrap();
    let res = std::panic::catch_unwind(|| {
        let store = SqlStore::open(&db).unwrap();
        assert_eq!(
            store.get_run(&run_id).unwrap().info.status,
            RunStatus::Finished
        );
        assert_eq!(
            store
                .search_runs(&["0"], "", &[], 10, ViewType::ActiveOnly)
                .unwrap()
                .len(),
            1
        );
        let err = store.log_param(&run_id, "a", "1").unwrap_err();
        assert!(matches!(err, TrackingError::NotWritable { .. }), "{err}");
        assert!(err.to_string().contains("mlflow.db"), "{err}");
    });
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o755)).unwrap();
    res.unwrap();
}

fn now() -> i64 {
    crate::tracking::now_ms()
}

#[test]
fn a_writer_stuck_past_the_busy_timeout_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mlflow.db");
    drop(SqlStore::open(&db).unwrap());
    let blocker = Connection::open(&db).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let store = SqlStore::open(&db).unwrap();
    store.db().set_busy_timeout(50);
    let started = std::time::Instant::now();
    let err = store.get_or_create_experiment("e").unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    assert!(matches!(err, TrackingError::DatabaseLocked { .. }), "{err}");
    assert!(err.to_string().contains("mlflow.db"), "{err}");
    blocker.execute_batch("ROLLBACK").unwrap();
}

#[test]
fn the_log_is_checkpointed_while_logging_and_folded_into_the_file_when_the_store_closes() {
    use crate::tracking::{Metric, Store};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("mlflow.db");
    let wal = dir.path().join("mlflow.db-wal");
    let store = SqlStore::open(&db).unwrap();
    let exp = store.get_or_create_experiment("e").unwrap();
    let run = store
        .create_run(&exp.experiment_id, RunOptions::default())
        .unwrap();
    // Each batch adds about 150 pages to four B-trees.
    let mut largest_log = 0;
    for b in 0..200i64 {
        let batch: Vec<Metric> = (0..1000)
            .map(|j| Metric {
                key: format!("m{}", j % 10),
                value: j as f64,
                timestamp_ms: 1,
                step: b * 1000 + j,
            })
            .collect();
        store.log_batch(&run.run_id, &batch, &[], &[]).unwrap();
        largest_log = largest_log.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
    }
    // The log is started over again and again: it never holds more than a few checkpoints
    // worth of pages (1,000 pages of 4 KiB each), where without them it reaches 125 MB.
    assert!(
        largest_log < 32 * 1024 * 1024,
        "the log grew to {largest_log} bytes"
    );
    drop(store);
    // The writing connection closes last and folds the log into the database file.
    assert!(
        !wal.exists(),
        "{} is left after the store closed",
        wal.display()
    );
    assert_eq!(rows(&db, "SELECT count(*) FROM metrics"), [["200000"]]);
    assert_eq!(rows(&db, "PRAGMA integrity_check"), [["ok"]]);
}
