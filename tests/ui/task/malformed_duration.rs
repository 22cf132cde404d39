use oxflow::task;

#[task(timeout = "5 minutes or so")]
fn load() -> u32 {
    1
}

fn main() {}
