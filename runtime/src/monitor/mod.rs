//! What Prometheus, Alertmanager, the blackbox exporter and Grafana need to watch oxflow: alert
//! rules for the registered DAGs and scoring servers with their unit tests for `promtool test
//! rules`, and with [`init`] a whole working setup of configuration files and dashboards.
//!
//! Every file is built from typed structures and written as YAML or JSON, so every expression
//! names only metrics oxflow exports ([`crate::telemetry`]).
//!
//! ```
//! use oxflow_runtime::monitor::{dashboards, rules};
//! let rules = rules::alert_rules(&[], &rules::RuleOptions::default());
//! assert!(rules.to_yaml()?.contains("OxflowServeLatencyHigh"));
//! assert!(dashboards::drift().exprs().any(|e| e.contains("oxflow_drift_score")));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod alertmanager;
pub mod blackbox;
pub mod dashboards;
pub mod grafana;
pub mod init;
pub mod prometheus;
pub mod rules;
