//! What generated code calls. Not a public API: names and signatures change without notice.

/// The checks behind `#[layout(..)]`.
pub mod check {
    pub use crate::check::*;
}
pub use crate::layout::{AlignedModel, FieldLayout, StructLayout, VariantLayout};
pub use crate::message::Message;

/// Collects the fields of a struct in `const` code, where `#[cfg]` on a statement can leave
/// one out, then sorts them by offset. `N` is the number of fields declared.
#[derive(Clone, Copy, Debug)]
pub struct FieldBuf<const N: usize> {
    fields: [FieldLayout; N],
    len: usize,
}

impl<const N: usize> FieldBuf<N> {
    const EMPTY: FieldLayout = FieldLayout::new("", "", 0, 0, 1, false);

    #[must_use]
    pub const fn new() -> Self {
        FieldBuf {
            fields: [Self::EMPTY; N],
            len: 0,
        }
    }

    #[must_use]
    pub const fn with(mut self, field: FieldLayout) -> Self {
        self.fields[self.len] = field;
        self.len += 1;
        self
    }

    /// Stable insertion sort by offset: zero-sized fields sharing an offset keep their
    /// declaration order.
    #[must_use]
    pub const fn sorted(mut self) -> Self {
        let mut i = 1;
        while i < self.len {
            let mut j = i;
            while j > 0 && self.fields[j - 1].offset > self.fields[j].offset {
                let moved = self.fields[j];
                self.fields[j] = self.fields[j - 1];
                self.fields[j - 1] = moved;
                j -= 1;
            }
            i += 1;
        }
        self
    }

    #[must_use]
    pub const fn as_slice(&self) -> &[FieldLayout] {
        self.fields.split_at(self.len).0
    }
}

impl<const N: usize> Default for FieldBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// Like [`FieldBuf`], for enum variants.
#[derive(Clone, Copy, Debug)]
pub struct VariantBuf<const N: usize> {
    variants: [VariantLayout; N],
    len: usize,
}

impl<const N: usize> VariantBuf<N> {
    #[must_use]
    pub const fn new() -> Self {
        VariantBuf {
            variants: [VariantLayout::new("", 0); N],
            len: 0,
        }
    }

    #[must_use]
    pub const fn with(mut self, variant: VariantLayout) -> Self {
        self.variants[self.len] = variant;
        self.len += 1;
        self
    }

    #[must_use]
    pub const fn as_slice(&self) -> &[VariantLayout] {
        self.variants.split_at(self.len).0
    }
}

impl<const N: usize> Default for VariantBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// The alignment a field gets in a `repr(packed(pack))` struct.
#[must_use]
pub const fn packed_align(align: usize, pack: usize) -> usize {
    if align < pack { align } else { pack }
}

/// The layout given to a type whose derive failed, so that uses of `LAYOUT` elsewhere
/// do not add errors to the one already reported.
#[must_use]
pub const fn stub(name: &'static str) -> StructLayout {
    StructLayout::new(name, "Rust", 0, 1, &[])
}

pub use crate::gate::{Gate, OFF as GATE_OFF, ON as GATE_ON};
pub use crate::log::emit;

/// Runs an enabled opt-in feature's body out of line: each body is its own instance of
/// this function, never inlined, so the gated function that calls it stays a load, a
/// compare and a jump.
#[inline(never)]
pub fn outlined<R>(body: impl FnOnce() -> R) -> R {
    body()
}

/// Fixes a closure's kind to `FnOnce` where it is created.
#[inline(always)]
pub fn once<R, F: FnOnce() -> R>(body: F) -> F {
    body
}

/// The first call through a gate site: registers it, then runs the body if the gate is
/// on. Kept out of the gated function so that nothing there must survive a call, and the
/// off path needs no stack frame.
#[cold]
#[inline(never)]
pub fn first_call<R>(gate: &'static Gate, body: impl FnOnce() -> R, off: impl FnOnce() -> R) -> R {
    if gate.register() {
        gate.record_hit();
        outlined(body)
    } else {
        off()
    }
}

/// Fails to compile unless `T: Copy`; used by `#[hot(copy)]` accessors.
#[inline(always)]
pub const fn assert_copy<T: Copy>() {}

pub use crate::table::{
    ColumnInfo, ColumnVia, DecodeError, KeyArg, KeyPart, RowValue, Table, finish, read_version,
    read_version_in,
};
pub use core::default::Default;
pub use std::vec::Vec;

#[cfg(feature = "arrow")]
pub use crate::table::arrow::{ArrowColumn, ArrowRow, ArrowTable, BatchError, column};
#[cfg(feature = "arrow")]
pub use {arrow_array, arrow_schema};

/// Expands to its input when this crate has the `arrow` feature, and to nothing otherwise:
/// the derive emits Arrow code through it, so a user crate gets Arrow impls exactly when
/// the runtime was built with Arrow.
#[cfg(feature = "arrow")]
#[macro_export]
#[doc(hidden)]
macro_rules! __kalam_if_arrow {
    ($($tokens:tt)*) => { $($tokens)* };
}

/// See the `arrow` version above.
#[cfg(not(feature = "arrow"))]
#[macro_export]
#[doc(hidden)]
macro_rules! __kalam_if_arrow {
    ($($tokens:tt)*) => {};
}

pub use crate::__kalam_if_arrow as if_arrow;
