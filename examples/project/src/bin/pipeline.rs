//! The `pipeline` entry point: the same model as a DAG (generate → fit → evaluate).
//!
//! `cargo run --release --bin pipeline -- run wine -P alpha=0.3`, or through the project:
//! `oxflow project run . -e pipeline -P alpha=0.3`.

use oxflow::prelude::*;
use wine_project::{Data, Model};

/// The pipeline's parameters.
#[oxflow::experiment(name = "wine")]
#[derive(Debug)]
struct WineParams {
    /// Regularisation strength.
    #[param(default = 0.5, range = 0.0..)]
    alpha: f64,
    /// Rows of generated data.
    #[param(default = 500, range = 10..)]
    rows: usize,
}

#[task]
fn generate(params: &Params<WineParams>) -> Data {
    wine_project::generate(params.rows, 7)
}

#[task]
fn fit(data: &Data, params: &Params<WineParams>) -> Model {
    wine_project::elastic_net(data, params.alpha, 0.5, 50)
}

#[task]
fn evaluate(
    model: &Model,
    data: &Data,
    run: &mut Run,
) -> Result<f64, oxflow::tracking::TrackingError> {
    let (rmse, _) = wine_project::evaluate(model, data);
    run.log_metric("rmse", rmse)?;
    Ok(rmse)
}

/// Generated wine data, an elastic net, its error.
#[dag(params = WineParams)]
fn wine() {
    let data = generate();
    let model = fit(&data);
    evaluate(&model, &data);
}

fn main() {
    oxflow::main()
}
