use oxflow::prelude::*;

#[task]
fn load() -> u32 {
    1
}

#[dag]
fn inner() {
    load();
}

#[dag]
fn outer() {
    inner();
}

fn main() {}
