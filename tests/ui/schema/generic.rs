use oxflow::prelude::*;

#[derive(Schema)]
struct Row<T> {
    x: T,
}

fn main() {}
