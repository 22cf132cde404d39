use oxflow::prelude::*;

#[task]
fn extract() {}

#[task]
fn transform() {}

#[task]
fn report() {}

#[dag]
fn pipeline() {
    let e = extract();
    let t = transform();
    let r = report();
    r << t << e;
}

fn main() {}
