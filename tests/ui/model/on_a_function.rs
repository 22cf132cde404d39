use oxflow::prelude::*;

#[model(input = House, output = House)]
fn predict() {}

fn main() {}
