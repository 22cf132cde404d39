use oxflow::prelude::*;

#[task]
fn load() -> u32 {
    1
}

#[dag(schedule = "@daily", max_active_runs = 0)]
fn pipeline() {
    load();
}

fn main() {}
