use oxflow::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Schema, Serialize, Deserialize, Clone)]
struct House {
    area: f64,
    #[schema(rename = "year built")]
    year: Option<i32>,
    tags: Vec<String>,
    r#type: String,
}

#[derive(Schema)]
struct Price {
    price: f64,
}

#[model(input = House, output = Price, name = "house-prices")]
#[derive(Serialize, Deserialize)]
enum PriceModel {
    Flat(f64),
}

impl Predict for PriceModel {
    type Input = House;
    type Output = Price;
    type Error = std::convert::Infallible;
    fn predict(&self, rows: &[House]) -> Result<Vec<Price>, Self::Error> {
        let PriceModel::Flat(k) = self;
        Ok(rows.iter().map(|h| Price { price: h.area * k }).collect())
    }
}

// A DAG whose task feeds the model rows of its input type.
#[task]
fn load() -> Vec<House> {
    Vec::new()
}

#[task]
fn score(rows: &Vec<House>) -> Result<Vec<f64>, std::convert::Infallible> {
    let prices = PriceModel::Flat(1.0).predict(rows)?;
    Ok(prices.iter().map(|p| p.price).collect())
}

#[dag]
fn pricing() {
    let rows = load();
    score(&rows);
}

fn main() {
    use oxflow::model::ModelType;
    assert_eq!(PriceModel::signature().inputs.len(), 4);
}
