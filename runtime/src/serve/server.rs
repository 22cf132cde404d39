//! The scoring server: [`Scoring`] holds the served model (swapped atomically when an alias
//! moves) and makes the axum [`Router`] with MLflow's routes; [`serve`] runs it until a
//! shutdown signal, finishing the requests in flight.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::StreamExt;
use metrics::Counter;

use super::drift::DriftWindow;
use super::protocol::{BodyFormat, ScoringError, content_format, score_request};
use super::served::ServedModel;
use crate::telemetry::export::{Exporter, text_response};
use crate::telemetry::{LABEL_MODEL, SERVE_REQUESTS_TOTAL, SERVE_SCHEMA_ERRORS_TOTAL};

/// Limits of a scoring server.
///
/// ```
/// use std::time::Duration;
/// let opts = oxflow_runtime::serve::ServeOptions {
///     request_timeout: Duration::from_secs(5),
///     ..Default::default()
/// };
/// assert_eq!(opts.max_body_bytes, 64 << 20);
/// ```
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Largest request body accepted; larger ones get 413 (`--max-body-size`).
    pub max_body_bytes: usize,
    /// Time from request to response; a body that has not arrived by then gets 408, a
    /// prediction that has not finished gets 504 as MLflow's server answers
    /// (`--timeout`, MLflow's `MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT`, default 60 s).
    pub request_timeout: Duration,
    /// Scoring requests answered at once; more wait for a slot (`--max-concurrency`).
    pub max_concurrency: usize,
    /// Log each scoring request through `tracing` (target `oxflow::serve::access`).
    pub access_log: bool,
    /// Live drift, for a model with a reference profile.
    pub drift: DriftWindow,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            max_body_bytes: 64 << 20,
            request_timeout: Duration::from_secs(60),
            max_concurrency: 256,
            access_log: true,
            drift: DriftWindow::default(),
        }
    }
}

/// A scoring service: the model being served and the server's limits. Cloning shares it.
///
/// ```no_run
/// use oxflow_runtime::serve::{Scoring, ServeOptions, load_served};
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let store = oxflow_runtime::tracking::TrackingStore::from_env()?;
/// let scoring = Scoring::new(load_served(&store, "models:/house_price@champion")?, ServeOptions::default());
/// // Mount the scoring routes under a prefix of your own router:
/// let app = axum::Router::new().nest("/house", scoring.router());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
/// oxflow_runtime::serve::serve(listener, app, std::future::pending()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Scoring {
    inner: Arc<Inner>,
}

struct Inner {
    slot: ArcSwap<ServedModel>,
    opts: ServeOptions,
    exporter: Option<Exporter>,
}

impl std::fmt::Debug for Scoring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scoring")
            .field("model", &*self.inner.slot.load())
            .field("opts", &self.inner.opts)
            .finish()
    }
}

/// The status codes whose request counters are resolved per model rather than per request.
const COMMON_CODES: [u16; 7] = [200, 400, 408, 413, 415, 500, 504];

impl Scoring {
    /// Serves `model` with `opts`. Install the metrics recorder first (for example with
    /// [`Exporter::install`]); series are bound to the recorder present when a model is
    /// served.
    pub fn new(model: ServedModel, opts: ServeOptions) -> Scoring {
        Scoring::with_exporter(model, opts, None)
    }

    /// Like [`Scoring::new`], and answers `GET /metrics` with `exporter`'s rendering.
    pub fn with_exporter(
        mut model: ServedModel,
        opts: ServeOptions,
        exporter: Option<Exporter>,
    ) -> Scoring {
        model.start_drift(opts.drift);
        model.set_info(1.0);
        Scoring {
            inner: Arc::new(Inner {
                slot: ArcSwap::from_pointee(model),
                opts,
                exporter,
            }),
        }
    }

    /// The model answering now.
    pub fn current(&self) -> Arc<ServedModel> {
        self.inner.slot.load_full()
    }

    /// Swaps in `model`: requests that started keep the model they started with, new ones
    /// get `model`; no request fails. Returns the model replaced, whose `oxflow_model_info`
    /// is now 0.
    pub fn replace(&self, mut model: ServedModel) -> Arc<ServedModel> {
        model.start_drift(self.inner.opts.drift);
        model.set_info(1.0);
        let old = self.inner.slot.swap(Arc::new(model));
        let new = self.inner.slot.load();
        if (old.name(), old.version(), old.alias()) != (new.name(), new.version(), new.alias()) {
            old.set_info(0.0);
        }
        old
    }

