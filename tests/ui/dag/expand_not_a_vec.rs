use oxflow::prelude::*;

#[task]
fn rates() -> u32 {
    3
}

#[task]
fn evaluate(rate: &u32) -> f64 {
    f64::from(*rate)
}

#[dag]
fn pipeline() {
    let r = rates();
    evaluate.expand(&r);
}

fn main() {}
