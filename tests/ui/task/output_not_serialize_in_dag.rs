// An output that cannot be stored is reported once, on the task; the DAG calling it adds nothing.
use oxflow::prelude::*;

pub struct Model {
    pub weights: Vec<f64>,
}

#[task]
fn train() -> Model {
    Model { weights: vec![] }
}

#[task(persist = false)]
fn score(model: &Model) -> usize {
    model.weights.len()
}

#[dag]
fn pipeline() {
    let model = train();
    score(&model);
}

fn main() {}
