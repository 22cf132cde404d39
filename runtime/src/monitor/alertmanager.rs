//! `alertmanager.yml`, as typed structures: alerts routed by severity to a webhook.
//!
//! ```
//! use std::time::Duration;
//! use oxflow_runtime::monitor::alertmanager::AlertmanagerConfig;
//! let config = AlertmanagerConfig::webhook("http://127.0.0.1:5001/alerts", Duration::from_secs(30));
//! let yaml = serde_saphyr::to_string(&config)?;
//! assert!(yaml.contains("severity=\"critical\""));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::Duration;

use serde::Serialize;

use super::rules::prom_duration;

/// The whole file.
#[derive(Debug, Clone, Serialize)]
pub struct AlertmanagerConfig {
    /// The routing tree.
    pub route: Route,
    /// Where notifications go.
    pub receivers: Vec<Receiver>,
}

/// A node of the routing tree.
#[derive(Debug, Clone, Serialize)]
pub struct Route {
    /// The receiver of alerts this route matches.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiver: Option<String>,
    /// Alerts that match all of these (`severity="critical"`); the root matches everything.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matchers: Vec<String>,
    /// Alerts with the same values of these labels are sent together.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
    /// How long to wait for more alerts of a new group before the first notification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_wait: Option<String>,
    /// How long to wait before notifying about alerts added to a group already notified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_interval: Option<String>,
    /// How long before a notification that is still true is sent again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_interval: Option<String>,
    /// Child routes, tried in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
}

/// A named receiver.
#[derive(Debug, Clone, Serialize)]
pub struct Receiver {
    /// Its name, referred to by routes.
    pub name: String,
    /// Webhooks: Alertmanager POSTs its JSON payload to each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub webhook_configs: Vec<WebhookConfig>,
}

/// One webhook.
#[derive(Debug, Clone, Serialize)]
pub struct WebhookConfig {
    /// The URL posted to.
    pub url: String,
    /// Also notify when an alert resolves.
    pub send_resolved: bool,
}

/// The receiver every route of [`AlertmanagerConfig::webhook`] uses.
pub const WEBHOOK_RECEIVER: &str = "oxflow-webhook";

impl AlertmanagerConfig {
    /// Every alert to the webhook `url`, grouped per alert and DAG, model or feature; critical
    /// alerts are repeated every hour while they last, warnings every 4 hours, the rest daily.
    /// `group_wait` is how long a new group waits for more alerts before its first notification.
    pub fn webhook(url: &str, group_wait: Duration) -> AlertmanagerConfig {
        let by_severity = |severity: &str, repeat: &str| Route {
            receiver: Some(WEBHOOK_RECEIVER.into()),
            matchers: vec![format!("severity=\"{severity}\"")],
            group_by: Vec::new(),
            group_wait: None,
            group_interval: None,
            repeat_interval: Some(repeat.into()),
            routes: Vec::new(),
        };
        AlertmanagerConfig {
            route: Route {
                receiver: Some(WEBHOOK_RECEIVER.into()),
                matchers: Vec::new(),
                group_by: ["alertname", "dag", "model", "feature"]
                    .map(String::from)
                    .to_vec(),
                group_wait: Some(prom_duration(group_wait)),
                group_interval: Some("5m".into()),
                repeat_interval: Some("24h".into()),
                routes: vec![by_severity("critical", "1h"), by_severity("warning", "4h")],
            },
            receivers: vec![Receiver {
                name: WEBHOOK_RECEIVER.into(),
                webhook_configs: vec![WebhookConfig {
                    url: url.to_owned(),
                    send_resolved: true,
                }],
            }],
        }
    }
}
