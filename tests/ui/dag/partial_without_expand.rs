use oxflow::prelude::*;

#[task]
fn rates() -> Vec<u32> {
    vec![1]
}

#[task]
fn evaluate(all: &Vec<u32>) -> usize {
    all.len()
}

#[dag]
fn pipeline() {
    let r = rates();
    evaluate.partial(&r);
}

fn main() {}
