//! Clearing the upper halves of the vector registers after tract has run.
//!
//! tract's x86-64 kernels are inline assembly on AVX and AVX-512 registers that ends without
//! `vzeroupper`, so the thread leaves a model run with the registers' upper halves marked in
//! use. Until something clears them, every SSE instruction the thread runs (all of oxflow's
//! own code, compiled for the x86-64 baseline) waits on those upper halves. Measured on this
//! project's 2-core Xeon: after one tract softmax, a plain softmax loop over 100 rows of 3
//! took 35 µs instead of 1.4 µs; the JSON writing and parsing around a request slowed alike.
//! One `vzeroupper` after each load and each run (and at the start of oxflow's own ops inside a run,
//! `short_rows`) ends that. It needs `unsafe` (an intrinsic behind a CPU
//! feature), which is why the crate denies rather than forbids `unsafe_code`.

/// Marks the upper halves of the vector registers clear, where the CPU has them (AVX).
#[allow(unsafe_code)]
pub(super) fn clear() {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: the CPU has AVX (checked just above), which is all `vzeroupper` needs. It
        // zeroes bits 128 and up of the vector registers; the compiler knows the intrinsic and
        // keeps no value in those bits across it.
        unsafe { std::arch::x86_64::_mm256_zeroupper() }
    }
}
