//! The scoring server: MLflow's protocol on every request shape and mistake, limits, metrics,
//! an alias moved under load, and a graceful shutdown.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use oxflow::model::{register_model, registry_version};
use oxflow::prelude::*;
use oxflow::serve::{Scoring, ServeOptions, ServedModel, load_served, watch};
use oxflow::telemetry::export::{ExportOptions, Exporter};
use oxflow::tracking::{RunOptions, RunStatus, TrackingStore};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Schema, Debug, Clone)]
struct Features {
    x: f64,
    #[schema(rename = "zip code")]
    zip: String,
    count: Option<i64>,
}

#[derive(Schema, Debug)]
struct Score {
    y: f64,
}

#[derive(Debug)]
struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("x must not be negative")
    }
}

impl std::error::Error for Refused {}

/// `y = factor * x`, after `delay_ms` (and 400 ms more for x = 99); panics on x = 13.
#[model(input = Features, output = Score, name = "scaler")]
#[derive(Serialize, Deserialize, Debug, Clone)]
struct Scaler {
    factor: f64,
    delay_ms: u64,
}

impl Predict for Scaler {
    type Input = Features;
    type Output = Score;
    type Error = Refused;
    fn predict(&self, rows: &[Features]) -> Result<Vec<Score>, Refused> {
        std::thread::sleep(Duration::from_millis(self.delay_ms));
        if rows.iter().any(|r| r.x == 99.0) {
            std::thread::sleep(Duration::from_millis(400));
        }
        rows.iter()
            .map(|r| {
                assert!(r.x != 13.0, "unlucky input");
                if r.x < 0.0 {
                    return Err(Refused);
                }
                Ok(Score {
                    y: r.x * self.factor,
                })
            })
            .collect()
    }
}

fn exporter() -> Exporter {
    static EXPORTER: OnceLock<Exporter> = OnceLock::new();
    EXPORTER
        .get_or_init(|| Exporter::install(ExportOptions::new("serving-test")).unwrap())
        .clone()
}

/// A server on a free port, in its own runtime thread, stopped when dropped.
struct Server {
    addr: SocketAddr,
    scoring: Scoring,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(served: impl FnOnce() -> ServedModel + Send + 'static, opts: ServeOptions) -> Server {
        Server::start_with(served, opts, None)
    }

