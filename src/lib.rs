//! Kalam turns a database team's performance habits into compile-time guarantees.
//!
//! - [`AlignedModel`]: a `const` layout report of a struct or enum, and compile-time checks
//!   on it (size budgets, padding, field order, cache lines) whose errors carry the numbers
//!   and the fix; [`#[kalam::aligned_model]`](macro@aligned_model) also declares the fields
//!   of a `repr(C)` struct in an order with no avoidable padding.
//! - [`#[hot]`](macro@hot): inlined hot methods, and inline accessors for hot fields.
//! - [`#[opt_in_feature]`](macro@opt_in_feature): observability gated so that it costs one
//!   load and a branch when off, and nothing when compiled out.
//! - [`#[derive(KalamTable)]`](derive@KalamTable): a table's storage key, row codec and (with
//!   the `arrow` feature) Arrow schema and record batches, generated.
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
//! `hot_first_line` checks where it lands. A field marked `#[layout(align = N)]` has its
//! alignment asserted.
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
//! ## `#[kalam::aligned_model]`: the order written for you
//!
//! For `repr(C)` structs (FFI, on-disk and wire formats, deliberate cache-line placement)
//! the declared order is the layout. The attribute form runs every check of the derive
//! (write the same `#[layout(..)]`, `#[hot]` and `#[kalam(..)]` attributes) after
//! rewriting the field order: largest alignment first, ties in declared order, zero-sized
//! fields last; with `hot_first_line`, the `#[hot]` fields first (then by alignment; this
//! may cost padding, so the default `optimal` check is off then, and an explicit `optimal`
//! still applies).
//!
//! ```
//! #[kalam::aligned_model]
//! #[repr(C)]
//! #[derive(Debug)]
//! struct Job {
//!     flag: bool,
//!     count: i64,
//!     timestamp: i64,
//!     id: u32,
//! }
//!
//! use kalam::AlignedModel;
//! let names: Vec<&str> = Job::LAYOUT.fields.iter().map(|f| f.name).collect();
//! assert_eq!(names, ["count", "timestamp", "id", "flag"]);
//! assert_eq!(Job::LAYOUT.size, 24);
//! assert_eq!(Job::LAYOUT.declared.unwrap().size, 32); // as written
//! let job = Job { flag: true, count: 1, timestamp: 2, id: 3 }; // literals still work
//! # let _ = job;
//! ```
//!
//! - The macro knows the alignment of primitives, atomics, `NonZero*`, pointers,
//!   references, `fn` pointers, `Box`, `Arc`, `Rc`, `Vec`, `String`, `PhantomData`,
//!   `Option`, `Cell` and the like of those, arrays and tuples of known types, on 64-bit and
//!   32-bit targets. Any other type needs `#[layout(align = N)]` on its field. Every
//!   alignment it assumed is checked by a `const` assertion that names the field, the
//!   assumption and the truth. (On 32-bit x86, `u64`, `i64` and `f64` align to 4, not 8:
//!   the assertion reports it, and `#[layout(align = 4)]` settles it there.)
//! - `#[cfg]` on a field stays on that field. [`StructLayout::declared`] is the layout of
//!   the fields in their declared order, and `Display` shows what moved.
//! - What reordering changes: the drop order of the fields (declaration order, now the
//!   new one), and the order that derives placed after the attribute see (`Debug` prints
//!   the new order, `serde` serializes in it). Put the attribute first, above the derives.
//! - Named fields only: a tuple struct's order is its API, and is an error. On a
//!   `repr(Rust)` struct it is an error too: rustc already orders those fields, so use the
//!   derive for its checks. `repr(packed)` and `repr(transparent)` have nothing to reorder.
//!
//! ## Paths
//!
//! Generated code reaches this crate as `::kalam`. If you renamed the dependency in
//! `Cargo.toml`, say so with `#[kalam(crate = "my_kalam")]` (and
//! `#[opt_in_feature("name", crate = "my_kalam")]`).
//!
//! # `#[hot]`
//!
//! On a fn, an impl block (inherent or trait impl) or a trait, `#[hot]` adds `#[inline]` to
//! every method with a body that has no `inline` or `cold` attribute of its own;
//! `#[hot(always)]` adds `#[inline(always)]`, and a method in a `#[hot]` block may ask for
//! `always` with its own `#[hot(always)]`.
//!
//! Why: rustc inlines small non-generic functions across crates by itself only in
//! optimised, non-incremental builds. At `opt-level = 1`, `s` or `z`, or with incremental
//! compilation, a getter in another crate stays a call. Measured by `benches/hot_accessors.rs`
//! on the README's machine: the same loop over `#[hot]` accessors ran at 0.99 of plain
//! getters in the release profile, and at 0.29 of them (3.5 times faster) with
//! `opt-level = 1` and incremental compilation.
//!
//! On a field of an `AlignedModel` struct, `#[hot]` generates an accessor: `#[inline]`,
//! `#[must_use]`, `const fn` where the body allows, carrying the field's docs. It returns
//!
//! | field type | accessor returns |
//! | --- | --- |
//! | integers, floats, `bool`, `char`, `NonZero*`, `&T`, `Option` of those | the value |
//! | `String` | `&str` |
//! | `Vec<T>` | `&[T]` |
//! | `Option<T>` (other `T`) | `Option<&T>` |
//! | `Box<T>` | `&T` |
//! | anything else | `&T` |
//!
//! Options: `copy` (return by value, checked with a `T: Copy` assertion), `name = ident`,
//! `vis = pub(crate)` (default: the struct's visibility), `set` or `set = ident` (a setter,
//! default `set_<name>`), `always`. A tuple field needs a `name`. The field also counts as
//! hot for `hot_first_line`.
//!
//! ```
//! use kalam::*;
//!
//! #[derive(AlignedModel)]
//! pub struct Job {
//!     /// The job's id.
//!     #[hot(set)]
//!     id: u64,
//!     #[hot]
//!     name: String,
//!     #[hot(name = tag_list)]
//!     tags: Vec<u32>,
//! }
//!
//! #[hot]
//! impl Job {
//!     pub fn is_tagged(&self) -> bool {
//!         !self.tags.is_empty()
//!     }
//! }
//!
//! let mut job = Job { id: 1, name: "compact".into(), tags: vec![7] };
//! job.set_id(2);
//! assert_eq!((job.id(), job.name(), job.tag_list()), (2, "compact", &[7][..]));
//! assert!(job.is_tagged());
//! ```
//!
//! # `#[opt_in_feature]`
//!
//! ```
//! use kalam::opt_in_feature;
//!
//! struct Engine {
//!     audit_log: Vec<String>,
//! }
//!
//! impl Engine {
//!     #[opt_in_feature("audit")]
//!     fn record_audit(&mut self, statement: &str) {
//!         self.audit_log.push(statement.to_owned()); // the expensive part
//!     }
//! }
//!
//! let mut engine = Engine { audit_log: Vec::new() };
//! engine.record_audit("DROP TABLE jobs"); // off: returns at once
//! kalam::set_gate("audit", true);
//! engine.record_audit("DROP TABLE users");
//! assert_eq!(engine.audit_log, ["DROP TABLE users"]);
//! ```
//!
//! Each gated function owns a `static` gate site. While its gate is off, calling it is one
//! relaxed load, one compare and a return, with no stack frame (`tests/codegen.rs` checks
//! this on the optimised machine code). While it is on, the body runs from a separate
//! non-inlined function, so the gated function stays small enough to inline into its
//! callers. When the gate is off the function returns `()`, `None` for an `Option`, or with
//! `#[opt_in_feature("name", default)]` `Default::default()`; any other return type is a
//! compile error that names it. `async fn`, generic functions, trait methods with default
//! bodies and methods returning borrows (`Option<&T>`, `Option<&mut T>`) all work.
//!
//! **At run time.** Gates start off. [`set_gate`] turns one on or off at every site, from
//! any thread; [`gates`] lists each with its state and the number of times it was taken;
//! the `KALAM_GATES` environment variable (`KALAM_GATES=audit,live_tracking`, or `*` for
//! all), read once when the first gate is used, turns gates on at start-up. A site
//! registers when it first runs, so [`gates`] lists a gate once it has been reached or
//! named.
//!
//! **At compile time.** `--cfg kalam_disable="audit"` (in `RUSTFLAGS`, or `[build] rustflags`
//! of `.cargo/config.toml`) removes the bodies of the `audit` gate, `kalam_disable="all"`
//! of every gate, and `#[opt_in_feature("audit", feature = "audit-log")]` removes it while
//! the cargo feature `audit-log` of your crate is off. Removed bodies leave no instruction,
//! but are still type-checked, so they do not rot.
//!
//! **Lazy logging.** [`gated_info!`] and its siblings format their arguments only when the
//! gate is on; with this crate's `log` feature the line goes to the `log` crate (target: the
//! gate's name) and is formatted only if `log` would write it, otherwise to standard error.
//!
//! ```
//! #[derive(Debug)]
//! struct Plan;
//!
//! kalam::gated_debug!("planner", "chose {:?}", Plan); // off: `Plan`'s Debug is not called
//! ```

