//! Procedural macros of [kalam](https://docs.rs/kalam). Depend on `kalam` and use them from
//! there: generated code reaches its support items through `::kalam`.

#![forbid(unsafe_code)]

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
    expand::aligned_model::derive(input.into()).into()
}
