//! `monitor init DIR`: a working Prometheus, Alertmanager, blackbox exporter and Grafana setup
//! for oxflow's pipelines and scoring servers, written as files.
//!
//! ```text
//! DIR/prometheus.yml                               scrape jobs, rule file, Alertmanager
//! DIR/alert_rules.yml, alert_rules_test.yml        alerts and their `promtool test rules` cases
//! DIR/alertmanager.yml                             routes by severity to a webhook
//! DIR/blackbox.yml                                 the probe of each server's /ping
//! DIR/grafana/provisioning/{datasources,dashboards}/oxflow.yml
//! DIR/grafana/dashboards/oxflow-{pipelines,serving,drift}.json
//! ```
//!
//! ```
//! use oxflow_runtime::monitor::init::{InitOptions, generate, write};
//! let dir = tempfile::tempdir()?;
//! let mut opts = InitOptions::new("http://127.0.0.1:5001/alerts".parse()?);
//! opts.servers.push("127.0.0.1:8080".parse()?);
//! let files = generate(&[], &opts, dir.path())?;
//! write(dir.path(), &files, false)?;
//! let prometheus = std::fs::read_to_string(dir.path().join("prometheus.yml"))?;
//! assert!(prometheus.contains("http://127.0.0.1:8080/ping"));
//! // Nothing is overwritten without `force`.
//! assert!(write(dir.path(), &files, false).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;

use super::alertmanager::AlertmanagerConfig;
use super::blackbox::{BlackboxConfig, PING_MODULE};
use super::dashboards::dashboards;
use super::grafana::{DashboardProvisioning, DatasourceProvisioning};
use super::prometheus::{
    AlertingConfig, AlertmanagerTarget, GlobalConfig, PrometheusConfig, ScrapeConfig, StaticConfig,
};
use super::rules::{RuleOptions, alert_rules, prom_duration, rule_tests};
use crate::dag::DagDef;

/// Scrape job of the pipeline processes (`--pipeline`).
pub const PIPELINES_JOB: &str = "oxflow-pipelines";
/// Scrape job of the scoring servers' `/metrics` (`--server`).
pub const SERVE_JOB: &str = "oxflow-serve";
/// Scrape job of the blackbox probes of each server's `/ping`.
pub const PING_JOB: &str = "oxflow-ping";
/// Scrape job of the Pushgateway.
pub const PUSHGATEWAY_JOB: &str = "pushgateway";

/// A `host:port` address, as Prometheus names a target.
///
/// ```
/// use oxflow_runtime::monitor::init::HostPort;
/// let addr: HostPort = "localhost:9090".parse()?;
/// assert_eq!(addr.to_string(), "localhost:9090");
/// assert!("localhost".parse::<HostPort>().unwrap_err().contains("needs a port"));
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    /// A name, an IPv4 address or a bracketed IPv6 address (`[::1]`).
    pub host: String,
    /// The port.
    pub port: u16,
}

impl FromStr for HostPort {
    type Err = String;

