use oxflow::prelude::*;

#[sensor(poke_interval = "2h", timeout = "1h")]
fn landed() -> Poke<u32> {
    Poke::NotReady
}

fn main() {}
