//! `prometheus.yml`, as typed structures: the scrape jobs that watch oxflow's pipelines,
//! scoring servers and Pushgateway, the blackbox probes of each server's `/ping`, the rule file
//! and the Alertmanager.
//!
//! ```
//! use oxflow_runtime::monitor::prometheus::{PrometheusConfig, ScrapeConfig};
//! let job = ScrapeConfig::targets("oxflow-pipelines", vec!["127.0.0.1:9464".into()]);
//! let yaml = serde_saphyr::to_string(&job)?;
//! assert!(yaml.contains("job_name: oxflow-pipelines"));
//! # let _: Option<PrometheusConfig> = None;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use serde::Serialize;

/// The whole file.
#[derive(Debug, Clone, Serialize)]
pub struct PrometheusConfig {
    /// Intervals that apply to every job and rule group.
    pub global: GlobalConfig,
    /// Rule files, relative to this file.
    pub rule_files: Vec<String>,
    /// Where alerts are sent.
    pub alerting: AlertingConfig,
    /// What is scraped.
    pub scrape_configs: Vec<ScrapeConfig>,
}

/// `global:`.
#[derive(Debug, Clone, Serialize)]
pub struct GlobalConfig {
    /// How often every target is scraped (`15s`).
    pub scrape_interval: String,
    /// How often the rules are evaluated (`15s`).
    pub evaluation_interval: String,
}

/// `alerting:`.
#[derive(Debug, Clone, Serialize)]
pub struct AlertingConfig {
    /// The Alertmanagers.
    pub alertmanagers: Vec<AlertmanagerTarget>,
}

/// One `alertmanagers:` entry.
#[derive(Debug, Clone, Serialize)]
pub struct AlertmanagerTarget {
    /// Their addresses.
    pub static_configs: Vec<StaticConfig>,
}

/// A fixed list of `host:port` targets.
#[derive(Debug, Clone, Serialize)]
pub struct StaticConfig {
    /// The targets.
    pub targets: Vec<String>,
}

/// One scrape job.
#[derive(Debug, Clone, Serialize)]
pub struct ScrapeConfig {
    /// The `job` label of everything it scrapes.
    pub job_name: String,
    /// Keep the labels the target sends (`job`, `instance`) over the scrape's own: what a
    /// Pushgateway needs, so a pushed run keeps `job=<dag>`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub honor_labels: bool,
    /// The path scraped (default `/metrics`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_path: Option<String>,
    /// URL parameters of each scrape (the blackbox exporter's `module`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, Vec<String>>,
    /// The targets.
    pub static_configs: Vec<StaticConfig>,
    /// Rewrites of the target labels before the scrape.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub relabel_configs: Vec<RelabelConfig>,
}

/// One relabelling step: copy `source_labels` (or `replacement`) to `target_label`.
#[derive(Debug, Clone, Serialize)]
pub struct RelabelConfig {
    /// Labels whose values are read (joined by `;`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_labels: Vec<String>,
    /// The label written.
    pub target_label: String,
    /// A fixed value to write instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replacement: Option<String>,
}

impl ScrapeConfig {
    /// A job scraping `/metrics` of each target.
    pub fn targets(job: &str, targets: Vec<String>) -> ScrapeConfig {
        ScrapeConfig {
            job_name: job.to_owned(),
            honor_labels: false,
            metrics_path: None,
            params: BTreeMap::new(),
            static_configs: vec![StaticConfig { targets }],
            relabel_configs: Vec::new(),
        }
    }

    /// A job asking the blackbox exporter at `exporter` to probe each URL with `module`; the
    /// `instance` label of each series is the URL probed, not the exporter.
    pub fn blackbox(job: &str, exporter: &str, module: &str, urls: Vec<String>) -> ScrapeConfig {
        let copy = |from: &str, to: &str| RelabelConfig {
            source_labels: vec![from.to_owned()],
            target_label: to.to_owned(),
            replacement: None,
        };
        ScrapeConfig {
            job_name: job.to_owned(),
            honor_labels: false,
            metrics_path: Some("/probe".into()),
            params: BTreeMap::from([("module".to_owned(), vec![module.to_owned()])]),
            static_configs: vec![StaticConfig { targets: urls }],
            relabel_configs: vec![
                copy("__address__", "__param_target"),
                copy("__param_target", "instance"),
                RelabelConfig {
                    source_labels: Vec::new(),
                    target_label: "__address__".into(),
                    replacement: Some(exporter.to_owned()),
                },
            ],
        }
    }
}
