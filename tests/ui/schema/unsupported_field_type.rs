use oxflow::prelude::*;

#[derive(Schema)]
struct Row {
    area: f64,
    counts: std::collections::HashMap<String, u8>,
}

fn main() {}
