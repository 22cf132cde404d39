use oxflow::prelude::*;

#[task]
fn split() -> (u32, String) {
    (1, "a".to_owned())
}

#[task]
fn double(x: &u32) -> u32 {
    x * 2
}

#[dag]
fn pipeline() {
    let (_n, label) = split();
    double(&label);
}

fn main() {}
