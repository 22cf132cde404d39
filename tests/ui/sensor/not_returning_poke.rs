use oxflow::prelude::*;

#[sensor(poke_interval = "30s")]
fn landed() -> Option<u32> {
    None
}

#[sensor]
fn checked() -> Result<bool, String> {
    Ok(true)
}

fn main() {}
