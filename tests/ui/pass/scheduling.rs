use oxflow::prelude::*;

#[task]
fn load(ctx: &TaskContext) -> u32 {
    ctx.logical_date().map_or(0, |d| d.timestamp() as u32)
}

/// Every ten seconds, catching up since the start date, one run at a time, skipping overlaps.
#[dag(
    schedule = "*/10 * * * * *",
    start_date = "2026-01-01T00:00:00Z",
    catchup = true,
    max_active_runs = 1,
    overlap = "skip"
)]
fn every_ten_seconds() {
    load();
}

#[dag(schedule = None)]
fn by_hand() {
    load();
}

#[dag(schedule = "@quarterly", start_date = "2026-01-01")]
fn quarterly() {
    load();
}

#[dag(schedule = "@continuous")]
fn continuous() {
    load();
}

fn main() {
    let d = every_ten_seconds();
    assert_eq!(d.scheduling.max_active_runs, 1);
    assert!(d.scheduling.catchup);
    assert_eq!(d.scheduling.start_date, Some(1_767_225_600));
    assert_eq!(d.scheduling.overlap, oxflow::schedule::Overlap::Skip);
    assert_eq!(by_hand().schedule, None);
    assert_eq!(quarterly().scheduling.max_active_runs, 16);
    assert_eq!(continuous().scheduling.max_active_runs, 1);
}
