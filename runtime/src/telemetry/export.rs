//! Getting the metrics out of the process: a `/metrics` endpoint Prometheus scrapes, and a
//! push of a batch run's figures to a Pushgateway when it ends.
//!
//! The process's global recorder keeps its series in oxflow's [`super::registry`] (counters,
//! gauges, and histograms with explicit buckets: without them Prometheus exporters write
//! summaries, whose quantiles drop samples of a short batch run), written in the text format
//! of `metrics-exporter-prometheus`, which still holds any histogram without explicit buckets.
//! Every series carries a `service` label. `/metrics` is a small axum route. The Pushgateway push is ours, not the
//! exporter's push mode: that one pushes on a timer only, never on exit, which is exactly when a
//! batch run has its figures.
//!
//! ```no_run
//! use oxflow_runtime::telemetry::export::{ExportOptions, Exporter};
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let exporter = Exporter::install(ExportOptions {
//!     metrics_addr: Some("127.0.0.1:9464".parse()?),
//!     pushgateway: Some("http://127.0.0.1:9091".into()),
//!     ..ExportOptions::new("nightly")
//! })?;
//! // ... run a DAG ...
//! exporter.push("nightly")?; // job="nightly", instance=<host>
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use indexmap::IndexMap;
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, SharedString, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

use super::registry::{Names, Registry};
use super::{
    DURATION_BUCKETS, LATENCY_BUCKETS, SCHEDULER_LAG_SECONDS, SERVE_REQUEST_DURATION_SECONDS,
};

/// The `Content-Type` of Prometheus's text format.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How often the exporter's series (histograms without explicit buckets, which it keeps as
/// summaries) are trimmed, as its own listener does by default.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// How long a push may take before it is given up (with a warning): a Pushgateway that is down
/// or slow never holds a finished run longer than this.
pub const DEFAULT_PUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the metrics of this process go.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Serve `/metrics` on this address (`--metrics-addr`, `OXFLOW_METRICS_ADDR`).
    pub metrics_addr: Option<SocketAddr>,
    /// Push to this Pushgateway when a DAG run ends (`--pushgateway`, `OXFLOW_PUSHGATEWAY`).
    pub pushgateway: Option<String>,
    /// The `service` label on every series: which program they come from.
    pub service: String,
    /// How long a push may take.
    pub push_timeout: Duration,
}

impl ExportOptions {
    /// Nothing exported yet, for the program `service`.
    pub fn new(service: &str) -> ExportOptions {
        ExportOptions {
            metrics_addr: None,
            pushgateway: None,
            service: service.to_owned(),
            push_timeout: DEFAULT_PUSH_TIMEOUT,
        }
    }
}

/// Why metrics cannot be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The `/metrics` address cannot be listened on (in use, not local, ...).
    #[error("cannot serve metrics on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// What the system said.
        reason: String,
    },
    /// Another recorder is installed in this process already.
    #[error("cannot export metrics: {0}")]
    Install(String),
    /// A Pushgateway URL that is not `http(s)://host[:port][/path]`.
    #[error("invalid Pushgateway URL `{url}`: {reason}")]
    PushgatewayUrl {
        /// The URL.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The push did not succeed.
    #[error("cannot push metrics to {url}: {reason}")]
    Push {
        /// The URL pushed to.
        url: String,
        /// What went wrong.
        reason: String,
    },
}

/// The histograms that get explicit buckets, checked in this order: scoring latency and
/// scheduler lag (milliseconds when all is well) get sub-millisecond buckets, every other
/// `*_seconds` histogram (task and DAG durations) the duration buckets.
fn bucket_rules() -> Vec<(Names, &'static [f64])> {
    vec![
        (Names::Full(SERVE_REQUEST_DURATION_SECONDS), LATENCY_BUCKETS),
        (Names::Full(SCHEDULER_LAG_SECONDS), LATENCY_BUCKETS),
        (Names::Suffix("_seconds"), DURATION_BUCKETS),
    ]
}

