use oxflow::task;

#[task]
fn load<T: Default>() -> T {
    T::default()
}

fn main() {}
