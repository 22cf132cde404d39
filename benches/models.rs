//! Models benchmark, the Rust side of `bench/models.sh`: on a fresh store in `$BENCH_DIR`
//! (default /tmp; MLflow's SQLite schema, `--store file` for the file store),
//!
//! - log: log a small model with its signature and input example and register it as a new
//!   version, 100 times, in one run (`mlflow.sklearn.log_model` + `mlflow.register_model`);
//! - load: load the registered model by alias and predict one row, 1,000 times
//!   (`mlflow.pyfunc.load_model("models:/iris@champion").predict(row)`).
//!
//! ```text
//! cargo bench --bench models -- --json target/bench-models.json [--loads 1000]
//! ```

use std::time::Instant;

use oxflow::model::{Model, register_model};
use oxflow::prelude::*;
use oxflow::tracking::{RunOptions, RunStatus, TrackingStore};
use serde::{Deserialize, Serialize};

#[derive(Schema, Debug, Clone)]
struct Flower {
    sepal_length: f64,
    sepal_width: f64,
    petal_length: f64,
    petal_width: f64,
}

#[derive(Schema, Debug)]
struct Species {
    prediction: i64,
}

/// A multinomial logistic regression's decision: the size of a small scikit-learn model.
#[model(input = Flower, output = Species, name = "iris")]
#[derive(Serialize, Deserialize, Debug)]
struct Logistic {
    coef: Vec<[f64; 4]>,
    intercept: Vec<f64>,
}

impl Predict for Logistic {
    type Input = Flower;
    type Output = Species;
    type Error = std::convert::Infallible;
    fn predict(&self, rows: &[Flower]) -> Result<Vec<Species>, Self::Error> {
        Ok(rows
            .iter()
            .map(|r| {
                let x = [r.sepal_length, r.sepal_width, r.petal_length, r.petal_width];
                let scores = self
                    .coef
                    .iter()
                    .zip(&self.intercept)
                    .map(|(w, b)| w.iter().zip(&x).map(|(w, x)| w * x).sum::<f64>() + b);
                let best = scores
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .map_or(0, |(i, _)| i);
                Species {
                    prediction: best as i64,
                }
            })
            .collect())
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let loads: usize = arg("--loads").map_or(1000, |v| v.parse().expect("--loads N"));
    let base = std::env::var("BENCH_DIR").unwrap_or_else(|_| "/tmp".into());
    let dir = tempfile::Builder::new()
        .prefix("oxbench-models-")
        .tempdir_in(base)
        .unwrap();
    let uri = match arg("--store").as_deref() {
        Some("file") => dir.path().join("mlruns").display().to_string(),
        _ => format!("sqlite:///{}", dir.path().join("mlflow.db").display()),
    };
    let store = TrackingStore::open_uri(&uri).unwrap();
    let model = Logistic {
        coef: vec![
            [-0.42, 0.97, -2.52, -1.08],
            [0.53, -0.32, -0.21, -0.94],
            [-0.11, -0.65, 2.73, 2.02],
        ],
        intercept: vec![9.85, 2.24, -12.09],
    };
    let example = vec![Flower {
        sepal_length: 5.1,
        sepal_width: 3.5,
        petal_length: 1.4,
        petal_width: 0.2,
    }];

    let mut run = Run::start(&store, "bench-models", RunOptions::default()).unwrap();
    let t = Instant::now();
    let mut last = 0;
    for _ in 0..100 {
        let logged = run
            .log_model_with_example(&model, "model", &example)
            .unwrap();
        last = register_model(&store, &format!("models:/{}", logged.model_id), "iris")
            .unwrap()
            .version;
    }
    let log_s = t.elapsed().as_secs_f64();
    run.end(RunStatus::Finished).unwrap();
    store
        .set_registered_model_alias("iris", "champion", last)
        .unwrap();

    let t = Instant::now();
    for _ in 0..loads {
        let m = Model::<Logistic>::load_from(&store, "models:/iris@champion").unwrap();
        let p = m.predict(&example).unwrap();
        assert_eq!(p[0].prediction, 0);
    }
    let load_s = t.elapsed().as_secs_f64();
    println!(
        "log + register 100 models: {:.1} ms ({:.2} ms each)",
        log_s * 1e3,
        log_s * 10.0
    );
    println!(
        "load by alias + predict 1 row, {loads} times: {:.1} ms ({:.3} ms each)",
        load_s * 1e3,
        load_s * 1e3 / loads as f64
    );
    if let Some(path) = arg("--json") {
        let json = serde_json::json!({"log_register_100_s": log_s, "load_predict_s": load_s, "loads": loads});
        std::fs::write(path, json.to_string()).unwrap();
    }
}
