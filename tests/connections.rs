//! Connections and hooks as a user meets them: a task declares the connections it reads,
//! the run looks them up (environment first, then `connections.ron`) before any task starts,
//! secrets never reach what is recorded, and the HTTP hook talks to a real server.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use oxflow::conn::{Connection, Connections, HttpError, HttpHook};
use oxflow::exec::{self, BoxError, DagRunState, ExecError, RunConfig, TaskState};
use oxflow::prelude::*;
use oxflow::tracking::{FileStore, RunStatus, Store};

const WAREHOUSE_PASSWORD: &str = "Wh-p@ss/w0rd!";
const API_TOKEN: &str = "tok-7f3a9c1e55";

fn warehouse_uri() -> String {
    // Airflow's URI form: the password percent-encoded.
    "postgresql://etl:Wh-p%40ss%2Fw0rd%21@db.internal:5433/sales?sslmode=disable&application_token=tok-7f3a9c1e55".to_owned()
}

// ---------------------------------------------------------------- a task that prints its connection

static PRINTER_RAN: AtomicBool = AtomicBool::new(false);

/// Prints the connection every way a careless task might, and logs it to its run.
#[task(conns = ["warehouse"])]
fn print_connection(ctx: &TaskContext, run: &mut Run) -> Result<String, BoxError> {
    PRINTER_RAN.store(true, Ordering::SeqCst);
    let c = ctx.connection("warehouse")?;
    tracing::info!("display: {c}");
    tracing::info!("debug: {c:?}");
    let raw = c.password.as_deref().unwrap_or_default();
    tracing::info!("raw password: {raw}");
    tracing::info!(dsn = %c.to_uri(), "connecting");
    run.log_param("dsn", c.to_uri())?;
    run.set_tag(
        "token",
        &c.extra_str("application_token").unwrap_or_default(),
    )?;
    Ok(format!(
        "{}@{}:{}/{}",
        c.login.as_deref().unwrap_or_default(),
        c.host.as_deref().unwrap_or_default(),
        c.port.unwrap_or_default(),
        c.schema.as_deref().unwrap_or_default()
    ))
}

/// Fails with the password in its error message.
#[task(conns = ["warehouse"])]
fn leak_in_error(ctx: &TaskContext) -> Result<(), String> {
    let c = ctx.connection("warehouse").map_err(|e| e.to_string())?;
    Err(format!(
        "login refused for password {}",
        c.password.as_deref().unwrap_or_default()
    ))
}

#[dag]
fn prints_connection() {
    let out = print_connection();
    out >> leak_in_error();
}

/// The error of a DAG run that must not start.
async fn run_err(spec: &oxflow::dag::DagSpec, cfg: RunConfig) -> ExecError {
    match exec::execute(spec, cfg).await {
        Ok(report) => panic!("the run started: {:?}", report.state),
        Err(e) => e,
    }
}

fn recorded(dir: &Path) -> (FileStore, RunConfig) {
    let store = FileStore::open(dir.join("mlruns")).unwrap();
    let cfg = RunConfig::recorded(store.clone());
    (store, cfg)
}

