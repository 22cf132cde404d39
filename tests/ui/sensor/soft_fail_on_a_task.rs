use oxflow::prelude::*;

#[task(soft_fail = true, poke_interval = "30s")]
fn load() -> u32 {
    1
}

fn main() {}
