use oxflow::prelude::*;

#[derive(Schema)]
struct Row(f64, f64);

fn main() {}
