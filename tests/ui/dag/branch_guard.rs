use oxflow::prelude::*;

#[task]
fn score() -> u32 {
    3
}

#[task]
fn retrain() {}

#[dag]
fn pipeline() {
    let s = score();
    match s {
        n if n > 2 => retrain(),
        _ => {}
    }
}

fn main() {}
