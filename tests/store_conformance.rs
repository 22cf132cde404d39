//! One suite of behaviour tests run against every tracking backend: MLflow's SQLite schema
//! (`SqlStore`), MLflow's file store (`FileStore`), and — ignored unless
//! `OXFLOW_TEST_MLFLOW_URI` names one — a live MLflow tracking server.
//!
//! Each backend is a `Backend` value; the `suite!` macro makes one test per behaviour and
//! backend. The registry suite runs where a backend keeps a registry: adding one is one line.

use std::path::Path;

use oxflow::tracking::{
    Dataset, DatasetInput, FileStore, LoggedModelStatus, Metric, ModelVersionQuery, NewLoggedModel,
    NewModelVersion, Run, RunOptions, RunRecord, RunStatus, SqlStore, Stage, TrackingError,
    TrackingStore, ViewType,
};

/// A backend under test.
struct Backend {
    /// Opens a fresh store inside `dir` (or on the server).
    open: fn(&Path) -> Option<TrackingStore>,
    /// Whether an exact duplicate metric value is dropped (MLflow's SQL stores) or kept (the
    /// file store appends every line).
    drops_duplicate_metrics: bool,
    /// Whether artifacts are local files.
    local_artifacts: bool,
}

const SQLITE: Backend = Backend {
    open: |dir| Some(SqlStore::open(dir.join("mlflow.db")).unwrap().into()),
    drops_duplicate_metrics: true,
    local_artifacts: true,
};

const FILE: Backend = Backend {
    open: |dir| Some(FileStore::open(dir.join("mlruns")).unwrap().into()),
    drops_duplicate_metrics: false,
    local_artifacts: true,
};

const SERVER: Backend = Backend {
    open: |_| match std::env::var("OXFLOW_TEST_MLFLOW_URI") {
        Ok(uri) if !uri.is_empty() => Some(TrackingStore::open_uri(&uri).unwrap()),
        _ => {
            eprintln!("skipped: set OXFLOW_TEST_MLFLOW_URI to an MLflow server to run this");
            None
        }
    },
    drops_duplicate_metrics: true,
    local_artifacts: false,
};

macro_rules! one_test {
    ($backend:ident, [$($attr:meta),*], $test:ident) => {
        #[test]
        $(#[$attr])*
        fn $test() {
            let dir = tempfile::tempdir().unwrap();
            let Some(store) = (super::$backend.open)(dir.path()) else { return };
            super::$test(&super::$backend, &store);
        }
    };
}

macro_rules! suite {
    ($backend:ident, $attrs:tt, [$($test:ident),* $(,)?]) => {
        $( one_test!($backend, $attrs, $test); )*
    };
}

macro_rules! tracking_suite {
    ($backend:ident, $attrs:tt) => {
        suite!(
            $backend,
            $attrs,
            [
                experiments,
                runs,
                run_created_ended_with_artifacts,
                params_are_immutable,
                metrics_nan_inf_duplicates_and_history,
                latest_metric_rule,
                tags,
                experiment_tag_compare_and_set,
                delete_and_restore,
                search_filters_and_ordering,
                nan_sorts_after_numbers_before_missing,
                dataset_inputs_logged_and_read,
                dataset_input_limits_name_the_field,
                search_dataset_clauses,
                artifacts,
            ]
        );
    };
}

macro_rules! registry_suite {
    ($backend:ident, $attrs:tt) => {
        suite!(
            $backend,
            $attrs,
            [
                registry_models_versions_stages_aliases,
                registry_errors_name_the_thing,
                logged_models_params_tags_artifacts_and_versions,
            ]
        );
    };
}

mod sqlite {
    tracking_suite!(SQLITE, []);
    registry_suite!(SQLITE, []);
}

mod file {
    tracking_suite!(FILE, []);
    registry_suite!(FILE, []);
}

mod mlflow_server {
    tracking_suite!(SERVER, [ignore = "needs OXFLOW_TEST_MLFLOW_URI"]);
    registry_suite!(SERVER, [ignore = "needs OXFLOW_TEST_MLFLOW_URI"]);
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid_like()[..12])
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{n:x}{:x}", std::process::id())
        .chars()
        .rev()
        .collect()
}

