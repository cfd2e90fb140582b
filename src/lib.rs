//! Kalam turns a database team's performance habits into compile-time guarantees.
//!
//! This release brings [`AlignedModel`]: a `const` layout report of a struct or enum, and
//! compile-time checks on it (size budgets, padding, field order, cache lines) whose errors
//! carry the numbers and the fix.
//!
//! # `#[derive(AlignedModel)]`
//!
//! ```
//! use kalam::AlignedModel;
//!
//! #[derive(AlignedModel)]
//! #[repr(C)]
//! #[layout(max_size = 24, hot_first_line)]
//! struct Job {
//!     #[hot]
//!     count: i64,
//!     timestamp: i64,
//!     id: u32,
//!     flag: bool,
//! }
//!
//! const LAYOUT: kalam::StructLayout = Job::LAYOUT;
//! assert_eq!(LAYOUT.size, 24);
//! assert_eq!(LAYOUT.padding(), 3); // the tail, up to the alignment of 8
//! assert_eq!(LAYOUT.optimal_size(), 24);
//! println!("{LAYOUT}");
//! ```
//!
//! `Display` prints a table in the spirit of `pahole`:
//!
//! ```text
//! Job (repr(C), 24 bytes, align 8)
//! offset  size  align  field           type
//!      0     8      8  count           i64  hot
//!      8     8      8  timestamp       i64
//!     16     4      4  id              u32
//!     20     1      1  flag            bool
//!     21     3         (tail padding)
//! padding: 3 of 24 bytes (12%); best order: 24 bytes (this one)
//! ```
//!
//! and [`StructLayout::to_svg`] draws the same layout as a memory map, one row per cache
//! line.
//!
//! ## Checks
//!
//! Every check runs while the crate compiles (under plain `cargo check` too). A failed check
//! is an error that points at the attribute key or the field and says what to do:
//!
//! ```text
//! error[E0080]: evaluation panicked: `Job` (repr(C)) is 32 bytes, but its fields fit in 24:
//!               11 bytes of padding (7 after `flag`, 4 at the tail), 8 of them avoidable.
//!               Declare: `count`, `timestamp`, `id`, `flag`; or add #[layout(allow_waste)].
//! ```
//!
//! | `#[layout(..)]` key | holds when |
//! | --- | --- |
//! | `max_size = N` | the type is at most `N` bytes |
//! | `size = N` | the type is exactly `N` bytes (ABI, on-disk and wire structs) |
//! | `max_padding = N` | the struct has at most `N` padding bytes, holes and tail together |
//! | `no_padding` | the struct has no padding at all |
//! | `optimal` | no field order would make the struct smaller; **on by default for `repr(C)`** |
//! | `allow_waste` | turns the default `optimal` check of a `repr(C)` struct off |
//! | `cache_line = N` | sets the line size for the next two checks (default 64) |
//! | `hot_first_line` | every `#[hot]` field ends inside the first cache line |
//! | `no_straddle` | no field crosses a cache-line boundary |
//! | `max_variant_size = N` | (enums) no variant carries more than `N` bytes |
//! | `check_with(T = u64, N = 4)` | (generic types) run the checks on this instantiation; repeat for more |
//!
//! A field marked `#[hot]` is read on the hot path: [`FieldLayout::hot`] reports it and
//! `hot_first_line` checks where it lands.
//!
//! ## Field order: what reordering can and cannot buy
//!
//! rustc already reorders the fields of a `repr(Rust)` struct to minimise padding, so the
//! order you declare them in changes nothing there, and Kalam never claims otherwise. Under
//! `repr(C)` (FFI, on-disk and wire formats, deliberate cache-line placement) the declared
//! order *is* the layout; that is where `optimal` is on by default and where the errors
//! suggest an order to declare. The suggested order (largest alignment first, zero-sized
//! fields last) always reaches [`StructLayout::optimal_size`].
//!
//! ## Generic types
//!
//! `LAYOUT` exists for every instantiation and is computed when it is used. The checks need
//! concrete types: name them with `check_with`, and they run under `cargo check` like any
//! other. Lifetimes are checked as `'static`. A generic `repr(C)` struct without `check_with`
//! gets no default `optimal` check.
//!
//! ```
//! use kalam::AlignedModel;
//!
//! #[derive(AlignedModel)]
//! #[layout(max_size = 16, check_with(T = u64), check_with(T = u32))]
//! struct Slot<T> {
//!     key: T,
//!     len: u32,
//! }
//!
//! assert_eq!(<Slot<u8> as AlignedModel>::LAYOUT.size, 8);
//! ```
//!
//! ## Enums
//!
//! For an enum, `LAYOUT` gives the size and alignment, and each variant's payload in
//! [`StructLayout::variants`]; `max_variant_size` catches the variant that makes every
//! value large:
//!
//! ```compile_fail,E0080
//! use kalam::AlignedModel;
//!
//! #[derive(AlignedModel)]
//! #[layout(max_variant_size = 32)]
//! enum Message {
//!     Ping,
//!     Blob([u8; 1024]), // error: variant `Message::Blob` carries 1024 bytes, ...
//! }
//! ```
//!
//! ## Paths
//!
//! Generated code reaches this crate as `::kalam`. If you renamed the dependency in
//! `Cargo.toml`, say so with `#[kalam(crate = "my_kalam")]`.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub use kalam_runtime::{
    AlignedModel, FieldLayout, FieldOrder, GATES_ENV, GateState, Hole, Level, ModelKind,
    StructLayout, VariantLayout, gate_is_on, gated_debug, gated_error, gated_info, gated_log,
    gated_trace, gated_warn, gates, hot, opt_in_feature, set_gate,
};

/// What generated code uses. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use kalam_runtime::__private::*;
}
