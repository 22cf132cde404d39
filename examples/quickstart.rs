//! The quickstart pipeline: fit three small regression models to generated data and keep the
//! best one. Run it with `cargo run --example quickstart -- run quickstart`; every run is
//! recorded in `./mlruns` (readable by MLflow) with task logs under `./logs`.
//!
//! It shows a linear part (generate → fetch_labels → split), a fan-out (three models trained at
//! once), a fan-in (pick_best), a flaky task that succeeds on its third try, a trigger rule
//! (report runs even if a model failed), a shell task, and an order-only edge
//! (`summary >> archive()`).

use oxflow::prelude::*;
use oxflow::shell::ShellError;
use serde::{Deserialize, Serialize};

/// Points `(x, y)` of a noisy line.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Dataset {
    x: Vec<f64>,
    y: Vec<f64>,
}

/// A fitted model: `y = slope * x + intercept`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Model {
    name: String,
    slope: f64,
    intercept: f64,
}

impl Model {
    fn rmse(&self, data: &Dataset) -> f64 {
        let n = data.x.len().max(1) as f64;
        let sse: f64 = data
            .x
            .iter()
            .zip(&data.y)
            .map(|(x, y)| (self.slope * x + self.intercept - y).powi(2))
            .sum();
        (sse / n).sqrt()
    }
}

/// The pipeline's parameters (`-P rows=5000`, ...).
#[oxflow::experiment(name = "quickstart")]
#[derive(Debug)]
struct TrainParams {
    /// Rows to generate.
    #[param(default = 1000, range = 2..)]
    rows: usize,
    /// Standard deviation of the noise.
    #[param(default = 0.5, range = 0.0..)]
    noise: f64,
    /// Share of rows held out for testing.
    #[param(default = 0.2, range = 0.0..=1.0)]
    test_fraction: f64,
}

/// Generates `rows` points of `y = 3x + 2` plus noise (a fixed-seed generator, so runs repeat).
#[task]
fn generate(params: &Params<TrainParams>) -> Dataset {
    let mut state: u64 = 42;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut x, mut y) = (Vec::new(), Vec::new());
    for _ in 0..params.rows {
        let xi = next() * 10.0;
        // Sum of uniforms: roughly normal noise without a dependency.
        let noise = (next() + next() + next() - 1.5) * 2.0 * params.noise;
        x.push(xi);
        y.push(3.0 * xi + 2.0 + noise);
    }
    tracing::info!(rows = x.len(), "generated the dataset");
    Dataset { x, y }
}

/// Stands for a flaky remote call: it fails twice, then succeeds on its third try.
#[task(retries = 3, retry_delay = "200ms", backoff = 2.0)]
fn fetch_labels(ctx: &TaskContext, data: &Dataset) -> Result<Dataset, String> {
    if ctx.try_number() < 3 {
        return Err(format!(
            "label service unavailable (try {})",
            ctx.try_number()
        ));
    }
    Ok(data.clone())
}

/// Splits off the last `test_fraction` of the rows as the test set.
#[task]
fn split(data: &Dataset, params: &Params<TrainParams>) -> (Dataset, Dataset) {
    let cut = ((1.0 - params.test_fraction) * data.x.len() as f64) as usize;
    let part = |r: std::ops::Range<usize>| Dataset {
        x: data.x[r.clone()].to_vec(),
        y: data.y[r].to_vec(),
    };
    (part(0..cut), part(cut..data.x.len()))
}

/// Ordinary least squares; logs its training error to the task's run.
#[task]
fn fit_linear(train: &Dataset, run: &mut Run) -> Result<Model, String> {
    let n = train.x.len() as f64;
    if n < 2.0 {
        return Err(format!("need at least 2 training rows, got {n}"));
    }
    let (mx, my) = (
        train.x.iter().sum::<f64>() / n,
        train.y.iter().sum::<f64>() / n,
    );
    let sxy: f64 = train
        .x
        .iter()
        .zip(&train.y)
        .map(|(x, y)| (x - mx) * (y - my))
        .sum();
    let sxx: f64 = train.x.iter().map(|x| (x - mx).powi(2)).sum();
    let slope = sxy / sxx;
    let model = Model {
        name: "linear".into(),
        slope,
        intercept: my - slope * mx,
    };
    run.log_metric("train_rmse", model.rmse(train))
        .map_err(|e| e.to_string())?;
    Ok(model)
}

/// Baseline: always predicts the mean.
#[task]
fn fit_mean(train: &Dataset) -> Model {
    let mean = train.y.iter().sum::<f64>() / train.y.len().max(1) as f64;
    Model {
        name: "mean".into(),
        slope: 0.0,
        intercept: mean,
    }
}

/// Baseline: always predicts the median (an async task).
#[task]
async fn fit_median(train: &Dataset) -> Model {
    let mut y = train.y.clone();
    y.sort_by(f64::total_cmp);
    let median = y.get(y.len() / 2).copied().unwrap_or(0.0);
    Model {
        name: "median".into(),
        slope: 0.0,
        intercept: median,
    }
}

/// Keeps the model with the lowest test error and logs every model's error.
#[task]
fn pick_best(
    linear: &Model,
    mean: &Model,
    median: &Model,
    test: &Dataset,
    run: &mut Run,
) -> Result<Model, String> {
    let mut best = linear;
    for m in [linear, mean, median] {
        let rmse = m.rmse(test);
        run.log_metric(&format!("test_rmse_{}", m.name), rmse)
            .map_err(|e| e.to_string())?;
        tracing::info!(model = %m.name, rmse, "evaluated");
        if rmse < best.rmse(test) {
            best = m;
        }
    }
    Ok(best.clone())
}

/// Writes a summary, even when no model could be picked (`trigger = "all_done"`).
#[task(trigger = "all_done")]
fn report(best: Option<&Model>) -> String {
    match best {
        Some(m) => format!(
            "best model: {} (y = {:.3}x + {:.3})",
            m.name, m.slope, m.intercept
        ),
        None => "no model was trained".to_owned(),
    }
}

/// A shell task, with arguments from the params and the context: its stdout lands in the task
/// log and becomes the task's output.
#[task(timeout = "30s")]
async fn archive(
    ctx: &TaskContext,
    params: &Params<TrainParams>,
) -> Result<ShellOutput, ShellError> {
    Shell::bash("echo \"archiving run $1 ($2 rows)\"; date -u +%Y-%m-%dT%H:%M:%SZ")
        .arg("archive")
        .arg(ctx.dag_run_id())
        .arg(params.rows.to_string())
        .run()
        .await
}

/// Fits three models to generated data and keeps the best.
#[dag(schedule = "0 3 * * *", params = TrainParams, max_active_tasks = 4, tags = ["example"])]
fn quickstart() {
    let raw = generate();
    let labelled = fetch_labels(&raw);
    let (train, test) = split(&labelled);
    let linear = fit_linear(&train);
    let mean = fit_mean(&train);
    let median = fit_median(&train);
    let best = pick_best(&linear, &mean, &median, &test);
    let summary = report(&best);
    summary >> archive();
}

fn main() {
    oxflow::main()
}
