//! Serving models over HTTP with MLflow's scoring protocol, as `mlflow models serve` does:
//! `GET /ping`, `/health`, `/version`, `POST /invocations` with `dataframe_split`,
//! `dataframe_records`, `instances`, `inputs` (+ `params`) or `text/csv`, answered with
//! `{"predictions": ...}` or MLflow's error objects, plus `GET /metrics` for Prometheus.
//!
//! [`load_served`] loads a model by URI (`models:/house_price@champion`, ...) into a
//! [`ServedModel`]; [`Scoring`] serves it and makes an axum [`Router`](axum::Router) that can be
//! mounted in a user's own router; [`serve`] runs a router until shutdown; [`watch`] follows a
//! registry alias and swaps the new version in. The `serve` command of every pipeline binary
//! and of `oxflow` puts these together ([`cli::ServeArgs`]).
//!
//! ```no_run
//! use oxflow_runtime::serve::{Scoring, ServeOptions, ServedModel};
//! # async fn demo(model: std::sync::Arc<dyn oxflow_runtime::model::DynModel>) -> std::io::Result<()> {
//! // Serve a model value built in Rust code:
//! let scoring = Scoring::new(ServedModel::new(model, "house_price"), ServeOptions::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
//! oxflow_runtime::serve::serve(listener, scoring.router(), std::future::pending()).await
//! # }
//! ```

pub mod cli;
mod drift;
mod pace;
mod protocol;
mod served;
mod server;
mod watch;

pub use drift::DriftWindow;
pub use protocol::{
    BodyFormat, CONTENT_TYPES, SCORING_PROTOCOL_CHANGE_INFO, ScoringError, content_format, score,
};
pub use served::{ServedModel, load_served};
pub use server::{Scoring, ServeOptions, serve};
pub use watch::watch;
