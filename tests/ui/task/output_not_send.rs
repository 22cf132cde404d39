use std::rc::Rc;

use oxflow::task;

#[task(persist = false)]
fn shared() -> Rc<u32> {
    Rc::new(1)
}

fn main() {}
