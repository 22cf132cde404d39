use oxflow::prelude::*;

#[task(retry_delay = "10m")]
fn load() -> u32 {
    1
}

#[task]
fn report(x: &u32) {
    let _ = x;
}

#[dag(default_args(retries = 2, max_retry_delay = "1m"))]
fn pipeline() {
    let x = load();
    report(&x);
}

fn main() {}
