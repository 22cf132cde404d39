use oxflow::prelude::*;

#[task]
fn load() -> u32 {
    1
}

#[dag(default_args(retry_delay = "5m", max_retry_delay = "1m"))]
fn pipeline() {
    load();
}

fn main() {}
