//! Grafana's file provisioning, as typed structures: the Prometheus data source the dashboards
//! query, and the provider that loads the dashboards from a directory.
//!
//! ```
//! use std::time::Duration;
//! use oxflow_runtime::monitor::grafana::{DashboardProvisioning, DatasourceProvisioning};
//! let ds = DatasourceProvisioning::prometheus("http://127.0.0.1:9090", Duration::from_secs(15));
//! assert!(serde_saphyr::to_string(&ds)?.contains("uid: oxflow-prometheus"));
//! let dashboards = DashboardProvisioning::directory("/etc/oxflow/grafana/dashboards");
//! assert!(serde_saphyr::to_string(&dashboards)?.contains("type: file"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::Duration;

use serde::Serialize;

use super::rules::prom_duration;

/// The `uid` of the provisioned Prometheus data source, which every dashboard panel names: a
/// fixed uid, because file provisioning does not resolve `${DS_PROMETHEUS}` placeholders.
pub const DATASOURCE_UID: &str = "oxflow-prometheus";

/// `provisioning/datasources/*.yml`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DatasourceProvisioning {
    /// Always 1.
    pub api_version: u32,
    /// The data sources.
    pub datasources: Vec<Datasource>,
}

/// One data source.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Datasource {
    /// Its name in Grafana.
    pub name: String,
    /// `prometheus`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The uid panels refer to it by.
    pub uid: String,
    /// `proxy`: Grafana's server queries it, not the browser.
    pub access: String,
    /// Prometheus's URL as Grafana's server reaches it.
    pub url: String,
    /// The data source of new panels.
    pub is_default: bool,
    /// Settings of the Prometheus data source.
    pub json_data: PrometheusSettings,
}

/// `jsonData` of a Prometheus data source.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrometheusSettings {
    /// The scrape interval: the smallest step Grafana asks for, and the base of
    /// `$__rate_interval`.
    pub time_interval: String,
    /// `POST`, so long queries are not cut by URL limits.
    pub http_method: String,
}

/// `provisioning/dashboards/*.yml`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardProvisioning {
    /// Always 1.
    pub api_version: u32,
    /// Where dashboards are loaded from.
    pub providers: Vec<DashboardProvider>,
}

/// One dashboard provider.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DashboardProvider {
    /// Its name.
    pub name: String,
    /// The organisation the dashboards belong to.
    pub org_id: u32,
    /// The Grafana folder they appear in.
    pub folder: String,
    /// `file`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Dashboards removed from the directory are removed from Grafana.
    pub disable_deletion: bool,
    /// Changes made in the UI are refused: the files are the source.
    pub allow_ui_updates: bool,
    /// How often the directory is read again.
    pub update_interval_seconds: u32,
    /// The directory.
    pub options: ProviderOptions,
}

/// `options` of a file provider.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderOptions {
    /// The directory holding the dashboard JSON files.
    pub path: String,
}

impl DatasourceProvisioning {
    /// The Prometheus at `url`, scraping every `scrape_interval`, as [`DATASOURCE_UID`].
    pub fn prometheus(url: &str, scrape_interval: Duration) -> DatasourceProvisioning {
        DatasourceProvisioning {
            api_version: 1,
            datasources: vec![Datasource {
                name: "oxflow Prometheus".into(),
                kind: "prometheus".into(),
                uid: DATASOURCE_UID.into(),
                access: "proxy".into(),
                url: url.to_owned(),
                is_default: true,
                json_data: PrometheusSettings {
                    time_interval: prom_duration(scrape_interval),
                    http_method: "POST".into(),
                },
            }],
        }
    }
}

impl DashboardProvisioning {
    /// The dashboards in `path` (absolute: Grafana does not know where this file was), in
    /// the folder `oxflow`.
    pub fn directory(path: &str) -> DashboardProvisioning {
        DashboardProvisioning {
            api_version: 1,
            providers: vec![DashboardProvider {
                name: "oxflow".into(),
                org_id: 1,
                folder: "oxflow".into(),
                kind: "file".into(),
                disable_deletion: false,
                allow_ui_updates: false,
                update_interval_seconds: 30,
                options: ProviderOptions {
                    path: path.to_owned(),
                },
            }],
        }
    }
}
