use oxflow::prelude::*;

#[task]
fn load(ctx: TaskContext) -> u32 {
    ctx.try_number()
}

fn main() {}
