use oxflow::task;

#[task(retries = "three")]
fn load() -> u32 {
    1
}

fn main() {}
