use oxflow::task;

#[task(id = "load data")]
fn load() -> u32 {
    1
}

fn main() {}
