use oxflow::prelude::*;

#[sensor(timeout = "0s")]
fn landed() -> Poke<u32> {
    Poke::NotReady
}

fn main() {}
