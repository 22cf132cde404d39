//! Every metric oxflow records, named once.
//!
//! The runtime records only through the [`metrics`] facade; the binary chooses the exporter
//! (a pipeline binary installs [`export`]'s with `--metrics-addr` or `--pushgateway`). Names follow
//! Prometheus conventions: `oxflow_` prefix, `_total` counters, `_seconds` histograms, and no run
//! ids in labels, so the number of series stays bounded by DAGs × tasks × states.
//!
//! [`export`] installs the Prometheus exporter: `/metrics` for scraping, a push to a
//! Pushgateway when a batch run ends.
//!
//! ```
//! oxflow_runtime::telemetry::describe();
//! assert!(oxflow_runtime::telemetry::TASK_RUNS_TOTAL.starts_with("oxflow_"));
//! ```

pub mod export;
pub(crate) mod handles;
mod registry;

pub use handles::keep_handles_of_global_recorder;

/// Counter: finished task instances, labelled `dag`, `task`, `state` (success, failed,
/// upstream_failed, skipped).
pub const TASK_RUNS_TOTAL: &str = "oxflow_task_runs_total";
/// Histogram: duration of each task attempt in seconds, labelled `dag`, `task`.
pub const TASK_DURATION_SECONDS: &str = "oxflow_task_duration_seconds";
/// Counter: task attempts that failed and will be retried, labelled `dag`, `task`.
pub const TASK_RETRIES_TOTAL: &str = "oxflow_task_retries_total";
/// Gauge: task attempts running now, labelled `dag`.
pub const TASKS_RUNNING: &str = "oxflow_tasks_running";
/// Counter: pokes of sensors, labelled `dag`, `task`, `result` (`not_ready`, `ready`, `error`).
pub const SENSOR_POKES_TOTAL: &str = "oxflow_sensor_pokes_total";
/// Counter: sensors that reached their timeout before their condition was met, labelled
/// `dag`, `task` (they then ended `failed`, or `skipped` with `soft_fail`).
pub const SENSOR_TIMEOUTS_TOTAL: &str = "oxflow_sensor_timeouts_total";
/// Label of [`SENSOR_POKES_TOTAL`]: what the poke found.
pub const LABEL_POKE_RESULT: &str = "result";
/// Counter: finished DAG runs, labelled `dag`, `state` (success, failed, killed).
pub const DAG_RUNS_TOTAL: &str = "oxflow_dag_runs_total";
/// Histogram: duration of each DAG run in seconds, labelled `dag`.
pub const DAG_RUN_DURATION_SECONDS: &str = "oxflow_dag_run_duration_seconds";
/// Gauge: Unix time in seconds of the last successful run of a DAG, labelled `dag`.
pub const DAG_LAST_SUCCESS_TIMESTAMP_SECONDS: &str = "oxflow_dag_last_success_timestamp_seconds";
/// Counter: DAG runs started, labelled `dag`, `trigger` (scheduled, manual, backfill).
pub const DAG_RUNS_TRIGGERED_TOTAL: &str = "oxflow_dag_runs_triggered_total";
/// Histogram: how late the scheduler started a due DAG run (start time minus due time) in
/// seconds, labelled `dag`, with [`LATENCY_BUCKETS`].
pub const SCHEDULER_LAG_SECONDS: &str = "oxflow_scheduler_lag_seconds";
/// Counter: scheduled intervals skipped because `max_active_runs` runs were active
/// (`overlap = "skip"`), labelled `dag`.
pub const SCHEDULER_SKIPPED_TOTAL: &str = "oxflow_scheduler_skipped_runs_total";
/// Gauge: DAG runs the scheduler has recorded `queued` that wait for a slot, labelled `dag`.
pub const SCHEDULER_QUEUED_RUNS: &str = "oxflow_scheduler_queued_runs";

// Drift checks (`drift::metrics` records them): bounded labels `feature` (a column of the
// schema) and `method` (a test name).

/// Drift score per feature and method (a p-value or a distance, see `method`).
pub const DRIFT_SCORE: &str = "oxflow_drift_score";
/// 1 when a feature drifted in the last check, else 0.
pub const DRIFT_DETECTED: &str = "oxflow_drift_detected";
/// Share of tested columns that drifted in the last check (0–1).
pub const SHARE_DRIFTED_COLUMNS: &str = "oxflow_drift_share_drifted_columns";
/// 1 when the last check found dataset drift, else 0.
pub const DATASET_DRIFT: &str = "oxflow_drift_dataset_drift";
/// Label of the column in per-feature gauges.
pub const LABEL_FEATURE: &str = "feature";
/// Label of the test in [`DRIFT_SCORE`].
pub const LABEL_METHOD: &str = "method";

// Scoring servers (`oxflow serve`): bounded labels `model` (the registered model's name, or the
// model URI's last part), `code` (the HTTP status), `column` (a column of the signature).

