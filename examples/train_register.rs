//! Train, log, register, promote and serve a model, end to end.
//!
//! Makes a data set of house prices, fits a linear regression with smartcore, logs it as an
//! MLflow 3 LoggedModel with its signature and input example, registers it as a new version of
//! `house-prices`, moves the `champion` alias to it when its test RMSE beats the current
//! champion's, and loads the champion back by `models:/house-prices@champion` to predict.
//!
//! ```text
//! cargo run --example train_register            # records into ./mlflow.db (MLflow's default)
//! cargo run --example train_register -- 0.5     # noisier data: a worse model, not promoted
//! mlflow ui                                     # shows the run, the model and the registry
//! cargo run --example train_register -- serve models:/house-prices@champion --watch
//! ```
//!
//! Any other first argument is a command of oxflow's CLI (`serve`, `models list`, ...): this
//! binary has the `house-prices` model type compiled in, so it can load and serve it.

use oxflow::model::{Better, Model, ModelType, promote_if_better, register_model};
use oxflow::prelude::*;
use oxflow::tracking::{RunOptions, RunStatus, TrackingStore};
use serde::{Deserialize, Serialize};
use smartcore::linalg::basic::matrix::DenseMatrix;
use smartcore::linear::linear_regression::LinearRegression;

/// One house: what the model is given.
#[derive(Schema, Clone, Debug)]
struct House {
    /// Living area, m².
    area: f64,
    rooms: i64,
    /// Years since it was built.
    #[schema(rename = "age (years)")]
    age: f64,
}

/// What the model predicts.
#[derive(Schema, Debug)]
struct Price {
    price: f64,
}

type Regression = LinearRegression<f64, f64, DenseMatrix<f64>, Vec<f64>>;

/// A smartcore linear regression, saved as is in the `oxflow` flavor.
#[model(input = House, output = Price, name = "house-prices")]
#[derive(Serialize, Deserialize, Debug)]
struct HousePrices {
    regression: Regression,
}

#[derive(Debug)]
struct PredictError(String);

impl std::fmt::Display for PredictError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PredictError {}

fn features(rows: &[House]) -> Result<DenseMatrix<f64>, PredictError> {
    let data: Vec<Vec<f64>> = rows
        .iter()
        .map(|h| vec![h.area, h.rooms as f64, h.age])
        .collect();
    DenseMatrix::from_2d_vec(&data).map_err(|e| PredictError(e.to_string()))
}

impl Predict for HousePrices {
    type Input = House;
    type Output = Price;
    type Error = PredictError;
    fn predict(&self, rows: &[House]) -> Result<Vec<Price>, PredictError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let y = self
            .regression
            .predict(&features(rows)?)
            .map_err(|e| PredictError(e.to_string()))?;
        Ok(y.into_iter().map(|price| Price { price }).collect())
    }
}

/// A deterministic data set: price = 3000·area + 8000·rooms − 900·age + noise.
fn make_data(n: usize, noise: f64, seed: u64) -> (Vec<House>, Vec<f64>) {
    let mut state = seed;
    let mut uniform = move || {
        // xorshift64*: reproducible without a dependency.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            let h = House {
                area: 30.0 + 150.0 * uniform(),
                rooms: 1 + (uniform() * 6.0) as i64,
                age: 80.0 * uniform(),
            };
            let clean = 3000.0 * h.area + 8000.0 * h.rooms as f64 - 900.0 * h.age;
            let price = clean * (1.0 + noise * (uniform() - 0.5));
            (h, price)
        })
        .unzip()
}

fn rmse(model: &HousePrices, rows: &[House], truth: &[f64]) -> Result<f64, PredictError> {
    let predicted = model.predict(rows)?;
    let sq: f64 = predicted
        .iter()
        .zip(truth)
        .map(|(p, t)| (p.price - t).powi(2))
        .sum();
    Ok((sq / truth.len() as f64).sqrt())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let noise: f64 = match std::env::args().nth(1) {
        None => 0.05,
        Some(a) => match a.parse() {
            Ok(noise) => noise,
            // `serve ...`, `models ...`: the CLI every oxflow binary has.
            Err(_) => {
                oxflow::main();
                return Ok(());
            }
        },
    };
    let store = TrackingStore::from_env()?;
    let (rows, prices) = make_data(400, noise, 7);
    let (train_rows, test_rows) = rows.split_at(300);
    let (train_y, test_y) = prices.split_at(300);

    let mut run = Run::start(&store, "house-prices", RunOptions::default())?;
    run.log_param("noise", noise)?;
    run.log_param("train_rows", train_rows.len())?;
    let regression = Regression::fit(
        &features(train_rows)?,
        &train_y.to_vec(),
        Default::default(),
    )?;
    let model = HousePrices { regression };
    let test_rmse = rmse(&model, test_rows, test_y)?;
    run.log_metric("test_rmse", test_rmse)?;
    // The training rows' profile goes with the model: `serve` tests live inputs against it.
    let logged =
        run.log_model_with_reference(&model, "house_prices", &test_rows[..3], train_rows)?;
    let run_id = run.id().to_string();
    run.end(RunStatus::Finished)?;
    println!(
        "run {run_id}: test RMSE {test_rmse:.0}, logged models:/{} with signature {}",
        logged.model_id,
        HousePrices::signature().inputs_json()
    );

    let version = register_model(
        &store,
        &format!("models:/{}", logged.model_id),
        "house-prices",
    )?;
    println!("registered house-prices version {}", version.version);
    // The champion alias moves only when this version's test RMSE beats the champion's.
    let p = promote_if_better(
        &store,
        "house-prices",
        version.version,
        "champion",
        "test_rmse",
        test_rmse,
        Better::Lower,
    )?;
    match (p.promoted, p.previous) {
        (true, None) => println!("version {} is the first champion", version.version),
        (true, Some((_, best))) => println!(
            "version {} is the new champion (RMSE {test_rmse:.0} < {:.0})",
            version.version,
            best.unwrap_or(f64::NAN)
        ),
        (false, Some((_, Some(best)))) => {
            println!("champion keeps its place (RMSE {best:.0} ≤ {test_rmse:.0})")
        }
        (false, _) => println!("champion keeps its place"),
    }

    let champion = Model::<HousePrices>::load_from(&store, "models:/house-prices@champion")?;
    let request = serde_json::json!({
        "dataframe_records": [{"area": 75, "rooms": 3, "age (years)": 20}]
    });
    println!(
        "champion predicts {} for {request}",
        champion.predict_json(&request)?
    );
    Ok(())
}
