//! Grafana dashboards for oxflow, built from typed structures (Grafana's classic dashboard
//! JSON, the model file provisioning loads): pipelines, scoring servers and drift.
//!
//! Every panel queries the data source [`DATASOURCE_UID`] and only metrics named in
//! [`crate::telemetry`] (and Prometheus's own `probe_success`).
//!
//! ```
//! use oxflow_runtime::monitor::dashboards::dashboards;
//! let all = dashboards();
//! assert_eq!(all.len(), 3);
//! let json = all[0].to_json()?;
//! assert!(json.contains("oxflow_dag_runs_total"));
//! # Ok::<(), serde_json::Error>(())
//! ```

use serde::Serialize;

use super::grafana::DATASOURCE_UID;
use crate::telemetry::{
    DAG_LAST_SUCCESS_TIMESTAMP_SECONDS, DAG_RUN_DURATION_SECONDS, DAG_RUNS_TOTAL, DATASET_DRIFT,
    DRIFT_DETECTED, DRIFT_SCORE, MODEL_INFO, SERVE_IN_FLIGHT, SERVE_REQUEST_DURATION_SECONDS,
    SERVE_REQUESTS_TOTAL, SERVE_ROWS_TOTAL, SERVE_SCHEMA_ERRORS_TOTAL, SHARE_DRIFTED_COLUMNS,
    TASK_DURATION_SECONDS, TASK_RETRIES_TOTAL, TASK_RUNS_TOTAL, TASKS_RUNNING,
};

/// The `schemaVersion` written: Grafana migrates older versions on load, so a fixed one keeps
/// the files stable.
pub const SCHEMA_VERSION: u32 = 39;

/// A dashboard, as a provisioned JSON file holds it (the bare object, not the HTTP API's
/// `{"dashboard": ...}` envelope).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dashboard {
    /// Stable id: links and provisioning updates find the dashboard by it.
    pub uid: String,
    /// Its title.
    pub title: String,
    /// Tags, for search.
    pub tags: Vec<String>,
    /// `browser`: times in the viewer's zone.
    pub timezone: String,
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The file's version.
    pub version: u32,
    /// Whether the UI offers to edit it.
    pub editable: bool,
    /// The time range shown when it opens.
    pub time: TimeRange,
    /// How often it refreshes (`30s`).
    pub refresh: String,
    /// Its variables.
    pub templating: Templating,
    /// Its panels.
    pub panels: Vec<Panel>,
}

/// A time range in Grafana's relative syntax.
#[derive(Debug, Clone, Serialize)]
pub struct TimeRange {
    /// Start, such as `now-6h`.
    pub from: String,
    /// End, `now`.
    pub to: String,
}

/// `templating`.
#[derive(Debug, Clone, Serialize)]
pub struct Templating {
    /// The variables.
    pub list: Vec<Variable>,
}

/// A dashboard variable whose values come from a label (`label_values(metric, label)`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Variable {
    /// Its name, used as `$name` in queries.
    pub name: String,
    /// Its label in the UI.
    pub label: String,
    /// `query`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Where the values come from.
    pub datasource: DatasourceRef,
    /// The query listing the values.
    pub query: VariableQuery,
    /// The query as text (Grafana shows it).
    pub definition: String,
    /// 2: reload the values when the time range changes.
    pub refresh: u8,
    /// Offer "All".
    pub include_all: bool,
    /// "All" as a regular expression matching every value.
    pub all_value: String,
    /// Several values at once.
    pub multi: bool,
    /// Values sorted alphabetically (1).
    pub sort: u8,
}

/// The query of a [`Variable`].
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VariableQuery {
    /// `label_values(metric, label)`.
    pub query: String,
    /// Its reference id.
    pub ref_id: String,
}

/// A reference to a data source.
#[derive(Debug, Clone, Serialize)]
pub struct DatasourceRef {
    /// `prometheus`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its uid.
    pub uid: String,
}

/// The kind of a panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PanelKind {
    /// Lines over time.
    Timeseries,
    /// One big number per series.
    Stat,
    /// Rows of the last values.
    Table,
}

