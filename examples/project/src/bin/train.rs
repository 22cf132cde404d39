//! The `main` entry point: one tracked training run with typed parameters.
//!
//! `cargo run --release --bin train -- -P alpha=0.3`, or through the project:
//! `oxflow project run . -P alpha=0.3`.

use oxflow::tracking::Run;

/// Training parameters.
#[oxflow::experiment(name = "wine")]
#[derive(Debug)]
struct TrainParams {
    /// Regularisation strength.
    #[param(default = 0.5, range = 0.0..)]
    alpha: f64,
    /// Share of the penalty that is L1 (lasso) rather than L2 (ridge).
    #[param(default = 0.1, range = 0.0..=1.0)]
    l1_ratio: f64,
    /// Rows of generated data.
    #[param(default = 500, range = 10..)]
    rows: usize,
    /// A note stored with the run as `label.txt`, exactly as given.
    #[param(default = "")]
    label: String,
}

#[derive(Debug)]
struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<oxflow::tracking::TrackingError> for Error {
    fn from(e: oxflow::tracking::TrackingError) -> Self {
        Error(e.to_string())
    }
}

#[oxflow::experiment]
fn train(params: TrainParams, run: &mut Run) -> Result<(), Error> {
    let data = wine_project::generate(params.rows, 7);
    let split = data.y.len() * 4 / 5;
    let train = wine_project::Data {
        x: data.x[..split].to_vec(),
        y: data.y[..split].to_vec(),
    };
    let test = wine_project::Data {
        x: data.x[split..].to_vec(),
        y: data.y[split..].to_vec(),
    };
    let model = wine_project::elastic_net(&train, params.alpha, params.l1_ratio, 50);
    let (rmse, r2) = wine_project::evaluate(&model, &test);
    run.log_metric("rmse", rmse)?;
    run.log_metric("r2", r2)?;
    run.log_text("label.txt", &params.label)?;
    run.log_json("model.json", &model)?;
    println!(
        "elastic net (alpha={}, l1_ratio={}): rmse {rmse:.4}, r2 {r2:.4}",
        params.alpha, params.l1_ratio
    );
    Ok(())
}

fn main() -> std::process::ExitCode {
    train()
}
