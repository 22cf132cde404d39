use oxflow::prelude::*;

#[task(id = "load")]
fn load_csv() -> u32 {
    1
}

#[task(id = "load")]
fn load_json() -> u32 {
    2
}

#[dag]
fn pipeline() {
    load_csv();
    load_json();
}

fn main() {}