    fn from_str(s: &str) -> Result<HostPort, String> {
        if s.contains("://") || s.contains('/') {
            return Err("give host:port, such as 127.0.0.1:9090, not a URL".into());
        }
        let Some((host, port)) = s.rsplit_once(':') else {
            return Err(format!("an address needs a port, such as {s}:9090"));
        };
        // `::1` without brackets: the last colon is part of the address.
        if host.contains(':') && !(host.starts_with('[') && host.ends_with(']')) {
            return Err("write an IPv6 address in brackets, such as [::1]:9090".into());
        }
        if host.is_empty() || host == "[]" {
            return Err("the address names no host".into());
        }
        let port = match port.parse::<u16>() {
            Ok(p) if p > 0 => p,
            _ => return Err(format!("the port `{port}` is not a number from 1 to 65535")),
        };
        Ok(HostPort {
            host: host.to_owned(),
            port,
        })
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// An `http://` or `https://` URL that names a host: where Alertmanager posts alerts.
///
/// ```
/// use oxflow_runtime::monitor::init::WebhookUrl;
/// assert!("http://127.0.0.1:5001/alerts".parse::<WebhookUrl>().is_ok());
/// assert!("ftp://host/x".parse::<WebhookUrl>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl FromStr for WebhookUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<WebhookUrl, String> {
        let rest = s
            .strip_prefix("http://")
            .or_else(|| s.strip_prefix("https://"))
            .ok_or("a webhook URL must start with http:// or https://")?;
        if rest.split(['/', '?']).next().is_none_or(str::is_empty) {
            return Err("the URL names no host".into());
        }
        if s.chars().any(char::is_whitespace) {
            return Err("a URL cannot contain spaces".into());
        }
        Ok(WebhookUrl(s.to_owned()))
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What the setup watches and where each part listens.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// Pipeline processes serving `/metrics` (`--metrics-addr`).
    pub pipelines: Vec<HostPort>,
    /// Scoring servers: `/metrics` scraped, `/ping` probed.
    pub servers: Vec<HostPort>,
    /// Prometheus itself (scraped, and Grafana's data source).
    pub prometheus: HostPort,
    /// The Pushgateway batch runs push to.
    pub pushgateway: HostPort,
    /// The Alertmanager Prometheus sends alerts to.
    pub alertmanager: HostPort,
    /// The blackbox exporter that probes the servers.
    pub blackbox: HostPort,
    /// Where Alertmanager posts notifications.
    pub webhook: WebhookUrl,
    /// How often targets are scraped.
    pub scrape_interval: Duration,
    /// How often rules are evaluated.
    pub evaluation_interval: Duration,
    /// How long Alertmanager waits for more alerts of a new group before notifying.
    pub group_wait: Duration,
    /// The alert thresholds.
    pub rules: RuleOptions,
}

impl InitOptions {
    /// The default ports of each daemon on this host, 15 s intervals, Alertmanager's default
    /// 30 s group wait, default thresholds; no pipeline or server yet.
    pub fn new(webhook: WebhookUrl) -> InitOptions {
        let local = |port| HostPort {
            host: "127.0.0.1".into(),
            port,
        };
        InitOptions {
            pipelines: Vec::new(),
            servers: Vec::new(),
            prometheus: local(9090),
            pushgateway: local(9091),
            alertmanager: local(9093),
            blackbox: local(9115),
            webhook,
            scrape_interval: Duration::from_secs(15),
            evaluation_interval: Duration::from_secs(15),
            group_wait: Duration::from_secs(30),
            rules: RuleOptions::default(),
        }
    }
}

/// Why the setup cannot be written.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    /// Files that would be overwritten.
    #[error("{} already exist{}; pass --force to overwrite", list(.0), if .0.len() == 1 { "s" } else { "" })]
    Exists(Vec<PathBuf>),
    /// An option out of range, naming its flag.
    #[error("{0}")]
    Options(String),
    /// A file or directory that cannot be written.
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        /// The path.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A YAML file that cannot be serialised.
    #[error("cannot write {file} as YAML: {source}")]
    Yaml {
        /// The file.
        file: String,
        /// The serialiser's error.
        #[source]
        source: serde_saphyr::ser::Error,
    },
    /// A dashboard that cannot be serialised.
    #[error("cannot write {file} as JSON: {source}")]
    Json {
        /// The file.
        file: String,
        /// The serialiser's error.
        #[source]
        source: serde_json::Error,
    },
}

