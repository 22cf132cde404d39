use oxflow::prelude::*;

#[task]
fn names() -> Vec<String> {
    vec!["a".into()]
}

#[task]
fn evaluate(rate: &u32) -> f64 {
    f64::from(*rate)
}

#[dag]
fn pipeline() {
    let n = names();
    evaluate.expand(&n);
}

fn main() {}
