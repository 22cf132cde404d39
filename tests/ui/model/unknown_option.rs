use oxflow::prelude::*;

#[model(inputs = House, output = Price, flavour = "rust")]
struct PriceModel {
    per_m2: f64,
}

fn main() {}
