use oxflow::task;

#[task(retries = 1, retries = 2)]
fn load() -> u32 {
    1
}

fn main() {}
