use oxflow::task;

#[task(conns = ["warehouse", 42, ""])]
fn load() -> u32 {
    1
}

fn main() {}
