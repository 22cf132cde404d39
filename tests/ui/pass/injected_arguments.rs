// Generated code must not warn in a user's crate.
#![deny(warnings)]

use oxflow::params::{ParamError, ParamSet, ParamSpec};
use oxflow::prelude::*;

#[derive(Debug)]
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
fn load(params: &Params<Settings>) -> u32 {
    params.factor
}

#[task]
fn train(n: &u32, ctx: &TaskContext, run: &mut Run, params: &Params<Settings>) -> u32 {
    let _ = (ctx.task_id(), run, params.factor);
    *n
}

#[dag(params = Settings)]
fn pipeline() {
    let n = load();
    train(&n);
}

fn main() {
    assert!(pipeline().spec().is_ok());
}
