use oxflow::prelude::*;

#[task]
fn go() -> bool {
    true
}

#[task]
fn train() {}

#[task]
fn report() {}

#[dag]
fn pipeline() {
    let decision = go();
    match decision {
        true => train(),
        false => {}
    }
    match decision {
        true => {}
        false => report(),
    }
}

fn main() {}
