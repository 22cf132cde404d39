use oxflow::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Serialize, Deserialize)]
enum Route {
    Retrain,
    Tune(u32),
    Skip,
}

#[task]
fn choose() -> Route {
    Route::Skip
}

#[task(short_circuit)]
fn fresh() -> Result<bool, String> {
    Ok(true)
}

#[task]
fn data() -> Vec<f64> {
    vec![1.0]
}

#[task]
fn rates() -> (Vec<u32>, String) {
    (vec![1, 2], "grid".into())
}

#[task]
fn evaluate(data: &Vec<f64>, rate: u32) -> f64 {
    data[0] * f64::from(rate)
}

#[task]
fn rank(score: &f64) -> u32 {
    *score as u32
}

#[task]
fn best(ranks: &Vec<u32>, label: &String) -> String {
    format!("{label}: {ranks:?}")
}

#[task]
fn retrain(d: &Vec<f64>) -> u32 {
    d.len() as u32
}

#[task]
fn tune() -> u32 {
    0
}

#[task]
fn report() {}

#[dag(max_map_length = 10)]
fn pipeline() {
    let ok = fresh();
    let d = data();
    ok >> d;
    let (r, label) = rates();
    group!("sweep", default_args(retries = 2), {
        let scores = evaluate.partial(&d).expand(r);
        let ranks = rank.expand(&scores);
    });
    best(&ranks, &label);
    let route = choose();
    let done = match route {
        Route::Retrain => retrain(&d),
        Route::Tune(_) => {
            let t = tune();
            t >> report();
            tune_more()
        }
        Route::Skip => {}
    };
    done >> finish();
}

#[task]
fn tune_more() -> u32 {
    1
}

#[task]
fn finish() {}

fn main() {
    let spec = pipeline().spec().unwrap();
    assert_eq!(spec.nodes.len(), 12);
}
