// An `#[experiment]` function may return a `Result` under any name, and take its run under any.
use oxflow::tracking::Run as Tracking;

#[oxflow::experiment(name = "iris")]
struct TrainParams {
    #[param(default = 100)]
    n_trees: u32,
}

type Fallible<T> = Result<T, String>;

#[oxflow::experiment]
fn train(params: TrainParams, run: &mut Tracking) -> Fallible<()> {
    run.log_metric("trees", params.n_trees as f64)
        .map_err(|e| e.to_string())?;
    Ok(())
}

fn main() {
    let _entry: fn() -> std::process::ExitCode = train;
}
