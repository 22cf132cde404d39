use oxflow::params::Params as Settings;
use oxflow::prelude::*;

type Ctx = TaskContext;

pub struct Knobs;

#[task]
fn train(ctx: &Ctx, knobs: &Settings<Knobs>) -> u32 {
    let _ = (ctx, knobs);
    1
}

fn main() {}
