use oxflow::task;

struct Loader;

impl Loader {
    #[task]
    fn load(&self) -> u32 {
        1
    }
}

fn main() {}
