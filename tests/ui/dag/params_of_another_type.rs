use oxflow::params::{ParamError, ParamSet, ParamSpec};
use oxflow::prelude::*;

pub struct Other;

pub struct Settings {
    pub factor: u32,
}

impl ParamSet for Settings {
    fn defaults() -> Self {
        Settings { factor: 2 }
    }
    fn schema() -> &'static [ParamSpec] {
        &[]
    }
    fn set(&mut self, key: &str, _value: &str) -> Result<(), ParamError> {
        Err(ParamError::UnknownKey { key: key.into(), valid: vec![] })
    }
    fn validate(&self) -> Result<(), ParamError> {
        Ok(())
    }
    fn to_pairs(&self) -> Vec<(String, String)> {
        vec![]
    }
}

#[task]
fn load(params: &Params<Other>) -> u32 {
    let _ = params;
    1
}

#[dag(params = Settings)]
fn pipeline() {
    load();
}

fn main() {}