/// A panel.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Panel {
    /// Unique within the dashboard.
    pub id: u32,
    /// What it draws.
    #[serde(rename = "type")]
    pub kind: PanelKind,
    /// Its title.
    pub title: String,
    /// What it shows, for the reader.
    pub description: String,
    /// Where it sits on the 24-column grid.
    pub grid_pos: GridPos,
    /// The data source of its queries.
    pub datasource: DatasourceRef,
    /// Its queries.
    pub targets: Vec<Target>,
    /// The unit of its values.
    pub field_config: FieldConfig,
}

/// A panel's place: `x` + `w` at most 24.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct GridPos {
    /// Column.
    pub x: u32,
    /// Row.
    pub y: u32,
    /// Width in columns.
    pub w: u32,
    /// Height in rows.
    pub h: u32,
}

/// One PromQL query of a panel.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    /// `A`, `B`, ...
    pub ref_id: String,
    /// The PromQL expression; `$__rate_interval` and variables are filled in by Grafana.
    pub expr: String,
    /// The name of each series, `{{label}}` filled in.
    pub legend_format: String,
    /// Ask for the last value only, not a range.
    pub instant: bool,
}

/// `fieldConfig`.
#[derive(Debug, Clone, Serialize)]
pub struct FieldConfig {
    /// Settings of every field.
    pub defaults: FieldDefaults,
    /// Per-field exceptions (none).
    pub overrides: Vec<serde_json::Value>,
}

/// `fieldConfig.defaults`.
#[derive(Debug, Clone, Serialize)]
pub struct FieldDefaults {
    /// Grafana's unit id: `s`, `reqps`, `percentunit`, `short`, `dateTimeFromNow`.
    pub unit: String,
}

impl Dashboard {
    /// The dashboard as pretty JSON, the file Grafana provisions.
    pub fn to_json(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string_pretty(self)
    }

    /// Every PromQL expression of its panels.
    pub fn exprs(&self) -> impl Iterator<Item = &str> {
        self.panels
            .iter()
            .flat_map(|p| p.targets.iter().map(|t| t.expr.as_str()))
    }
}

fn datasource() -> DatasourceRef {
    DatasourceRef {
        kind: "prometheus".into(),
        uid: DATASOURCE_UID.into(),
    }
}

/// A variable over the values of `label` on `metric`, "All" by default.
fn variable(name: &str, label: &str, metric: &str) -> Variable {
    let query = format!("label_values({metric}, {name})");
    Variable {
        name: name.to_owned(),
        label: label.to_owned(),
        kind: "query".into(),
        datasource: datasource(),
        query: VariableQuery {
            query: query.clone(),
            ref_id: name.to_owned(),
        },
        definition: query,
        refresh: 2,
        include_all: true,
        all_value: ".*".into(),
        multi: true,
        sort: 1,
    }
}

/// A panel before layout: its place is given by [`dashboard`].
struct PanelSpec {
    kind: PanelKind,
    title: &'static str,
    description: &'static str,
    unit: &'static str,
    /// (expression, legend)
    queries: Vec<(String, &'static str)>,
}

fn panel(
    kind: PanelKind,
    title: &'static str,
    description: &'static str,
    unit: &'static str,
    queries: Vec<(String, &'static str)>,
) -> PanelSpec {
    PanelSpec {
        kind,
        title,
        description,
        unit,
        queries,
    }
}

/// Lays the panels out two to a row, numbering them and their queries.
fn dashboard(
    uid: &str,
    title: &str,
    variables: Vec<Variable>,
    panels: Vec<PanelSpec>,
) -> Dashboard {
    const W: u32 = 12;
    const H: u32 = 8;
    let panels = panels
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let i = i as u32;
            Panel {
                id: i + 1,
                kind: p.kind,
                title: p.title.to_owned(),
                description: p.description.to_owned(),
                grid_pos: GridPos {
                    x: (i % 2) * W,
                    y: (i / 2) * H,
                    w: W,
                    h: H,
                },
                datasource: datasource(),
                targets: p
                    .queries
                    .into_iter()
                    .zip('A'..='Z')
                    .map(|((expr, legend), id)| Target {
                        ref_id: id.to_string(),
                        expr,
                        legend_format: legend.to_owned(),
                        instant: p.kind != PanelKind::Timeseries,
                    })
                    .collect(),
                field_config: FieldConfig {
                    defaults: FieldDefaults {
                        unit: p.unit.to_owned(),
                    },
                    overrides: Vec::new(),
                },
            }
        })
        .collect();
    Dashboard {
        uid: uid.to_owned(),
        title: title.to_owned(),
        tags: vec!["oxflow".into()],
        timezone: "browser".into(),
        schema_version: SCHEMA_VERSION,
        version: 1,
        editable: true,
        time: TimeRange {
            from: "now-24h".into(),
            to: "now".into(),
        },
        refresh: "30s".into(),
        templating: Templating { list: variables },
        panels,
    }
}

