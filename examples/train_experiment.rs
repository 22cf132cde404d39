//! An experiment entry point: typed parameters with `#[experiment]`, recorded as an MLflow run.
//!
//! ```text
//! cargo run --example train_experiment -- -P n_trees=200 -P test_fraction=0.25
//! cargo run --example train_experiment -- --help
//! ```
//!
//! It prints the run id and, last, the command that shows the run in MLflow's UI.

use oxflow::tracking::{Dataset, Run};

/// Parameters of the training run.
#[oxflow::experiment(name = "iris")]
#[derive(Debug)]
struct TrainParams {
    /// Number of trees in the forest.
    #[param(default = 100, range = 1..=1000)]
    n_trees: u32,
    /// Share of rows held out for testing.
    #[param(default = 0.2, range = 0.0..=0.9)]
    test_fraction: f64,
    /// Fail on purpose, to see a FAILED run.
    #[param(default = false)]
    fail: bool,
    /// Milliseconds to wait before training (try Ctrl-C: the run ends KILLED).
    #[param(default = 0)]
    wait_ms: u64,
}

#[derive(Debug)]
struct TrainError(String);

impl std::fmt::Display for TrainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<oxflow::tracking::TrackingError> for TrainError {
    fn from(e: oxflow::tracking::TrackingError) -> Self {
        TrainError(e.to_string())
    }
}

#[oxflow::experiment]
fn train(params: TrainParams, run: &mut Run) -> Result<(), TrainError> {
    std::thread::sleep(std::time::Duration::from_millis(params.wait_ms));
    // The data the run trained on, listed under the run's datasets in MLflow's UI.
    let iris = Dataset::new("iris", "b1c7a2f0", "local", r#"{"uri": "data/iris.csv"}"#)
        .with_profile(r#"{"num_rows": 150}"#);
    run.log_input(&iris, Some("training"))?;
    // A stand-in for real training: accuracy improves with more trees.
    for epoch in 0..5 {
        let acc = 1.0 - 1.0 / (params.n_trees as f64 * (epoch + 1) as f64).sqrt();
        run.log_metric("accuracy", acc)?;
    }
    run.log_text("summary.txt", &format!("{params:?}"))?;
    if params.fail {
        return Err(TrainError("asked to fail".into()));
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    train()
}
