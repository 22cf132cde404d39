use oxflow::task;

/// A type of the user's own that happens to share the name.
pub struct TaskContext;

#[task]
fn train(ctx: &TaskContext) -> u32 {
    let _ = ctx;
    1
}

fn main() {}
