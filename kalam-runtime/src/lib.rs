//! Runtime support for the `kalam` macros.
//!
//! Use it through the `kalam` crate. It holds the types the derives describe a layout with
//! ([`StructLayout`], [`FieldLayout`], [`VariantLayout`]), the [`AlignedModel`] trait, the
//! `const fn` checks behind `#[layout(..)]`, and the gate registry behind
//! `#[opt_in_feature]` ([`gates`], [`set_gate`]).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod check;
mod gate;
mod layout;
mod log;
mod message;
mod table;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use gate::{GATES_ENV, GateState, gate_is_on, gates, set_gate};
pub use kalam_macros::{AlignedModel, KalamTable, aligned_model, hot, opt_in_feature};
pub use layout::{
    AlignedModel, FieldLayout, FieldOrder, Hole, ModelKind, StructLayout, VariantLayout,
};
pub use log::Level;
#[cfg(feature = "arrow")]
pub use table::arrow::{ArrowColumn, ArrowDecoder, ArrowRow, ArrowTable, BatchError};
pub use table::{
    ColumnInfo, ColumnVia, DecodeError, KeyPart, RowValue, Table, read_row_bytes, str_key_len,
    write_row_bytes, write_str_key,
};