/// Counter: scoring requests answered, labelled `model`, `code` (HTTP status, such as `200`).
pub const SERVE_REQUESTS_TOTAL: &str = "oxflow_serve_requests_total";
/// Histogram: time from request to response in seconds, labelled `model`, with
/// [`LATENCY_BUCKETS`].
pub const SERVE_REQUEST_DURATION_SECONDS: &str = "oxflow_serve_request_duration_seconds";
/// Counter: rows scored, labelled `model`.
pub const SERVE_ROWS_TOTAL: &str = "oxflow_serve_rows_scored_total";
/// Gauge: scoring requests being answered now, labelled `model`.
pub const SERVE_IN_FLIGHT: &str = "oxflow_serve_requests_in_flight";
/// Counter: requests refused by schema enforcement, labelled `model`, `column` (a column of
/// the signature; `_request` when the request as a whole is malformed).
pub const SERVE_SCHEMA_ERRORS_TOTAL: &str = "oxflow_serve_schema_errors_total";
/// Counter: scored requests whose rows did not reach the live drift window because its queue
/// was full, labelled `model`.
pub const SERVE_DRIFT_SAMPLES_DROPPED_TOTAL: &str = "oxflow_serve_drift_samples_dropped_total";
/// Gauge: 1 for the model version a server is answering with, labelled `model`, `version`,
/// `alias` (the alias or stage it was loaded by, empty when loaded by version or path).
pub const MODEL_INFO: &str = "oxflow_model_info";
/// Gauge: the latest value of a tracked metric mirrored from a run
/// ([`Run::mirror_metric`](crate::tracking::Run::mirror_metric)), labelled `model`, `metric`.
pub const MODEL_METRIC: &str = "oxflow_model_metric";
/// Label of the model in serving metrics and live drift gauges.
pub const LABEL_MODEL: &str = "model";

/// Histogram buckets, in seconds, for scoring latency (50 µs to 10 s).
pub const LATENCY_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 10.0,
];

/// Histogram buckets, in seconds, that suit task and DAG durations (1 ms to 1 h). Prometheus
/// exporters need explicit buckets, or they export summaries.
pub const DURATION_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.025, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];

/// Registers the unit and help text of every metric with the installed recorder.
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(TASK_RUNS_TOTAL, "Finished task instances by final state.");
    describe_histogram!(
        TASK_DURATION_SECONDS,
        Unit::Seconds,
        "Duration of task attempts."
    );
    describe_counter!(
        TASK_RETRIES_TOTAL,
        "Task attempts that failed and are retried."
    );
    describe_gauge!(TASKS_RUNNING, "Task attempts running now.");
    describe_counter!(
        SENSOR_POKES_TOTAL,
        "Sensor pokes, by what they found (not_ready, ready, error)."
    );
    describe_counter!(
        SENSOR_TIMEOUTS_TOTAL,
        "Sensors that timed out before their condition was met."
    );
    describe_counter!(DAG_RUNS_TOTAL, "Finished DAG runs by final state.");
    describe_histogram!(
        DAG_RUN_DURATION_SECONDS,
        Unit::Seconds,
        "Duration of DAG runs."
    );
    describe_gauge!(
        DAG_LAST_SUCCESS_TIMESTAMP_SECONDS,
        Unit::Seconds,
        "Unix time of the last successful DAG run."
    );
    describe_counter!(
        DAG_RUNS_TRIGGERED_TOTAL,
        "DAG runs started, by what started them (scheduled, manual, backfill)."
    );
    describe_histogram!(
        SCHEDULER_LAG_SECONDS,
        Unit::Seconds,
        "How late the scheduler started due DAG runs: start time minus due time."
    );
    describe_counter!(
        SCHEDULER_SKIPPED_TOTAL,
        "Scheduled DAG runs skipped because max_active_runs runs were active."
    );
    describe_gauge!(
        SCHEDULER_QUEUED_RUNS,
        "DAG runs queued by the scheduler, waiting for a max_active_runs slot."
    );
    describe_counter!(
        SERVE_REQUESTS_TOTAL,
        "Scoring requests answered, by HTTP status."
    );
    describe_histogram!(
        SERVE_REQUEST_DURATION_SECONDS,
        Unit::Seconds,
        "Time from scoring request to response."
    );
    describe_counter!(SERVE_ROWS_TOTAL, "Rows scored.");
    describe_gauge!(SERVE_IN_FLIGHT, "Scoring requests being answered now.");
    describe_counter!(
        SERVE_SCHEMA_ERRORS_TOTAL,
        "Scoring requests refused by schema enforcement, by column."
    );
    describe_counter!(
        SERVE_DRIFT_SAMPLES_DROPPED_TOTAL,
        "Scored requests left out of the live drift window because its queue was full."
    );
    describe_gauge!(
        MODEL_METRIC,
        "Latest value of a tracked metric mirrored from a run, by model and metric."
    );
    describe_gauge!(
        MODEL_INFO,
        "1 for the model version a scoring server answers with."
    );
    crate::drift::metrics::describe();
}
