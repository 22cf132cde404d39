use oxflow::task;

#[task]
extern "C" fn load() -> u32 {
    1
}

fn main() {}
