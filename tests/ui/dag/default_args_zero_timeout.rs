use oxflow::prelude::*;

#[task]
fn load() -> u32 {
    1
}

#[dag(default_args(timeout = "0ms"))]
fn pipeline() {
    load();
}

fn main() {}
