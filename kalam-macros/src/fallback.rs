//! What a macro emits when its input is wrong: the errors, plus enough code that the rest
//! of the crate keeps compiling, so one mistake does not cascade into many.

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::ast::unraw;

/// The errors and a stub `AlignedModel` impl (an empty layout), so that uses of
/// `T::LAYOUT` elsewhere add no "trait not implemented" errors.
pub(crate) fn aligned_model(
    input: &DeriveInput,
    krate: &TokenStream,
    error: &syn::Error,
) -> TokenStream {
    let errors = error.to_compile_error();
    let ident = &input.ident;
    let name = unraw(ident);
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        #errors
        #[doc(hidden)]
        const _: () = {
            #[automatically_derived]
            impl #impl_generics #krate::__private::AlignedModel for #ident #ty_generics #where_clause {
                const LAYOUT: #krate::__private::StructLayout = #krate::__private::stub(#name);
            }
        };
    }
}

/// For attribute macros: the errors, then the item exactly as the user wrote it, so that
/// the rest of the crate (and the IDE) keeps seeing it.
pub(crate) fn with_original(error: &syn::Error, item: TokenStream) -> TokenStream {
    let mut tokens = error.to_compile_error();
    tokens.extend(item);
    tokens
}
