//! The scoring server's request parser on arbitrary bytes: JSON and CSV bodies must be scored
//! or refused with a 4xx naming the problem, never panic and never answer 5xx.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oxflow::model::DynModel;
use oxflow::prelude::*;
use oxflow::serve::{BodyFormat, score};
use serde::{Deserialize, Serialize};

#[derive(Schema, Debug)]
struct Row {
    x: f64,
    n: Option<i64>,
    #[schema(rename = "a label")]
    label: String,
    flag: Option<bool>,
    values: Option<Vec<f32>>,
}

#[derive(Schema, Debug)]
struct Out {
    y: f64,
}

#[model(input = Row, output = Out, name = "fuzzed")]
#[derive(Serialize, Deserialize)]
struct Model;

impl Predict for Model {
    type Input = Row;
    type Output = Out;
    type Error = std::convert::Infallible;
    fn predict(&self, rows: &[Row]) -> Result<Vec<Out>, Self::Error> {
        Ok(rows.iter().map(|r| Out { y: r.x }).collect())
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((first, body)) = data.split_first() else {
        return;
    };
    let format = if first % 2 == 0 { BodyFormat::Json } else { BodyFormat::Csv };
    let signature = Model.model_signature();
    if let Err(e) = score(&Model, &signature, format, body) {
        assert!((400..500).contains(&e.status), "{e}");
        assert!(!e.message.is_empty());
    }
});
