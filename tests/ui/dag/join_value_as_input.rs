use oxflow::prelude::*;

#[task]
fn go() -> bool {
    true
}

#[task]
fn train() -> u32 {
    1
}

#[task]
fn reuse() -> u32 {
    0
}

#[task]
fn report(model: &u32) {
    let _ = model;
}

#[dag]
fn pipeline() {
    let decision = go();
    let model = match decision {
        true => train(),
        false => reuse(),
    };
    report(&model);
}

fn main() {}
