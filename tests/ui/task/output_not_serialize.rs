use oxflow::task;

pub struct Model {
    pub weights: Vec<f64>,
}

#[task]
fn train() -> Model {
    Model { weights: vec![] }
}

fn main() {}
