use oxflow::prelude::*;

#[task]
fn load(params: &Params) -> u32 {
    let _ = params;
    1
}

fn main() {}
