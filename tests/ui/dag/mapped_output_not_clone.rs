use oxflow::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Score(f64);

#[task]
fn rates() -> Vec<u32> {
    vec![1]
}

#[task]
fn evaluate(rate: &u32) -> Score {
    Score(f64::from(*rate))
}

#[task]
fn best(scores: &Vec<Score>) -> f64 {
    scores.iter().map(|s| s.0).fold(0.0, f64::max)
}

#[dag]
fn pipeline() {
    let r = rates();
    let scores = evaluate.expand(&r);
    best(&scores);
}

fn main() {}
