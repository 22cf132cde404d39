use oxflow::prelude::*;

#[task]
fn load() -> u32 {
    1
}

#[dag(schedule = "@daily", start_date = "01/03/2026")]
fn pipeline() {
    load();
}

fn main() {}
