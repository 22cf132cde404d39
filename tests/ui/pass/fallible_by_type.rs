// Whether a task is fallible is the type's business, not its spelling's: every `Result` below
// outputs `u32` to `double`, whatever it is called.
#![deny(warnings)]

use oxflow::prelude::*;
use std::result::Result as Outcome;

type Fallible<T> = Result<T, String>;

#[task]
fn through_alias() -> Fallible<u32> {
    Ok(1)
}

#[task]
fn through_renamed_import() -> Outcome<u32, String> {
    Ok(2)
}

#[task]
async fn io_result() -> std::io::Result<u32> {
    Ok(3)
}

#[task]
fn boxed_error() -> Result<u32, Box<dyn std::error::Error + Send + Sync>> {
    Ok(4)
}

#[task]
fn skips() -> Result<u32, oxflow::exec::Skip> {
    Ok(5)
}

#[task]
fn plain() -> Option<u32> {
    Some(6)
}

#[task]
fn double(x: &u32) -> u32 {
    x * 2
}

#[task]
fn unwrap_plain(x: &Option<u32>) -> u32 {
    x.unwrap_or_default()
}

#[dag]
fn pipeline() {
    let a = through_alias();
    let b = through_renamed_import();
    let c = io_result();
    let d = boxed_error();
    let e = skips();
    let f = plain();
    #[task_id = "double_a"]
    double(&a);
    #[task_id = "double_b"]
    double(&b);
    #[task_id = "double_c"]
    double(&c);
    #[task_id = "double_d"]
    double(&d);
    #[task_id = "double_e"]
    double(&e);
    unwrap_plain(&f);
}

fn main() {
    assert_eq!(pipeline().nodes.len(), 12);
}
