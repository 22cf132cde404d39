use oxflow::prelude::*;

#[task]
fn split() -> (Vec<u32>, Vec<u32>) {
    (vec![1], vec![2])
}

#[task]
fn train(rows: &Vec<u32>) -> usize {
    rows.len()
}

#[dag]
fn pipeline() {
    let parts = split();
    train(&parts.0);
}

fn main() {}
