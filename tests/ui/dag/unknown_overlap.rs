use oxflow::prelude::*;

#[task]
fn load() -> u32 {
    1
}

#[dag(schedule = "@daily", overlap = "queue")]
fn pipeline() {
    load();
}

fn main() {}
