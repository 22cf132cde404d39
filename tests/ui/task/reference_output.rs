use oxflow::task;

#[task]
fn name() -> &'static str {
    "oxflow"
}

fn main() {}
