//! Sensors in every form they may take: plain or fallible (under any name), sync or async,
//! with inputs and injected arguments, wired like tasks.

use std::path::PathBuf;

use oxflow::prelude::*;
use oxflow::sensor::{FileSensor, Poke as Ready, SensorError};

type Fallible<T> = Result<Poke<T>, SensorError>;

#[task]
fn pattern() -> String {
    "/tmp/*.csv".into()
}

#[sensor(poke_interval = "30s", timeout = "1h", mode = "reschedule", soft_fail = true)]
fn files(pattern: &String, ctx: &TaskContext) -> Result<Poke<Vec<PathBuf>>, SensorError> {
    FileSensor::glob(pattern.as_str()).poke(ctx)
}

#[sensor(exponential_backoff = true, max_wait = "5m", retries = 2, retry_delay = "10s")]
async fn aliased() -> Fallible<u32> {
    Ok(Ready::Ready(1))
}

#[sensor(id = "plain_wait", trigger = "all_done")]
fn plain(found: Option<&Vec<PathBuf>>) -> Ready<usize> {
    Poke::from(found.map(Vec::len))
}

#[task]
fn count(files: &Vec<PathBuf>, n: &u32, total: &usize) -> usize {
    files.len() + *n as usize + total
}

#[dag]
fn waits() {
    let p = pattern();
    let f = files(&p);
    let n = aliased();
    let total = plain(&f);
    count(&f, &n, &total);
}

fn main() {}
