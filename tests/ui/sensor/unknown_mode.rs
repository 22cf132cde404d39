use oxflow::prelude::*;

#[sensor(mode = "deferrable")]
fn landed() -> Poke<u32> {
    Poke::NotReady
}

fn main() {}
