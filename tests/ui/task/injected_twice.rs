use oxflow::prelude::*;

#[task]
fn load(ctx: &TaskContext, again: &TaskContext) -> u32 {
    ctx.try_number() + again.try_number()
}

fn main() {}
