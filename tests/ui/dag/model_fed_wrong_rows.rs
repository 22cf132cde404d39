use oxflow::prelude::*;

#[derive(Schema, serde::Serialize, serde::Deserialize, Clone)]
struct House {
    area: f64,
}

#[derive(Schema, serde::Serialize, serde::Deserialize, Clone)]
struct Flat {
    area: f64,
    floor: i32,
}

#[task]
fn load_flats() -> Vec<Flat> {
    vec![Flat { area: 40.0, floor: 2 }]
}

/// Scores rows with the house-price model: takes `House` rows.
#[task]
fn score(rows: &Vec<House>) -> Vec<f64> {
    rows.iter().map(|h| h.area * 3000.0).collect()
}

#[dag]
fn pricing() {
    let flats = load_flats();
    score(&flats);
}

fn main() {}
