// Injected arguments that do not depend on a name, and a type of the user's that happens to be
// called `Run`.
#![deny(warnings)]

use oxflow::prelude::{dag, task};

mod mine {
    /// A run of the user's own, not oxflow's tracking run.
    #[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
    pub struct Run {
        pub laps: u32,
    }
}

#[task]
fn start() -> mine::Run {
    mine::Run { laps: 3 }
}

// `&mine::Run` is an input like any other.
#[task]
fn laps(run: &mine::Run) -> u32 {
    run.laps
}

// `&mut _` is the tracking run, under whatever name it was imported.
#[task]
fn log(n: &u32, tracking: &mut oxflow::tracking::Run) -> u32 {
    let _ = tracking.id();
    *n
}

#[dag]
fn pipeline() {
    let r = start();
    let n = laps(&r);
    log(&n);
}

fn main() {
    let def = pipeline();
    assert_eq!(def.nodes[1].task.inputs.len(), 1);
    assert_eq!(def.nodes[2].task.inputs.len(), 1);
}
