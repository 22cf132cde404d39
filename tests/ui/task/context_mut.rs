use oxflow::prelude::*;

#[task]
fn load(ctx: &mut TaskContext) -> u32 {
    ctx.try_number()
}

fn main() {}
