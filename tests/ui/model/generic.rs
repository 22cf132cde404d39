use oxflow::prelude::*;

#[derive(Schema)]
struct House {
    area: f64,
}

#[model(input = House, output = House)]
struct Scaled<T> {
    by: T,
}

fn main() {}