fn named(name: &str) -> RunOptions {
    RunOptions {
        run_name: Some(name.into()),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------- tracking

fn experiments(_: &Backend, s: &TrackingStore) {
    let name = unique("exp");
    let a = s.get_or_create_experiment(&name).unwrap();
    let b = s.get_or_create_experiment(&name).unwrap();
    assert_eq!(a.experiment_id, b.experiment_id);
    assert_eq!(s.get_experiment(&a.experiment_id).unwrap().name, name);
    assert_eq!(
        s.get_experiment_by_name(&name)
            .unwrap()
            .unwrap()
            .experiment_id,
        a.experiment_id
    );
    assert!(s.get_experiment_by_name(&unique("nope")).unwrap().is_none());
    s.set_experiment_tag(&a.experiment_id, "team", "vision")
        .unwrap();
    assert_eq!(
        s.get_experiment(&a.experiment_id).unwrap().tags["team"],
        "vision"
    );
    let other = s.get_or_create_experiment(&format!("{name}-b")).unwrap();
    let names: Vec<String> = s
        .list_experiments(false)
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    let ia = names.iter().position(|n| *n == name).unwrap();
    let ib = names.iter().position(|n| *n == other.name).unwrap();
    assert!(ia < ib, "sorted by name: {names:?}");
    assert!(matches!(
        s.get_experiment("987654321").unwrap_err(),
        TrackingError::ExperimentNotFound { .. } | TrackingError::Server { .. }
    ));
}

fn runs(_: &Backend, s: &TrackingStore) {
    let exp = s.get_or_create_experiment(&unique("runs")).unwrap();
    let e = exp.experiment_id.as_str();
    let parent = s
        .create_run(
            e,
            RunOptions {
                run_name: Some("parent".into()),
                tags: vec![("team".into(), "vision".into())],
                start_time_ms: Some(1_000),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(parent.run_id.len(), 32);
    assert_eq!(parent.status, RunStatus::Running);
    let child = s
        .create_run(
            e,
            RunOptions {
                parent_run_id: Some(parent.run_id.clone()),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(!child.run_name.is_empty(), "a name is generated");
    let rec = s.get_run(&child.run_id).unwrap();
    assert_eq!(rec.parent_run_id(), Some(parent.run_id.as_str()));
    assert_eq!(rec.tags["mlflow.runName"], child.run_name);
    let rec = s.get_run(&parent.run_id).unwrap();
    assert_eq!(rec.info.run_name, "parent");
    assert_eq!(rec.info.start_time_ms, 1_000);
    assert_eq!(rec.info.experiment_id, exp.experiment_id);
    assert_eq!(rec.tags["team"], "vision");
    s.set_terminated(&parent.run_id, RunStatus::Finished, 2_000)
        .unwrap();
    let rec = s.get_run(&parent.run_id).unwrap();
    assert_eq!(rec.info.status, RunStatus::Finished);
    assert_eq!(rec.info.end_time_ms, Some(2_000));
    let from_tag = s
        .create_run(
            e,
            RunOptions {
                tags: vec![("mlflow.runName".into(), "tagged".into())],
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(from_tag.run_name, "tagged");
    assert!(matches!(
        s.get_run("0123456789abcdef0123456789abcdef").unwrap_err(),
        TrackingError::RunNotFound { .. } | TrackingError::Server { .. }
    ));
}

fn run_created_ended_with_artifacts(b: &Backend, s: &TrackingStore) {
    let exp = s.get_or_create_experiment(&unique("ended")).unwrap();
    let run = s
        .create_run(
            &exp.experiment_id,
            RunOptions {
                run_name: Some("done".into()),
                start_time_ms: Some(10),
                end: Some((RunStatus::Failed, 20)),
                artifacts: vec![("logs/task.log".into(), b"boom\n".to_vec())],
                ..Default::default()
            },
        )
        .unwrap();
    let rec = s.get_run(&run.run_id).unwrap();
    assert_eq!(rec.info.status, RunStatus::Failed);
    assert_eq!(rec.info.end_time_ms, Some(20));
    if b.local_artifacts {
        assert_eq!(
            s.read_artifact(&run.run_id, "logs/task.log").unwrap(),
            b"boom\n"
        );
    }
    let err = s
        .create_run(
            &exp.experiment_id,
            RunOptions {
                start_time_ms: Some(30),
                end: Some((RunStatus::Finished, 20)),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("before the start time"), "{err}");
}

fn params_are_immutable(_: &Backend, s: &TrackingStore) {
    let exp = s.get_or_create_experiment(&unique("params")).unwrap();
    let run = s.create_run(&exp.experiment_id, named("p")).unwrap();
    let id = run.run_id.as_str();
    s.log_param(id, "lr", "0.1").unwrap();
    s.log_param(id, "lr", "0.1").unwrap();
    let err = s.log_param(id, "lr", "0.2").unwrap_err();
    assert!(
        matches!(
            err,
            TrackingError::ParamChanged { .. } | TrackingError::Server { .. }
        ),
        "{err}"
    );
    // A batch that would change a param writes nothing, and takes nothing logged before it
    // with it.
    s.log_metric(id, "single", 2.0, 1, 0).unwrap();
    s.log_param(id, "depth", "3").unwrap();
    let err = s
        .log_batch(
            id,
            &[Metric {
                key: "m".into(),
                value: 1.0,
                timestamp_ms: 1,
                step: 0,
            }],
            &[("lr".into(), "0.3".into()), ("new".into(), "x".into())],
            &[("t".into(), "v".into())],
        )
        .unwrap_err();
    assert!(err.to_string().contains("lr"), "{err}");
    let rec = s.get_run(id).unwrap();
    assert_eq!(rec.params.len(), 2, "{:?}", rec.params);
    assert_eq!(rec.params["lr"], "0.1");
    assert_eq!(rec.params["depth"], "3");
    assert!(!rec.tags.contains_key("t"));
    assert_eq!(
        rec.metrics.keys().collect::<Vec<_>>(),
        ["single"],
        "only what was logged before the refused batch"
    );
    // A param logged again with another value is refused, stored or only buffered.
    s.log_param(id, "fresh", "a").unwrap();
    let err = s.log_param(id, "fresh", "b").unwrap_err();
    assert!(err.to_string().contains("fresh"), "{err}");
    assert_eq!(s.get_run(id).unwrap().params["fresh"], "a");
}

fn metrics_nan_inf_duplicates_and_history(b: &Backend, s: &TrackingStore) {
    let exp = s.get_or_create_experiment(&unique("metrics")).unwrap();
    let run = s.create_run(&exp.experiment_id, named("m")).unwrap();
    let id = run.run_id.as_str();
    let values = [0.5, f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 0.25];
    for (i, v) in values.iter().enumerate() {
        s.log_metric(id, "x", *v, 100 + i as i64, i as i64).unwrap();
    }
    s.log_metric(id, "x", 0.25, 104, 4).unwrap(); // an exact duplicate
    let hist = s.get_metric_history(id, "x").unwrap();
    let expected = if b.drops_duplicate_metrics { 5 } else { 6 };
    assert_eq!(hist.len(), expected, "{hist:?}");
    let mut got: Vec<(i64, f64)> = hist.iter().map(|m| (m.step, m.value)).collect();
    got.sort_by_key(|a| a.0);
    assert_eq!(got[0], (0, 0.5));
    assert!(got[1].1.is_nan());
    assert_eq!(got[2].1, f64::INFINITY);
    assert_eq!(got[3].1, f64::NEG_INFINITY);
    assert_eq!(got[4], (4, 0.25));
    let latest = &s.get_run(id).unwrap().metrics["x"];
    assert_eq!(
        (latest.step, latest.value, latest.timestamp_ms),
        (4, 0.25, 104)
    );

    // A batch, and values logged singly, all visible at once.
    let batch: Vec<Metric> = (0..1000)
        .map(|i| Metric {
            key: "y".into(),
            value: i as f64,
            timestamp_ms: 1,
            step: i,
        })
        .collect();
    s.log_batch(id, &batch, &[], &[]).unwrap();
    for i in 0..100 {
        s.log_metric(id, "z", i as f64, 1, i).unwrap();
    }
    assert_eq!(s.get_metric_history(id, "y").unwrap().len(), 1000);
    assert_eq!(s.get_metric_history(id, "z").unwrap().len(), 100);
    let rec = s.get_run(id).unwrap();
    assert_eq!(rec.metrics["y"].value, 999.0);
    assert_eq!(rec.metrics["z"].value, 99.0);
    assert!(s.get_metric_history(id, "never").unwrap().is_empty());
}

fn latest_metric_rule(_: &Backend, s: &TrackingStore) {
    let exp = s.get_or_create_experiment(&unique("latest")).unwrap();
    let run = s.create_run(&exp.experiment_id, named("l")).unwrap();
    let id = run.run_id.as_str();
    // Greatest (step, timestamp, value) wins, whatever the logging order.
    s.log_metric(id, "a", 5.0, 1, 2).unwrap();
    s.log_metric(id, "a", 7.0, 9, 1).unwrap();
    s.log_metric(id, "b", 1.0, 5, 0).unwrap();
    s.log_metric(id, "b", 3.0, 5, 0).unwrap();
    s.log_metric(id, "b", 2.0, 5, 0).unwrap();
    s.log_metric(id, "c", 1.0, 3, 0).unwrap();
    s.log_metric(id, "c", 0.0, 4, 0).unwrap();
    let m = s.get_run(id).unwrap().metrics;
    assert_eq!((m["a"].value, m["a"].step), (5.0, 2));
    assert_eq!(m["b"].value, 3.0);
    assert_eq!((m["c"].value, m["c"].timestamp_ms), (0.0, 4));
}

fn tags(_: &Backend, s: &TrackingStore) {
    let exp = s.get_or_create_experiment(&unique("tags")).unwrap();
    let run = s.create_run(&exp.experiment_id, named("before")).unwrap();
    let id = run.run_id.as_str();
    s.set_tags(id, &[("a", "1"), ("b", "2")]).unwrap();
    s.set_tag(id, "a", "3").unwrap();
    s.delete_tag(id, "b").unwrap();
    assert!(
        s.delete_tag(id, "b").is_err(),
        "deleting a missing tag fails"
    );
    s.set_tag(id, "mlflow.runName", "after").unwrap();
    let rec = s.get_run(id).unwrap();
    assert_eq!(rec.tags["a"], "3");
    assert!(!rec.tags.contains_key("b"));
    assert_eq!(rec.info.run_name, "after");
}

/// The scheduler's claim: a conditional experiment tag write that only one writer wins.
fn experiment_tag_compare_and_set(_: &Backend, s: &TrackingStore) {
    let exp = s.get_or_create_experiment(&unique("cas")).unwrap();
    let id = exp.experiment_id.as_str();
    assert!(
        s.compare_and_set_experiment_tag(id, "k", None, "1")
            .unwrap()
    );
    assert!(
        !s.compare_and_set_experiment_tag(id, "k", None, "2")
            .unwrap(),
        "absent expected, present found"
    );
    assert!(
        !s.compare_and_set_experiment_tag(id, "k", Some("0"), "2")
            .unwrap()
    );
    assert!(
        s.compare_and_set_experiment_tag(id, "k", Some("1"), "2")
            .unwrap()
    );
    assert_eq!(s.get_experiment(id).unwrap().tags["k"], "2");
    if !s.backend().atomic_experiment_tags() {
        return;
    }
    // Racing writers, each on its own handle (its own connection or lock file descriptor, as
    // another process would have): every step of the counter is won exactly once.
    let uri = s.uri();
    let wins: Vec<usize> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let uri = uri.clone();
                scope.spawn(move || {
                    let s = TrackingStore::open_uri(&uri).unwrap();
                    let mut won = 0;
                    for _ in 0..40 {
                        let now = s.get_experiment(id).unwrap().tags["k"].clone();
                        let next = (now.parse::<u32>().unwrap() + 1).to_string();
                        if s.compare_and_set_experiment_tag(id, "k", Some(&now), &next)
                            .unwrap()
                        {
                            won += 1;
                        }
                    }
                    won
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let total: usize = wins.iter().sum();
    let last: usize = s.get_experiment(id).unwrap().tags["k"].parse().unwrap();
    assert_eq!(
        last,
        2 + total,
        "each increment is won by one writer: {wins:?}"
    );
}

fn delete_and_restore(_: &Backend, s: &TrackingStore) {
    let exp = s.get_or_create_experiment(&unique("del")).unwrap();
    let e = exp.experiment_id.as_str();
    let run = s.create_run(e, named("d")).unwrap();
    let id = run.run_id.as_str();
    s.delete_run(id).unwrap();
    assert!(s.get_run(id).unwrap().info.is_deleted());
    let err = s.log_param(id, "a", "1").unwrap_err();
    assert!(
        matches!(
            err,
            TrackingError::RunDeleted { .. } | TrackingError::Server { .. }
        ),
        "{err}"
    );
    assert!(s.set_tag(id, "a", "1").is_err());
    assert!(
        s.log_metric(id, "m", 1.0, 1, 0)
            .and_then(|()| s.flush())
            .is_err()
    );
    let ids = |v: ViewType| -> Vec<String> {
        s.search_runs_view(&[e], "", &[], 100, v)
            .unwrap()
            .into_iter()
            .map(|r| r.info.run_id)
            .collect()
    };
    assert!(ids(ViewType::ActiveOnly).is_empty());
    assert_eq!(ids(ViewType::DeletedOnly), [id]);
    assert_eq!(ids(ViewType::All), [id]);
    s.restore_run(id).unwrap();
    s.log_param(id, "a", "1").unwrap();
    assert_eq!(ids(ViewType::ActiveOnly), [id]);
}

/// Builds the same runs in any store; returns the experiment id.
fn search_fixture(s: &TrackingStore) -> String {
    let exp = s.get_or_create_experiment(&unique("search")).unwrap();
    let e = exp.experiment_id.clone();
    let accs = [
        Some(0.9),
        Some(0.7),
        Some(f64::NAN),
        None,
        Some(0.2),
        Some(0.7),
        Some(f64::INFINITY),
    ];
    for (i, acc) in accs.iter().enumerate() {
        let r = s
            .create_run(
                &e,
                RunOptions {
                    run_name: Some(format!("r{i}")),
                    start_time_ms: Some(1_000 + i as i64 * 10),
                    ..Default::default()
                },
            )
            .unwrap();
        if let Some(a) = acc {
            s.log_metric(&r.run_id, "acc", *a, 1, 0).unwrap();
        }
        s.log_param(&r.run_id, "opt", if i % 3 == 0 { "adam" } else { "sgd" })
            .unwrap();
        if i % 2 == 0 {
            s.set_tag(&r.run_id, "kind", if i < 4 { "Base" } else { "Été" })
                .unwrap();
        }
        let inputs: Vec<DatasetInput> = fixture_inputs(i)
            .iter()
            .map(|(name, digest, context)| {
                DatasetInput::new(Dataset::new(*name, *digest, "local", "{}"), *context)
            })
            .collect();
        s.log_inputs(&r.run_id, &inputs).unwrap();
        if i < 3 {
            s.set_terminated(&r.run_id, RunStatus::Finished, 5_000 + i as i64)
                .unwrap();
        }
    }
    e
}

/// The dataset inputs (name, digest, context) of fixture run `r<i>`.
fn fixture_inputs(i: usize) -> Vec<(&'static str, &'static str, Option<&'static str>)> {
    match i {
        0 => vec![
            ("train", "d1", Some("training")),
            ("eval", "e1", Some("evaluation")),
        ],
        1 => vec![("train", "d1", Some("training"))],
        2 => vec![("train", "d2", None)],
        3 => vec![("eval", "e1", Some("evaluation"))],
        5 => vec![("Reference", "x9", Some("drift"))],
        _ => vec![],
    }
}

/// The queries compared across backends: filter and order_by.
fn search_cases() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("", vec![]),
        ("", vec!["metrics.acc DESC"]),
        ("", vec!["metrics.acc ASC"]),
        ("metrics.acc > 0.5", vec![]),
        ("metrics.acc != 0.7", vec!["run_name"]),
        ("metrics.acc >= 0.7 and params.opt = 'sgd'", vec![]),
        ("params.opt = 'adam'", vec!["metrics.acc"]),
        (
            "attributes.status != 'FINISHED'",
            vec!["params.opt", "run_name DESC"],
        ),
        ("params.opt != 'adam'", vec!["tags.kind DESC"]),
        ("params.opt LIKE '%d%'", vec!["params.opt"]),
        ("tags.kind IS NULL", vec![]),
        ("tags.kind IS NOT NULL", vec!["tags.kind"]),
        ("tags.kind ILIKE 'été'", vec![]),
        ("tags.kind LIKE 'B%'", vec![]),
        ("tags.kind LIKE 'b%'", vec![]),
        (
            "attributes.status = 'FINISHED'",
            vec!["attributes.end_time DESC"],
        ),
        ("attributes.end_time > 0", vec![]),
        ("run_name LIKE 'r_'", vec!["start_time ASC"]),
        ("attributes.start_time >= 1020", vec![]),
        ("tags.mlflow.runName = 'r3'", vec![]),
        ("metrics.missing < 1", vec![]),
        ("", vec!["metrics.acc DESC", "run_name"]),
        ("metrics.acc != 0.2", vec!["metrics.acc"]),
    ]
    .into_iter()
    .chain(dataset_cases().into_iter().map(|(f, o, _)| (f, o)))
    .collect()
}

/// Dataset clauses on the fixture, with the runs MLflow returns (its client's answer on the
/// same runs): a run matches when any of its inputs does.
fn dataset_cases() -> Vec<(&'static str, Vec<&'static str>, Vec<&'static str>)> {
    vec![
        ("dataset.name = 'train'", vec![], vec!["r2", "r1", "r0"]),
        ("dataset.name != 'train'", vec![], vec!["r5", "r3", "r0"]),
        ("datasets.digest IN ('d2', 'x9')", vec![], vec!["r5", "r2"]),
        (
            "dataset.digest NOT IN ('d1')",
            vec![],
            vec!["r5", "r3", "r2", "r0"],
        ),
        ("dataset.context = 'training'", vec![], vec!["r1", "r0"]),
        // r2's input has no context: it matches no context clause.
        (
            "dataset.context != 'training'",
            vec![],
            vec!["r5", "r3", "r0"],
        ),
        ("dataset.name LIKE 't%'", vec![], vec!["r2", "r1", "r0"]),
        ("dataset.name LIKE 'r%'", vec![], vec![]),
        ("dataset.name ILIKE 'r%'", vec![], vec!["r5"]),
        ("dataset.context ILIKE 'EVAL%'", vec![], vec!["r3", "r0"]),
        // Each clause may match a different input of the run.
        (
            "dataset.name = 'train' AND dataset.context = 'evaluation'",
            vec![],
            vec!["r0"],
        ),
        (
            "dataset.name = 'train' and metrics.acc > 0.5",
            vec!["metrics.acc DESC"],
            vec!["r0", "r1"],
        ),
        (
            "dataset.digest = 'd1' and params.opt = 'sgd'",
            vec![],
            vec!["r1"],
        ),
        ("dataset.name = 'nothing'", vec![], vec![]),
    ]
}

fn search_dataset_clauses(_: &Backend, s: &TrackingStore) {
    let e = search_fixture(s);
    for (filter, order, want) in dataset_cases() {
        let got = run_names(s.search_runs(&[e.as_str()], filter, &order, 100).unwrap());
        assert_eq!(got, want, "filter {filter:?} order {order:?}");
    }
    // Results carry their inputs.
    let hits = s
        .search_runs(&[e.as_str()], "dataset.context = 'drift'", &[], 10)
        .unwrap();
    assert_eq!(hits[0].inputs[0].dataset.name, "Reference");
    // MLflow refuses other dataset fields, other comparators, and ordering by a dataset.
    for bad in [
        "dataset.source = 'x'",
        "dataset.name > 'a'",
        "dataset.name IS NULL",
        "dataset.name = 1",
    ] {
        let err = s.search_runs(&[e.as_str()], bad, &[], 10).unwrap_err();
        assert!(err.to_string().contains(bad), "{bad}: {err}");
    }
    let err = s
        .search_runs(&[e.as_str()], "", &["dataset.name"], 10)
        .unwrap_err();
    assert!(err.to_string().contains("order_by"), "{err}");
}

fn nan_sorts_after_numbers_before_missing(_: &Backend, s: &TrackingStore) {
    let e = search_fixture(s);
    let q = |o: &str| run_names(s.search_runs(&[e.as_str()], "", &[o], 100).unwrap());
    // r2 is NaN, r3 has no value: numbers, then NaN, then missing, both ways.
    assert_eq!(
        q("metrics.acc ASC"),
        ["r4", "r5", "r1", "r0", "r6", "r2", "r3"].map(String::from)
    );
    assert_eq!(
        q("metrics.acc DESC"),
        ["r6", "r0", "r5", "r1", "r4", "r2", "r3"].map(String::from)
    );
}

fn dataset_inputs_logged_and_read(_: &Backend, s: &TrackingStore) {
    let mut run = Run::start(s, &unique("inputs"), named("trainer")).unwrap();
    let train = Dataset::new(
        "train",
        "ab12cd34",
        "local",
        r#"{"uri": "/data/train.csv"}"#,
    )
    .with_schema(r#"{"mlflow_colspec": [{"type": "double", "name": "x", "required": true}]}"#)
    .with_profile(r#"{"num_rows": 10, "num_elements": 20}"#);
    let eval = Dataset::new(
        "eval",
        "ef56",
        "http",
        r#"{"url": "https://example.com/e.csv"}"#,
    );
    run.log_input(&train, Some("training")).unwrap();
    run.log_inputs(&[DatasetInput::new(eval.clone(), None)])
        .unwrap();
    // The same dataset again, with another context: nothing changes (MLflow keeps the first).
    run.log_input(&train, Some("evaluation")).unwrap();
    let rec = run.record().unwrap();
    assert_eq!(rec.inputs.len(), 2, "{:?}", rec.inputs);
    assert_eq!(rec.inputs[0].dataset, eval);
    assert!(rec.inputs[0].tags.is_empty());
    assert_eq!(rec.inputs[1].dataset, train);
    assert_eq!(rec.inputs[1].context(), Some("training"));
    // A second run shares the experiment's dataset and has its own context.
    let mut other = run.start_child(named("scorer")).unwrap();
    other.log_input(&train, Some("evaluation")).unwrap();
    assert_eq!(
        other.record().unwrap().inputs[0].context(),
        Some("evaluation")
    );
    assert_eq!(
        s.get_run(run.id()).unwrap().inputs[1].context(),
        Some("training")
    );
    // Nothing to log is fine; a deleted run refuses inputs.
    s.log_inputs(other.id(), &[]).unwrap();
    let id = other.id().to_string();
    other.end(RunStatus::Finished).unwrap();
    s.delete_run(&id).unwrap();
    assert!(
        s.log_inputs(&id, &[DatasetInput::new(eval, None)]).is_err(),
        "a deleted run takes no inputs"
    );
}

fn dataset_input_limits_name_the_field(_: &Backend, s: &TrackingStore) {
    let mut run = Run::start(s, &unique("limits"), RunOptions::default()).unwrap();
    let ok = || Dataset::new("train", "ab12", "local", "{}");
    let cases: Vec<(DatasetInput, &str)> = vec![
        (
            DatasetInput::new(Dataset::new("n".repeat(501), "ab12", "local", "{}"), None),
            "dataset name",
        ),
        (
            DatasetInput::new(Dataset::new("train", "d".repeat(37), "local", "{}"), None),
            "digest of dataset `train`",
        ),
        (
            DatasetInput::new(
                Dataset::new("train", "ab12", "local", "s".repeat(65_536)),
                None,
            ),
            "source of dataset `train`",
        ),
        (
            DatasetInput::new(ok(), Some(&"c".repeat(501))),
            "input tag value `mlflow.data.context`",
        ),
    ];
    for (input, what) in cases {
        let err = run.log_inputs(&[input]).unwrap_err().to_string();
        assert!(err.contains(what), "{what}: {err}");
    }
    // Nothing was written by the refused calls.
    assert!(run.record().unwrap().inputs.is_empty());
    let longest = Dataset::new("n".repeat(500), "d".repeat(36), "local", "{}");
    run.log_input(&longest, Some(&"c".repeat(500))).unwrap();
    assert_eq!(run.record().unwrap().inputs[0].dataset, longest);
}

fn run_names(hits: Vec<RunRecord>) -> Vec<String> {
    hits.into_iter().map(|r| r.info.run_name).collect()
}

fn search_filters_and_ordering(_: &Backend, s: &TrackingStore) {
    let e = search_fixture(s);
    let q = |f: &str, o: &[&str]| run_names(s.search_runs(&[e.as_str()], f, o, 100).unwrap());
    assert_eq!(
        q("", &[]),
        ["r6", "r5", "r4", "r3", "r2", "r1", "r0"].map(String::from)
    );
    // NaN after numbers, missing values last, both ways; equal values by start time, newest
    // first.
    assert_eq!(
        q("", &["metrics.acc DESC"]),
        ["r6", "r0", "r5", "r1", "r4", "r2", "r3"].map(String::from)
    );
    assert_eq!(
        q("", &["metrics.acc"]),
        ["r4", "r5", "r1", "r0", "r6", "r2", "r3"].map(String::from)
    );
    // Runs that started in the same millisecond: by run id.
    let tie = s.get_or_create_experiment(&unique("tie")).unwrap();
    let mut ids: Vec<String> = (0..4)
        .map(|_| {
            let opts = RunOptions {
                start_time_ms: Some(7),
                ..Default::default()
            };
            s.create_run(&tie.experiment_id, opts).unwrap().run_id
        })
        .collect();
    ids.sort();
    let got: Vec<String> = s
        .search_runs(&[tie.experiment_id.as_str()], "", &[], 10)
        .unwrap()
        .into_iter()
        .map(|r| r.info.run_id)
        .collect();
    assert_eq!(got, ids);
    // NaN differs from every number, and is not greater than any.
    let ne = q("metrics.acc != 0.7", &["run_name"]);
    assert_eq!(ne, ["r0", "r2", "r4", "r6"].map(String::from));
    assert_eq!(
        q("metrics.acc > 0.5", &["run_name"]),
        ["r0", "r1", "r5", "r6"].map(String::from)
    );
    assert_eq!(
        q("tags.kind ILIKE 'été'", &[]),
        ["r6", "r4"].map(String::from)
    );
    assert!(
        q("tags.kind LIKE 'b%'", &[]).is_empty(),
        "LIKE is case-sensitive"
    );
    assert_eq!(q("", &["metrics.acc"]).len(), 7);
    assert_eq!(
        run_names(s.search_runs(&[e.as_str()], "", &[], 2).unwrap()).len(),
        2
    );
    let all = s.search_runs(&[e.as_str()], "", &[], 100).unwrap();
    let f = format!(
        "attributes.run_id IN ('{}', '{}')",
        all[1].info.run_id, all[3].info.run_id
    );
    assert_eq!(q(&f, &[]), ["r5", "r3"].map(String::from));
    let f = format!("attributes.run_id NOT IN ('{}')", all[0].info.run_id);
    assert_eq!(q(&f, &[]).len(), 6);
    assert!(
        s.search_runs(&[e.as_str()], "metrics.acc >> 1", &[], 10)
            .is_err()
    );
    assert!(s.search_runs(&[e.as_str()], "", &[], 0).is_err());
}

/// Both local backends return the same runs in the same order for every query.
#[test]
fn search_results_agree_between_sqlite_and_file() {
    let dir = tempfile::tempdir().unwrap();
    let stores = [
        (SQLITE.open)(dir.path()).unwrap(),
        (FILE.open)(dir.path()).unwrap(),
    ];
    let exps: Vec<String> = stores.iter().map(search_fixture).collect();
    for (filter, order) in search_cases() {
        let results: Vec<Result<Vec<String>, String>> = stores
            .iter()
            .zip(&exps)
            .map(|(s, e)| {
                s.search_runs(&[e.as_str()], filter, &order, 100)
                    .map(run_names)
                    .map_err(|e| e.to_string())
            })
            .collect();
        assert!(results[0].is_ok(), "{filter:?}: {:?}", results[0]);
        assert_eq!(
            results[0], results[1],
            "filter {filter:?} order {order:?}: sqlite vs file"
        );
    }
}

fn artifacts(b: &Backend, s: &TrackingStore) {
    if !b.local_artifacts {
        return;
    }
    let exp = s.get_or_create_experiment(&unique("art")).unwrap();
    let run = s.create_run(&exp.experiment_id, named("a")).unwrap();
    let id = run.run_id.as_str();
    s.log_artifact_bytes(id, "model/weights.bin", &[1, 2, 3])
        .unwrap();
    s.log_artifact_bytes(id, "summary.txt", b"ok").unwrap();
    s.log_artifact_bytes(id, "summary.txt", b"ok!").unwrap();
    assert_eq!(s.read_artifact(id, "summary.txt").unwrap(), b"ok!");
    let top = s.list_artifacts(id, "").unwrap();
    let paths: Vec<(&str, bool)> = top.iter().map(|e| (e.path.as_str(), e.is_dir)).collect();
    assert_eq!(paths, [("model", true), ("summary.txt", false)]);
    let inner = s.list_artifacts(id, "model").unwrap();
    assert_eq!(inner[0].path, "model/weights.bin");
    assert_eq!(inner[0].file_size, Some(3));
    let local = s.artifact_location(id, "model/weights.bin").unwrap();
    assert_eq!(std::fs::read(&local).unwrap(), [1, 2, 3]);
    assert!(matches!(
        s.read_artifact(id, "nope.txt").unwrap_err(),
        TrackingError::ArtifactNotFound { .. }
    ));
    assert!(s.log_artifact_bytes(id, "../escape", b"x").is_err());
}

// ---------------------------------------------------------------------------------- registry

fn registry_models_versions_stages_aliases(_: &Backend, s: &TrackingStore) {
    let exp = s.get_or_create_experiment(&unique("reg")).unwrap();
    let run = s.create_run(&exp.experiment_id, named("train")).unwrap();
    let name = unique("model");
    let m = s
        .create_registered_model(&name, Some("first"), &[("team".into(), "vision".into())])
        .unwrap();
    assert_eq!(m.name, name);
    assert_eq!(m.description.as_deref(), Some("first"));
    assert_eq!(m.tags["team"], "vision");
    let new = |tags: Vec<(String, String)>| NewModelVersion {
        name: name.clone(),
        source: format!("runs:/{}/model", run.run_id),
        run_id: Some(run.run_id.clone()),
        description: None,
        tags,
        storage_location: None,
    };
    let v1 = s
        .create_model_version(&new(vec![("k".into(), "v".into())]))
        .unwrap();
    let v2 = s.create_model_version(&new(vec![])).unwrap();
    assert_eq!((v1.version, v2.version), (1, 2));
    assert_eq!(v1.current_stage, Stage::None);
    assert_eq!(v1.status, "READY");
    assert_eq!(v1.tags["k"], "v");
    assert_eq!(v1.run_id.as_deref(), Some(run.run_id.as_str()));

    let moved = s
        .transition_model_version_stage(&name, 1, Stage::Production, false)
        .unwrap();
    assert_eq!(moved.current_stage, Stage::Production);
    s.transition_model_version_stage(&name, 2, Stage::Production, true)
        .unwrap();
    assert_eq!(
        s.get_model_version(&name, 1).unwrap().current_stage,
        Stage::Archived
    );
    let latest = s.get_latest_versions(&name, &[Stage::Production]).unwrap();
    assert_eq!(latest.iter().map(|v| v.version).collect::<Vec<_>>(), [2]);

    s.set_registered_model_alias(&name, "champion", 1).unwrap();
    assert_eq!(
        s.get_model_version_by_alias(&name, "champion")
            .unwrap()
            .version,
        1
    );
    s.set_registered_model_alias(&name, "champion", 2).unwrap();
    let by_alias = s.get_model_version_by_alias(&name, "champion").unwrap();
    assert_eq!(by_alias.version, 2);
    assert_eq!(by_alias.aliases, ["champion"]);
    assert_eq!(
        s.get_registered_model(&name).unwrap().aliases["champion"],
        2
    );

    s.update_registered_model(&name, "second").unwrap();
    s.update_model_version(&name, 2, "the good one").unwrap();
    s.set_registered_model_tag(&name, "stage", "prod").unwrap();
    s.delete_registered_model_tag(&name, "team").unwrap();
    s.set_model_version_tag(&name, 2, "eval", "0.9").unwrap();
    s.delete_model_version_tag(&name, 1, "k").unwrap();
    let m = s.get_registered_model(&name).unwrap();
    assert_eq!(m.description.as_deref(), Some("second"));
    assert_eq!(m.tags.keys().collect::<Vec<_>>(), ["stage"]);
    let v2 = s.get_model_version(&name, 2).unwrap();
    assert_eq!(v2.description.as_deref(), Some("the good one"));
    assert_eq!(v2.tags["eval"], "0.9");
    assert!(s.get_model_version(&name, 1).unwrap().tags.is_empty());

    let by_run = s
        .search_model_versions(&ModelVersionQuery {
            run_id: Some(run.run_id.clone()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(by_run.len(), 2);
    let prod = s
        .search_model_versions(&ModelVersionQuery {
            name: Some(name.clone()),
            stages: vec![Stage::Production],
            ..Default::default()
        })
        .unwrap();
    assert_eq!(prod.iter().map(|v| v.version).collect::<Vec<_>>(), [2]);
    let prefix = format!("{}%", &name[..8]);
    assert!(
        s.search_registered_models(Some(&prefix))
            .unwrap()
            .iter()
            .any(|m| m.name == name)
    );

    s.delete_registered_model_alias(&name, "champion").unwrap();
    s.delete_model_version(&name, 1).unwrap();
    assert_eq!(s.create_model_version(&new(vec![])).unwrap().version, 3);
    s.delete_registered_model(&name).unwrap();
    assert!(s.get_registered_model(&name).is_err());
}

fn registry_errors_name_the_thing(_: &Backend, s: &TrackingStore) {
    let name = unique("missing-model");
    let err = s.get_registered_model(&name).unwrap_err().to_string();
    assert!(err.contains(&name), "{err}");
    let made = unique("made");
    s.create_registered_model(&made, None, &[]).unwrap();
    let err = s
        .create_registered_model(&made, None, &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains(&made) && err.contains("exists"), "{err}");
    let err = s.get_model_version(&made, 7).unwrap_err().to_string();
    assert!(err.contains(&made) && err.contains('7'), "{err}");
    let err = s
        .get_model_version_by_alias(&made, "champion")
        .unwrap_err()
        .to_string();
    assert!(err.contains("champion"), "{err}");
    let err = s
        .create_model_version(&NewModelVersion {
            name: name.clone(),
            source: "/tmp/model".into(),
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
    assert!(err.contains(&name), "{err}");
    assert!(s.set_registered_model_alias(&made, "champion", 1).is_err());
}

fn logged_models_params_tags_artifacts_and_versions(_: &Backend, s: &TrackingStore) {
    let exp = s.get_or_create_experiment(&unique("lm")).unwrap();
    let run = s.create_run(&exp.experiment_id, named("train")).unwrap();
    let new = NewLoggedModel {
        experiment_id: exp.experiment_id.clone(),
        name: "model".into(),
        source_run_id: Some(run.run_id.clone()),
        params: vec![("lr".into(), "0.1".into())],
        tags: vec![("team".into(), "vision".into())],
        model_type: None,
    };
    let m = s.create_logged_model(&new).unwrap();
    assert!(
        m.model_id.starts_with("m-") && m.model_id.len() == 34,
        "{}",
        m.model_id
    );
    assert_eq!(m.status, LoggedModelStatus::Pending);
    assert_eq!(m.experiment_id, exp.experiment_id);
    assert_eq!(m.params["lr"], "0.1");
    assert_eq!(m.tags["team"], "vision");
    assert!(
        m.artifact_location.ends_with(&format!(
            "/{}/models/{}/artifacts",
            exp.experiment_id, m.model_id
        )),
        "{}",
        m.artifact_location
    );
    s.link_model_to_run(&run.run_id, &m.model_id).unwrap();

    s.log_model_artifact(&m, "MLmodel", b"flavors: {}\n")
        .unwrap();
    s.log_model_artifact(&m, "data/weights.bin", &[0, 1, 2])
        .unwrap();
    assert_eq!(
        s.read_model_artifact(&m, "data/weights.bin").unwrap(),
        [0, 1, 2]
    );
    assert!(matches!(
        s.read_model_artifact(&m, "missing"),
        Err(TrackingError::ModelArtifactNotFound { .. })
    ));
    assert!(s.log_model_artifact(&m, "../escape", b"x").is_err());

    let found = s.find_logged_model(&run.run_id, "model").unwrap().unwrap();
    assert_eq!(found.model_id, m.model_id);
    assert!(s.find_logged_model(&run.run_id, "other").unwrap().is_none());

    let ready = s
        .finalize_logged_model(&m.model_id, LoggedModelStatus::Ready)
        .unwrap();
    assert_eq!(ready.status, LoggedModelStatus::Ready);
    s.set_logged_model_tags(&m.model_id, &[("team".into(), "search".into())])
        .unwrap();
    let got = s.get_logged_model(&m.model_id).unwrap();
    assert_eq!(got.status, LoggedModelStatus::Ready);
    assert_eq!(got.tags["team"], "search");
    assert_eq!(got.params["lr"], "0.1");
    assert_eq!(got.source_run_id.as_deref(), Some(run.run_id.as_str()));

    // A version registered from `models:/<id>` takes the model's run and storage location.
    let name = unique("model");
    s.create_registered_model(&name, None, &[]).unwrap();
    let v = s
        .create_model_version(&NewModelVersion {
            name: name.clone(),
            source: format!("models:/{}", m.model_id),
            ..NewModelVersion::default()
        })
        .unwrap();
    assert_eq!(v.run_id.as_deref(), Some(run.run_id.as_str()));
    assert_eq!(v.model_id(), Some(m.model_id.as_str()));

    let missing = "m-00000000000000000000000000000000";
    let err = s.get_logged_model(missing).unwrap_err();
    assert!(
        matches!(err, TrackingError::LoggedModelNotFound { .. }),
        "{err}"
    );
    assert!(err.to_string().contains(missing));
    assert!(s.get_logged_model("../m-1").is_err());
    let bad = NewLoggedModel {
        name: "a/b".into(),
        ..new.clone()
    };
    assert!(s.create_logged_model(&bad).is_err());
}
