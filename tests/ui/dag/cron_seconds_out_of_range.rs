use oxflow::prelude::*;

#[task]
fn load() -> u32 {
    1
}

#[dag(schedule = "61 * * * * *")]
fn pipeline() {
    load();
}

fn main() {}
