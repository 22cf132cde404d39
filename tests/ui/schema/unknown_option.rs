use oxflow::prelude::*;

#[derive(Schema)]
struct Row {
    #[schema(renme = "x y")]
    x: f64,
    #[schema(rename = "")]
    y: f64,
}

fn main() {}
