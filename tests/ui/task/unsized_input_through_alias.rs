use oxflow::task;

type Rows = [f64];

#[task]
fn mean(rows: &Rows) -> f64 {
    rows.iter().sum::<f64>() / rows.len() as f64
}

fn main() {}
