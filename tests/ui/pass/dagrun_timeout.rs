use oxflow::prelude::*;

#[task]
fn load() -> u32 {
    1
}

#[dag(dagrun_timeout = "1h 30m", max_active_tasks = 2)]
fn bounded() {
    load();
}

fn main() {
    assert_eq!(
        bounded().dagrun_timeout,
        Some(std::time::Duration::from_secs(5400))
    );
}
