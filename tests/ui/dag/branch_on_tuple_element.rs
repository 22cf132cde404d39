use oxflow::prelude::*;

#[task]
fn split() -> (bool, u32) {
    (true, 1)
}

#[task]
fn retrain() {}

#[dag]
fn pipeline() {
    let (go, _n) = split();
    match go {
        true => retrain(),
        false => {}
    }
}

fn main() {}