    fn start_with(
        served: impl FnOnce() -> ServedModel + Send + 'static,
        opts: ServeOptions,
        watched: Option<(TrackingStore, String)>,
    ) -> Server {
        let exporter = exporter();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let scoring = Scoring::with_exporter(served(), opts, Some(exporter));
                if let Some((store, uri)) = watched {
                    tokio::spawn(watch(
                        scoring.clone(),
                        store,
                        uri,
                        Duration::from_millis(50),
                    ));
                }
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                ready_tx
                    .send((listener.local_addr().unwrap(), scoring.clone()))
                    .unwrap();
                oxflow::serve::serve(listener, scoring.router(), async {
                    let _ = stop_rx.await;
                })
                .await
                .unwrap();
            });
        });
        let (addr, scoring) = ready_rx.recv().unwrap();
        Server {
            addr,
            scoring,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// POSTs `body` to /invocations with `content_type`: (status, content type, body).
    fn post(&self, content_type: &str, body: &str) -> (u16, String, String) {
        let mut resp = agent()
            .post(&self.url("/invocations"))
            .header("Content-Type", content_type)
            .send(body)
            .unwrap();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (
            resp.status().as_u16(),
            ct,
            resp.body_mut().read_to_string().unwrap(),
        )
    }

    fn get(&self, path: &str) -> (u16, String) {
        let mut resp = agent().get(&self.url(path)).call().unwrap();
        (
            resp.status().as_u16(),
            resp.body_mut().read_to_string().unwrap(),
        )
    }

    fn shutdown(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.thread.take().unwrap().join().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .into()
}

fn scaler(factor: f64, delay_ms: u64, name: &str) -> ServedModel {
    ServedModel::new(std::sync::Arc::new(Scaler { factor, delay_ms }), name)
}

const JSON: &str = "application/json";

#[test]
fn every_request_shape_is_scored_the_same() {
    let server = Server::start(|| scaler(2.0, 0, "shapes"), ServeOptions::default());
    let expected = json!({"predictions": [{"y": 3.0}, {"y": 8.0}]});
    for (ct, body) in [
        (
            JSON,
            r#"{"dataframe_split": {"columns": ["x", "zip code"], "data": [[1.5, "a"], [4, "b"]]}}"#,
        ),
        (
            JSON,
            r#"{"dataframe_records": [{"x": 1.5, "zip code": "a"}, {"x": 4, "zip code": "b", "extra": 1}]}"#,
        ),
        (
            JSON,
            r#"{"instances": [{"x": 1.5, "zip code": "a"}, {"x": 4, "zip code": "b"}]}"#,
        ),
        (
            "application/json; charset=UTF-8",
            r#"{"inputs": {"x": [1.5, 4], "zip code": ["a", "b"]}, "params": {"ignored": 1}}"#,
        ),
        ("text/csv", "x,zip code,count\n1.5,02134,\n4,b,7\n"),
    ] {
        let (status, content_type, text) = server.post(ct, body);
        assert_eq!(status, 200, "{body}: {text}");
        assert_eq!(content_type, JSON);
        let got: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(got, expected, "{ct} {body}");
    }
    assert_eq!(server.get("/ping"), (200, "\n".to_owned()));
    assert_eq!(server.get("/health").0, 200);
    assert_eq!(server.get("/version").1, env!("CARGO_PKG_VERSION"));
}

/// (content type, body, status, error_code, error_class, text the message must contain)
type Mistake = (
    &'static str,
    &'static str,
    u16,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
);

#[test]
fn each_mistake_gets_mlflow_status_and_error_code() {
    let server = Server::start(|| scaler(2.0, 0, "mistakes"), ServeOptions::default());
    let cases: &[Mistake] = &[
        ("text/plain", "{}", 415, None, None, "Got 'text/plain'."),
        (
            "application/json; format=pandas-split",
            "{}",
            415,
            None,
            None,
            "Unrecognized content type parameters: format.",
        ),
        (
            "application/json; charset=latin-1",
            "{}",
            415,
            None,
            None,
            "only supports UTF-8",
        ),
        (
            JSON,
            "{bad json",
            400,
            Some("BAD_REQUEST"),
            Some("INVALID_PARAMETER_VALUE"),
            "Ensure that input is a valid JSON formatted string",
        ),
        (
            JSON,
            "[1, 2]",
            400,
            Some("BAD_REQUEST"),
            Some("INVALID_PARAMETER_VALUE"),
            "Received a list.",
        ),
        (
            JSON,
            r#"{"inputs": {"x": [1]}, "instances": []}"#,
            400,
            Some("BAD_REQUEST"),
            Some("INVALID_PARAMETER_VALUE"),
            "Received dictionary with input fields: ['inputs', 'instances']",
        ),
        (
            JSON,
            r#"{"dataframe_records": [{"x": 1}]}"#,
            400,
            Some("INVALID_PARAMETER_VALUE"),
            Some("SCHEMA_ENFORCEMENT_FAILED"),
            "Model is missing inputs ['zip code'].",
        ),
        (
            JSON,
            r#"{"dataframe_records": []}"#,
            400,
            Some("INVALID_PARAMETER_VALUE"),
            Some("SCHEMA_ENFORCEMENT_FAILED"),
            "Model is missing inputs ['x', 'zip code'].",
        ),
        (
            JSON,
            r#"{"dataframe_records": [{"x": "abc", "zip code": "a"}]}"#,
            400,
            Some("BAD_REQUEST"),
            Some("INVALID_PARAMETER_VALUE"),
            "Failed to convert column x to type 'float64'. Error: row 0: ",
        ),
        (
            JSON,
            r#"{"dataframe_records": [{"x": 1, "zip code": "a", "count": 2.5}]}"#,
            400,
            Some("BAD_REQUEST"),
            Some("INVALID_PARAMETER_VALUE"),
            "Failed to convert column count to type 'int64'",
        ),
        (
            JSON,
            r#"{"dataframe_records": [{"x": -1, "zip code": "a"}]}"#,
            400,
            Some("BAD_REQUEST"),
            Some("INVALID_PARAMETER_VALUE"),
            "Encountered an unexpected error while evaluating the model. Verify that the serialized input Dataframe is compatible with the model for inference. Error: x must not be negative",
        ),
        (
            JSON,
            r#"{"dataframe_split": {"columns": ["x"], "data": [[1, 2]]}}"#,
            400,
            Some("BAD_REQUEST"),
            Some("INVALID_PARAMETER_VALUE"),
            "row 0 has 2 values for 1 columns",
        ),
        (
            "text/csv",
            "x,zip code\n1,a,extra\n",
            400,
            Some("BAD_REQUEST"),
            Some("INVALID_PARAMETER_VALUE"),
            "Failed to parse input as a Pandas DataFrame",
        ),
        (
            "text/csv",
            "x,zip code\nabc,a\n",
            400,
            Some("BAD_REQUEST"),
            Some("INVALID_PARAMETER_VALUE"),
            "Failed to parse input as a Pandas DataFrame. Ensure that the input is a valid CSV-formatted Pandas DataFrame produced using the `pandas.DataFrame.to_csv()` method. Error: 'could not convert string to float: 'abc' (column x, line 2)'",
        ),
    ];
    for (ct, body, status, code, class, needle) in cases {
        let (got_status, got_ct, text) = server.post(ct, body);
        assert_eq!(got_status, *status, "{ct} {body}: {text}");
        assert!(text.contains(needle), "{ct} {body}: {text}");
        match code {
            Some(code) => {
                assert_eq!(got_ct, JSON, "{body}");
                let err: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(err["error_code"], *code, "{body}: {text}");
                assert_eq!(err["error_class"], class.unwrap(), "{body}: {text}");
                let sqlstate = if *class == Some("SCHEMA_ENFORCEMENT_FAILED") {
                    "KAM01"
                } else {
                    "KAM00"
                };
                assert_eq!(err["sqlstate"], sqlstate, "{body}: {text}");
            }
            None => assert_eq!(got_ct, "text/plain; charset=utf-8", "{body}"),
        }
    }
    let (status, text) = server.get("/nope");
    assert_eq!((status, text.as_str()), (404, r#"{"detail":"Not Found"}"#));
    let (status, text) = server.get("/invocations");
    assert_eq!(
        (status, text.as_str()),
        (405, r#"{"detail":"Method Not Allowed"}"#)
    );
    // A panicking model is a 500 naming the cause, and the server keeps answering.
    let (status, _, text) = server.post(JSON, r#"{"inputs": {"x": [13], "zip code": ["a"]}}"#);
    assert_eq!(status, 500, "{text}");
    assert!(text.contains("panicked"), "{text}");
    assert_eq!(
        server
            .post(JSON, r#"{"inputs": {"x": [1], "zip code": ["a"]}}"#)
            .0,
        200
    );
}

#[test]
fn a_fast_model_is_scored_on_the_worker_until_it_turns_slow() {
    let server = Server::start(
        || scaler(1.0, 0, "pace"),
        ServeOptions {
            request_timeout: Duration::from_millis(200),
            ..ServeOptions::default()
        },
    );
    let one = r#"{"inputs": {"x": [1], "zip code": ["a"]}}"#;
    let warm_up = || {
        for _ in 0..200 {
            assert_eq!(server.post(JSON, one).0, 200);
        }
    };
    warm_up();
    // Scored in microseconds, so now on the async worker: a panic there is still a 500, and the
    // server keeps answering.
    let (status, _, text) = server.post(JSON, r#"{"inputs": {"x": [13], "zip code": ["a"]}}"#);
    assert_eq!(status, 500, "{text}");
    assert!(text.contains("panicked"), "{text}");
    assert_eq!(server.post(JSON, one).0, 200);
    // The first slow request runs to its end on the worker (no timeout can stop it there) ...
    // A fast request the test machine happened to preempt for a millisecond sends the model to
    // the pool too, where this one gets a 504 instead; then warm it up and try again.
    let slow = r#"{"inputs": {"x": [99], "zip code": ["a"]}}"#;
    let mut answers = Vec::new();
    for _ in 0..3 {
        let (status, _, text) = server.post(JSON, slow);
        answers.push((status, text));
        if status == 200 {
            break;
        }
        warm_up();
    }
    assert_eq!(answers.last().map(|a| a.0), Some(200), "{answers:?}");
    // ... and sends the model back to the blocking pool, where the timeout answers 504.
    let started = Instant::now();
    let (status, _, text) = server.post(JSON, slow);
    assert_eq!(status, 504, "{text}");
    assert!(started.elapsed() < Duration::from_millis(390));
}

#[test]
fn limits_answer_413_504_and_408() {
    let server = Server::start(
        || scaler(1.0, 400, "limits"),
        ServeOptions {
            max_body_bytes: 1000,
            request_timeout: Duration::from_millis(200),
            ..ServeOptions::default()
        },
    );
    let big = format!(
        r#"{{"dataframe_records": [{}]}}"#,
        vec![r#"{"x": 1, "zip code": "a"}"#; 100].join(",")
    );
    let (status, _, text) = server.post(JSON, &big);
    assert_eq!(status, 413, "{text}");
    assert!(text.contains("limit of 1000 bytes"), "{text}");

    let started = Instant::now();
    let (status, ct, text) = server.post(JSON, r#"{"inputs": {"x": [1], "zip code": ["a"]}}"#);
    assert_eq!(
        (status, text.as_str(), ct.as_str()),
        (504, "Request processing time exceeded limit", JSON)
    );
    assert!(
        started.elapsed() < Duration::from_millis(390),
        "answered at the timeout, not after the model"
    );

    // A body that never finishes arriving (slowloris): 408 at the timeout.
    let mut conn = std::net::TcpStream::connect(server.addr).unwrap();
    conn.write_all(
        b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"inputs\"",
    )
    .unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = vec![0u8; 4096];
    let n = conn.read(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("did not arrive within the request timeout"),
        "{answer}"
    );
}

#[test]
fn requests_wait_for_a_slot_beyond_the_concurrency_limit() {
    let server = Server::start(
        || scaler(1.0, 150, "concurrency"),
        ServeOptions {
            max_concurrency: 1,
            ..ServeOptions::default()
        },
    );
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                let (status, _, text) =
                    server.post(JSON, r#"{"inputs": {"x": [1], "zip code": ["a"]}}"#);
                assert_eq!(status, 200, "{text}");
            });
        }
    });
    // One at a time: three predictions of 150 ms cannot end sooner than 450 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(450),
        "{:?}",
        started.elapsed()
    );
}

fn metric_value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with('{'))
        .find(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[test]
fn metrics_count_requests_rows_and_schema_errors_by_column() {
    let server = Server::start(|| scaler(1.0, 0, "metered"), ServeOptions::default());
    for _ in 0..3 {
        server.post(JSON, r#"{"inputs": {"x": [1, 2], "zip code": ["a", "b"]}}"#);
    }
    server.post(JSON, r#"{"dataframe_records": [{"x": 1}]}"#);
    server.post(
        JSON,
        r#"{"dataframe_records": [{"x": "no", "zip code": "a"}]}"#,
    );
    server.post("text/html", "<p>");
    let (status, text) = server.get("/metrics");
    assert_eq!(status, 200);
    let m = |name: &str, labels: &[(&str, &str)]| {
        metric_value(&text, name, labels)
            .unwrap_or_else(|| panic!("no {name} {labels:?} in\n{text}"))
    };
    let model = ("model", "metered");
    assert_eq!(
        m("oxflow_serve_requests_total", &[model, ("code", "200")]),
        3.0
    );
    assert_eq!(
        m("oxflow_serve_requests_total", &[model, ("code", "400")]),
        2.0
    );
    assert_eq!(
        m("oxflow_serve_requests_total", &[model, ("code", "415")]),
        1.0
    );
    assert_eq!(m("oxflow_serve_rows_scored_total", &[model]), 6.0);
    assert_eq!(
        m(
            "oxflow_serve_schema_errors_total",
            &[model, ("column", "zip code")]
        ),
        1.0
    );
    assert_eq!(
        m(
            "oxflow_serve_schema_errors_total",
            &[model, ("column", "x")]
        ),
        1.0
    );
    assert_eq!(m("oxflow_serve_requests_in_flight", &[model]), 0.0);
    assert_eq!(
        m("oxflow_serve_request_duration_seconds_count", &[model]),
        6.0
    );
    // Sub-millisecond buckets, not the task-duration ones.
    assert!(
        metric_value(
            &text,
            "oxflow_serve_request_duration_seconds_bucket",
            &[model, ("le", "0.0005")]
        )
        .is_some(),
        "{text}"
    );
    assert_eq!(
        m(
            "oxflow_model_info",
            &[model, ("version", ""), ("alias", "")]
        ),
        1.0
    );
    assert!(text.contains(r#"service="serving-test""#));
}

fn log_scaler(store: &TrackingStore, factor: f64) -> String {
    let mut run = Run::start(store, "serving", RunOptions::default()).unwrap();
    let logged = run
        .log_model(
            &Scaler {
                factor,
                delay_ms: 0,
            },
            "scaler",
        )
        .unwrap();
    run.end(RunStatus::Finished).unwrap();
    format!("models:/{}", logged.model_id)
}

#[test]
fn an_alias_moved_under_load_swaps_the_model_without_a_failed_request() {
    let dir = tempfile::tempdir().unwrap();
    let uri = format!("sqlite:///{}", dir.path().join("mlflow.db").display());
    let store = TrackingStore::open_uri(&uri).unwrap();
    let one = register_model(&store, &log_scaler(&store, 1.0), "scaler").unwrap();
    let two = register_model(&store, &log_scaler(&store, 2.0), "scaler").unwrap();
    store
        .set_registered_model_alias("scaler", "champion", one.version)
        .unwrap();
    let loader = store.clone();
    let server = Server::start_with(
        move || load_served(&loader, "models:/scaler@champion").unwrap(),
        ServeOptions::default(),
        Some((store.clone(), "models:/scaler@champion".into())),
    );
    assert_eq!(server.scoring.current().version(), "1");
    let (ones, twos, failures) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        AtomicUsize::new(0),
    );
    let until = Instant::now() + Duration::from_millis(1500);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                while Instant::now() < until {
                    let (status, _, text) =
                        server.post(JSON, r#"{"inputs": {"x": [10], "zip code": ["a"]}}"#);
                    match (status, serde_json::from_str::<Value>(&text).ok()) {
                        (200, Some(v)) if v["predictions"][0]["y"] == 10.0 => {
                            ones.fetch_add(1, Ordering::Relaxed)
                        }
                        (200, Some(v)) if v["predictions"][0]["y"] == 20.0 => {
                            twos.fetch_add(1, Ordering::Relaxed)
                        }
                        _ => failures.fetch_add(1, Ordering::Relaxed),
                    };
                }
            });
        }
        std::thread::sleep(Duration::from_millis(500));
        store
            .set_registered_model_alias("scaler", "champion", two.version)
            .unwrap();
    });
    let (ones, twos, failures) = (ones.into_inner(), twos.into_inner(), failures.into_inner());
    assert_eq!(failures, 0, "{ones} answers from v1, {twos} from v2");
    assert!(
        ones > 0 && twos > 0,
        "{ones} answers from v1, {twos} from v2"
    );
    assert_eq!(server.scoring.current().version(), "2");
    let (_, text) = server.get("/metrics");
    let info = |v: &str| {
        metric_value(
            &text,
            "oxflow_model_info",
            &[("model", "scaler"), ("version", v), ("alias", "champion")],
        )
    };
    assert_eq!((info("1"), info("2")), (Some(0.0), Some(1.0)), "{text}");
    let parsed = "models:/scaler@champion".parse().unwrap();
    assert_eq!(
        registry_version(&store, "models:/scaler@champion", &parsed)
            .unwrap()
            .unwrap()
            .version,
        2
    );
}

#[test]
fn shutdown_lets_requests_in_flight_finish() {
    let server = Server::start(|| scaler(1.0, 300, "shutdown"), ServeOptions::default());
    let addr = server.addr;
    let in_flight = std::thread::spawn(move || {
        let mut resp = agent()
            .post(&format!("http://{addr}/invocations"))
            .header("Content-Type", JSON)
            .send(r#"{"inputs": {"x": [4], "zip code": ["a"]}}"#)
            .unwrap();
        (
            resp.status().as_u16(),
            resp.body_mut().read_to_string().unwrap(),
        )
    });
    std::thread::sleep(Duration::from_millis(100));
    server.shutdown();
    let (status, text) = in_flight.join().unwrap();
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"predictions": [{"y": 4.0}]})
    );
    // Stopped: nothing listens any more.
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn malformed_requests_mixed_into_load_get_4xx_naming_the_problem_and_no_5xx() {
    let server = Server::start(
        || scaler(1.0, 0, "mixed"),
        ServeOptions {
            max_body_bytes: 64 << 10,
            request_timeout: Duration::from_millis(500),
            ..ServeOptions::default()
        },
    );
    let huge = format!(
        r#"{{"inputs": {{"x": [{}], "zip code": ["a"]}}}}"#,
        vec!["1"; 40_000].join(",")
    );
    // (content type, body, what the answer must name)
    let malformed: Vec<(&str, String, &str)> = vec![
        (
            JSON,
            r#"{"inputs": {"x": [1, "zip code": ["a"]}}"#.into(),
            "valid JSON",
        ),
        (
            JSON,
            r#"{"inputs": {"x": ["one"], "zip code": ["a"]}}"#.into(),
            "column x",
        ),
        (JSON, r#"{"inputs": {"x": [1]}}"#.into(), "['zip code']"),
        (JSON, huge, "larger than the server's limit"),
        ("text/xml", "<x/>".into(), "Got 'text/xml'"),
        (
            JSON,
            r#"{"inputs": {"x": [1], "zip code": [7]}}"#.into(),
            "column zip code",
        ),
        (
            "text/csv",
            "x,zip code\n1\n2,a,b\n".into(),
            "Expected 2 fields in line 3",
        ),
        (JSON, "\u{0}\u{1}".into(), "valid JSON"),
        (
            JSON,
            r#"{"dataframe_split": {"columns": [1], "data": []}}"#.into(),
            "list of strings",
        ),
    ];
    let (ok, refused, wrong) = (
        AtomicUsize::new(0),
        AtomicUsize::new(0),
        std::sync::Mutex::new(Vec::new()),
    );
    std::thread::scope(|s| {
        for t in 0..4 {
            let (ok, refused, wrong, malformed, server) =
                (&ok, &refused, &wrong, &malformed, &server);
            s.spawn(move || {
                for i in 0..250 {
                    if i % 10 == t % 10 {
                        let (ct, body, needle) = &malformed[(i / 10 + t) % malformed.len()];
                        let (status, _, text) = server.post(ct, body);
                        if (400..500).contains(&status) && text.contains(needle) {
                            refused.fetch_add(1, Ordering::Relaxed);
                        } else {
                            wrong
                                .lock()
                                .unwrap()
                                .push(format!("{status} for {needle}: {text}"));
                        }
                    } else {
                        let (status, _, text) =
                            server.post(JSON, r#"{"inputs": {"x": [2], "zip code": ["a"]}}"#);
                        if status == 200 {
                            ok.fetch_add(1, Ordering::Relaxed);
                        } else {
                            wrong
                                .lock()
                                .unwrap()
                                .push(format!("{status} for a valid request: {text}"));
                        }
                    }
                }
            });
        }
        // A slowloris client: headers, part of the body, then nothing.
        s.spawn(|| {
            let mut conn = std::net::TcpStream::connect(server.addr).unwrap();
            conn.write_all(
                b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 90\r\n\r\n{",
            )
            .unwrap();
            conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut answer = vec![0u8; 1024];
            let n = conn.read(&mut answer).unwrap();
            let answer = String::from_utf8_lossy(&answer[..n]).into_owned();
            if answer.starts_with("HTTP/1.1 408") {
                refused.fetch_add(1, Ordering::Relaxed);
            } else {
                wrong.lock().unwrap().push(answer);
            }
        });
    });
    let wrong = wrong.into_inner().unwrap();
    assert!(
        wrong.is_empty(),
        "{} wrong answers, first: {}",
        wrong.len(),
        wrong[0]
    );
    assert_eq!(ok.into_inner(), 900);
    assert_eq!(refused.into_inner(), 101);
}

fn features(n: usize, shift: f64) -> Vec<Features> {
    (0..n)
        .map(|i| Features {
            x: (i % 200) as f64 + 0.5 + shift,
            zip: if i % 3 == 0 { "a" } else { "b" }.into(),
            count: Some((i % 50) as i64),
        })
        .collect()
}

fn wait_for_metric(server: &Server, name: &str, labels: &[(&str, &str)]) -> f64 {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, text) = server.get("/metrics");
        if let Some(v) = metric_value(&text, name, labels) {
            return v;
        }
        assert!(Instant::now() < until, "no {name} {labels:?} in\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn live_drift_tests_scored_inputs_against_the_training_profile() {
    let dir = tempfile::tempdir().unwrap();
    let store = TrackingStore::open_uri(&format!(
        "sqlite:///{}",
        dir.path().join("mlflow.db").display()
    ))
    .unwrap();
    for (name, shift) in [("steady", 0.0), ("drifting", 150.0)] {
        let mut run = Run::start(&store, "serving", RunOptions::default()).unwrap();
        let logged = run
            .log_model_with_reference(
                &Scaler {
                    factor: 1.0,
                    delay_ms: 0,
                },
                "scaler",
                &features(2, 0.0),
                &features(600, 0.0),
            )
            .unwrap();
        run.end(RunStatus::Finished).unwrap();
        register_model(&store, &format!("models:/{}", logged.model_id), name).unwrap();
        let loader = store.clone();
        let uri = format!("models:/{name}/1");
        let server = Server::start(
            move || {
                let served = load_served(&loader, &uri).unwrap();
                assert_eq!(served.profile().unwrap().rows, 600);
                served
            },
            ServeOptions {
                drift: oxflow::serve::DriftWindow {
                    rows: 400,
                    every: Duration::from_millis(100),
                    // Tested once every row has arrived: a partial window is skewed.
                    min_rows: 400,
                },
                ..ServeOptions::default()
            },
        );
        for chunk in features(400, shift).chunks(40) {
            let records: Vec<Value> = chunk
                .iter()
                .map(|f| json!({"x": f.x, "zip code": f.zip, "count": f.count}))
                .collect();
            let (status, _, text) =
                server.post(JSON, &json!({ "dataframe_records": records }).to_string());
            assert_eq!(status, 200, "{text}");
        }
        let model = ("model", name);
        let x = wait_for_metric(&server, "oxflow_drift_detected", &[model, ("feature", "x")]);
        let zip = wait_for_metric(
            &server,
            "oxflow_drift_detected",
            &[model, ("feature", "zip code")],
        );
        let ks = wait_for_metric(
            &server,
            "oxflow_drift_score",
            &[model, ("feature", "x"), ("method", "ks")],
        );
        if shift == 0.0 {
            assert_eq!((x, zip), (0.0, 0.0), "p-value {ks}");
            assert!(ks > 0.05, "{ks}");
        } else {
            assert_eq!((x, zip), (1.0, 0.0), "p-value {ks}");
            assert!(ks < 0.05, "{ks}");
            // x drifted; "zip code" and count did not.
            let share = wait_for_metric(&server, "oxflow_drift_share_drifted_columns", &[model]);
            assert!((share - 1.0 / 3.0).abs() < 1e-9, "{share}");
        }
        // Every family a server with live drift exports is described (`promtool check metrics`
        // refuses a family without help text).
        let (_, text) = server.get("/metrics");
        assert!(
            metric_value(&text, "oxflow_serve_drift_samples_dropped_total", &[model]).is_some(),
            "{text}"
        );
        let undescribed: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .filter(|family| !text.contains(&format!("# HELP {family} ")))
            .collect();
        assert!(undescribed.is_empty(), "no help text for {undescribed:?}");
    }
}
