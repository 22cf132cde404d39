// Generated code must not warn in a user's crate.
#![deny(warnings)]

use oxflow::prelude::*;

#[task]
fn split() -> (u32, String) {
    (1, "a".to_owned())
}

#[task]
fn join(n: &u32, label: &String) -> String {
    format!("{label}{n}")
}

#[dag]
fn pipeline() {
    let (n, label) = split();
    let (_, only_label) = split_again();
    join(&n, &label);
    #[task_id = "join_again"]
    join(&n, &only_label);
}

#[task]
fn split_again() -> (u32, String) {
    (2, "b".to_owned())
}

fn main() {
    assert_eq!(pipeline().nodes.len(), 4);
}
