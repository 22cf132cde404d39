use oxflow::prelude::*;

#[derive(Schema)]
struct House {
    area: f64,
}

// Saved in the Rust flavor through serde, so a model type needs Serialize + Deserialize.
#[model(input = House, output = House)]
struct Identity;

impl Predict for Identity {
    type Input = House;
    type Output = House;
    type Error = std::convert::Infallible;
    fn predict(&self, rows: &[House]) -> Result<Vec<House>, Self::Error> {
        Ok(rows.iter().map(|h| House { area: h.area }).collect())
    }
}

fn main() {}
