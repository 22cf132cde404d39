use oxflow::prelude::*;

#[model(output = Price)]
struct PriceModel {
    per_m2: f64,
}

#[derive(Schema)]
struct Price {
    price: f64,
}

fn main() {}
