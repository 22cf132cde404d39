use oxflow::task;

#[task(retries = 3, retry_delay = "1m", max_retry_delay = "10s")]
fn load() -> u32 {
    1
}

fn main() {}
