use oxflow::task;

#[task]
const fn load() -> u32 {
    1
}

fn main() {}
