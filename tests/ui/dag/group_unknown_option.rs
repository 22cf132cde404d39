use oxflow::prelude::*;

#[task]
fn clean() {}

#[dag]
fn pipeline() {
    group!("features", default_args(retrys = 2), {
        clean();
    });
}

fn main() {}
