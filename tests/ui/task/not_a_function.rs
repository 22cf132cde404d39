use oxflow::task;

#[task]
struct Load;

fn main() {}
