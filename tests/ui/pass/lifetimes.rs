// Generated code must not warn in a user's crate.
#![deny(warnings)]

use oxflow::prelude::*;

#[task]
fn load() -> String {
    "data".to_owned()
}

// Elided and named lifetimes on inputs are fine: inputs are borrowed for one attempt.
#[task]
fn first<'a>(text: &'a String, ctx: &TaskContext) -> Option<char> {
    let _ = ctx;
    text.chars().next()
}

#[dag]
fn pipeline() {
    let text = load();
    first(&text);
}

fn main() {
    assert_eq!(first(&"ab".to_owned(), &TaskContext::for_test("d", "t")), Some('a'));
    assert_eq!(pipeline().nodes.len(), 2);
}
