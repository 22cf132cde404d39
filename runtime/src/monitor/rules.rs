//! Prometheus alert rules for the DAGs of a binary, and `promtool test rules` cases that prove
//! each alert fires on a failing series and stays quiet on a healthy one.
//!
//! Every rule reads both ways a DAG's metrics reach Prometheus: pushed by a batch run (the
//! Pushgateway group `job=<dag>`, whose counters hold the last run's values until the next
//! push replaces them) and scraped from a long-running process (any other `job`, whose
//! counters grow, read with `increase`).
//!
//! ```
//! use oxflow_runtime::monitor::rules::{RuleOptions, alert_rules, rule_tests};
//! let rules = alert_rules(&[], &RuleOptions::default());
//! assert!(rules.to_yaml()?.contains("OxflowFeatureDrifted"));
//! let tests = rule_tests(&[], &RuleOptions::default(), "alert_rules.yml");
//! assert!(tests.to_yaml()?.contains("alert_rules.yml"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::dag::DagDef;
use crate::telemetry::{
    DAG_LAST_SUCCESS_TIMESTAMP_SECONDS, DAG_RUNS_TOTAL, DATASET_DRIFT, DRIFT_DETECTED,
    SERVE_REQUEST_DURATION_SECONDS, SERVE_REQUESTS_TOTAL, TASK_RETRIES_TOTAL,
};

/// The thresholds the rules use.
///
/// ```
/// use std::time::Duration;
/// use oxflow_runtime::monitor::rules::RuleOptions;
/// let opts = RuleOptions { max_p99_latency: Duration::from_millis(250), ..RuleOptions::default() };
/// assert!(opts.check().is_ok());
/// assert!(RuleOptions { max_error_ratio: 1.5, ..opts }.check().is_err());
/// ```
#[derive(Debug, Clone)]
pub struct RuleOptions {
    /// A scheduled DAG is stale when it has not succeeded for this many schedule intervals.
    pub stale_after_intervals: f64,
    /// A task retrying more often than this within an hour (or within one pushed run) alerts.
    pub max_retries: u32,
    /// A scoring server alerts when more than this share of its requests (0–1) answer 5xx
    /// over 5 minutes.
    pub max_error_ratio: f64,
    /// A scoring server alerts when its p99 latency over 5 minutes is above this.
    pub max_p99_latency: Duration,
    /// Registered models whose scoring thresholds differ from the two above.
    pub models: Vec<ModelThresholds>,
}

impl Default for RuleOptions {
    fn default() -> Self {
        RuleOptions {
            stale_after_intervals: 2.0,
            max_retries: 3,
            max_error_ratio: 0.05,
            max_p99_latency: Duration::from_millis(500),
            models: Vec::new(),
        }
    }
}

/// Tag of a registered model: its own `max_error_ratio` (0–1, such as `0.01`).
pub const TAG_MAX_ERROR_RATIO: &str = "oxflow.alert.max_error_ratio";
/// Tag of a registered model: its own `max_p99_latency` (a duration, such as `250ms`).
pub const TAG_MAX_P99_LATENCY: &str = "oxflow.alert.max_p99_latency";

/// One registered model's own scoring thresholds, set as tags on the registered model
/// ([`TAG_MAX_ERROR_RATIO`], [`TAG_MAX_P99_LATENCY`]); what is unset uses the defaults.
///
/// Thresholds live with the model in the registry, where MLflow users keep a model's
/// settings, because a model's name is given at registration, not by its Rust type.
///
/// ```
/// use std::collections::BTreeMap;
/// use oxflow_runtime::monitor::rules::{ModelThresholds, TAG_MAX_P99_LATENCY};
/// let tags = BTreeMap::from([(TAG_MAX_P99_LATENCY.to_owned(), "250ms".to_owned())]);
/// let t = ModelThresholds::from_tags("churn", &tags)?.unwrap();
/// assert_eq!(t.max_p99_latency, Some(std::time::Duration::from_millis(250)));
/// assert!(ModelThresholds::from_tags("churn", &BTreeMap::new())?.is_none());
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ModelThresholds {
    /// The registered model's name, as the `model` label of the scoring metrics has it.
    pub model: String,
    /// Its share of 5xx answers that alerts.
    pub max_error_ratio: Option<f64>,
    /// Its p99 latency that alerts.
    pub max_p99_latency: Option<Duration>,
}

impl ModelThresholds {
    /// Reads a registered model's threshold tags; `None` when it has neither. A value that
    /// is not a threshold is an error naming the model, the tag and the value.
    pub fn from_tags(
        model: &str,
        tags: &std::collections::BTreeMap<String, String>,
    ) -> Result<Option<ModelThresholds>, String> {
        let bad = |tag: &str, value: &str, want: &str| {
            format!("registered model `{model}`: tag {tag} = {value:?} is not {want}")
        };
        let max_error_ratio = tags
            .get(TAG_MAX_ERROR_RATIO)
            .map(|v| match v.trim().parse::<f64>() {
                Ok(r) if r > 0.0 && r < 1.0 => Ok(r),
                _ => Err(bad(
                    TAG_MAX_ERROR_RATIO,
                    v,
                    "a ratio between 0 and 1 (0.05 for 5%)",
                )),
            })
            .transpose()?;
        let max_p99_latency = tags
            .get(TAG_MAX_P99_LATENCY)
            .map(|v| match humantime::parse_duration(v.trim()) {
                Ok(d) if !d.is_zero() => Ok(d),
                _ => Err(bad(
                    TAG_MAX_P99_LATENCY,
                    v,
                    "a duration longer than 0, such as \"250ms\"",
                )),
            })
            .transpose()?;
        if max_error_ratio.is_none() && max_p99_latency.is_none() {
            return Ok(None);
        }
        Ok(Some(ModelThresholds {
            model: model.to_owned(),
            max_error_ratio,
            max_p99_latency,
        }))
    }
}

