//! Compile-time diagnostics of `#[experiment]`: one case per mistake under
//! `tests/ui/experiment/`, plus cases that must compile. Refresh the `.stderr` files with
//! `TRYBUILD=overwrite cargo test --test ui_experiment` and review the diff.

#[test]
fn ui_experiment() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/experiment/pass_*.rs");
    t.compile_fail("tests/ui/experiment/[!p]*.rs");
}
