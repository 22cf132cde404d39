use oxflow::prelude::*;

#[task]
fn clean() {}

#[dag]
fn pipeline() {
    group!("features");
    clean();
}

fn main() {}
