//! `serve MODEL_URI`: the scoring server command of every pipeline binary and of `oxflow`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use super::{Scoring, ServeOptions, load_served, serve, watch};
use crate::telemetry::export::{ExportOptions, Exporter};
use crate::tracking::TrackingStore;

/// `serve MODEL_URI [--host H] [--port P] [--watch [SECONDS]] ...`.
///
/// ```
/// use clap::Parser;
/// #[derive(Parser)]
/// struct Cmd {
///     #[command(flatten)]
///     serve: oxflow_runtime::serve::cli::ServeArgs,
/// }
/// let cmd = Cmd::parse_from(["x", "models:/house_price@champion", "--port", "5001", "--watch"]);
/// assert_eq!(cmd.serve.port, 5001);
/// assert_eq!(cmd.serve.watch, Some(10));
/// ```
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// The model: models:/<name>@<alias>, models:/<name>/<stage>, models:/<name>/<version>,
    /// models:/<name>/latest, models:/<model_id>, runs:/<run_id>/<path> or a directory.
    #[arg(value_name = "MODEL_URI")]
    pub model_uri: String,
    /// The address to listen on; 127.0.0.1 keeps the server off the network.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// The port to listen on.
    #[arg(long, short = 'p', default_value_t = 5000)]
    pub port: u16,
    /// Follow the alias, stage or `latest` in MODEL_URI: poll the registry every SECONDS
    /// (default 10) and swap in the version it moves to, without failing a request.
    #[arg(long, value_name = "SECONDS", num_args = 0..=1, default_missing_value = "10")]
    pub watch: Option<u64>,
    /// Seconds a request may take: a body not received by then gets 408, a prediction not
    /// finished gets 504.
    #[arg(
        long,
        short = 't',
        value_name = "SECONDS",
        default_value_t = 60,
        env = "MLFLOW_SCORING_SERVER_REQUEST_TIMEOUT"
    )]
    pub timeout: u64,
    /// Largest request body in bytes; larger ones get 413.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub max_body_size: usize,
    /// Threads that answer requests (default: one per core). They share one copy of the
    /// model, where each of `mlflow models serve -w N`'s worker processes loads its own.
    #[arg(long, short = 'w', value_name = "N", env = "MLFLOW_MODELS_WORKERS")]
    pub workers: Option<usize>,
    /// Scoring requests answered at once; more wait for a slot.
    #[arg(long, value_name = "N", default_value_t = 256)]
    pub max_concurrency: usize,
    /// Do not log each request (the access log goes to stderr through `tracing`).
    #[arg(long)]
    pub no_access_log: bool,
    /// Also serve `/metrics` on this address (it is always on the scoring port too).
    #[arg(long, value_name = "HOST:PORT", env = "OXFLOW_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Live drift (for a model logged with a reference profile): the most recent rows scored
    /// that are tested against the training data.
    #[arg(long, value_name = "ROWS", default_value_t = 1000)]
    pub drift_window: usize,
    /// Live drift: seconds between tests of the window.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub drift_interval: u64,
    /// Seconds to let requests in flight finish after Ctrl-C or SIGTERM.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub grace: u64,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The model could not be loaded.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    /// Metrics could not be set up.
    #[error(transparent)]
    Export(#[from] crate::telemetry::export::ExportError),
    /// The address cannot be listened on.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// What the system said.
        reason: String,
    },
    /// An option is out of range.
    #[error("{0}")]
    Option(String),
    /// The runtime could not start or the server failed.
    #[error("the server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Runs the server until Ctrl-C or SIGTERM, then lets requests in flight finish (up to
/// `--grace` seconds). `stop` resolves on the signal; `service` is the `service` label.
pub fn run(
    args: &ServeArgs,
    store: TrackingStore,
    service: &str,
    stop: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    if args.timeout == 0 {
        return Err(ServeError::Option(
            "--timeout must be at least 1 second".into(),
        ));
    }
    if args.drift_window == 0 || args.drift_interval == 0 {
        return Err(ServeError::Option(
            "--drift-window and --drift-interval must be at least 1".into(),
        ));
    }
    if args.watch == Some(0) {
        return Err(ServeError::Option(
            "--watch must be at least 1 second".into(),
        ));
    }
    if args.workers == Some(0) {
        return Err(ServeError::Option("--workers must be at least 1".into()));
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.workers {
        runtime.worker_threads(n);
    }
    let runtime = runtime.enable_all().build()?;
    runtime.block_on(async {
        let exporter = Exporter::install(ExportOptions {
            metrics_addr: args.metrics_addr,
            ..ExportOptions::new(service)
        })?;
        let addr = SocketAddr::new(args.host, args.port);
        let listener =
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| ServeError::Listen {
                    addr,
                    reason: e.to_string(),
                })?;
        let uri = args.model_uri.clone();
        let load_store = store.clone();
        let served = tokio::task::spawn_blocking(move || load_served(&load_store, &uri))
            .await
            .map_err(|e| ServeError::Option(format!("loading the model failed: {e}")))??;
        let opts = ServeOptions {
            max_body_bytes: args.max_body_size,
            request_timeout: Duration::from_secs(args.timeout),
            max_concurrency: args.max_concurrency,
            access_log: !args.no_access_log,
            drift: super::DriftWindow {
                rows: args.drift_window,
                every: Duration::from_secs(args.drift_interval),
                min_rows: args.drift_window.min(100),
            },
        };
        if let Some(p) = served.profile() {
            crate::cli::output::eprint_line(format_args!(
                "live drift: {} columns of {} reference rows, tested every {}s on the last {} rows",
                p.columns.len(),
                p.rows,
                args.drift_interval,
                args.drift_window
            ));
        }
        let version = match served.version() {
            "" => String::new(),
            v => format!(" version {v}"),
        };
        crate::cli::output::eprint_line(format_args!(
            "serving {}{version} ({}) on http://{addr}/invocations",
            served.name(),
            args.model_uri
        ));
        let scoring = Scoring::with_exporter(served, opts, Some(exporter));
        if let Some(secs) = args.watch {
            tokio::spawn(watch(
                scoring.clone(),
                store,
                args.model_uri.clone(),
                Duration::from_secs(secs),
            ));
        }
        let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
        let signal = async move {
            stop.await;
            let _ = stopped_tx.send(());
        };
        let server = serve(listener, scoring.router(), signal);
        let grace = Duration::from_secs(args.grace);
        tokio::pin!(server);
        tokio::select! {
            done = &mut server => done?,
            _ = async {
                let _ = stopped_rx.await;
                tokio::time::sleep(grace).await;
            } => {
                crate::cli::output::eprint_line(format_args!(
                    "warning: requests still running after {}s; stopping anyway",
                    args.grace
                ));
            }
        }
        Ok(())
    })
}
