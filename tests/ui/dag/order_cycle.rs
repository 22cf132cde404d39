use oxflow::prelude::*;

#[task]
fn extract() {}

#[task]
fn transform() {}

#[task]
fn publish() {}

#[dag]
fn pipeline() {
    let e = extract();
    let t = transform();
    let p = publish();
    e >> t >> p;
    p >> e;
}

fn main() {}
