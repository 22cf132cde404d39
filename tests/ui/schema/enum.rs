use oxflow::prelude::*;

#[derive(Schema)]
enum Row {
    A { x: f64 },
}

fn main() {}
