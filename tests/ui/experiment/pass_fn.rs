use oxflow::tracking::Run;

#[oxflow::experiment(name = "iris")]
struct TrainParams {
    #[param(default = 100)]
    n_trees: u32,
}

#[derive(Debug)]
struct TrainError;

impl std::fmt::Display for TrainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("training failed")
    }
}

#[oxflow::experiment]
fn train(params: TrainParams, run: &mut Run) -> Result<(), TrainError> {
    run.log_metric("trees", params.n_trees as f64).map_err(|_| TrainError)?;
    Ok(())
}

fn main() {
    // `train` is now the entry point: parse `-P` overrides, record the run.
    let _entry: fn() -> std::process::ExitCode = train;
}
