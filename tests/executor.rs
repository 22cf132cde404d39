//! Behaviour of the executor: what a user observes when a DAG runs.

use oxflow::exec::{self, RunConfig, TaskState};
use oxflow::prelude::*;

#[task]
fn one() -> u32 {
    1
}

#[task]
async fn add_one(x: &u32) -> u32 {
    x + 1
}

#[task]
fn pair(x: &u32) -> (u32, String) {
    (*x, format!("n={x}"))
}

#[task]
fn join(n: &u32, label: &String) -> String {
    format!("{label}/{n}")
}

#[dag]
fn simple() {
    let a = one();
    let b = add_one(&a);
    let (n, label) = pair(&b);
    join(&n, &label);
}

#[tokio::test]
async fn linear_dag_hands_outputs_downstream() {
    let spec = simple().spec().unwrap();
    let report = exec::execute(&spec, RunConfig::in_memory()).await.unwrap();
    assert_eq!(report.state, exec::DagRunState::Success);
    assert_eq!(report.output::<String>("join").unwrap(), "n=2/2");
    assert!(report.tasks.iter().all(|t| t.state == TaskState::Success));
}