impl RuleOptions {
    /// Refuses thresholds no alert could use, naming the command-line flag that sets each.
    pub fn check(&self) -> Result<(), String> {
        if !(self.stale_after_intervals.is_finite() && self.stale_after_intervals > 0.0) {
            return Err(format!(
                "--stale-after-intervals must be a positive number, not {}",
                self.stale_after_intervals
            ));
        }
        if !(self.max_error_ratio > 0.0 && self.max_error_ratio < 1.0) {
            return Err(format!(
                "--max-error-ratio must be between 0 and 1 (0.05 for 5%), not {}",
                self.max_error_ratio
            ));
        }
        if self.max_p99_latency.is_zero() {
            return Err("--max-p99-latency must be longer than 0, such as \"500ms\"".into());
        }
        Ok(())
    }
}

/// A Prometheus rule file: `groups:` of rules.
#[derive(Debug, Clone, Serialize)]
pub struct RuleFile {
    /// The groups.
    pub groups: Vec<RuleGroup>,
}

/// A named group of rules, evaluated together.
#[derive(Debug, Clone, Serialize)]
pub struct RuleGroup {
    /// The group's name.
    pub name: String,
    /// Its rules.
    pub rules: Vec<AlertRule>,
}

/// One alerting rule.
#[derive(Debug, Clone, Serialize)]
pub struct AlertRule {
    /// The alert's name.
    pub alert: String,
    /// The PromQL expression; every series it returns is an alert.
    pub expr: String,
    /// How long the expression must hold before the alert fires (`0m`: at once).
    #[serde(rename = "for")]
    pub for_: String,
    /// Labels added to the alert (`severity`).
    pub labels: BTreeMap<String, String>,
    /// Text for people; `{{ $labels.x }}` is filled in by Prometheus.
    pub annotations: BTreeMap<String, String>,
}

/// A `promtool test rules` file.
#[derive(Debug, Clone, Serialize)]
pub struct RuleTestFile {
    /// The rule files under test, relative to the test file.
    pub rule_files: Vec<String>,
    /// How often rules are evaluated in the tests.
    pub evaluation_interval: String,
    /// The cases.
    pub tests: Vec<RuleTest>,
}

/// Synthetic series and the alerts expected from them.
#[derive(Debug, Clone, Serialize)]
pub struct RuleTest {
    /// Step between the values of each input series.
    pub interval: String,
    /// The series.
    pub input_series: Vec<InputSeries>,
    /// What must (or must not) be firing when.
    pub alert_rule_test: Vec<AlertTest>,
}

/// One synthetic series in promtool's expanding notation (`1x10`, `0+60x100`).
#[derive(Debug, Clone, Serialize)]
pub struct InputSeries {
    /// The series selector, `name{label="value"}`.
    pub series: String,
    /// Its values.
    pub values: String,
}

/// The alerts of one name at one time.
#[derive(Debug, Clone, Serialize)]
pub struct AlertTest {
    /// When, from the start of the series.
    pub eval_time: String,
    /// The alert.
    pub alertname: String,
    /// The alerts expected to fire (empty: none).
    pub exp_alerts: Vec<ExpectedAlert>,
}

/// An alert expected to fire, with its labels and annotations exactly.
#[derive(Debug, Clone, Serialize)]
pub struct ExpectedAlert {
    /// Labels, `severity` and those of the series.
    pub exp_labels: BTreeMap<String, String>,
    /// Annotations, with the templates filled in.
    pub exp_annotations: BTreeMap<String, String>,
}

impl RuleFile {
    /// The file as YAML.
    pub fn to_yaml(&self) -> Result<String, serde_saphyr::ser::Error> {
        serde_saphyr::to_string(self)
    }
}

impl RuleTestFile {
    /// The file as YAML.
    pub fn to_yaml(&self) -> Result<String, serde_saphyr::ser::Error> {
        serde_saphyr::to_string(self)
    }
}

/// How long at most between two runs of a schedule: a cron expression's longest gap over the
/// next 64 occurrences (`0 3 * * 1-5` gives three days, over the weekend), or a preset's
/// period. `None` for `@once`, `@continuous` and no schedule: nothing to be late for.
pub fn schedule_interval(schedule: &str) -> Option<Duration> {
    const DAY: u64 = 86_400;
    let fixed = match schedule.trim() {
        "@once" | "@continuous" => return None,
        "@hourly" => 3_600,
        "@daily" => DAY,
        "@weekly" => 7 * DAY,
        "@monthly" => 31 * DAY,
        "@quarterly" => 92 * DAY,
        "@yearly" | "@annually" => 366 * DAY,
        cron => {
            let cron: croner::Cron = cron.parse().ok()?;
            // A fixed start, so the same DAG always gets the same rules.
            let start = chrono::DateTime::from_timestamp(1_767_225_600, 0)?; // 2026-01-01
            let times: Vec<_> = cron.iter_after(start).take(64).collect();
            return times
                .windows(2)
                .filter_map(|w| (w[1] - w[0]).to_std().ok())
                .max();
        }
    };
    Some(Duration::from_secs(fixed))
}

