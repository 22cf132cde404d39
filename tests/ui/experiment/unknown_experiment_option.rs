#[oxflow::experiment(nmae = "iris")]
struct TrainParams {
    #[param(default = 100)]
    n_trees: u32,
}

fn main() {}
