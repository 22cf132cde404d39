use oxflow::task;

pub struct Model {
    pub weights: Vec<f64>,
}

#[task]
fn train() -> Result<Model, String> {
    Ok(Model { weights: vec![] })
}

fn main() {}
