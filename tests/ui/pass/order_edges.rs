// Generated code must not warn in a user's crate.
#![deny(warnings)]

use oxflow::prelude::*;

#[task]
fn extract() {}

#[task]
fn clean() {}

#[task]
fn validate() {}

#[task]
fn publish() {}

#[task]
fn notify() {}

#[dag]
fn fan_out_and_in() {
    let e = extract();
    let c = clean();
    let v = validate();
    let p = publish();
    e >> [c, v];
    [c, v] >> p;
}

#[dag]
fn chain() {
    let e = extract();
    let c = clean();
    let p = publish();
    e >> c >> p >> notify();
}

fn main() {
    assert_eq!(fan_out_and_in().nodes.len(), 4);
    assert_eq!(chain().nodes.len(), 4);
}
