use oxflow::prelude::*;

#[task]
fn rates() -> Vec<u32> {
    vec![1]
}

#[task]
fn evaluate(a: &u32, b: &u32) -> u32 {
    a + b
}

#[dag]
fn pipeline() {
    let r = rates();
    evaluate.expand(&r, &r);
}

fn main() {}
