//! Compile-time diagnostics of `#[task]`, `#[sensor]`, `#[dag]`, `#[experiment]`, `#[model]` and
//! `#[derive(Schema)]`: every mistake a user can
//! make gets one case under `tests/ui/<macro>/<mistake>.rs` whose `.stderr` shows the error at
//! the user's tokens; `tests/ui/pass/` and `tests/ui/experiment/pass_*.rs` hold the forms that
//! must keep compiling. One `TestCases` builds them all in one go.
//!
//! Refresh the expected output with `TRYBUILD=overwrite cargo test --test ui`, then read the diff.
//!
//! Errors emitted by the macros are stable across compilers. Two kinds of `.stderr` are not and
//! need a deliberate refresh:
//! - rustc's own errors about a generated check (a mismatched edge, a wrong argument count, a
//!   missing trait: `error[E....]`) change with the toolchain;
//! - those quoting a runtime bound (`note: required by a bound in ...`, with the line of
//!   `runtime/src/task/support.rs` or `params.rs`) change when that line does.
//!
//! `grep -l 'error\[E' tests/ui/*/*.stderr` and `grep -l runtime/src tests/ui/*/*.stderr` list
//! them.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/task/*.rs");
    t.compile_fail("tests/ui/sensor/*.rs");
    t.compile_fail("tests/ui/dag/*.rs");
    t.compile_fail("tests/ui/experiment/[!p]*.rs");
    t.compile_fail("tests/ui/schema/*.rs");
    t.compile_fail("tests/ui/model/*.rs");
    t.pass("tests/ui/pass/*.rs");
    t.pass("tests/ui/experiment/pass_*.rs");
}
