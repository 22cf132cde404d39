// Every mistake is reported in one build.
use oxflow::task;

#[task(retries = -1, timeout = "soon", colour = "red")]
fn load(x: &mut u32) -> &u32 {
    x
}

fn main() {}
