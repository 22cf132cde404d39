use oxflow::prelude::*;

// MLflow has no unsigned types: `u32` must become `i64` (or `i32` if it fits).
#[derive(Schema)]
struct Row {
    rooms: u32,
}

fn main() {}