/// DAG runs by state, durations, retries, the time since each DAG's last success.
///
/// Counters are read as they are: a pushed batch run holds its last run's values until the next
/// push, a long-running process's grow; both read right as "how many so far".
pub fn pipelines() -> Dashboard {
    use PanelKind::*;
    let dag = r#"dag=~"$dag""#;
    dashboard(
        "oxflow-pipelines",
        "oxflow pipelines",
        vec![variable("dag", "DAG", DAG_RUNS_TOTAL)],
        vec![
            panel(
                Timeseries,
                "DAG runs by state",
                "Finished DAG runs, by final state (pushed runs: the last run's).",
                "short",
                vec![(
                    format!("sum by (dag, state) ({DAG_RUNS_TOTAL}{{{dag}}})"),
                    "{{dag}} {{state}}",
                )],
            ),
            panel(
                Stat,
                "Time since last success",
                "How long ago each DAG last succeeded.",
                "s",
                vec![(
                    format!(
                        "time() - max by (dag) ({DAG_LAST_SUCCESS_TIMESTAMP_SECONDS}{{{dag}}})"
                    ),
                    "{{dag}}",
                )],
            ),
            panel(
                Timeseries,
                "Task runs by state",
                "Finished task instances, by final state.",
                "short",
                vec![(
                    format!("sum by (dag, state) ({TASK_RUNS_TOTAL}{{{dag}}})"),
                    "{{dag}} {{state}}",
                )],
            ),
            panel(
                Timeseries,
                "DAG run duration (mean)",
                "Mean duration of the DAG runs reported.",
                "s",
                vec![(
                    format!(
                        "sum by (dag) ({DAG_RUN_DURATION_SECONDS}_sum{{{dag}}}) \
                         / sum by (dag) ({DAG_RUN_DURATION_SECONDS}_count{{{dag}}})"
                    ),
                    "{{dag}}",
                )],
            ),
            panel(
                Timeseries,
                "Task duration p90",
                "90th percentile of task attempt durations, from the histogram buckets.",
                "s",
                vec![(
                    format!(
                        "histogram_quantile(0.9, sum by (dag, task, le) \
                         ({TASK_DURATION_SECONDS}_bucket{{{dag}}}))"
                    ),
                    "{{dag}}/{{task}}",
                )],
            ),
            panel(
                Timeseries,
                "Task retries",
                "Task attempts that failed and were retried.",
                "short",
                vec![(
                    format!("sum by (dag, task) ({TASK_RETRIES_TOTAL}{{{dag}}})"),
                    "{{dag}}/{{task}}",
                )],
            ),
            panel(
                Timeseries,
                "Tasks running",
                "Task attempts running now, in processes Prometheus scrapes.",
                "short",
                vec![(
                    format!("sum by (dag) ({TASKS_RUNNING}{{{dag}}})"),
                    "{{dag}}",
                )],
            ),
        ],
    )
}

