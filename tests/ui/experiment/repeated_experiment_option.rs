#[oxflow::experiment(name = "iris", name = "wine")]
struct TrainParams {
    #[param(default = 100)]
    n_trees: u32,
}

fn main() {}
