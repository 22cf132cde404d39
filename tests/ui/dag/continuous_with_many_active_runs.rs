use oxflow::prelude::*;

#[task]
fn load() -> u32 {
    1
}

#[dag(schedule = "@continuous", max_active_runs = 2)]
fn pipeline() {
    load();
}

fn main() {}
