use oxflow::task;

#[task(trigger = "all_done")]
fn report(model: &Vec<f64>, score: f64) -> String {
    format!("{model:?} {score}")
}

fn main() {}
