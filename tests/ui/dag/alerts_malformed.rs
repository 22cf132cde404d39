use oxflow::prelude::*;

#[task]
fn load() -> u32 {
    1
}

#[dag(alerts(stale_after = "0s"))]
fn stale_at_once() {
    load();
}

#[dag(id = "misspelt", alerts(max_retires = 5))]
fn misspelt() {
    load();
}

#[dag(id = "negative", alerts(max_retries = -1))]
fn negative() {
    load();
}

#[dag(id = "flat", alerts = "36h")]
fn flat() {
    load();
}

fn main() {}
