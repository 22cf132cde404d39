use oxflow::prelude::*;

#[task]
fn load() -> u32 {
    1
}

#[dag(dagrun_timeout = "an hour")]
fn pipeline() {
    load();
}

#[dag(id = "zero", dagrun_timeout = "0s")]
fn never_runs() {
    load();
}

#[dag(id = "number", dagrun_timeout = 3600)]
fn in_seconds() {
    load();
}

fn main() {}
