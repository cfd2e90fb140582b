//! Probe functions for `tests/codegen.rs`, which compiles this crate with `--emit asm` and
//! reads their machine code. Each is `#[inline(never)]` so that it keeps its own symbol.

use std::hint::black_box;

use kalam::opt_in_feature;

/// A type with gated methods.
#[derive(Debug)]
pub struct Probe {
    /// Some state the bodies read.
    pub total: u64,
}

impl Probe {
    /// Gated by name: compiled out by `--cfg kalam_disable="probe"`.
    #[opt_in_feature("probe")]
    #[inline(never)]
    pub fn audited(&self, value: u64) {
        black_box(self.total.wrapping_mul(value));
        black_box(format!("{value}"));
    }

    /// Gated by name and by this crate's `metrics` feature.
    #[opt_in_feature("probe-metered", feature = "metrics")]
    #[inline(never)]
    pub fn metered(&self, value: u64) {
        black_box(self.total.wrapping_add(value));
        black_box(format!("{value}"));
    }
}

/// The same work as a plain function, to compare with.
#[inline(never)]
pub fn plain(probe: &Probe, value: u64) {
    black_box(probe.total.wrapping_mul(value));
    black_box(format!("{value}"));
}
