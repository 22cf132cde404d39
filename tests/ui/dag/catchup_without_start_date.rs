use oxflow::prelude::*;

#[task]
fn load() -> u32 {
    1
}

#[dag(schedule = "@daily", catchup = true)]
fn pipeline() {
    load();
}

fn main() {}
