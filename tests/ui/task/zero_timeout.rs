use oxflow::task;

#[task(timeout = "0s")]
fn load() -> u32 {
    1
}

fn main() {}
