#[oxflow::experiment]
enum Mode {
    Fast,
}

fn main() {}
