use oxflow::prelude::*;

#[task]
fn load() -> u32 {
    1
}

#[task]
fn double(x: &u32) -> u32 {
    x * 2
}

#[task]
fn report(x: &u32) {
    let _ = x;
}

#[dag]
fn pipeline() {
    let a = load();
    let b = load();
    double(&a);
    double(&b);
}

fn main() {}
