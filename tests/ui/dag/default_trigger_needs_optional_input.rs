use oxflow::prelude::*;

#[task]
fn load() -> u32 {
    1
}

#[task]
fn report(x: &u32, y: Option<&u32>) -> String {
    format!("{x} {y:?}")
}

#[task(trigger = "all_success")]
fn strict(x: &u32) -> u32 {
    *x
}

#[dag(default_args(trigger = "all_done"))]
fn pipeline() {
    let a = load();
    let b = strict(&a);
    report(&a, &b);
}

fn main() {}
