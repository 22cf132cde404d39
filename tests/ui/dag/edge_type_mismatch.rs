use oxflow::prelude::*;

#[task]
fn load() -> String {
    "data".to_owned()
}

#[task]
fn double(x: &u32) -> u32 {
    x * 2
}

#[dag]
fn pipeline() {
    let data = load();
    double(&data);
}

fn main() {}
