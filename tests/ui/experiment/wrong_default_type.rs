#[oxflow::experiment]
struct TrainParams {
    #[param(default = "many")]
    n_trees: u32,
    #[param(default = 1.5)]
    shuffle: bool,
}

fn main() {}