/// The process's recorder: oxflow's [`Registry`], and the exporter's for histograms without
/// explicit buckets.
struct Recorder {
    registry: Arc<Registry>,
    prometheus: PrometheusRecorder,
}

impl metrics::Recorder for Recorder {
    fn describe_counter(&self, key: KeyName, _: Option<Unit>, description: SharedString) {
        self.registry.describe(key.as_str(), description);
    }

    fn describe_gauge(&self, key: KeyName, _: Option<Unit>, description: SharedString) {
        self.registry.describe(key.as_str(), description);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        if self.registry.bounds(key.as_str()).is_some() {
            self.registry.describe(key.as_str(), description);
        } else {
            self.prometheus.describe_histogram(key, unit, description);
        }
    }

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        self.registry.counter(key)
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        self.registry.gauge(key)
    }

    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        self.registry
            .histogram(key)
            .unwrap_or_else(|| self.prometheus.register_histogram(key, metadata))
    }
}

/// The installed exporter: renders the process's metrics and pushes them.
#[derive(Clone)]
pub struct Exporter {
    registry: Arc<Registry>,
    /// The exporter's histograms without explicit buckets.
    handle: PrometheusHandle,
    pushgateway: Option<String>,
    push_timeout: Duration,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter")
            .field("pushgateway", &self.pushgateway)
            .finish()
    }
}

impl Exporter {
    /// Installs the Prometheus recorder for the whole process and, with `metrics_addr`, starts
    /// serving `/metrics` there. Serving needs a tokio runtime: call this inside one. A port in
    /// use is an error naming the address, before anything runs.
    pub fn install(opts: ExportOptions) -> Result<Exporter, ExportError> {
        if let Some(url) = &opts.pushgateway {
            check_pushgateway_url(url)?;
        }
        // Bound first: a port in use is an error naming the address before anything is installed.
        let listener = match opts.metrics_addr {
            Some(addr) => Some(bind(addr)?),
            None => None,
        };
        let prometheus = PrometheusBuilder::new()
            .add_global_label("service", opts.service.clone())
            .build_recorder();
        let handle = prometheus.handle();
        let registry = Arc::new(Registry::new(
            bucket_rules(),
            IndexMap::from([("service".to_owned(), opts.service.clone())]),
        ));
        metrics::set_global_recorder(Recorder {
            registry: registry.clone(),
            prometheus,
        })
        .map_err(|e| ExportError::Install(e.to_string()))?;
        let exporter = Exporter {
            registry,
            handle,
            pushgateway: opts.pushgateway,
            push_timeout: opts.push_timeout,
        };
        if let Some(listener) = listener {
            let upkeep = exporter.handle.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(UPKEEP_EVERY).await;
                    upkeep.run_upkeep();
                }
            });
            let app = axum::Router::new().route(
                "/metrics",
                axum::routing::get({
                    let exporter = exporter.clone();
                    move || std::future::ready(exporter.response())
                }),
            );
            tokio::spawn(async move {
                if let Err(e) = axum::serve(listener, app).await {
                    tracing::warn!("serving metrics stopped: {e}");
                }
            });
        }
        super::describe();
        super::keep_handles_of_global_recorder();
        Ok(exporter)
    }

    /// The metrics in Prometheus's text format, as `/metrics` serves them.
    pub fn render(&self) -> String {
        let mut text = String::new();
        self.registry.render(&mut text);
        text.push_str(&self.handle.render());
        text
    }

    /// [`Exporter::render`] as an HTTP response, with the text format's content type.
    pub(crate) fn response(&self) -> Response {
        text_response(self.render())
    }

    /// Pushes the current metrics to the Pushgateway, replacing the group `job=<job>`,
    /// `instance=<host name>` (HTTP PUT, as the Pushgateway's documentation does for a batch
    /// job's last run). Does nothing without a Pushgateway.
    pub fn push(&self, job: &str) -> Result<(), ExportError> {
        let Some(base) = &self.pushgateway else {
            return Ok(());
        };
        let url = format!(
            "{}/metrics/{}/{}",
            base.trim_end_matches('/'),
            grouping_pair("job", job),
            grouping_pair("instance", &crate::exec::host_name())
        );
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(self.push_timeout))
            .http_status_as_error(false)
            .build()
            .into();
        let body = self.render();
        let fail = |reason: String| ExportError::Push {
            url: url.clone(),
            reason,
        };
        let mut resp = agent
            .put(&url)
            .header("Content-Type", "text/plain; version=0.0.4")
            .send(body.as_bytes())
            .map_err(|e| fail(e.to_string()))?;
        if !resp.status().is_success() {
            let text = resp
                .body_mut()
                .read_to_string()
                .unwrap_or_default()
                .trim()
                .to_owned();
            return Err(fail(format!("{}: {text}", resp.status())));
        }
        Ok(())
    }
}

