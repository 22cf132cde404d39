use oxflow::task;

#[task]
fn scale(data: &mut Vec<f64>) -> usize {
    data.len()
}

fn main() {}
