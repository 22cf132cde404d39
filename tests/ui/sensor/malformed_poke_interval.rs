use oxflow::prelude::*;

#[sensor(poke_interval = "every now and then")]
fn landed() -> Poke<u32> {
    Poke::NotReady
}

fn main() {}
