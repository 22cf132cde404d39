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

#[derive(Serialize, Deserialize, Default)]
struct Knobs {
    discount: f64,
}

#[model(input = House, output = Price, params = Knobs)]
#[derive(Serialize, Deserialize)]
struct PriceModel {
    per_m2: f64,
}

impl Predict for PriceModel {
    type Input = House;
    type Output = Price;
    type Error = std::convert::Infallible;
    fn predict(&self, rows: &[House]) -> Result<Vec<Price>, Self::Error> {
        Ok(rows.iter().map(|h| Price { price: h.area * self.per_m2 }).collect())
    }
}

fn main() {}
