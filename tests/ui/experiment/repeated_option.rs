#[oxflow::experiment]
struct TrainParams {
    #[param(default = 100, default = 200)]
    n_trees: u32,
}

fn main() {}