#[tokio::test]
async fn a_task_reads_its_declared_connection_and_every_record_masks_the_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let (store, cfg) = recorded(dir.path());
    let conns = Connections::from_vars([("OXFLOW_CONN_WAREHOUSE", warehouse_uri())]);
    let report = exec::execute(&prints_connection().spec().unwrap(), cfg.connections(conns))
        .await
        .unwrap();
    assert_eq!(report.state, DagRunState::Failed);
    assert_eq!(
        report.output::<String>("print_connection").unwrap(),
        "etl@db.internal:5433/sales"
    );

    // The task log: Display, Debug and the raw string all masked; the rest kept.
    let log = exec::load_task_log(&store, None, &report.dag_run_id, "print_connection").unwrap();
    assert!(!log.contains(WAREHOUSE_PASSWORD), "{log}");
    assert!(!log.contains("Wh-p%40ss%2Fw0rd%21"), "{log}");
    assert!(!log.contains(API_TOKEN), "{log}");
    let display = log.lines().find(|l| l.contains("display: ")).unwrap();
    assert!(
        display.contains("display: postgres://etl:***@db.internal:5433/sales?")
            && display.contains("application_token=***")
            && display.contains("sslmode=disable"),
        "{log}"
    );
    assert!(log.contains(r#"password: Some("***")"#), "{log}");
    assert!(log.contains("raw password: ***"), "{log}");
    assert!(log.contains("dsn=postgres://etl:***@db.internal"), "{log}");

    // The error recorded for the failed task, in the report, its tag and its log.
    let err = report.task("leak_in_error").unwrap().error.clone().unwrap();
    assert_eq!(err, "login refused for password ***");
    let exp = store
        .get_experiment_by_name("prints_connection")
        .unwrap()
        .unwrap();
    let runs = store.list_run_records(&exp.experiment_id, false).unwrap();
    let task_run = |id: &str| {
        runs.iter()
            .find(|r| r.tags.get("oxflow.task_id").map(String::as_str) == Some(id))
            .unwrap_or_else(|| panic!("no run for {id}"))
    };
    assert_eq!(
        task_run("leak_in_error").tags["oxflow.error"],
        "login refused for password ***"
    );
    let log = exec::load_task_log(&store, None, &report.dag_run_id, "leak_in_error").unwrap();
    assert!(
        log.contains("password ***") && !log.contains(WAREHOUSE_PASSWORD),
        "{log}"
    );

    // What the task logged to its own run: a param and a tag.
    let printer = task_run("print_connection");
    let dsn = &printer.params["dsn"];
    assert!(
        dsn.starts_with("postgres://etl:***@db.internal:5433/sales?")
            && dsn.contains("application_token=***")
            && !dsn.contains(API_TOKEN),
        "{dsn}"
    );
    assert_eq!(printer.tags["token"], "***");
}

// ---------------------------------------------------------------- checked before any task starts

static BEFORE_RAN: AtomicUsize = AtomicUsize::new(0);

#[task]
fn harmless_first() {
    BEFORE_RAN.fetch_add(1, Ordering::SeqCst);
}

#[task(conns = ["warehouse", "api"])]
fn needs_two(ctx: &TaskContext) -> Result<(), BoxError> {
    BEFORE_RAN.fetch_add(1, Ordering::SeqCst);
    ctx.connection("warehouse")?;
    Ok(())
}

#[dag]
fn needs_connections() {
    harmless_first() >> needs_two();
}

#[tokio::test]
async fn a_missing_or_malformed_connection_fails_the_run_before_any_task_starts() {
    let dir = tempfile::tempdir().unwrap();
    let (store, cfg) = recorded(dir.path());
    // `api` is missing; `warehouse` is not a URI.
    let conns = Connections::from_vars([("OXFLOW_CONN_WAREHOUSE", "db.internal:5432")]);
    let err = run_err(&needs_connections().spec().unwrap(), cfg.connections(conns)).await;
    assert_eq!(BEFORE_RAN.load(Ordering::SeqCst), 0, "a task ran");
    let ExecError::Connections(errors) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(errors.len(), 2);
    let message = err.to_string();
    assert!(
        message.contains(
            "connection `warehouse`: OXFLOW_CONN_WAREHOUSE is not a valid URI: it has no `type://` at the start"
        ),
        "{message}"
    );
    assert!(
        message.contains("connection `api` is not defined: set OXFLOW_CONN_API"),
        "{message}"
    );

    // Recorded as a failed DAG run, with why, and no task run.
    let exp = store
        .get_experiment_by_name("needs_connections")
        .unwrap()
        .unwrap();
    let runs = store.list_run_records(&exp.experiment_id, false).unwrap();
    assert_eq!(runs.len(), 1, "only the DAG run");
    let dag_run = &runs[0];
    assert_eq!(dag_run.info.status, RunStatus::Failed);
    assert_eq!(dag_run.tags["oxflow.state"], "failed");
    assert!(
        dag_run.tags["oxflow.error"].contains("OXFLOW_CONN_WAREHOUSE is not a valid URI"),
        "{:?}",
        dag_run.tags
    );
}

#[tokio::test]
async fn a_malformed_json_connection_names_the_field() {
    let conns = Connections::from_vars([
        (
            "OXFLOW_CONN_WAREHOUSE",
            r#"{"conn_type": "postgres", "hostname": "db"}"#,
        ),
        ("OXFLOW_CONN_API", "http://api.example.com"),
    ]);
    let err = run_err(
        &needs_connections().spec().unwrap(),
        RunConfig::in_memory().connections(conns),
    )
    .await;
    let message = err.to_string();
    assert!(
        message.starts_with(
            "connection `warehouse`: OXFLOW_CONN_WAREHOUSE is not a valid connection in JSON: unknown field `hostname`"
        ),
        "{message}"
    );
    assert!(message.ends_with("; no task ran"), "{message}");
}

#[task(conns = ["warehouse"])]
fn reads_another(ctx: &TaskContext) -> Result<(), BoxError> {
    ctx.connection("api")?;
    Ok(())
}

#[dag]
fn undeclared_connection() {
    reads_another();
}

#[tokio::test]
async fn reading_an_undeclared_connection_fails_the_task_and_says_how_to_declare_it() {
    let conns = Connections::from_vars([
        ("OXFLOW_CONN_WAREHOUSE", "postgres://db"),
        ("OXFLOW_CONN_API", "http://api"),
    ]);
    let report = exec::execute(
        &undeclared_connection().spec().unwrap(),
        RunConfig::in_memory().connections(conns),
    )
    .await
    .unwrap();
    assert_eq!(
        report.task("reads_another").unwrap().state,
        TaskState::Failed
    );
    assert_eq!(
        report.task("reads_another").unwrap().error.as_deref(),
        Some(
            "task `reads_another` did not declare connection `api`: add it to `#[task(conns = [\"api\"])]`, so it is checked before the run starts (declared: warehouse)"
        )
    );
}

// ---------------------------------------------------------------- sources: environment, then file

const CONNECTIONS_RON: &str = r#"// connections.ron
{
    "warehouse": (
        conn_type: "postgres",
        host: "file-db",
        port: 5432,
        login: "etl",
        password: "file-secret-9",
        schema: "sales",
        extra: {"sslmode": "require", "pool": 4},
    ),
    "api": (
        conn_type: "http",
        host: "file-api",
    ),
}
"#;

#[test]
fn the_environment_wins_over_the_connections_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("connections.ron");
    std::fs::write(&file, CONNECTIONS_RON).unwrap();
    let conns = Connections::from_vars([
        ("OXFLOW_CONN_API", "http://https://env-api.example.com:8443"),
        ("OXFLOW_CONNECTIONS_FILE", file.to_str().unwrap()),
    ]);
    let api = conns.get("api").unwrap();
    assert_eq!(api.host.as_deref(), Some("https://env-api.example.com"));
    let wh = conns.get("warehouse").unwrap();
    assert_eq!(
        (wh.host.as_deref(), wh.port, wh.schema.as_deref()),
        (Some("file-db"), Some(5432), Some("sales"))
    );
    assert_eq!(wh.extra["pool"], 4);
    assert_eq!(wh.extra_str("sslmode").as_deref(), Some("require"));
    let err = conns.get("cache").unwrap_err().to_string();
    assert!(
        err.starts_with("connection `cache` is not defined: set OXFLOW_CONN_CACHE")
            && err.contains("connections.ron"),
        "{err}"
    );
}

