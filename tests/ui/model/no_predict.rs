use oxflow::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Schema)]
struct House {
    area: f64,
}

#[derive(Schema)]
struct Price {
    price: f64,
}

#[model(input = House, output = Price)]
#[derive(Serialize, Deserialize)]
struct PriceModel {
    per_m2: f64,
}

fn main() {}
