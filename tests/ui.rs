//! Compile-time diagnostics of `#[task]` and `#[dag]`: every mistake a user can make gets one
//! case under `tests/ui/<macro>/<mistake>.rs` whose `.stderr` shows the error at the user's
//! tokens, and `tests/ui/pass/` holds the forms that must keep compiling.
//!
//! Refresh the expected output with `TRYBUILD=overwrite cargo test --test ui`, then read the diff.
//! Errors emitted by the macros are stable across compilers; those rustc reports for a
//! generated check (a mismatched edge, a missing trait) may change with the toolchain.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
