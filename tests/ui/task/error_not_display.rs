use oxflow::task;

#[derive(Debug)]
pub struct LoadError;

#[task]
fn load() -> Result<u32, LoadError> {
    Err(LoadError)
}

fn main() {}
