use oxflow::task;

#[task(trigger = "all_succeeded")]
fn load() -> u32 {
    1
}

fn main() {}
