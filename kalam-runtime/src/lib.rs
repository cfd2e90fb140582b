//! Runtime support for the `kalam` macros.
//!
//! Use it through the `kalam` crate. It holds the types the derives describe a layout with
//! ([`StructLayout`], [`FieldLayout`], [`VariantLayout`]), the [`AlignedModel`] trait, and the
//! `const fn` checks behind `#[layout(..)]`.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod check;
mod layout;
mod message;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use kalam_macros::AlignedModel;
pub use layout::{
    AlignedModel, FieldLayout, FieldOrder, Hole, ModelKind, StructLayout, VariantLayout,
};