fn list(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One file of the setup: its path relative to the directory, and its text.
#[derive(Debug, Clone)]
pub struct GeneratedFile {
    /// Relative to the setup's directory.
    pub path: PathBuf,
    /// The contents.
    pub contents: String,
}

fn yaml<T: Serialize>(path: &str, value: &T) -> Result<GeneratedFile, InitError> {
    let contents = serde_saphyr::to_string(value).map_err(|source| InitError::Yaml {
        file: path.to_owned(),
        source,
    })?;
    Ok(GeneratedFile {
        path: path.into(),
        contents,
    })
}

fn check_interval(flag: &str, d: Duration) -> Result<(), InitError> {
    if d < Duration::from_millis(1) {
        return Err(InitError::Options(format!(
            "{flag} must be at least 1ms, such as \"15s\""
        )));
    }
    Ok(())
}

/// Refuses an address given twice: Prometheus would scrape the same target twice, under one
/// job or, for a pipeline that is also given as a server, under two with the same series.
fn check_targets(pipelines: &[HostPort], servers: &[HostPort]) -> Result<(), InitError> {
    for (flag, list) in [("--pipeline", pipelines), ("--server", servers)] {
        for (i, addr) in list.iter().enumerate() {
            if list[..i].contains(addr) {
                return Err(InitError::Options(format!("{flag} {addr} is given twice")));
            }
        }
    }
    if let Some(addr) = pipelines.iter().find(|p| servers.contains(p)) {
        return Err(InitError::Options(format!(
            "{addr} is given as both --pipeline and --server; a scoring server's /metrics is \
             scraped through --server alone"
        )));
    }
    Ok(())
}

/// The setup's files for the DAGs `dags`, to be written in `dir` (Grafana's dashboard
/// provider names `dir` by its absolute path).
pub fn generate(
    dags: &[&DagDef],
    opts: &InitOptions,
    dir: &Path,
) -> Result<Vec<GeneratedFile>, InitError> {
    opts.rules.check().map_err(InitError::Options)?;
    super::rules::check_dags(dags).map_err(InitError::Options)?;
    check_interval("--scrape-interval", opts.scrape_interval)?;
    check_interval("--evaluation-interval", opts.evaluation_interval)?;
    check_interval("--group-wait", opts.group_wait)?;
    check_targets(&opts.pipelines, &opts.servers)?;
    let addrs = |v: &[HostPort]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
    let mut scrape = vec![ScrapeConfig::targets(
        "prometheus",
        vec![opts.prometheus.to_string()],
    )];
    scrape.push(ScrapeConfig {
        honor_labels: true,
        ..ScrapeConfig::targets(PUSHGATEWAY_JOB, vec![opts.pushgateway.to_string()])
    });
    if !opts.pipelines.is_empty() {
        scrape.push(ScrapeConfig::targets(PIPELINES_JOB, addrs(&opts.pipelines)));
    }
    if !opts.servers.is_empty() {
        scrape.push(ScrapeConfig::targets(SERVE_JOB, addrs(&opts.servers)));
        scrape.push(ScrapeConfig::blackbox(
            PING_JOB,
            &opts.blackbox.to_string(),
            PING_MODULE,
            opts.servers
                .iter()
                .map(|s| format!("http://{s}/ping"))
                .collect(),
        ));
    }
    let prometheus = PrometheusConfig {
        global: GlobalConfig {
            scrape_interval: prom_duration(opts.scrape_interval),
            evaluation_interval: prom_duration(opts.evaluation_interval),
        },
        rule_files: vec!["alert_rules.yml".into()],
        alerting: AlertingConfig {
            alertmanagers: vec![AlertmanagerTarget {
                static_configs: vec![StaticConfig {
                    targets: vec![opts.alertmanager.to_string()],
                }],
            }],
        },
        scrape_configs: scrape,
    };
    let dashboard_dir = std::path::absolute(dir)
        .map_err(|source| InitError::Write {
            path: dir.to_owned(),
            source,
        })?
        .join("grafana")
        .join("dashboards");
    let mut files = vec![
        yaml("prometheus.yml", &prometheus)?,
        yaml("alert_rules.yml", &alert_rules(dags, &opts.rules))?,
        yaml(
            "alert_rules_test.yml",
            &rule_tests(dags, &opts.rules, "alert_rules.yml"),
        )?,
        yaml(
            "alertmanager.yml",
            &AlertmanagerConfig::webhook(&opts.webhook.to_string(), opts.group_wait),
        )?,
        yaml("blackbox.yml", &BlackboxConfig::ping())?,
        yaml(
            "grafana/provisioning/datasources/oxflow.yml",
            &DatasourceProvisioning::prometheus(
                &format!("http://{}", opts.prometheus),
                opts.scrape_interval,
            ),
        )?,
        yaml(
            "grafana/provisioning/dashboards/oxflow.yml",
            &DashboardProvisioning::directory(&dashboard_dir.display().to_string()),
        )?,
    ];
    for d in dashboards() {
        let path = format!("grafana/dashboards/{}.json", d.uid);
        let contents = d.to_json().map_err(|source| InitError::Json {
            file: path.clone(),
            source,
        })?;
        files.push(GeneratedFile {
            path: path.into(),
            contents: contents + "\n",
        });
    }
    Ok(files)
}

/// Writes `files` under `dir`, creating directories. Unless `force`, refuses before writing
/// anything when any of them exists, naming every one.
pub fn write(dir: &Path, files: &[GeneratedFile], force: bool) -> Result<(), InitError> {
    if !force {
        let existing: Vec<PathBuf> = files
            .iter()
            .map(|f| dir.join(&f.path))
            .filter(|p| p.exists())
            .collect();
        if !existing.is_empty() {
            return Err(InitError::Exists(existing));
        }
    }
    for f in files {
        let path = dir.join(&f.path);
        let io = |source| InitError::Write {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(&path, &f.contents).map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_need_a_host_and_a_port() {
        let ok = |s: &str| s.parse::<HostPort>().unwrap().to_string();
        assert_eq!(ok("127.0.0.1:9090"), "127.0.0.1:9090");
        assert_eq!(ok("[::1]:9090"), "[::1]:9090");
        assert_eq!(ok("prom.internal:80"), "prom.internal:80");
        let err = |s: &str| s.parse::<HostPort>().unwrap_err();
        assert!(err("localhost").contains("needs a port"));
        assert!(err(":9090").contains("no host"));
        assert!(err("host:0").contains("`0` is not a number from 1 to 65535"));
        assert!(err("host:http").contains("`http`"));
        assert!(err("http://host:80").contains("not a URL"));
        assert!(err("::1:9090").contains("brackets"));
    }

    #[test]
    fn webhooks_are_http_urls_with_a_host() {
        assert!("https://hooks.example/alert".parse::<WebhookUrl>().is_ok());
        assert!(
            "127.0.0.1:5001"
                .parse::<WebhookUrl>()
                .unwrap_err()
                .contains("http://")
        );
        assert!(
            "http:///x"
                .parse::<WebhookUrl>()
                .unwrap_err()
                .contains("no host")
        );
    }

    #[test]
    fn an_address_given_twice_is_refused_naming_it() {
        let webhook: WebhookUrl = "http://127.0.0.1:9/hook".parse().unwrap();
        let dir = Path::new("/tmp/setup");
        let addr = |s: &str| s.parse::<HostPort>().unwrap();
        let mut opts = InitOptions::new(webhook.clone());
        opts.pipelines = vec![
            addr("127.0.0.1:9464"),
            addr("127.0.0.1:9465"),
            addr("127.0.0.1:9464"),
        ];
        let e = generate(&[], &opts, dir).unwrap_err().to_string();
        assert_eq!(e, "--pipeline 127.0.0.1:9464 is given twice");
        let mut opts = InitOptions::new(webhook.clone());
        opts.servers = vec![addr("[::1]:5000"), addr("[::1]:5000")];
        let e = generate(&[], &opts, dir).unwrap_err().to_string();
        assert_eq!(e, "--server [::1]:5000 is given twice");
        let mut opts = InitOptions::new(webhook);
        opts.pipelines = vec![addr("127.0.0.1:5000")];
        opts.servers = vec![addr("127.0.0.1:5001"), addr("127.0.0.1:5000")];
        let e = generate(&[], &opts, dir).unwrap_err().to_string();
        assert!(
            e.starts_with("127.0.0.1:5000 is given as both --pipeline and --server"),
            "{e}"
        );
        // Distinct addresses are fine.
        opts.pipelines = vec![addr("127.0.0.1:9464")];
        assert!(generate(&[], &opts, dir).is_ok());
    }

    #[test]
    fn servers_are_scraped_and_probed_pipelines_scraped_pushgateway_honoured() {
        let mut opts = InitOptions::new("http://127.0.0.1:5001/".parse().unwrap());
        opts.pipelines.push("127.0.0.1:9464".parse().unwrap());
        opts.servers.push("10.0.0.5:8080".parse().unwrap());
        opts.scrape_interval = Duration::from_millis(500);
        let files = generate(&[], &opts, Path::new("/srv/monitoring")).unwrap();
        let get = |name: &str| {
            &files
                .iter()
                .find(|f| f.path == Path::new(name))
                .unwrap()
                .contents
        };
        let prom: serde_json::Value = serde_saphyr::from_str(get("prometheus.yml")).unwrap();
        assert_eq!(prom["global"]["scrape_interval"], "500ms");
        let jobs = prom["scrape_configs"].as_array().unwrap();
        let job = |name: &str| jobs.iter().find(|j| j["job_name"] == name).unwrap();
        assert_eq!(job(PUSHGATEWAY_JOB)["honor_labels"], true);
        assert_eq!(
            job(PIPELINES_JOB)["static_configs"][0]["targets"][0],
            "127.0.0.1:9464"
        );
        assert_eq!(
            job(SERVE_JOB)["static_configs"][0]["targets"][0],
            "10.0.0.5:8080"
        );
        let ping = job(PING_JOB);
        assert_eq!(
            ping["static_configs"][0]["targets"][0],
            "http://10.0.0.5:8080/ping"
        );
        assert_eq!(ping["relabel_configs"][2]["replacement"], "127.0.0.1:9115");
        assert_eq!(
            prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"][0],
            "127.0.0.1:9093"
        );
        let provider: serde_json::Value =
            serde_saphyr::from_str(get("grafana/provisioning/dashboards/oxflow.yml")).unwrap();
        assert_eq!(
            provider["providers"][0]["options"]["path"],
            "/srv/monitoring/grafana/dashboards"
        );
        assert!(get("alertmanager.yml").contains("http://127.0.0.1:5001/"));
        assert_eq!(files.len(), 10);
    }

    #[test]
    fn without_servers_there_is_no_probe_job() {
        let opts = InitOptions::new("http://127.0.0.1:5001/".parse().unwrap());
        let files = generate(&[], &opts, Path::new("/tmp")).unwrap();
        assert!(
            !files[0].contents.contains(PING_JOB),
            "{}",
            files[0].contents
        );
    }

    #[test]
    fn existing_files_are_named_and_kept_unless_forced() {
        let dir = tempfile::tempdir().unwrap();
        let opts = InitOptions::new("http://127.0.0.1:5001/".parse().unwrap());
        let files = generate(&[], &opts, dir.path()).unwrap();
        std::fs::write(dir.path().join("alertmanager.yml"), "mine").unwrap();
        let err = write(dir.path(), &files, false).unwrap_err().to_string();
        assert!(
            err.contains("alertmanager.yml already exists; pass --force"),
            "{err}"
        );
        assert!(
            !dir.path().join("prometheus.yml").exists(),
            "nothing written"
        );
        write(dir.path(), &files, true).unwrap();
        let am = std::fs::read_to_string(dir.path().join("alertmanager.yml")).unwrap();
        assert!(am.contains("oxflow-webhook"), "{am}");
    }
}
