use oxflow::task;

#[task(retry = 3)]
fn load() -> u32 {
    1
}

fn main() {}
