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
}

impl Default for RuleOptions {
    fn default() -> Self {
        RuleOptions {
            stale_after_intervals: 2.0,
            max_retries: 3,
            max_error_ratio: 0.05,
            max_p99_latency: Duration::from_millis(500),
        }
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

/// The threshold after which a scheduled DAG is stale.
fn stale_after(def: &DagDef, opts: &RuleOptions) -> Option<Duration> {
    let interval = schedule_interval(def.schedule?)?;
    Some(Duration::from_secs_f64(
        (interval.as_secs_f64() * opts.stale_after_intervals).round(),
    ))
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
                format!(
                    "No successful run for more than {} ({} x its schedule `{}`).",
                    prom_duration(after),
                    opts.stale_after_intervals,
                    def.schedule.unwrap_or_default()
                ),
            ));
        }
        rules.push(alert(
            "OxflowTaskRetryingOften",
            format!(
                "max by (dag, task) ({TASK_RETRIES_TOTAL}{{dag={dag},job={dag}}}) > {n} \
                 or sum by (dag, task) (increase({TASK_RETRIES_TOTAL}{{dag={dag},job!={dag}}}[1h])) > {n}",
                n = opts.max_retries
            ),
            "0m",
            "warning",
            "Task {{ $labels.dag }}/{{ $labels.task }} is retrying often",
            format!(
                "More than {} retries in the last pushed run or in the last hour.",
                opts.max_retries
            ),
        ));
        groups.push(RuleGroup {
            name: format!("oxflow-dag-{}", def.id),
            rules,
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

/// A scoring server answering too many errors or too slowly, per model.
fn serve_rules(opts: &RuleOptions) -> Vec<AlertRule> {
    let latency = prom_duration(opts.max_p99_latency);
    vec![
        alert(
            "OxflowServeErrorRatioHigh",
            format!(
                "sum by (model) (rate({SERVE_REQUESTS_TOTAL}{{code=~\"5..\"}}[5m])) \
                 / sum by (model) (rate({SERVE_REQUESTS_TOTAL}[5m])) > {}",
                number(opts.max_error_ratio)
            ),
            "5m",
            "critical",
            &format!(
                "Model {{{{ $labels.model }}}}: more than {} of scoring requests fail",
                percent(opts.max_error_ratio)
            ),
            format!(
                "More than {} of the requests answered 5xx over 5 minutes, for 5 minutes.",
                percent(opts.max_error_ratio)
            ),
        ),
        alert(
            "OxflowServeLatencyHigh",
            format!(
                "histogram_quantile(0.99, sum by (model, le) \
                 (rate({SERVE_REQUEST_DURATION_SECONDS}_bucket[5m]))) > {}",
                number(opts.max_p99_latency.as_secs_f64())
            ),
            "10m",
            "warning",
            &format!("Model {{{{ $labels.model }}}}: p99 scoring latency above {latency}"),
            format!(
                "The 99th percentile of scoring latency over 5 minutes has been above {latency} \
                 for 10 minutes."
            ),
        ),
    ]
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
            tests.push(case(
                vec![retries(opts.max_retries + 1)],
                "5m",
                &r.alert,
                vec![expected(&r, &[("dag", d), ("task", "extract")])],
            ));
            tests.push(case(
                vec![retries(opts.max_retries)],
                "5m",
                &r.alert,
                vec![],
            ));
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
    tests.extend(serve_tests(&file.groups[g + 1].rules, opts));
    RuleTestFile {
        rule_files: vec![rule_file.to_owned()],
        evaluation_interval: "1m".into(),
        tests,
    }
}

/// Cases for [`serve_rules`], with request counts derived from the thresholds so that each
/// case stays on its side of them whatever the user chose.
fn serve_tests(rules: &[AlertRule], opts: &RuleOptions) -> Vec<RuleTest> {
    let mut tests = Vec::new();
    let model = [("model", "churn")];
    let find = |name: &str| rules.iter().find(|r| r.alert == name);
    if let Some(r) = find("OxflowServeErrorRatioHigh") {
        // 1,000 requests a minute; the failing case has twice the threshold's share of 5xx,
        // the healthy one half of it.
        let requests = |code: &str, per_minute: u64| {
            series(
                SERVE_REQUESTS_TOTAL,
                &[("model", "churn"), ("code", code), ("job", "serve")],
                format!("0+{per_minute}x20"),
            )
        };
        let failing = |share: f64| {
            let errors = ((share * 1000.0).ceil() as u64).min(1000);
            vec![requests("200", 1000 - errors), requests("503", errors)]
        };
        tests.push(case(
            failing(2.0 * opts.max_error_ratio),
            "12m",
            &r.alert,
            vec![expected(r, &model)],
        ));
        let healthy_errors = (opts.max_error_ratio * 500.0).floor() as u64;
        tests.push(case(
            vec![
                requests("200", 1000 - healthy_errors),
                requests("500", healthy_errors),
            ],
            "12m",
            &r.alert,
            vec![],
        ));
    }
    if let Some(r) = find("OxflowServeLatencyHigh") {
        // Buckets at a quarter of the threshold and four times it: all requests in the
        // first give a p99 under the threshold, all in the second one above it.
        let t = opts.max_p99_latency.as_secs_f64();
        let bucket = |le: &str, per_minute: u64| {
            series(
                &format!("{SERVE_REQUEST_DURATION_SECONDS}_bucket"),
                &[("model", "churn"), ("le", le), ("job", "serve")],
                format!("0+{per_minute}x30"),
            )
        };
        let (low, high) = (number(t / 4.0), number(t * 4.0));
        let requests =
            |fast: u64| vec![bucket(&low, fast), bucket(&high, 100), bucket("+Inf", 100)];
        tests.push(case(
            requests(0),
            "20m",
            &r.alert,
            vec![expected(r, &model)],
        ));
        tests.push(case(requests(100), "20m", &r.alert, vec![]));
    }
    tests
}

#[cfg(test)]
mod tests {
    use super::*;

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