/// `1d`, `36h`, `90m`, `500ms`: the largest unit that divides the duration, as Prometheus
/// writes them.
pub(crate) fn prom_duration(d: Duration) -> String {
    if d.subsec_nanos() != 0 {
        return format!("{}ms", d.as_millis().max(1));
    }
    let s = d.as_secs();
    for (unit, secs) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if s >= secs && s.is_multiple_of(secs) {
            return format!("{}{unit}", s / secs);
        }
    }
    format!("{s}s")
}

fn alert(
    name: &str,
    expr: String,
    for_: &str,
    severity: &str,
    summary: &str,
    description: String,
) -> AlertRule {
    AlertRule {
        alert: name.to_owned(),
        expr,
        for_: for_.to_owned(),
        labels: BTreeMap::from([("severity".to_owned(), severity.to_owned())]),
        annotations: BTreeMap::from([
            ("summary".to_owned(), summary.to_owned()),
            ("description".to_owned(), description),
        ]),
    }
}

impl AlertRule {
    /// The rule with a label naming what it watches (`dag`, `model`). Rules of one name for
    /// several DAGs or models in one file must differ in their labels: `promtool check rules`
    /// reports rules with the same name and labels as duplicates, across all groups. The
    /// value is the one the alert's series already carry, so alerts do not change.
    fn about(mut self, label: &str, value: &str) -> AlertRule {
        self.labels.insert(label.to_owned(), value.to_owned());
        self
    }
}

/// A ratio as people read it: `0.05` is `5%`.
fn percent(ratio: f64) -> String {
    format!("{}%", (ratio * 100.0 * 1e6).round() / 1e6)
}

/// A number as PromQL and Prometheus labels write it (`0.5`, `2`).
fn number(x: f64) -> String {
    format!("{x}")
}

/// A PromQL string literal.
fn quoted(value: &str) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// The threshold after which a DAG is stale: its own `alerts(stale_after = ...)`, else
/// `--stale-after-intervals` times its schedule's interval; none for a DAG without either.
fn stale_after(def: &DagDef, opts: &RuleOptions) -> Option<Duration> {
    if let Some(after) = def.alerts.stale_after {
        return Some(after);
    }
    let interval = schedule_interval(def.schedule?)?;
    Some(Duration::from_secs_f64(
        (interval.as_secs_f64() * opts.stale_after_intervals).round(),
    ))
}

/// The retries per task that alert for this DAG: its own `alerts(max_retries = ...)`, else
/// `--max-retries`.
fn max_retries(def: &DagDef, opts: &RuleOptions) -> u32 {
    def.alerts.max_retries.unwrap_or(opts.max_retries)
}

/// Refuses a DAG's own thresholds that would make its alerts useless: a `stale_after` shorter
/// than one interval of its schedule would fire between every two runs.
///
/// ```
/// use oxflow_runtime::monitor::rules::check_dags;
/// assert!(check_dags(&[]).is_ok());
/// ```
pub fn check_dags(dags: &[&DagDef]) -> Result<(), String> {
    for def in dags {
        if let (Some(after), Some(schedule)) = (def.alerts.stale_after, def.schedule)
            && let Some(interval) = schedule_interval(schedule)
            && after < interval
        {
            return Err(format!(
                "DAG `{}` ({}:{}): `#[dag(alerts(stale_after = \"{}\"))]` is shorter than one \
                 interval of its schedule `{schedule}` ({}), so it would alert between every two \
                 runs; make it at least {}",
                def.id,
                def.file,
                def.line,
                prom_duration(after),
                prom_duration(interval),
                prom_duration(interval),
            ));
        }
    }
    Ok(())
}

