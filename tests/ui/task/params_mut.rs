use oxflow::prelude::*;

#[task]
fn load(params: &mut Params<u32>) -> u32 {
    params.0
}

fn main() {}
