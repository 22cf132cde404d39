//! A tracked run mirrors chosen metrics to Prometheus as `oxflow_model_metric{model, metric}`.

use oxflow::telemetry::export::{ExportOptions, Exporter};
use oxflow::tracking::{Run, RunOptions, RunStatus, TrackingStore};

#[test]
fn mirrored_metrics_follow_the_latest_value_with_bounded_labels() {
    let exporter = Exporter::install(ExportOptions::new("mirror-test")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = TrackingStore::open_uri(&format!(
        "sqlite:///{}",
        dir.path().join("mlflow.db").display()
    ))
    .unwrap();
    let series = |text: &str, metric: &str| -> Vec<String> {
        text.lines()
            .filter(|l| {
                l.starts_with("oxflow_model_metric{") && l.contains(&format!("metric=\"{metric}\""))
            })
            .map(str::to_owned)
            .collect()
    };
    for (i, accuracy) in [0.81, 0.93].into_iter().enumerate() {
        let mut run = Run::start(&store, "mirror", RunOptions::default()).unwrap();
        // Logged before mirroring: mirrored at once.
        run.log_metric("loss", 0.5 / (i + 1) as f64).unwrap();
        run.mirror_metric("loss", "house-prices").unwrap();
        run.mirror_metric("accuracy", "house-prices").unwrap();
        run.log_metric("accuracy", accuracy - 0.1).unwrap();
        run.log_metric("accuracy", accuracy).unwrap();
        run.log_metric("unmirrored", 1.0).unwrap();
        run.end(RunStatus::Finished).unwrap();
        let text = exporter.render();
        assert_eq!(
            series(&text, "accuracy"),
            [format!(
                r#"oxflow_model_metric{{service="mirror-test",model="house-prices",metric="accuracy"}} {accuracy}"#
            )],
            "{text}"
        );
        assert_eq!(
            series(&text, "loss").len(),
            1,
            "one series per model and metric: {text}"
        );
        assert!(series(&text, "unmirrored").is_empty());
    }
    let mut run = Run::start(&store, "mirror", RunOptions::default()).unwrap();
    let e = run.mirror_metric("../x", "m").unwrap_err().to_string();
    assert!(e.contains("../x"), "{e}");
}