#[test]
fn a_connections_file_with_an_unknown_field_is_refused_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("connections.ron");
    std::fs::write(
        &file,
        "{\n  \"warehouse\": (\n    conn_type: \"postgres\",\n    hots: \"db\",\n  ),\n}\n",
    )
    .unwrap();
    let conns = Connections::from_env().with_file(&file);
    let err = conns.get("warehouse").unwrap_err().to_string();
    assert!(err.contains("connections.ron:4:"), "{err}");
    assert!(err.contains("hots"), "{err}");
}

// ---------------------------------------------------------------- the CLI and the real environment

#[task(conns = ["warehouse", "api"])]
fn describe(ctx: &TaskContext) -> Result<String, BoxError> {
    let w = ctx.connection("warehouse")?;
    let a = ctx.connection("api")?;
    tracing::info!(
        "warehouse password is {}",
        w.password.as_deref().unwrap_or_default()
    );
    Ok(format!(
        "{} {}",
        w.host.as_deref().unwrap_or_default(),
        a.host.as_deref().unwrap_or_default()
    ))
}

#[dag]
fn cli_connections() {
    describe();
}

/// Run by `a_pipeline_binary_takes_connections_from_the_environment_and_a_file` in a child
/// process, whose environment holds `OXFLOW_CONN_API`.
#[test]
#[ignore = "run in a child process by the test below"]
fn child_runs_the_cli() {
    use clap::Parser;
    let args: Vec<String> = std::env::var("CHILD_ARGS")
        .unwrap()
        .split('\u{1f}')
        .map(str::to_owned)
        .collect();
    let cli = oxflow::cli::Cli::parse_from(args);
    let exit = oxflow::cli::run_cli(oxflow::cli::Program::Pipelines, cli);
    assert_eq!(exit, oxflow::cli::Exit::Success);
}