//!
//! # `#[derive(KalamTable)]`
//!
//! A model struct derives its storage and query paths:
//!
//! ```
//! use kalam::{KalamTable, Table};
//!
//! #[derive(KalamTable, Debug, PartialEq)]
//! #[table(name = "jobs", namespace = "system")]
//! struct Job {
//!     #[column(primary_key)]
//!     user_id: String,
//!     #[column(primary_key)]
//!     seq: i64,
//!     #[column(name = "kind")]
//!     job_type: u8,
//!     note: Option<String>, // nullable
//!     #[column(skip)]
//!     cached: Vec<u64>, // not stored; Default::default() when read
//! }
//!
//! let job = Job { user_id: "u1".into(), seq: -3, job_type: 2, note: None, cached: vec![] };
//!
//! // The storage key: the primary-key columns, order-preserving, in one sized buffer.
//! let key = job.key();
//! assert_eq!(key, Job::key_for(&"u1".to_owned(), &-3));
//! assert!(key.starts_with(&Job::key_prefix_user_id(&"u1".to_owned()))); // range scans
//!
//! // The row: a version byte, then every column.
//! let row = job.to_row();
//! assert_eq!(Job::decode(&row).unwrap(), job);
//! assert!(Job::decode(&row[..row.len() - 1]).is_err()); // never a panic
//! ```
//!
//! | attribute | meaning |
//! | --- | --- |
//! | `#[table(name = "..", namespace = "..", version = N)]` | table name (default: the struct's, snake_case), namespace (default `default`), row format version byte (default 1) |
//! | `#[column(primary_key)]` | part of the primary key, in declaration order; at least one |
//! | `#[column(name = "..")]` | the column's name (default: the field's) |
//! | `#[column(skip)]` | not a column: not stored, `Default::default()` when read |
//! | `#[column(nullable)]` | nullable in the schema (implied by `Option<T>`) |
//! | `#[column(via = Repr)]` | stored as `Repr` through [`ColumnVia`], for newtypes and enums |
//!
//! **Keys** sort byte-wise as their values do: integers big-endian (signed ones with the
//! sign bit flipped), floats by IEEE total order (NaN last), strings and bytes with NUL
//! escaped and a terminator (so `"ab"` sorts before `"ab\0"` and `"abc"`), `None` first;
//! composite keys concatenated. [`Table::write_key`] appends to a buffer of yours.
//!
//! **Rows** are compact: numbers at their width, strings and bytes with a LEB128 length,
//! `Option` with a tag byte, after a version byte. [`Table::decode`] checks everything and
//! returns a [`DecodeError`] on a wrong version, truncated or corrupt input or trailing
//! bytes; there is exactly one encoding per row.
//!
//! **Arrow** (feature `arrow`, the Arrow of DataFusion): `ArrowTable` gives the
//! schema (built once, with `kalam.table` and `kalam.namespace` metadata),
//! `to_record_batch(&[Self])` with typed builders sized up front, and
//! `from_record_batch(&RecordBatch)`, which finds columns by name and reports a missing
//! column, another type or a null where none may be as a `BatchError`. `ArrowDecoder`
//! reads stored rows (of any version the table reads) straight into the builders of the
//! columns a scan projects, stepping over the others:
//!
//! ```
//! # #[cfg(feature = "arrow")] {
//! use kalam::{ArrowDecoder, KalamTable, Table};
//!
//! #[derive(KalamTable)]
//! struct Item {
//!     #[column(primary_key)]
//!     id: i64,
//!     name: String,
//!     price: f64,
//! }
//!
//! let mut decoder = ArrowDecoder::<Item>::new(&[2, 1], 2).unwrap();
//! for item in [Item { id: 7, name: "pen".into(), price: 1.5 }, Item { id: 8, name: "ink".into(), price: 4.0 }] {
//!     decoder.push(&item.to_row()).unwrap();
//! }
//! let batch = decoder.finish().unwrap();
//! assert_eq!(batch.schema().field(0).name(), "price");
//! assert_eq!(batch.num_rows(), 2);
//! # }
//! ```
//!
//! **Versions**: `#[table(version = N)]` is the byte every row starts with. A column added
//! by a later version says so, `#[column(since = N)]` (with `default = expr`, or its
//! type's `Default`), after the columns of the versions before it; rows written by older
//! versions then read with the default, through `decode` and `ArrowDecoder` alike:
//!
//! ```
//! use kalam::{KalamTable, Table};
//!
//! #[derive(KalamTable)]
//! #[table(name = "accounts")]
//! struct AccountV1 { #[column(primary_key)] id: i64, owner: String }
//!
//! #[derive(KalamTable, Debug, PartialEq)]
//! #[table(name = "accounts", version = 2)]
//! struct Account {
//!     #[column(primary_key)]
//!     id: i64,
//!     owner: String,
//!     #[column(since = 2, default = 100)]
//!     limit: i64,
//! }
//!
//! let old = AccountV1 { id: 1, owner: "ada".into() }.to_row();
//! assert_eq!(Account::decode(&old).unwrap(), Account { id: 1, owner: "ada".into(), limit: 100 });
//! ```
//!
//! Column types: `bool`, integers, `f32`, `f64`, `String`, `Vec<u8>`, `Option` of those;
//! anything else through `via`, or by implementing [`KeyPart`], [`RowValue`] (and
//! `ArrowColumn`) for it. An unsupported field type is an error on the field that says so.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub use kalam_runtime::{
    AlignedModel, ColumnInfo, ColumnVia, DecodeError, FieldLayout, FieldOrder, GATES_ENV,
    GateState, Hole, KalamTable, KeyPart, Level, ModelKind, RowValue, StructLayout, Table,
    VariantLayout, aligned_model, gate_is_on, gated_debug, gated_error, gated_info, gated_log,
    gated_trace, gated_warn, gates, hot, opt_in_feature, read_row_bytes, set_gate, str_key_len,
    write_row_bytes, write_str_key,
};
#[cfg(feature = "arrow")]
pub use kalam_runtime::{ArrowColumn, ArrowDecoder, ArrowRow, ArrowTable, BatchError};

/// What generated code uses. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use kalam_runtime::__private::*;
}
