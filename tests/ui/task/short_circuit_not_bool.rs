use oxflow::prelude::*;

#[task(short_circuit)]
fn has_new_data() -> u32 {
    1
}

fn main() {}
