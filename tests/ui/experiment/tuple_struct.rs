#[oxflow::experiment]
struct TrainParams(u32);

fn main() {}
