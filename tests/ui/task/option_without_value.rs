use oxflow::task;

#[task(retries, timeout = "1m")]
fn load() -> u32 {
    1
}

fn main() {}
