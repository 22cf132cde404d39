use oxflow::prelude::*;

#[sensor(poke_interval = "30s", max_wait = "10m")]
fn landed() -> Poke<u32> {
    Poke::NotReady
}

fn main() {}