/// The rules of every DAG in `dags`, and the drift and scrape rules every setup needs.
pub fn alert_rules(dags: &[&DagDef], opts: &RuleOptions) -> RuleFile {
    let mut groups = Vec::new();
    for def in dags {
        let dag = quoted(def.id);
        let mut rules = vec![alert(
            "OxflowDagRunFailed",
            format!(
                "max by (dag) ({DAG_RUNS_TOTAL}{{dag={dag},state=\"failed\",job={dag}}}) > 0 \
                 or sum by (dag) (increase({DAG_RUNS_TOTAL}{{dag={dag},state=\"failed\",job!={dag}}}[1h])) > 0"
            ),
            "0m",
            "critical",
            "DAG {{ $labels.dag }}: a run failed",
            "The last pushed run of the DAG failed, or a run failed in the last hour.".into(),
        )];
        if let Some(after) = stale_after(def, opts) {
            rules.push(alert(
                "OxflowDagNotSucceeding",
                format!(
                    "time() - max by (dag) ({DAG_LAST_SUCCESS_TIMESTAMP_SECONDS}{{dag={dag}}}) > {}",
                    after.as_secs()
                ),
                "5m",
                "warning",
                "DAG {{ $labels.dag }} has not succeeded recently",
                match (def.alerts.stale_after, def.schedule) {
                    (Some(_), _) => format!(
                        "No successful run for more than {} (the DAG's alerts(stale_after)).",
                        prom_duration(after)
                    ),
                    (None, schedule) => format!(
                        "No successful run for more than {} ({} x its schedule `{}`).",
                        prom_duration(after),
                        opts.stale_after_intervals,
                        schedule.unwrap_or_default()
                    ),
                },
            ));
        }
        let retries = max_retries(def, opts);
        rules.push(alert(
            "OxflowTaskRetryingOften",
            format!(
                "max by (dag, task) ({TASK_RETRIES_TOTAL}{{dag={dag},job={dag}}}) > {n} \
                 or sum by (dag, task) (increase({TASK_RETRIES_TOTAL}{{dag={dag},job!={dag}}}[1h])) > {n}",
                n = retries
            ),
            "0m",
            "warning",
            "Task {{ $labels.dag }}/{{ $labels.task }} is retrying often",
            format!("More than {retries} retries in the last pushed run or in the last hour."),
        ));
        groups.push(RuleGroup {
            name: format!("oxflow-dag-{}", def.id),
            rules: rules.into_iter().map(|r| r.about("dag", def.id)).collect(),
        });
    }
    groups.push(RuleGroup {
        name: "oxflow".into(),
        rules: vec![
            alert(
                "OxflowFeatureDrifted",
                format!("max by (feature) ({DRIFT_DETECTED}) == 1"),
                "0m",
                "warning",
                "Feature {{ $labels.feature }} drifted",
                "The last drift check found this feature's distribution changed.".into(),
            ),
            alert(
                "OxflowDatasetDrift",
                format!("max by (job) ({DATASET_DRIFT}) == 1"),
                "0m",
                "warning",
                "Dataset drift reported by {{ $labels.job }}",
                "The last drift check found drift in enough columns to call the dataset drifted."
                    .into(),
            ),
            alert(
                "OxflowTargetDown",
                "up == 0".into(),
                "5m",
                "critical",
                "Prometheus cannot scrape {{ $labels.job }} at {{ $labels.instance }}",
                "The target has not answered a scrape for 5 minutes.".into(),
            ),
            alert(
                "OxflowProbeFailing",
                "probe_success == 0".into(),
                "2m",
                "critical",
                "{{ $labels.instance }} does not answer the blackbox probe of {{ $labels.job }}",
                "The blackbox exporter's probe (a scoring server's /ping) has failed for 2 minutes."
                    .into(),
            ),
        ],
    });
    groups.push(RuleGroup {
        name: "oxflow-serve".into(),
        rules: serve_rules(opts),
    });
    RuleFile { groups }
}

/// Which models a serving rule covers: every model but those with their own threshold, or
/// one model.
#[derive(Clone, Copy)]
enum Models<'a> {
    AllBut(&'a [&'a str]),
    Only(&'a str),
}

impl Models<'_> {
    /// The label matchers that select these models (repeated `!=` matchers rather than a
    /// regular expression, so a model name needs no escaping).
    fn matchers(self) -> String {
        match self {
            Models::AllBut(names) => names
                .iter()
                .map(|n| format!("model!={}", quoted(n)))
                .collect::<Vec<_>>()
                .join(","),
            Models::Only(name) => format!("model={}", quoted(name)),
        }
    }

    /// A rule for one model carries its name as a label (see [`AlertRule::about`]).
    fn label(self, rule: AlertRule) -> AlertRule {
        match self {
            Models::AllBut(_) => rule,
            Models::Only(name) => rule.about("model", name),
        }
    }
}

/// Label matchers as a selector: `{a,b}`, or nothing when there are none.
fn selector(parts: &[&str]) -> String {
    let parts: Vec<&str> = parts.iter().filter(|p| !p.is_empty()).copied().collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

fn error_ratio_rule(models: Models<'_>, max: f64) -> AlertRule {
    let m = models.matchers();
    let (errors, all) = (selector(&["code=~\"5..\"", &m]), selector(&[&m]));
    let whose = match models {
        Models::AllBut(_) => "",
        Models::Only(_) => " (this model's own threshold)",
    };
    let rule = alert(
        "OxflowServeErrorRatioHigh",
        format!(
            "sum by (model) (rate({SERVE_REQUESTS_TOTAL}{errors}[5m])) \
             / sum by (model) (rate({SERVE_REQUESTS_TOTAL}{all}[5m])) > {}",
            number(max)
        ),
        "5m",
        "critical",
        &format!(
            "Model {{{{ $labels.model }}}}: more than {} of scoring requests fail",
            percent(max)
        ),
        format!(
            "More than {}{whose} of the requests answered 5xx over 5 minutes, for 5 minutes.",
            percent(max)
        ),
    );
    models.label(rule)
}

fn latency_rule(models: Models<'_>, max: Duration) -> AlertRule {
    let latency = prom_duration(max);
    let buckets = selector(&[&models.matchers()]);
    let whose = match models {
        Models::AllBut(_) => "",
        Models::Only(_) => " (this model's own threshold)",
    };
    let rule = alert(
        "OxflowServeLatencyHigh",
        format!(
            "histogram_quantile(0.99, sum by (model, le) \
             (rate({SERVE_REQUEST_DURATION_SECONDS}_bucket{buckets}[5m]))) > {}",
            number(max.as_secs_f64())
        ),
        "10m",
        "warning",
        &format!("Model {{{{ $labels.model }}}}: p99 scoring latency above {latency}"),
        format!(
            "The 99th percentile of scoring latency over 5 minutes has been above {latency}{whose} \
             for 10 minutes."
        ),
    );
    models.label(rule)
}

/// A scoring server answering too many errors or too slowly, per model: one rule for every
/// model with the default thresholds, and one per model with its own.
fn serve_rules(opts: &RuleOptions) -> Vec<AlertRule> {
    let own_ratio: Vec<&str> = opts
        .models
        .iter()
        .filter(|m| m.max_error_ratio.is_some())
        .map(|m| m.model.as_str())
        .collect();
    let own_latency: Vec<&str> = opts
        .models
        .iter()
        .filter(|m| m.max_p99_latency.is_some())
        .map(|m| m.model.as_str())
        .collect();
    let mut rules = vec![
        error_ratio_rule(Models::AllBut(&own_ratio), opts.max_error_ratio),
        latency_rule(Models::AllBut(&own_latency), opts.max_p99_latency),
    ];
    for m in &opts.models {
        if let Some(max) = m.max_error_ratio {
            rules.push(error_ratio_rule(Models::Only(&m.model), max));
        }
        if let Some(max) = m.max_p99_latency {
            rules.push(latency_rule(Models::Only(&m.model), max));
        }
    }
    rules
}

/// Fills `{{ $labels.x }}` in an annotation as Prometheus will.
fn expand(template: &str, labels: &BTreeMap<String, String>) -> String {
    labels.iter().fold(template.to_owned(), |t, (k, v)| {
        t.replace(&format!("{{{{ $labels.{k} }}}}"), v)
    })
}

/// What `rule` fires with on a series labelled `labels`.
fn expected(rule: &AlertRule, labels: &[(&str, &str)]) -> ExpectedAlert {
    let mut exp_labels: BTreeMap<String, String> = labels
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let annotations = rule
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), expand(v, &exp_labels)))
        .collect();
    exp_labels.extend(rule.labels.clone());
    ExpectedAlert {
        exp_labels,
        exp_annotations: annotations,
    }
}

