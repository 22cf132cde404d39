use oxflow::prelude::*;

#[task]
fn train(run: &Run) -> u32 {
    let _ = run;
    1
}

fn main() {}
