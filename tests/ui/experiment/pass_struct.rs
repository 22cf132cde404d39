use oxflow::params::ParamSet;

#[oxflow::experiment(name = "iris")]
struct TrainParams {
    /// Number of trees.
    #[param(default = 100, range = 1..=1000)]
    n_trees: u32,
    #[param(default = 0.1, range = 0.0..=1.0)]
    test_fraction: f64,
}

fn main() {
    assert_eq!(TrainParams::defaults().n_trees, 100);
}
