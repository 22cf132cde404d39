use oxflow::task;

#[task]
unsafe fn load() -> u32 {
    1
}

fn main() {}
