use oxflow::task;

#[task(retry_delay = 30)]
fn load() -> u32 {
    1
}

fn main() {}
