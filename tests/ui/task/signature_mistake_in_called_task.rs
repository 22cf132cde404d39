// A mistake in a task's signature is reported once; the DAG calling the task adds nothing.
use oxflow::prelude::*;

#[task]
fn load() -> Vec<f64> {
    vec![1.0]
}

#[task]
fn scale(data: &mut Vec<f64>, ctx: TaskContext) -> usize {
    let _ = ctx;
    data.len()
}

#[dag]
fn pipeline() {
    let data = load();
    scale(&data);
}

fn main() {}
