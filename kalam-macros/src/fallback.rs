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

/// The errors and a stub `Table` impl (and `ArrowTable`, with the `arrow` feature) that
/// never runs, so that `row.key()`, `T::decode(..)` and the like elsewhere add no "trait
/// not implemented" errors to the one that matters.
pub(crate) fn table(input: &DeriveInput, krate: &TokenStream, error: &syn::Error) -> TokenStream {
    let errors = error.to_compile_error();
    let ident = &input.ident;
    let name = unraw(ident);
    let private = quote!(#krate::__private);
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let failed = format!("`{name}` did not derive KalamTable: see the errors above");
    quote! {
        #errors
        #[doc(hidden)]
        const _: () = {
            #[automatically_derived]
            impl #impl_generics #private::Table for #ident #ty_generics #where_clause {
                const NAME: &'static ::core::primitive::str = #name;
                const NAMESPACE: &'static ::core::primitive::str = "default";
                const ROW_VERSION: ::core::primitive::u8 = 1;
                const COLUMNS: &'static [#private::ColumnInfo] = &[];

                fn key_len(&self) -> ::core::primitive::usize {
                    0
                }

                fn write_key(&self, _: &mut #private::Vec<::core::primitive::u8>) {}

                fn encoded_len(&self) -> ::core::primitive::usize {
                    0
                }

                fn encode(&self, _: &mut #private::Vec<::core::primitive::u8>) {}

                fn decode(_: &[::core::primitive::u8]) -> ::core::result::Result<Self, #private::DecodeError> {
                    ::core::result::Result::Err(#private::DecodeError::Invalid(
                        <::std::string::String as ::core::convert::From<&::core::primitive::str>>::from(#failed),
                    ))
                }
            }

            #private::if_arrow! {
                #[automatically_derived]
                impl #impl_generics #private::ArrowTable for #ident #ty_generics #where_clause {
                    fn schema() -> #private::arrow_schema::SchemaRef {
                        ::std::sync::Arc::new(#private::arrow_schema::Schema::empty())
                    }

                    fn to_record_batch(
                        _: &[Self],
                    ) -> ::core::result::Result<#private::arrow_array::RecordBatch, #private::BatchError> {
                        ::core::result::Result::Err(#private::BatchError::MissingColumn(#failed))
                    }

                    fn from_record_batch(
                        _: &#private::arrow_array::RecordBatch,
                    ) -> ::core::result::Result<::std::vec::Vec<Self>, #private::BatchError> {
                        ::core::result::Result::Err(#private::BatchError::MissingColumn(#failed))
                    }

                    type Builders = ();

                    fn builders(_: &[::core::primitive::bool], _: ::core::primitive::usize) {}

                    fn push_row(
                        _: &mut (),
                        _: &[::core::primitive::u8],
                    ) -> ::core::result::Result<(), #private::DecodeError> {
                        ::core::result::Result::Err(#private::DecodeError::Invalid(
                            <::std::string::String as ::core::convert::From<&::core::primitive::str>>::from(#failed),
                        ))
                    }

                    fn finish_builders(
                        _: &mut (),
                    ) -> ::std::vec::Vec<::core::option::Option<#private::arrow_array::ArrayRef>> {
                        ::std::vec::Vec::new()
                    }
                }
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