fn series(name: &str, labels: &[(&str, &str)], values: String) -> InputSeries {
    let labels: Vec<String> = labels
        .iter()
        .map(|(k, v)| format!("{k}={}", quoted(v)))
        .collect();
    InputSeries {
        series: format!("{name}{{{}}}", labels.join(",")),
        values,
    }
}

fn case(series: Vec<InputSeries>, eval: &str, alert: &str, exp: Vec<ExpectedAlert>) -> RuleTest {
    RuleTest {
        interval: "1m".into(),
        input_series: series,
        alert_rule_test: vec![AlertTest {
            eval_time: eval.into(),
            alertname: alert.into(),
            exp_alerts: exp,
        }],
    }
}

/// For each rule of [`alert_rules`], a case where it fires and one where it stays quiet.
pub fn rule_tests(dags: &[&DagDef], opts: &RuleOptions, rule_file: &str) -> RuleTestFile {
    let file = alert_rules(dags, opts);
    let rule = |name: &str, group: usize| {
        file.groups[group]
            .rules
            .iter()
            .find(|r| r.alert == name)
            .cloned()
    };
    let mut tests = Vec::new();
    for (g, def) in dags.iter().enumerate() {
        let d = def.id;
        if let Some(r) = rule("OxflowDagRunFailed", g) {
            let pushed = |state| {
                series(
                    DAG_RUNS_TOTAL,
                    &[("dag", d), ("state", state), ("job", d)],
                    "1x10".into(),
                )
            };
            tests.push(case(
                vec![pushed("failed")],
                "5m",
                &r.alert,
                vec![expected(&r, &[("dag", d)])],
            ));
            tests.push(case(vec![pushed("success")], "5m", &r.alert, vec![]));
            // A long-running process whose counter grows.
            tests.push(case(
                vec![series(
                    DAG_RUNS_TOTAL,
                    &[("dag", d), ("state", "failed"), ("job", "pipeline")],
                    "0 0 0 1 1 1 1 1 1 1".into(),
                )],
                "6m",
                &r.alert,
                vec![expected(&r, &[("dag", d)])],
            ));
        }
        if let (Some(r), Some(after)) = (rule("OxflowDagNotSucceeding", g), stale_after(def, opts))
        {
            let minutes = after.as_secs() / 60 + 20;
            let eval = format!("{}m", after.as_secs() / 60 + 15);
            let labels = [("dag", d), ("job", d)];
            // The last success at time 0, never again.
            tests.push(case(
                vec![series(
                    DAG_LAST_SUCCESS_TIMESTAMP_SECONDS,
                    &labels,
                    format!("0x{minutes}"),
                )],
                &eval,
                &r.alert,
                vec![expected(&r, &[("dag", d)])],
            ));
            // A success every minute.
            tests.push(case(
                vec![series(
                    DAG_LAST_SUCCESS_TIMESTAMP_SECONDS,
                    &labels,
                    format!("0+60x{minutes}"),
                )],
                &eval,
                &r.alert,
                vec![],
            ));
        }
        if let Some(r) = rule("OxflowTaskRetryingOften", g) {
            let retries = |n: u32| {
                series(
                    TASK_RETRIES_TOTAL,
                    &[("dag", d), ("task", "extract"), ("job", d)],
                    format!("{n}x10"),
                )
            };
            let max = max_retries(def, opts);
            tests.push(case(
                vec![retries(max.saturating_add(1))],
                "5m",
                &r.alert,
                vec![expected(&r, &[("dag", d), ("task", "extract")])],
            ));
            tests.push(case(vec![retries(max)], "5m", &r.alert, vec![]));
        }
    }
    let g = dags.len();
    if let Some(r) = rule("OxflowFeatureDrifted", g) {
        let drifted = |v: &str| {
            series(
                DRIFT_DETECTED,
                &[("feature", "age"), ("job", "drift")],
                format!("{v}x10"),
            )
        };
        tests.push(case(
            vec![drifted("1")],
            "5m",
            &r.alert,
            vec![expected(&r, &[("feature", "age")])],
        ));
        tests.push(case(vec![drifted("0")], "5m", &r.alert, vec![]));
    }
    if let Some(r) = rule("OxflowDatasetDrift", g) {
        let drift = |v: &str| series(DATASET_DRIFT, &[("job", "drift")], format!("{v}x10"));
        tests.push(case(
            vec![drift("1")],
            "5m",
            &r.alert,
            vec![expected(&r, &[("job", "drift")])],
        ));
        tests.push(case(vec![drift("0")], "5m", &r.alert, vec![]));
    }
    if let Some(r) = rule("OxflowTargetDown", g) {
        let up = |v: &str| {
            series(
                "up",
                &[("job", "pipeline"), ("instance", "127.0.0.1:9464")],
                format!("{v}x20"),
            )
        };
        tests.push(case(
            vec![up("0")],
            "10m",
            &r.alert,
            vec![expected(
                &r,
                &[("job", "pipeline"), ("instance", "127.0.0.1:9464")],
            )],
        ));
        tests.push(case(vec![up("1")], "10m", &r.alert, vec![]));
    }
    if let Some(r) = rule("OxflowProbeFailing", g) {
        let labels = [
            ("job", "oxflow-ping"),
            ("instance", "http://127.0.0.1:8080/ping"),
        ];
        let probe = |v: &str| series("probe_success", &labels, format!("{v}x20"));
        tests.push(case(
            vec![probe("0")],
            "5m",
            &r.alert,
            vec![expected(&r, &labels)],
        ));
        tests.push(case(vec![probe("1")], "5m", &r.alert, vec![]));
    }
    tests.extend(serve_tests(opts));
    RuleTestFile {
        rule_files: vec![rule_file.to_owned()],
        evaluation_interval: "1m".into(),
        tests,
    }
}

