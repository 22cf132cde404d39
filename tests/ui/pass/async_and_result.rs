// Generated code must not warn in a user's crate.
#![deny(warnings)]

use oxflow::prelude::*;

#[task]
async fn fetch() -> Result<String, std::io::Error> {
    Ok("data".to_owned())
}

#[task(
    retries = 2,
    retry_delay = "1s",
    backoff = 2.0,
    max_retry_delay = "1m",
    timeout = "30s",
    trigger = "all_success"
)]
fn parse(text: &String) -> Result<usize, String> {
    Ok(text.len())
}

// A `Result` alias with the error type built in. Its own rule overrides the DAG's default, so
// it may take `&T`.
#[task(trigger = "all_success")]
fn count(text: &String) -> std::io::Result<usize> {
    Ok(text.lines().count())
}

// The DAG's default `none_failed` can run it after a skipped upstream: `Option<&T>`.
#[task(persist = false)]
async fn report(n: Option<&usize>, ctx: &TaskContext) {
    let _ = (n, ctx.try_number());
}

#[dag(
    id = "fetch_and_parse",
    description = "fetches and parses",
    schedule = "0 3 * * 1-5",
    max_active_tasks = 2,
    tags = ["ml", "daily"],
    default_args(retries = 1, trigger = "none_failed", timeout = "1h")
)]
fn pipeline() {
    let text = fetch();
    let n = parse(&text);
    let lines = count(&text);
    report(&n);
    #[task_id = "report_lines"]
    report(&lines);
}

#[dag(schedule = "@daily")]
fn preset() {
    fetch();
}

fn main() {
    assert_eq!(pipeline().id, "fetch_and_parse");
    assert_eq!(preset().schedule, Some("@daily"));
}