fn run_child(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["--exact", "child_runs_the_cli", "--ignored", "--nocapture"])
        .current_dir(dir)
        .env("CHILD_ARGS", args.join("\u{1f}"))
        .env_remove("OXFLOW_CONNECTIONS_FILE")
        .env_remove("OXFLOW_TRACKING_URI")
        .env_remove("MLFLOW_TRACKING_URI")
        .env_remove("OXFLOW_LOG_DIR")
        .env_remove("OXFLOW_CONN_WAREHOUSE")
        .env_remove("OXFLOW_CONN_API");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn a_pipeline_binary_takes_connections_from_the_environment_and_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("connections.ron");
    std::fs::write(&file, CONNECTIONS_RON).unwrap();
    let mlruns = dir.path().join("mlruns");
    let out = run_child(
        dir.path(),
        &[
            "pipelines",
            "--connections",
            file.to_str().unwrap(),
            "run",
            "cli_connections",
            "--tracking-uri",
            mlruns.to_str().unwrap(),
        ],
        &[("OXFLOW_CONN_API", "http://env-api")],
    );
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let store = FileStore::open(&mlruns).unwrap();
    let exp = store
        .get_experiment_by_name("cli_connections")
        .unwrap()
        .unwrap();
    let runs = store.list_run_records(&exp.experiment_id, false).unwrap();
    let dag_run = runs
        .iter()
        .find(|r| !r.tags.contains_key("oxflow.task_id"))
        .unwrap();
    assert_eq!(dag_run.info.status, RunStatus::Finished);
    let log = exec::load_task_log(&store, None, &dag_run.info.run_id, "describe").unwrap();
    assert!(log.contains("warehouse password is ***"), "{log}");
    assert!(!log.contains("file-secret-9"), "{log}");
    // The output: the warehouse from the file, the api from the environment.
    let task_run = runs
        .iter()
        .find(|r| r.tags.get("oxflow.task_id").map(String::as_str) == Some("describe"))
        .unwrap();
    let xcom = std::fs::read_to_string(
        store
            .artifact_path(&task_run.info.run_id, exec::XCOM_ARTIFACT)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(xcom.trim(), "\"file-db env-api\"");

    // Without the file, through OXFLOW_CONNECTIONS_FILE and with `warehouse` broken in the
    // environment: the run fails before its task, exit code 2, the error on stderr.
    let out = run_child(
        dir.path(),
        &[
            "pipelines",
            "run",
            "cli_connections",
            "--tracking-uri",
            mlruns.to_str().unwrap(),
        ],
        &[
            ("OXFLOW_CONNECTIONS_FILE", file.to_str().unwrap()),
            ("OXFLOW_CONN_WAREHOUSE", "postgres://db:port/x"),
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains(
            "error: connection `warehouse`: OXFLOW_CONN_WAREHOUSE is not a valid URI: port `port` is not a number from 0 to 65535; no task ran"
        ),
        "{stderr}"
    );
}

// ---------------------------------------------------------------- the HTTP hook

#[derive(Default)]
struct Seen {
    hits: AtomicUsize,
    /// Fail this many requests with 503 before answering.
    fail_first: AtomicUsize,
    auth: Mutex<Vec<String>>,
}

/// Starts an axum server on a free port in a thread of its own; returns its port.
fn start_server(seen: Arc<Seen>) -> u16 {
    use axum::routing::get;
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let port = std_listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let seen_items = seen.clone();
            let app = axum::Router::new()
                .route(
                    "/v1/items",
                    get(move |headers: axum::http::HeaderMap| {
                        let seen = seen_items.clone();
                        async move {
                            let n = seen.hits.fetch_add(1, Ordering::SeqCst);
                            if let Some(a) = headers.get("authorization") {
                                seen.auth
                                    .lock()
                                    .unwrap()
                                    .push(a.to_str().unwrap().to_owned());
                            }
                            if n < seen.fail_first.load(Ordering::SeqCst) {
                                (
                                    axum::http::StatusCode::SERVICE_UNAVAILABLE,
                                    "busy".to_owned(),
                                )
                            } else {
                                (
                                    axum::http::StatusCode::OK,
                                    r#"{"items": [1, 2, 3]}"#.to_owned(),
                                )
                            }
                        }
                    }),
                )
                .route(
                    "/slow",
                    get(|| async {
                        tokio::time::sleep(Duration::from_secs(5)).await;
                        "late"
                    }),
                )
                .route(
                    "/missing",
                    get(|| async { (axum::http::StatusCode::NOT_FOUND, "no such thing") }),
                );
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    port
}

static HTTP_ATTEMPTS: AtomicUsize = AtomicUsize::new(0);

#[task(conns = ["api"])]
fn fetch_items(ctx: &TaskContext) -> Result<Vec<u32>, BoxError> {
    let hook = HttpHook::new(ctx.connection("api")?)?.retry_delay(Duration::from_millis(50));
    let answer = hook.get("v1/items")?;
    HTTP_ATTEMPTS.store(answer.attempts as usize, Ordering::SeqCst);
    let body: BTreeMap<String, Vec<u32>> = answer.json()?;
    Ok(body["items"].clone())
}

#[dag]
fn http_items() {
    fetch_items();
}

#[tokio::test]
async fn the_http_hook_retries_a_busy_server_and_sends_basic_auth_from_the_connection() {
    let seen = Arc::new(Seen::default());
    seen.fail_first.store(2, Ordering::SeqCst);
    let port = start_server(seen.clone());
    let conns = Connections::from_vars([(
        "OXFLOW_CONN_API",
        format!("http://svc:hunter2-pw@127.0.0.1:{port}"),
    )]);
    let report = exec::execute(
        &http_items().spec().unwrap(),
        RunConfig::in_memory().connections(conns),
    )
    .await
    .unwrap();
    assert_eq!(report.state, DagRunState::Success, "{:?}", report.tasks);
    assert_eq!(
        report.output::<Vec<u32>>("fetch_items").unwrap(),
        &[1, 2, 3]
    );
    // Two 503s, then the answer: three requests, each with the credentials.
    assert_eq!(seen.hits.load(Ordering::SeqCst), 3);
    assert_eq!(HTTP_ATTEMPTS.load(Ordering::SeqCst), 3);
    let auth = seen.auth.lock().unwrap().clone();
    // base64("svc:hunter2-pw")
    assert_eq!(auth, vec!["Basic c3ZjOmh1bnRlcjItcHc=".to_owned(); 3]);
}

#[test]
fn the_http_hook_sends_a_bearer_token_gives_up_after_its_retries_and_times_out() {
    let seen = Arc::new(Seen::default());
    seen.fail_first.store(100, Ordering::SeqCst);
    let port = start_server(seen.clone());
    let conn = Connection::from_json(
        "api",
        &format!(
            r#"{{"conn_type": "http", "host": "127.0.0.1", "port": {port}, "login": "ignored", "extra": {{"token": "{API_TOKEN}"}}}}"#
        ),
    )
    .unwrap();
    let hook = HttpHook::new(&conn)
        .unwrap()
        .retries(2)
        .retry_delay(Duration::from_millis(20));
    assert_eq!(hook.base_url(), format!("http://127.0.0.1:{port}"));
    let err = hook.get("/v1/items").unwrap_err();
    assert!(
        matches!(err, HttpError::Status { status: 503, .. }),
        "{err}"
    );
    assert_eq!(
        seen.hits.load(Ordering::SeqCst),
        3,
        "one try and two retries"
    );
    assert_eq!(
        seen.auth.lock().unwrap().first().map(String::as_str),
        Some(format!("Bearer {API_TOKEN}").as_str())
    );

    // A client error is not retried.
    let before = seen.hits.load(Ordering::SeqCst);
    let err = hook.get("/missing").unwrap_err();
    assert!(
        err.to_string()
            .ends_with("/missing answered 404: no such thing"),
        "{err}"
    );
    assert_eq!(seen.hits.load(Ordering::SeqCst), before);

    // Past its timeout a try fails, and is retried like a refused connection.
    let hook = HttpHook::new(&conn)
        .unwrap()
        .retries(1)
        .retry_delay(Duration::from_millis(10))
        .timeout(Duration::from_millis(200));
    let start = Instant::now();
    let err = hook.get("/slow").unwrap_err();
    assert!(
        matches!(err, HttpError::Failed { attempts: 2, .. }),
        "{err}"
    );
    assert!(start.elapsed() < Duration::from_secs(3));

    // Nothing listening: every try fails to connect.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    let conn = Connection::from_uri("down", &format!("http://127.0.0.1:{closed_port}")).unwrap();
    let err = HttpHook::new(&conn)
        .unwrap()
        .retries(2)
        .retry_delay(Duration::from_millis(10))
        .get("/")
        .unwrap_err();
    assert!(
        matches!(err, HttpError::Failed { attempts: 3, .. }),
        "{err}"
    );
    assert!(
        err.to_string().starts_with("connection `down`: GET"),
        "{err}"
    );
}

// ---------------------------------------------------------------- a named file is always read

#[task]
fn needs_nothing() -> u32 {
    1
}

#[dag]
fn no_connections() {
    needs_nothing();
}

/// A connections file that was named is read even when no task needs a connection: a wrong
/// path or a broken file is reported, naming it, and nothing runs or is recorded.
#[test]
fn a_named_connections_file_that_cannot_be_used_stops_the_run_even_when_no_task_needs_it() {
    let dir = tempfile::tempdir().unwrap();
    let mlruns = dir.path().join("mlruns");
    let missing = dir.path().join("missing.ron");
    let broken = dir.path().join("broken.ron");
    std::fs::write(&broken, "{\"db\": (conn_type: \"postgres\", hots: \"h\")}").unwrap();
    for (file, expected) in [
        (
            &missing,
            format!("cannot read connections file {}", missing.display()),
        ),
        (&broken, format!("connections file {}:1:", broken.display())),
    ] {
        let out = run_child(
            dir.path(),
            &[
                "pipelines",
                "--connections",
                file.to_str().unwrap(),
                "run",
                "no_connections",
                "--tracking-uri",
                mlruns.to_str().unwrap(),
            ],
            &[],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(stderr.contains(&expected), "{stderr}");
        // Nothing ran, so nothing was recorded.
        assert!(!mlruns.exists(), "{stderr}");
    }
}
