// Generated code must not warn in a user's crate.
#![deny(warnings)]

use oxflow::prelude::*;

#[task(id = "load_data")]
fn load() -> u32 {
    1
}

#[task]
fn double(x: &u32) -> u32 {
    x * 2
}

#[dag]
fn pipeline() {
    let n = load();
    #[task_id = "double_once"]
    let once = double(&n);
    #[task_id = "double_twice"]
    double(&once);
}

fn main() {
    let spec = pipeline().spec().unwrap();
    let ids: Vec<&str> = spec.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["load_data", "double_once", "double_twice"]);
}
