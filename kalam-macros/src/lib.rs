//! Procedural macros of [kalam](https://docs.rs/kalam). Depend on `kalam` and use them from
//! there: generated code reaches its support items through `::kalam`.

#![forbid(unsafe_code)]

mod align;
mod ast;
mod attr;
mod check;
mod ctxt;
mod expand;
mod fallback;
mod text;

#[cfg(test)]
mod tests;

use proc_macro::TokenStream;

/// Derives `kalam::AlignedModel`: a const layout report of the type, and the compile-time
/// checks written in `#[layout(..)]`. See the `kalam` crate for the full reference.
#[proc_macro_derive(AlignedModel, attributes(layout, hot, kalam))]
pub fn derive_aligned_model(input: TokenStream) -> TokenStream {
    expand::derive_aligned_model::derive(input.into()).into()
}

/// Derives `kalam::Table` (storage key, row codec) and, when kalam's `arrow` feature is on,
/// `kalam::ArrowTable` (schema, record batches). See the `kalam` crate.
#[proc_macro_derive(KalamTable, attributes(table, column, kalam))]
pub fn derive_kalam_table(input: TokenStream) -> TokenStream {
    expand::table::derive(input.into()).into()
}

/// Marks a hot path: adds `#[inline]` (or with `#[hot(always)]`, `#[inline(always)]`) to a
/// fn, or to every method with a body in an impl block or a trait, unless the method has
/// an `inline` or `cold` attribute of its own.
#[proc_macro_attribute]
pub fn hot(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::hot::attribute(args.into(), item.into()).into()
}

/// Gates a function behind a named runtime switch that costs one load and a branch when
/// off. See the `kalam` crate for the options.
#[proc_macro_attribute]
pub fn opt_in_feature(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::opt_in::attribute(args.into(), item.into()).into()
}

/// Declares the fields of a `#[repr(C)]` struct in an order with no avoidable padding, then
/// does everything `#[derive(AlignedModel)]` does. See the `kalam` crate.
#[proc_macro_attribute]
pub fn aligned_model(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::aligned_model::attribute(args.into(), item.into()).into()
}
