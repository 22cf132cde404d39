use oxflow::prelude::*;

#[task]
fn split() -> (u32, (u32, u32)) {
    (1, (2, 3))
}

#[dag]
fn pipeline() {
    let (a, (b, c)) = split();
}

fn main() {}
