// Generated code must not warn in a user's crate.
#![deny(warnings)]

use oxflow::prelude::*;

#[task]
fn load() -> Vec<u32> {
    vec![1, 2, 3]
}

// `&T`: borrowed from the shared output.
#[task]
fn sum(data: &Vec<u32>) -> u32 {
    data.iter().sum()
}

// `T: Clone`: the task gets its own copy.
#[task]
fn sort(mut data: Vec<u32>) -> Vec<u32> {
    data.sort();
    data
}

// `Option<&T>`: `None` when the upstream did not succeed.
#[task(trigger = "all_done")]
fn summary(total: Option<&u32>) -> String {
    match total {
        Some(t) => format!("total {t}"),
        None => "no total".to_owned(),
    }
}

// `Option<T>`: a copy, `None` when the upstream did not succeed.
#[task(trigger = "none_failed")]
fn maybe_sorted(data: Option<Vec<u32>>) -> usize {
    data.map_or(0, |d| d.len())
}

#[dag]
fn pipeline() {
    let data = load();
    let total = sum(&data);
    let sorted = sort(data);
    #[task_id = "sort_again"]
    sort(data);
    summary(&total);
    sorted >> summary_again();
    maybe_sorted(sorted);
}

#[task]
fn summary_again() {}

fn main() {
    assert_eq!(pipeline().nodes.len(), 7);
    assert!(pipeline().nodes[6].task.inputs[0].optional);
}