    /// MLflow's routes: `GET /ping`, `/health`, `/version`, `POST /invocations`, and
    /// `GET /metrics` when an exporter was given. Unknown paths get 404 and other methods 405,
    /// with MLflow's `{"detail": ...}` bodies.
    pub fn router(&self) -> Router {
        let invocations = post(invocations).route_layer(tower::limit::ConcurrencyLimitLayer::new(
            self.inner.opts.max_concurrency.max(1),
        ));
        let mut router = Router::new()
            .route("/ping", get(ping))
            .route("/health", get(ping))
            .route("/version", get(version))
            .route("/invocations", invocations);
        if self.inner.exporter.is_some() {
            router = router.route("/metrics", get(render_metrics));
        }
        router
            .fallback(not_found)
            .method_not_allowed_fallback(method_not_allowed)
            .with_state(self.clone())
    }
}

/// Runs `router` on `listener` until `shutdown` completes, then stops accepting and finishes
/// the requests in flight. Sockets get `TCP_NODELAY`: a response is one small write that
/// must not wait for the client's acknowledgement.
///
/// ```no_run
/// # async fn demo(router: axum::Router) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
/// oxflow_runtime::serve::serve(listener, router, async {
///     let _ = tokio::signal::ctrl_c().await;
/// })
/// .await
/// # }
/// ```
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn ping() -> Response {
    // MLflow answers "\n" as JSON; clients only look at the status.
    json_response(StatusCode::OK, "\n")
}

async fn version() -> Response {
    json_response(StatusCode::OK, env!("CARGO_PKG_VERSION"))
}

async fn not_found() -> Response {
    json_response(StatusCode::NOT_FOUND, r#"{"detail":"Not Found"}"#)
}

async fn method_not_allowed() -> Response {
    json_response(
        StatusCode::METHOD_NOT_ALLOWED,
        r#"{"detail":"Method Not Allowed"}"#,
    )
}

async fn render_metrics(State(scoring): State<Scoring>) -> Response {
    match &scoring.inner.exporter {
        Some(exporter) => exporter.response(),
        None => text_response(String::new()),
    }
}

fn json_response(status: StatusCode, body: &'static str) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// Decrements the in-flight gauge when a request ends, answered or dropped.
struct InFlight<'a>(&'a metrics::Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

async fn invocations(State(scoring): State<Scoring>, request: Request) -> Response {
    let start = Instant::now();
    let served = scoring.inner.slot.load_full();
    let handles = &served.handles;
    handles.in_flight.increment(1.0);
    let _in_flight = InFlight(&handles.in_flight);
    let opts = &scoring.inner.opts;
    let (parts, body) = request.into_parts();
    let outcome = answer(&served, opts, &parts.headers, body, start).await;
    let elapsed = start.elapsed();
    handles.duration.record(elapsed.as_secs_f64());
    let status = match &outcome {
        Ok(_) => 200,
        Err(e) => e.status,
    };
    requests_counter(&served, status).increment(1);
    match outcome {
        Ok((bytes, rows)) => {
            handles.rows.increment(rows as u64);
            if opts.access_log {
                tracing::info!(
                    target: "oxflow::serve::access",
                    model = served.name(),
                    version = served.version(),
                    status,
                    rows,
                    latency_us = elapsed.as_micros() as u64,
                    "POST /invocations"
                );
            }
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                bytes,
            )
                .into_response()
        }
        Err(e) => {
            for column in &e.columns {
                let column = if served
                    .signature()
                    .inputs
                    .iter()
                    .any(|c| c.name.as_ref() == Some(column))
                {
                    column.clone()
                } else {
                    // Only signature columns become labels: a request cannot mint series.
                    "_other".to_owned()
                };
                metrics::counter!(SERVE_SCHEMA_ERRORS_TOTAL, LABEL_MODEL => served.name().to_owned(), "column" => column)
                    .increment(1);
            }
            if opts.access_log {
                tracing::info!(
                    target: "oxflow::serve::access",
                    model = served.name(),
                    version = served.version(),
                    status,
                    latency_us = elapsed.as_micros() as u64,
                    error = %e.message,
                    "POST /invocations"
                );
            }
            (
                StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(e.content_type()),
                )],
                e.body(),
            )
                .into_response()
        }
    }
}

