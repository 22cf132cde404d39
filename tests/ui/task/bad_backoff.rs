use oxflow::task;

#[task(backoff = 0.5)]
fn load() -> u32 {
    1
}

fn main() {}
