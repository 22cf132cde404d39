#[oxflow::experiment]
struct TrainParams {
    #[param(defualt = 100)]
    n_trees: u32,
}

fn main() {}