fn requests_counter(served: &ServedModel, code: u16) -> Counter {
    match COMMON_CODES.iter().position(|c| *c == code) {
        Some(i) => served.handles.requests[i].clone(),
        None => {
            metrics::counter!(SERVE_REQUESTS_TOTAL, LABEL_MODEL => served.name().to_owned(), "code" => code.to_string())
        }
    }
}

/// The request counters of [`COMMON_CODES`] for model `name`.
pub(crate) fn common_request_counters(name: &str) -> Vec<Counter> {
    COMMON_CODES
        .iter()
        .map(|code| {
            metrics::counter!(SERVE_REQUESTS_TOTAL, LABEL_MODEL => name.to_owned(), "code" => code.to_string())
        })
        .collect()
}

/// Reads the body within the limits and scores it off the async workers, within the deadline.
async fn answer(
    served: &Arc<ServedModel>,
    opts: &ServeOptions,
    headers: &HeaderMap,
    body: Body,
    start: Instant,
) -> Result<(Vec<u8>, usize), ScoringError> {
    let deadline = tokio::time::Instant::from_std(start + opts.request_timeout);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap_or("<not text>"));
    let format = content_format(content_type)?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > opts.max_body_bytes) {
        return Err(ScoringError::too_large(opts.max_body_bytes));
    }
    let bytes = read_body(body, opts.max_body_bytes, deadline).await?;
    if served.pace.inline(bytes.len()) {
        // Fast enough to score here (`pace.rs` says when): a panic is caught as the blocking
        // pool would catch it.
        return std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            score_timed(served, format, &bytes)
        }))
        .unwrap_or_else(|payload| model_panicked(served, crate::task::panic_message(payload)));
    }
    let model = Arc::clone(served);
    let task = tokio::task::spawn_blocking(move || score_timed(&model, format, &bytes));
    match tokio::time::timeout_at(deadline, task).await {
        Err(_) => Err(ScoringError::timeout()),
        Ok(Err(join)) => model_panicked(served, join),
        Ok(Ok(result)) => result,
    }
}

/// Logs a panic of the model, wherever it was scored, and answers it with a 500.
fn model_panicked(
    served: &ServedModel,
    detail: impl std::fmt::Display,
) -> Result<(Vec<u8>, usize), ScoringError> {
    tracing::error!(target: "oxflow::serve", model = served.name(), "the model panicked: {detail}");
    Err(ScoringError::model_panicked())
}

/// Scores one request body, offers it to live drift, and records how long it took in the
/// model's pace.
fn score_timed(
    model: &ServedModel,
    format: BodyFormat,
    bytes: &[u8],
) -> Result<(Vec<u8>, usize), ScoringError> {
    let start = Instant::now();
    let drift = model.drift();
    let scored = score_request(
        &**model.model(),
        model.signature(),
        format,
        bytes,
        drift.is_some(),
    );
    model.pace.record(bytes.len(), start.elapsed());
    let (out, rows, request) = scored?;
    if let (Some(feed), Some(request)) = (drift, request) {
        feed.offer(request);
    }
    Ok((out, rows))
}

async fn read_body(
    body: Body,
    limit: usize,
    deadline: tokio::time::Instant,
) -> Result<Vec<u8>, ScoringError> {
    let mut stream = body.into_data_stream();
    let mut bytes = Vec::new();
    loop {
        match tokio::time::timeout_at(deadline, stream.next()).await {
            Err(_) => return Err(ScoringError::body_timeout(bytes.len())),
            Ok(None) => return Ok(bytes),
            Ok(Some(Err(e))) => return Err(ScoringError::body_unreadable(&e.to_string())),
            Ok(Some(Ok(chunk))) => {
                if bytes.len() + chunk.len() > limit {
                    return Err(ScoringError::too_large(limit));
                }
                bytes.extend_from_slice(&chunk);
            }
        }
    }
}
