//! The PostgreSQL hook against a real server (the `postgres` feature): a DAG whose task creates
//! a table, inserts rows and reads them back through `OXFLOW_CONN_WAREHOUSE`.
//!
//! `tests/interop/postgres.sh` starts a throwaway server and sets `OXFLOW_CONN_WAREHOUSE`;
//! without it the test prints a note and passes.

use oxflow::conn::{PostgresHook, env_var_for};
use oxflow::exec::{self, BoxError, DagRunState, RunConfig};
use oxflow::prelude::*;
use oxflow::tracking::FileStore;

/// Creates a table of its own, inserts three rows with parameters, reads them back in order.
#[task(conns = ["warehouse"])]
fn load_and_read(ctx: &TaskContext) -> Result<Vec<(i32, String)>, BoxError> {
    let hook = PostgresHook::new(ctx.connection("warehouse")?)?;
    let table = format!("oxflow_items_{}", &ctx.dag_run_id()[..8]);
    hook.run(&format!(
        "DROP TABLE IF EXISTS {table}; CREATE TABLE {table} (id integer PRIMARY KEY, name text NOT NULL)"
    ))?;
    for (id, name) in [(3, "gamma"), (1, "alpha"), (2, "beta")] {
        let n = hook.execute(
            &format!("INSERT INTO {table} (id, name) VALUES ($1, $2)"),
            &[&id, &name],
        )?;
        assert_eq!(n, 1);
    }
    let rows = hook.get_records(&format!("SELECT id, name FROM {table} ORDER BY id"), &[])?;
    tracing::info!("read {} rows from {table}", rows.len());
    hook.run(&format!("DROP TABLE {table}"))?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

#[dag]
fn warehouse_roundtrip() {
    load_and_read();
}

#[tokio::test]
async fn a_task_creates_a_table_inserts_and_reads_rows_back_through_the_hook() {
    let var = env_var_for("warehouse");
    if std::env::var_os(&var).is_none() {
        eprintln!("note: {var} is not set; skipping (tests/interop/postgres.sh starts a server)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let store = FileStore::open(dir.path().join("mlruns")).unwrap();
    // The connection comes from the process environment, as in production.
    let report = exec::execute(
        &warehouse_roundtrip().spec().unwrap(),
        RunConfig::recorded(store.clone()),
    )
    .await
    .unwrap();
    assert_eq!(report.state, DagRunState::Success, "{:?}", report.tasks);
    assert_eq!(
        report
            .output::<Vec<(i32, String)>>("load_and_read")
            .unwrap(),
        &[(1, "alpha".into()), (2, "beta".into()), (3, "gamma".into())]
    );
    let log = exec::load_task_log(&store, None, &report.dag_run_id, "load_and_read").unwrap();
    assert!(log.contains("read 3 rows from oxflow_items_"), "{log}");
}

/// A plain test: the `postgres` client runs a runtime of its own, which cannot start inside
/// tokio's (tasks are sync, so oxflow runs them on the blocking pool, outside it).
#[test]
fn a_wrong_password_fails_the_task_with_the_connection_named_and_the_password_masked() {
    let var = env_var_for("warehouse");
    let Some(uri) = std::env::var(&var).ok() else {
        eprintln!("note: {var} is not set; skipping (tests/interop/postgres.sh starts a server)");
        return;
    };
    let mut conn = oxflow::conn::Connection::from_uri("warehouse", &uri).unwrap();
    conn.password = Some("not-the-password-42".into());
    let hook = PostgresHook::new(&conn).unwrap();
    let err = hook.run("SELECT 1").unwrap_err().to_string();
    assert!(
        err.starts_with("connection `warehouse`: cannot connect to PostgreSQL"),
        "{err}"
    );
    assert!(!err.contains("not-the-password-42"), "{err}");
}
