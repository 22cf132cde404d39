//! Serve a scikit-learn logistic regression with oxflow: the coefficients a Python script
//! exported become a `#[model]` that `serve` answers with MLflow's scoring protocol. This is
//! the model `bench/serving.sh` serves next to `mlflow models serve` on the sklearn original.
//!
//! ```text
//! cargo run --release --example iris_serve -- import coef.json   # log, register, alias champion
//! cargo run --release --example iris_serve -- serve models:/iris@champion --port 5000
//! ```

use oxflow::model::register_model;
use oxflow::prelude::*;
use oxflow::tracking::{RunOptions, RunStatus, TrackingStore};
use serde::{Deserialize, Serialize};

/// One iris flower, with the column names of `sklearn.datasets.load_iris` as the benchmark
/// renames them.
#[derive(Schema, Debug)]
struct Flower {
    sepal_length: f64,
    sepal_width: f64,
    petal_length: f64,
    petal_width: f64,
}

/// The predicted class.
#[derive(Schema, Debug)]
struct Species {
    prediction: i64,
}

/// A fitted multinomial logistic regression: `argmax(x · coefᵀ + intercept)`, the decision
/// scikit-learn's `LogisticRegression.predict` makes.
#[model(input = Flower, output = Species, name = "iris")]
#[derive(Serialize, Deserialize, Debug)]
struct Logistic {
    /// One row of coefficients per class.
    coef: Vec<[f64; 4]>,
    /// One intercept per class.
    intercept: Vec<f64>,
    /// The class labels, in the order of `coef`.
    classes: Vec<i64>,
}

#[derive(Debug)]
struct NoClasses;

impl std::fmt::Display for NoClasses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the model has no classes")
    }
}

impl std::error::Error for NoClasses {}

impl Predict for Logistic {
    type Input = Flower;
    type Output = Species;
    type Error = NoClasses;
    fn predict(&self, rows: &[Flower]) -> Result<Vec<Species>, NoClasses> {
        rows.iter()
            .map(|r| {
                let x = [r.sepal_length, r.sepal_width, r.petal_length, r.petal_width];
                let best = self
                    .coef
                    .iter()
                    .zip(&self.intercept)
                    .map(|(w, b)| w.iter().zip(&x).map(|(w, x)| w * x).sum::<f64>() + b)
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .ok_or(NoClasses)?;
                Ok(Species {
                    prediction: self.classes[best.0],
                })
            })
            .collect()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) != Some("import") {
        // `serve ...`, `models ...`: oxflow's CLI, with the `iris` model type compiled in.
        oxflow::main();
        return Ok(());
    }
    let file = args.get(2).ok_or("usage: iris_serve import COEF_JSON")?;
    let model: Logistic = serde_json::from_str(&std::fs::read_to_string(file)?)
        .map_err(|e| format!("{file}: {e}"))?;
    let store = TrackingStore::from_env()?;
    let mut run = Run::start(&store, "iris", RunOptions::default())?;
    let logged = run.log_model(&model, "iris")?;
    run.end(RunStatus::Finished)?;
    let version = register_model(&store, &format!("models:/{}", logged.model_id), "iris")?;
    store.set_registered_model_alias("iris", "champion", version.version)?;
    println!("models:/iris@champion is version {}", version.version);
    Ok(())
}