/// Cases for [`serve_rules`], with request counts derived from the thresholds so that each
/// case stays on its side of them whatever the user chose: for a model on the default
/// thresholds and for each model with its own. As the rules for one alert share its name,
/// a case also fails when a rule that should not cover the model fires too.
fn serve_tests(opts: &RuleOptions) -> Vec<RuleTest> {
    let rules = serve_rules(opts);
    let mut tests = Vec::new();
    // A name no model with its own thresholds has.
    let mut default_model = "churn".to_owned();
    while opts.models.iter().any(|m| m.model == default_model) {
        default_model.push('_');
    }
    let mut cases = vec![(
        default_model.as_str(),
        opts.max_error_ratio,
        opts.max_p99_latency,
    )];
    for m in &opts.models {
        cases.push((
            m.model.as_str(),
            m.max_error_ratio.unwrap_or(opts.max_error_ratio),
            m.max_p99_latency.unwrap_or(opts.max_p99_latency),
        ));
    }
    let error_rule = &rules[0];
    let latency_rule = &rules[1];
    for (model, max_ratio, max_latency) in cases {
        let labels = [("model", model)];
        // The rule whose annotations the alert carries.
        let own = |name: &str, default: &AlertRule| {
            rules
                .iter()
                .find(|r| r.alert == name && r.expr.contains(&format!("model={}", quoted(model))))
                .unwrap_or(default)
                .clone()
        };
        // 1,000 requests a minute; the failing case has twice the threshold's share of 5xx
        // (all of them at most), the healthy one half of it.
        let requests = |code: &str, per_minute: u64| {
            series(
                SERVE_REQUESTS_TOTAL,
                &[("model", model), ("code", code), ("job", "serve")],
                format!("0+{per_minute}x20"),
            )
        };
        let with_errors = |errors: u64| {
            let errors = errors.min(1000);
            let mut s = vec![requests("200", 1000 - errors)];
            if errors > 0 {
                s.push(requests("503", errors));
            }
            s
        };
        let r = own("OxflowServeErrorRatioHigh", error_rule);
        tests.push(case(
            with_errors((2.0 * max_ratio * 1000.0).ceil() as u64),
            "12m",
            &r.alert,
            vec![expected(&r, &labels)],
        ));
        tests.push(case(
            with_errors((max_ratio * 500.0).floor() as u64),
            "12m",
            &r.alert,
            vec![],
        ));
        // Buckets at a quarter of the threshold and four times it: all requests in the
        // first give a p99 under the threshold, all in the second one above it.
        let t = max_latency.as_secs_f64();
        let bucket = |le: &str, per_minute: u64| {
            series(
                &format!("{SERVE_REQUEST_DURATION_SECONDS}_bucket"),
                &[("model", model), ("le", le), ("job", "serve")],
                format!("0+{per_minute}x30"),
            )
        };
        let (low, high) = (number(t / 4.0), number(t * 4.0));
        let latencies =
            |fast: u64| vec![bucket(&low, fast), bucket(&high, 100), bucket("+Inf", 100)];
        let r = own("OxflowServeLatencyHigh", latency_rule);
        tests.push(case(
            latencies(0),
            "20m",
            &r.alert,
            vec![expected(&r, &labels)],
        ));
        tests.push(case(latencies(100), "20m", &r.alert, vec![]));
    }
    tests
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dag::{DagAlerts, TaskOptions};
    use crate::schedule::ScheduleOptions;

    const fn dag(id: &'static str, schedule: Option<&'static str>, alerts: DagAlerts) -> DagDef {
        DagDef {
            id,
            description: "",
            schedule,
            scheduling: ScheduleOptions::DEFAULT,
            tags: &[],
            max_active_tasks: None,
            dagrun_timeout: None,
            defaults: TaskOptions::EMPTY,
            params: None,
            nodes: &[],
            groups: &[],
            max_map_length: None,
            alerts,
            file: "src/main.rs",
            line: 7,
        }
    }

    #[test]
    fn a_dag_s_own_thresholds_replace_the_flags_in_its_rules_and_tests() {
        static HOURLY: DagDef = dag(
            "hourly",
            Some("@hourly"),
            DagAlerts {
                stale_after: Some(Duration::from_secs(3 * 3600)),
                max_retries: Some(7),
            },
        );
        static DAILY: DagDef = dag("daily", Some("@daily"), DagAlerts::NONE);
        static MANUAL: DagDef = dag(
            "manual",
            None,
            DagAlerts {
                stale_after: Some(Duration::from_secs(7 * 86_400)),
                max_retries: None,
            },
        );
        let opts = RuleOptions::default();
        let dags = [&HOURLY, &DAILY, &MANUAL];
        assert!(check_dags(&dags).is_ok());
        let file = alert_rules(&dags, &opts);
        let expr = |g: usize, name: &str| {
            file.groups[g]
                .rules
                .iter()
                .find(|r| r.alert == name)
                .map(|r| r.expr.clone())
        };
        assert!(
            expr(0, "OxflowDagNotSucceeding")
                .unwrap()
                .ends_with("> 10800")
        );
        assert!(expr(0, "OxflowTaskRetryingOften").unwrap().ends_with("> 7"));
        // The flags' defaults: 2 intervals, 3 retries.
        assert!(
            expr(1, "OxflowDagNotSucceeding")
                .unwrap()
                .ends_with("> 172800")
        );
        assert!(expr(1, "OxflowTaskRetryingOften").unwrap().ends_with("> 3"));
        // No schedule, but a threshold of its own.
        assert!(
            expr(2, "OxflowDagNotSucceeding")
                .unwrap()
                .ends_with("> 604800")
        );
        // The unit tests put 8 retries against the hourly DAG's 7, and 7 as the quiet case.
        let tests = rule_tests(&dags, &opts, "r.yml");
        let retry_values: Vec<&str> = tests
            .tests
            .iter()
            .flat_map(|t| &t.input_series)
            .filter(|s| {
                s.series.contains("dag=\"hourly\"") && s.series.starts_with(TASK_RETRIES_TOTAL)
            })
            .map(|s| s.values.as_str())
            .collect();
        assert_eq!(retry_values, ["8x10", "7x10"]);

        static TOO_SHORT: DagDef = dag(
            "too_short",
            Some("@daily"),
            DagAlerts {
                stale_after: Some(Duration::from_secs(3600)),
                max_retries: None,
            },
        );
        let err = check_dags(&[&DAILY, &TOO_SHORT]).unwrap_err();
        assert_eq!(
            err,
            "DAG `too_short` (src/main.rs:7): `#[dag(alerts(stale_after = \"1h\"))]` is shorter \
             than one interval of its schedule `@daily` (1d), so it would alert between every two \
             runs; make it at least 1d"
        );
    }

    #[test]
    fn schedule_intervals_are_the_longest_gap() {
        let h = |n: u64| Some(Duration::from_secs(n * 3600));
        assert_eq!(schedule_interval("0 3 * * *"), h(24));
        assert_eq!(
            schedule_interval("*/15 * * * *"),
            Some(Duration::from_secs(900))
        );
        // Weekdays only: Friday 03:00 to Monday 03:00.
        assert_eq!(schedule_interval("0 3 * * 1-5"), h(72));
        assert_eq!(schedule_interval("@daily"), h(24));
        assert_eq!(schedule_interval("@once"), None);
        assert_eq!(schedule_interval("not cron"), None);
    }

    #[test]
    fn durations_are_written_as_prometheus_writes_them() {
        assert_eq!(prom_duration(Duration::from_secs(172_800)), "2d");
        assert_eq!(prom_duration(Duration::from_secs(129_600)), "36h");
        assert_eq!(prom_duration(Duration::from_secs(5_400)), "90m");
        assert_eq!(prom_duration(Duration::from_secs(45)), "45s");
        assert_eq!(prom_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(prom_duration(Duration::from_millis(1500)), "1500ms");
    }

    #[test]
    fn serving_thresholds_are_in_the_expressions_and_summaries() {
        let opts = RuleOptions {
            max_error_ratio: 0.02,
            max_p99_latency: Duration::from_millis(250),
            ..RuleOptions::default()
        };
        let file = alert_rules(&[], &opts);
        let serve = &file.groups.last().unwrap().rules;
        assert!(serve[0].expr.ends_with("> 0.02"), "{}", serve[0].expr);
        assert_eq!(
            serve[0].annotations["summary"],
            "Model {{ $labels.model }}: more than 2% of scoring requests fail"
        );
        assert!(serve[1].expr.ends_with("> 0.25"), "{}", serve[1].expr);
        assert!(serve[1].annotations["summary"].ends_with("above 250ms"));
        assert_eq!(percent(0.05), "5%");
        assert_eq!(percent(0.125), "12.5%");
    }

    #[test]
    fn a_model_with_its_own_thresholds_gets_its_own_rules_and_leaves_the_default_ones() {
        let opts = RuleOptions {
            models: vec![
                ModelThresholds {
                    model: "fraud \"v2\"".into(),
                    max_error_ratio: Some(0.01),
                    max_p99_latency: None,
                },
                ModelThresholds {
                    model: "churn".into(),
                    max_error_ratio: None,
                    max_p99_latency: Some(Duration::from_millis(100)),
                },
            ],
            ..RuleOptions::default()
        };
        let file = alert_rules(&[], &opts);
        let serve = &file.groups.last().unwrap().rules;
        let exprs: Vec<&str> = serve.iter().map(|r| r.expr.as_str()).collect();
        assert_eq!(serve.len(), 4, "{exprs:#?}");
        assert!(
            exprs[0].contains(r#"{code=~"5..",model!="fraud \"v2\""}"#),
            "{}",
            exprs[0]
        );
        assert!(exprs[0].ends_with("> 0.05"));
        assert!(
            exprs[1].contains(r#"_bucket{model!="churn"}"#),
            "{}",
            exprs[1]
        );
        assert!(exprs[2].contains(r#"model="fraud \"v2\"""#) && exprs[2].ends_with("> 0.01"));
        assert!(exprs[3].contains(r#"_bucket{model="churn"}"#) && exprs[3].ends_with("> 0.1"));
        assert!(serve[3].annotations["summary"].ends_with("above 100ms"));
        // A default-threshold model, and each model with its own: fires and stays quiet.
        let tests = rule_tests(&[], &opts, "alert_rules.yml");
        let serve_cases = tests
            .tests
            .iter()
            .filter(|t| t.alert_rule_test[0].alertname.starts_with("OxflowServe"))
            .count();
        assert_eq!(serve_cases, 3 * 4);
    }

    #[test]
    fn no_two_rules_in_a_file_share_a_name_and_labels() {
        // promtool's duplicate-rule lint, which compares names and labels across all groups.
        static A: DagDef = dag("etl", Some("@daily"), DagAlerts::NONE);
        static B: DagDef = dag("train", Some("@hourly"), DagAlerts::NONE);
        let own = |model: &str| ModelThresholds {
            model: model.into(),
            max_error_ratio: Some(0.01),
            max_p99_latency: Some(Duration::from_millis(100)),
        };
        let opts = RuleOptions {
            models: vec![own("fraud"), own("churn")],
            ..RuleOptions::default()
        };
        let file = alert_rules(&[&A, &B], &opts);
        let mut seen = std::collections::HashSet::new();
        for rule in file.groups.iter().flat_map(|g| &g.rules) {
            assert!(
                seen.insert((rule.alert.clone(), rule.labels.clone())),
                "{} {:?} twice",
                rule.alert,
                rule.labels
            );
        }
        let failed: Vec<_> = file
            .groups
            .iter()
            .flat_map(|g| &g.rules)
            .filter(|r| r.alert == "OxflowDagRunFailed")
            .map(|r| r.labels["dag"].as_str())
            .collect();
        assert_eq!(failed, ["etl", "train"]);
        // The unit tests expect the same labels on the alerts.
        let tests = rule_tests(&[&A, &B], &opts, "alert_rules.yml");
        assert!(tests.tests.iter().any(|t| {
            t.alert_rule_test[0]
                .exp_alerts
                .iter()
                .any(|a| a.exp_labels.get("model").map(String::as_str) == Some("churn"))
        }));
    }

    #[test]
    fn threshold_tags_that_are_not_thresholds_name_the_model_tag_and_value() {
        let tags = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), v.to_owned())]);
        let e = ModelThresholds::from_tags("churn", &tags(TAG_MAX_ERROR_RATIO, "5%")).unwrap_err();
        assert!(
            e.contains("`churn`") && e.contains(TAG_MAX_ERROR_RATIO) && e.contains("\"5%\""),
            "{e}"
        );
        assert!(ModelThresholds::from_tags("churn", &tags(TAG_MAX_ERROR_RATIO, "1")).is_err());
        let e = ModelThresholds::from_tags("churn", &tags(TAG_MAX_P99_LATENCY, "0s")).unwrap_err();
        assert!(e.contains(TAG_MAX_P99_LATENCY), "{e}");
        assert_eq!(
            ModelThresholds::from_tags("churn", &tags(TAG_MAX_ERROR_RATIO, " 0.2 ")).unwrap(),
            Some(ModelThresholds {
                model: "churn".into(),
                max_error_ratio: Some(0.2),
                max_p99_latency: None
            })
        );
    }

    #[test]
    fn thresholds_no_alert_could_use_are_refused_naming_the_flag() {
        let bad = RuleOptions {
            max_error_ratio: 0.0,
            ..RuleOptions::default()
        };
        assert!(bad.check().unwrap_err().contains("--max-error-ratio"));
        let bad = RuleOptions {
            stale_after_intervals: f64::NAN,
            ..RuleOptions::default()
        };
        assert!(bad.check().unwrap_err().contains("--stale-after-intervals"));
    }

    #[test]
    fn annotations_are_expanded_as_prometheus_does() {
        let labels = BTreeMap::from([
            ("dag".to_owned(), "nightly".to_owned()),
            ("task".to_owned(), "sync".to_owned()),
        ]);
        assert_eq!(
            expand("Task {{ $labels.dag }}/{{ $labels.task }} is late", &labels),
            "Task nightly/sync is late"
        );
    }
}