/// Throughput, latency quantiles from the histogram, errors, the model version answering, and
/// whether each server answers its ping.
pub fn serving() -> Dashboard {
    use PanelKind::*;
    let model = r#"model=~"$model""#;
    let rate = |selector: &str| {
        format!("sum by (model) (rate({SERVE_REQUESTS_TOTAL}{{{selector}}}[$__rate_interval]))")
    };
    let quantile = |q: &str| {
        format!(
            "histogram_quantile({q}, sum by (model, le) \
             (rate({SERVE_REQUEST_DURATION_SECONDS}_bucket{{{model}}}[$__rate_interval])))"
        )
    };
    dashboard(
        "oxflow-serving",
        "oxflow serving",
        vec![variable("model", "Model", SERVE_REQUESTS_TOTAL)],
        vec![
            panel(
                Timeseries,
                "Requests per second",
                "Scoring requests answered, per model.",
                "reqps",
                vec![(rate(model), "{{model}}")],
            ),
            panel(
                Timeseries,
                "Latency quantiles",
                "Time from request to response: p50, p90 and p99 over the rate interval.",
                "s",
                vec![
                    (quantile("0.5"), "{{model}} p50"),
                    (quantile("0.9"), "{{model}} p90"),
                    (quantile("0.99"), "{{model}} p99"),
                ],
            ),
            panel(
                Timeseries,
                "Error ratio (5xx)",
                "Share of requests answered with a 5xx status.",
                "percentunit",
                vec![(
                    format!(
                        "{} / {}",
                        rate(&format!(r#"{model},code=~"5..""#)),
                        rate(model)
                    ),
                    "{{model}}",
                )],
            ),
            panel(
                Timeseries,
                "Responses by status",
                "Requests per second, by HTTP status.",
                "reqps",
                vec![(
                    format!(
                        "sum by (model, code) \
                         (rate({SERVE_REQUESTS_TOTAL}{{{model}}}[$__rate_interval]))"
                    ),
                    "{{model}} {{code}}",
                )],
            ),
            panel(
                Timeseries,
                "Schema errors",
                "Requests refused by schema enforcement, per column.",
                "reqps",
                vec![(
                    format!(
                        "sum by (model, column) \
                         (rate({SERVE_SCHEMA_ERRORS_TOTAL}{{{model}}}[$__rate_interval]))"
                    ),
                    "{{model}} {{column}}",
                )],
            ),
            panel(
                Timeseries,
                "Rows scored per second and requests in flight",
                "Rows scored, and requests being answered now.",
                "short",
                vec![
                    (
                        format!(
                            "sum by (model) (rate({SERVE_ROWS_TOTAL}{{{model}}}[$__rate_interval]))"
                        ),
                        "{{model}} rows/s",
                    ),
                    (
                        format!("sum by (model) ({SERVE_IN_FLIGHT}{{{model}}})"),
                        "{{model}} in flight",
                    ),
                ],
            ),
            panel(
                Table,
                "Model version",
                "The model version each server answers with, and the alias it was loaded by.",
                "short",
                vec![(
                    format!("max by (model, version, alias, instance) ({MODEL_INFO}{{{model}}})"),
                    "{{model}} v{{version}} {{alias}}",
                )],
            ),
            panel(
                Stat,
                "Ping",
                "1 when the blackbox exporter's probe of the server's /ping succeeds.",
                "short",
                vec![("max by (instance) (probe_success)".into(), "{{instance}}")],
            ),
        ],
    )
}

/// Per-feature drift scores over time, which features drifted, and dataset drift.
pub fn drift() -> Dashboard {
    use PanelKind::*;
    let feature = r#"feature=~"$feature""#;
    dashboard(
        "oxflow-drift",
        "oxflow drift",
        vec![variable("feature", "Feature", DRIFT_DETECTED)],
        vec![
            panel(
                Timeseries,
                "Drift score per feature",
                "Each feature's score: a p-value (ks, chisquare, z) or a distance, see the method.",
                "short",
                vec![(
                    format!("max by (feature, method) ({DRIFT_SCORE}{{{feature}}})"),
                    "{{feature}} ({{method}})",
                )],
            ),
            panel(
                Timeseries,
                "Drifted features",
                "1 while the last check found the feature drifted.",
                "short",
                vec![(
                    format!("max by (feature) ({DRIFT_DETECTED}{{{feature}}})"),
                    "{{feature}}",
                )],
            ),
            panel(
                Timeseries,
                "Share of drifted columns",
                "Share of the tested columns that drifted, per check.",
                "percentunit",
                vec![(format!("max by (job) ({SHARE_DRIFTED_COLUMNS})"), "{{job}}")],
            ),
            panel(
                Stat,
                "Dataset drift",
                "1 when the last check found dataset drift.",
                "short",
                vec![(format!("max by (job) ({DATASET_DRIFT})"), "{{job}}")],
            ),
        ],
    )
}

/// The three dashboards: [`pipelines`], [`serving`], [`drift`].
pub fn dashboards() -> Vec<Dashboard> {
    vec![pipelines(), serving(), drift()]
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn panels_have_unique_ids_and_fit_the_grid() {
        for d in dashboards() {
            let ids: HashSet<u32> = d.panels.iter().map(|p| p.id).collect();
            assert_eq!(ids.len(), d.panels.len(), "{}", d.uid);
            for p in &d.panels {
                assert!(p.grid_pos.x + p.grid_pos.w <= 24, "{}", p.title);
                assert!(!p.targets.is_empty(), "{}", p.title);
                assert_eq!(p.datasource.uid, DATASOURCE_UID);
            }
        }
    }

    #[test]
    fn every_query_names_an_oxflow_metric_and_balanced_brackets() {
        for d in dashboards() {
            for expr in d.exprs() {
                assert!(
                    expr.contains("oxflow_") || expr.contains("probe_success"),
                    "{expr}"
                );
                for (open, close) in [('(', ')'), ('{', '}'), ('[', ']')] {
                    assert_eq!(
                        expr.matches(open).count(),
                        expr.matches(close).count(),
                        "{expr}"
                    );
                }
            }
        }
    }

    /// The `oxflow_...` names in an expression, without a histogram's series suffix.
    fn metric_names(expr: &str) -> Vec<String> {
        let mut names = Vec::new();
        let mut rest = expr;
        while let Some(i) = rest.find("oxflow_") {
            let name: String = rest[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            rest = &rest[i + name.len()..];
            let base = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(&name);
            names.push(base.to_owned());
        }
        names
    }

    #[test]
    fn every_metric_queried_is_one_oxflow_exports() {
        use crate::telemetry as t;
        let known = [
            t::TASK_RUNS_TOTAL,
            t::TASK_DURATION_SECONDS,
            t::TASK_RETRIES_TOTAL,
            t::TASKS_RUNNING,
            t::DAG_RUNS_TOTAL,
            t::DAG_RUN_DURATION_SECONDS,
            t::DAG_LAST_SUCCESS_TIMESTAMP_SECONDS,
            t::DRIFT_SCORE,
            t::DRIFT_DETECTED,
            t::SHARE_DRIFTED_COLUMNS,
            t::DATASET_DRIFT,
            t::SERVE_REQUESTS_TOTAL,
            t::SERVE_REQUEST_DURATION_SECONDS,
            t::SERVE_ROWS_TOTAL,
            t::SERVE_IN_FLIGHT,
            t::SERVE_SCHEMA_ERRORS_TOTAL,
            t::MODEL_INFO,
        ];
        let rules = crate::monitor::rules::alert_rules(&[], &Default::default());
        let exprs = dashboards()
            .iter()
            .flat_map(|d| d.exprs().map(str::to_owned).collect::<Vec<_>>())
            .chain(
                rules
                    .groups
                    .iter()
                    .flat_map(|g| g.rules.iter().map(|r| r.expr.clone())),
            )
            .collect::<Vec<_>>();
        let mut seen = HashSet::new();
        for expr in &exprs {
            for name in metric_names(expr) {
                assert!(known.contains(&name.as_str()), "{name} in {expr}");
                seen.insert(name);
            }
        }
        // Every metric a user would look at is on a dashboard or in a rule.
        assert_eq!(seen.len(), known.len(), "{seen:?}");
    }

    #[test]
    fn the_json_is_grafana_s_classic_model() {
        let json: serde_json::Value = serde_json::from_str(&serving().to_json().unwrap()).unwrap();
        assert_eq!(json["schemaVersion"], SCHEMA_VERSION);
        assert_eq!(json["uid"], "oxflow-serving");
        let panel = &json["panels"][1];
        assert_eq!(panel["type"], "timeseries");
        assert_eq!(panel["gridPos"]["x"], 12);
        assert_eq!(panel["targets"][2]["refId"], "C");
        assert_eq!(panel["fieldConfig"]["defaults"]["unit"], "s");
        assert_eq!(json["templating"]["list"][0]["allValue"], ".*");
    }
}
