use oxflow::prelude::*;

#[derive(Schema)]
struct Row {
    #[schema(rename = "price")]
    amount: f64,
    price: f64,
}

fn main() {}
