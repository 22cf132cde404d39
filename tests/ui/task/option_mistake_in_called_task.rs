// A mistake in a task's options is reported once; the DAG calling the task adds nothing.
use oxflow::prelude::*;

#[task(retries = "3")]
fn load() -> u32 {
    1
}

#[task]
fn double(x: &u32) -> u32 {
    x * 2
}

#[dag]
fn pipeline() {
    let n = load();
    double(&n);
}

fn main() {}