/// `text`, metrics in Prometheus's text format, as an HTTP response with its content type.
pub(crate) fn text_response(text: String) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT))],
        text,
    )
        .into_response()
}

/// Listens on `addr` for scrapes: synchronously, so that a port in use fails at start-up.
fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, ExportError> {
    let listen = |e: std::io::Error| ExportError::Listen {
        addr,
        reason: e.to_string(),
    };
    let listener = std::net::TcpListener::bind(addr).map_err(listen)?;
    listener.set_nonblocking(true).map_err(listen)?;
    tokio::net::TcpListener::from_std(listener).map_err(listen)
}

/// A Pushgateway URL is `http(s)://` and names a host: checked before the run, so a typo is an
/// error at start-up rather than a warning after a night's work.
fn check_pushgateway_url(url: &str) -> Result<(), ExportError> {
    let bad = |reason: &str| ExportError::PushgatewayUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| bad("it must start with http:// or https://"))?;
    if rest.split('/').next().is_none_or(str::is_empty) {
        return Err(bad("it names no host"));
    }
    Ok(())
}

/// One label of the grouping key as URL path segments, `name/value`. A value beyond a plain
/// name goes as `name@base64/<base64url>`, the Pushgateway's documented escape (`=` for empty).
fn grouping_pair(name: &str, value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if plain {
        format!("{name}/{value}")
    } else if value.is_empty() {
        format!("{name}@base64/=")
    } else {
        format!("{name}@base64/{}", base64_url(value.as_bytes()))
    }
}

/// RFC 4648 base64 with the URL alphabet, as the Pushgateway decodes it. Hand-written: eight
/// lines do not justify another dependency.
fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, &b| (n << 8) | u32::from(b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
        }
        for _ in chunk.len()..3 {
            out.push('=');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_values_that_cannot_be_path_segments_are_base64() {
        assert_eq!(grouping_pair("job", "nightly"), "job/nightly");
        assert_eq!(
            grouping_pair("instance", "build-01.eu"),
            "instance/build-01.eu"
        );
        // The Pushgateway's own example: `/` in a value.
        assert_eq!(
            grouping_pair("path", "/var/tmp"),
            "path@base64/L3Zhci90bXA="
        );
        assert_eq!(grouping_pair("job", ""), "job@base64/=");
        assert_eq!(base64_url(b"\xfb\xff"), "-_8=");
    }

    #[test]
    fn a_pushgateway_url_must_be_http_and_name_a_host() {
        assert!(check_pushgateway_url("http://127.0.0.1:9091").is_ok());
        assert!(check_pushgateway_url("https://push.example/prefix").is_ok());
        let err = check_pushgateway_url("127.0.0.1:9091").unwrap_err();
        assert!(err.to_string().contains("http://"), "{err}");
        let err = check_pushgateway_url("http:///metrics").unwrap_err();
        assert!(err.to_string().contains("no host"), "{err}");
    }
}
