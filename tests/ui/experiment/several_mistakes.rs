// All mistakes are reported in one build.
#[oxflow::experiment]
struct TrainParams {
    #[param(default = "x")]
    a: u32,
    #[param(colour = 1)]
    b: u32,
    #[param(default = 1, default = 2)]
    c: u32,
}

fn main() {}
