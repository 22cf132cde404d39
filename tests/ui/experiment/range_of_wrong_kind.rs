#[oxflow::experiment]
struct TrainParams {
    #[param(default = 100, range = 0.5..10.5)]
    n_trees: u32,
    #[param(default = "adam", range = 1..3)]
    optimizer: String,
    #[param(default = 1, range = "big")]
    depth: u32,
}

fn main() {}
