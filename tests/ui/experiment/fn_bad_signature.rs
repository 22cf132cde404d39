use oxflow::tracking::Run;

#[oxflow::experiment]
struct P {
    #[param(default = 1)]
    n: u32,
}

#[oxflow::experiment]
fn train(params: &P) -> u32 {
    params.n
}

#[oxflow::experiment]
fn evaluate(params: P, run: &Run) -> Result<(), String> {
    let _ = (params, run);
    Ok(())
}

fn main() {}
