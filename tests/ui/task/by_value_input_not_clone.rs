use oxflow::task;

#[derive(serde::Serialize, serde::Deserialize)]
pub struct Model {
    pub weights: Vec<f64>,
}

#[task]
fn score(model: Model) -> usize {
    model.weights.len()
}

fn main() {}
