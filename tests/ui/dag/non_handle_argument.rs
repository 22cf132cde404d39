use oxflow::prelude::*;

const THRESHOLD: u32 = 3;

#[task]
fn load() -> Vec<u32> {
    vec![1, 2]
}

#[task]
fn filter(rows: &Vec<u32>, threshold: &u32) -> usize {
    rows.iter().filter(|r| *r > threshold).count()
}

#[task]
fn count(rows: Vec<u32>) -> usize {
    rows.len()
}

#[dag]
fn pipeline() {
    let rows = load();
    filter(&rows, &THRESHOLD);
    count(rows.clone());
    count(std::mem::take(&mut rows));
}

fn main() {}
