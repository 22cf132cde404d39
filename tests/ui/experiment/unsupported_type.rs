#[oxflow::experiment(serde = false)]
struct TrainParams {
    layers: Vec<u32>,
}

fn main() {}
