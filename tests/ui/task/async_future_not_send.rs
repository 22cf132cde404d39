use std::rc::Rc;

use oxflow::task;

async fn tick() {}

#[task]
async fn count() -> u32 {
    let n = Rc::new(1);
    tick().await;
    *n
}

fn main() {}
