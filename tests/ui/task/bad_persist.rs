use oxflow::task;

#[task(persist = "no")]
fn load() -> u32 {
    1
}

fn main() {}
