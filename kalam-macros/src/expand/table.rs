//! `#[derive(KalamTable)]`: the storage key, the row codec and (through the runtime's
//! `arrow` feature) the Arrow schema and record batches of a struct.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{DeriveInput, Ident};

use crate::ast::{Column, TableInput, crate_path, unraw};
use crate::attr::table::TableAttrs;
use crate::ctxt::Ctxt;
use crate::{check, fallback, text};

impl Column<'_> {
    /// The type a key function takes the column by reference as: `str` for a `String`,
    /// `[u8]` for a `Vec<u8>`, the field's type otherwise (and always with `via`).
    fn arg_type(&self) -> TokenStream {
        let ty = self.ty;
        if self.attrs.via.is_some() {
            return quote!(#ty);
        }
        match text::compact(ty).trim_start_matches("::") {
            "String" | "std::string::String" | "alloc::string::String" => {
                quote_spanned!(ty.span()=> ::core::primitive::str)
            }
            "Vec<u8>" | "std::vec::Vec<u8>" | "alloc::vec::Vec<u8>" => {
                quote_spanned!(ty.span()=> [::core::primitive::u8])
            }
            _ => quote!(#ty),
        }
    }

    /// `&T` for a field reached by `place` (`self.id`, `row.id`, or `id` of type `&T`
    /// when `by_ref`): the stored representation, converted through `ColumnVia` if asked.
    fn value(&self, place: &TokenStream, by_ref: bool, private: &TokenStream) -> TokenStream {
        let borrowed = if by_ref {
            quote!(#place)
        } else {
            quote!(&#place)
        };
        match (&self.attrs.via, self.via_inner) {
            (Some(repr), Some(inner)) => quote_spanned!(inner.span()=>
                &::core::option::Option::map(
                    ::core::option::Option::as_ref(#borrowed),
                    <#inner as #private::ColumnVia<#repr>>::to_repr,
                )
            ),
            (Some(repr), None) => {
                let ty = self.ty;
                quote_spanned!(ty.span()=> &<#ty as #private::ColumnVia<#repr>>::to_repr(#borrowed))
            }
            (None, _) => borrowed,
        }
    }

    /// Turns `repr` (an expression of the stored type) into the field's type; `error` maps
    /// the conversion's message to the caller's error.
    fn converted(
        &self,
        repr: &TokenStream,
        error: &TokenStream,
        private: &TokenStream,
    ) -> TokenStream {
        match (&self.attrs.via, self.via_inner) {
            (Some(via), Some(inner)) => quote_spanned!(inner.span()=>
                match #repr {
                    ::core::option::Option::None => ::core::option::Option::None,
                    ::core::option::Option::Some(__kalam_repr) => ::core::option::Option::Some(
                        <#inner as #private::ColumnVia<#via>>::from_repr(__kalam_repr)
                            .map_err(#error)?,
                    ),
                }
            ),
            (Some(via), None) => {
                let ty = self.ty;
                quote_spanned!(ty.span()=>
                    <#ty as #private::ColumnVia<#via>>::from_repr(#repr).map_err(#error)?
                )
            }
            (None, _) => quote!(#repr),
        }
    }
}

pub(crate) fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(err) => return err.to_compile_error(),
    };
    let cx = Ctxt::new();
    let table = TableInput::from_syn(&cx, &input);
    check::table(&cx, &table);
    let krate = crate_path(table.krate.as_ref());
    match cx.check() {
        Ok(()) => expand(&input, &table.attrs, &table.columns, &krate),
        Err(err) => fallback::table(&input, &krate, &err),
    }
}

/// `JobRun` -> `job_run`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn expand(
    input: &DeriveInput,
    table: &TableAttrs,
    all: &[Column<'_>],
    krate: &TokenStream,
) -> TokenStream {
    let private = quote!(#krate::__private);
    let ident = &input.ident;
    let name = table
        .name
        .as_ref()
        .map_or_else(|| snake_case(&unraw(ident)), syn::LitStr::value);
    let namespace = table
        .namespace
        .as_ref()
        .map_or_else(|| "default".to_owned(), syn::LitStr::value);
    let version = table.version.map_or(1, |(v, _)| v);
    // Rows of the version before the earliest `since` hold every column without one.
    let oldest = all
        .iter()
        .filter_map(|c| c.attrs.since.map(|(since, _)| since))
        .min()
        .map_or(version, |since| since.saturating_sub(1));

    let stored: Vec<&Column<'_>> = all.iter().filter(|c| c.attrs.skip.is_none()).collect();
    let keys: Vec<&Column<'_>> = stored
        .iter()
        .copied()
        .filter(|c| c.attrs.primary_key.is_some())
        .collect();
    let skipped: Vec<&Ident> = all
        .iter()
        .filter(|c| c.attrs.skip.is_some())
        .map(|c| c.ident)
        .collect();

    // Trait calls are spanned at the field's type, so that "`X` cannot be a KalamTable
    // column" lands on it.
    let key_part = |c: &Column<'_>| {
        let ty = c.repr();
        quote_spanned!(ty.span()=> <#ty as #private::KeyPart>)
    };
    let row_value = |c: &Column<'_>| {
        let ty = c.repr();
        quote_spanned!(ty.span()=> <#ty as #private::RowValue>)
    };
    let this = |c: &Column<'_>| {
        let field = c.ident;
        c.value(&quote!(self.#field), false, &private)
    };
    let invalid = quote!(#private::DecodeError::Invalid);

    let column_infos = stored.iter().map(|c| {
        let (column, ty, nullable) = (&c.name, text::compact(c.ty), c.nullable());
        let position = match keys.iter().position(|k| k.ident == c.ident) {
            Some(p) => quote!(::core::option::Option::Some(#p)),
            None => quote!(::core::option::Option::None),
        };
        let since = c.attrs.since.map_or(0, |(since, _)| since);
        let codec = row_value(c);
        quote! {
            #private::ColumnInfo::new(#column, #ty, #nullable, #position)
                .since(#since)
                .optional(#codec::OPTIONAL)
        }
    });

    let key_len = keys.iter().map(|c| {
        let (part, value) = (key_part(c), this(c));
        quote!(#part::key_len(#value))
    });
    let write_key = keys.iter().map(|c| {
        let (part, value) = (key_part(c), this(c));
        quote!(#part::encode_key(#value, out);)
    });
    let row_len = stored.iter().map(|c| {
        let (codec, value) = (row_value(c), this(c));
        quote!(#codec::row_len(#value))
    });
    let encode = stored.iter().map(|c| {
        let (codec, value) = (row_value(c), this(c));
        quote!(#codec::encode_row(#value, out);)
    });
    let decode = stored.iter().map(|c| {
        let (codec, field) = (row_value(c), c.ident);
        let value = c.converted(&quote!(#codec::decode_row(&mut input)?), &invalid, &private);
        match c.attrs.since {
            Some((since, _)) => {
                let default = c.default_value(&private);
                quote! {
                    let #field = if __kalam_version >= #since { #value } else { #default };
                }
            }
            None => quote!(let #field = #value;),
        }
    });
    let stored_idents: Vec<&Ident> = stored.iter().map(|c| c.ident).collect();

    // `key_for(a, b)`, and `key_prefix_a(a)` for every leading subset of a composite key.
    let key_fns = (1..=keys.len()).map(|count| {
        let prefix = &keys[..count];
        let fn_name = if count == keys.len() {
            format_ident!("key_for")
        } else {
            let names: Vec<String> = prefix.iter().map(|c| unraw(c.ident)).collect();
            format_ident!("key_prefix_{}", names.join("_"))
        };
        let args = prefix.iter().map(|c| {
            let (field, ty) = (c.ident, c.arg_type());
            quote!(#field: &#ty)
        });
        // A column without `via` is encoded from the argument as it is given (`&str` for a
        // `String`); one with `via` is converted to its stored type first.
        let key_arg = |c: &Column<'_>| match &c.attrs.via {
            Some(_) => key_part(c),
            None => {
                let ty = c.arg_type();
                quote_spanned!(c.ty.span()=> <#ty as #private::KeyArg>)
            }
        };
        let lens = prefix.iter().map(|c| {
            let (part, field) = (key_arg(c), c.ident);
            let value = c.value(&quote!(#field), true, &private);
            quote!(#part::key_len(#value))
        });
        let writes = prefix.iter().map(|c| {
            let (part, field) = (key_arg(c), c.ident);
            let value = c.value(&quote!(#field), true, &private);
            quote!(#part::encode_key(#value, &mut __kalam_key);)
        });
        let columns: Vec<&str> = prefix.iter().map(|c| c.name.as_str()).collect();
        let doc = if count == keys.len() {
            format!(
                "The storage key of the row whose primary key is ({}).",
                columns.join(", ")
            )
        } else {
            format!(
                "The key prefix shared by every row whose key starts with ({}): seek to it to \
                 scan them in key order.",
                columns.join(", ")
            )
        };
        let vis = &input.vis;
        quote! {
            #[doc = #doc]
            #[must_use]
            #vis fn #fn_name(#(#args),*) -> #private::Vec<::core::primitive::u8> {
                let mut __kalam_key = #private::Vec::with_capacity(0 #(+ #lens)*);
                #(#writes)*
                __kalam_key
            }
        }
    });

    let arrow = arrow_impl(
        ident,
        (&name, &namespace, (oldest, version)),
        &stored,
        &skipped,
        &private,
    );

    quote! {
        #[doc(hidden)]
        const _: () = {
            #[automatically_derived]
            impl #private::Table for #ident {
                const NAME: &'static ::core::primitive::str = #name;
                const NAMESPACE: &'static ::core::primitive::str = #namespace;
                const ROW_VERSION: ::core::primitive::u8 = #version;
                const OLDEST_VERSION: ::core::primitive::u8 = #oldest;
                const COLUMNS: &'static [#private::ColumnInfo] = &[#(#column_infos),*];

                #[inline]
                fn key_len(&self) -> ::core::primitive::usize {
                    0 #(+ #key_len)*
                }

                #[inline]
                fn write_key(&self, out: &mut #private::Vec<::core::primitive::u8>) {
                    #(#write_key)*
                }

                #[inline]
                fn encoded_len(&self) -> ::core::primitive::usize {
                    1 #(+ #row_len)*
                }

                #[inline]
                fn encode(&self, out: &mut #private::Vec<::core::primitive::u8>) {
                    out.reserve(<Self as #private::Table>::encoded_len(self));
                    out.push(#version);
                    #(#encode)*
                }

                fn decode(bytes: &[::core::primitive::u8]) -> ::core::result::Result<Self, #private::DecodeError> {
                    let mut input = bytes;
                    #[allow(unused_variables)]
                    let __kalam_version = #private::read_version_in(&mut input, #oldest, #version)?;
                    #(#decode)*
                    #private::finish(input)?;
                    ::core::result::Result::Ok(#ident {
                        #(#stored_idents,)*
                        #(#skipped: #private::Default::default(),)*
                    })
                }
            }

            #[automatically_derived]
            impl #ident {
                #(#key_fns)*
            }

            #arrow
        };
    }
}

fn arrow_impl(
    ident: &Ident,
    (name, namespace, (oldest, version)): (&str, &str, (u8, u8)),
    stored: &[&Column<'_>],
    skipped: &[&Ident],
    private: &TokenStream,
) -> TokenStream {
    let column = |c: &Column<'_>| {
        let ty = c.repr();
        quote_spanned!(ty.span()=> <#ty as #private::ArrowColumn>)
    };
    let fields = stored.iter().map(|c| {
        let (col, column_name, nullable) = (column(c), &c.name, c.attrs.nullable.is_some());
        quote! {
            #private::arrow_schema::Field::new(
                #column_name,
                #col::data_type(),
                #col::NULLABLE || #nullable,
            )
        }
    });
    let builders: Vec<Ident> = (0..stored.len())
        .map(|i| format_ident!("__kalam_builder_{}", i))
        .collect();
    let arrays: Vec<Ident> = (0..stored.len())
        .map(|i| format_ident!("__kalam_array_{}", i))
        .collect();
    let make_builders = stored.iter().zip(&builders).map(|(c, builder)| {
        let (col, field) = (column(c), c.ident);
        // A `via` column is converted once per row, on append; it is not sized up front.
        let data = if c.attrs.via.is_some() {
            quote!(0)
        } else {
            quote! {
                if #col::VARIABLE {
                    ::core::iter::Iterator::sum::<::core::primitive::usize>(
                        ::core::iter::Iterator::map(__kalam_rows.iter(), |row| #col::data_len(&row.#field)),
                    )
                } else {
                    0
                }
            }
        };
        quote!(let mut #builder = #col::builder(__kalam_rows.len(), #data);)
    });
    let appends = stored.iter().zip(&builders).map(|(c, builder)| {
        let (col, field) = (column(c), c.ident);
        let value = c.value(&quote!(row.#field), false, private);
        quote!(#col::append(#value, &mut #builder);)
    });
    let get_arrays = stored.iter().zip(&arrays).map(|(c, array)| {
        let (ty, column_name) = (c.repr(), &c.name);
        let get = quote_spanned!(ty.span()=> #private::column::<#ty>);
        quote!(let #array = #get(batch, #column_name)?;)
    });
    let reads = stored.iter().zip(&arrays).map(|(c, array)| {
        let (field, column_name) = (c.ident, &c.name);
        let col = column(c);
        let read = quote!(#col::read(#array, row));
        let invalid = quote! {
            |message| #private::BatchError::Invalid { column: #column_name, row, message }
        };
        let value = c.converted(&read, &invalid, private);
        quote!(#field: #value,)
    });
    // Without `via` columns no read can fail: collecting from the range then writes the
    // rows in place, with no capacity check per row.
    let row = quote! {
        #ident {
            #(#reads)*
            #(#skipped: #private::Default::default(),)*
        }
    };
    let collect = if stored.iter().any(|c| c.attrs.via.is_some()) {
        quote! {
            let mut rows = ::std::vec::Vec::with_capacity(batch.num_rows());
            for row in 0..batch.num_rows() {
                rows.push(#row);
            }
            ::core::result::Result::Ok(rows)
        }
    } else {
        quote!(::core::result::Result::Ok(::core::iter::Iterator::collect(
            ::core::iter::Iterator::map(0..batch.num_rows(), |row| #row),
        )))
    };
    let decoder = arrow_decoder(stored, (oldest, version), private);
    quote! {
        #private::if_arrow! {
            #[automatically_derived]
            impl #private::ArrowTable for #ident {
                fn schema() -> #private::arrow_schema::SchemaRef {
                    static SCHEMA: ::std::sync::OnceLock<#private::arrow_schema::SchemaRef> =
                        ::std::sync::OnceLock::new();
                    ::core::clone::Clone::clone(SCHEMA.get_or_init(|| {
                        let metadata = <::std::collections::HashMap<_, _> as ::core::convert::From<_>>::from([
                            (<::std::string::String as ::core::convert::From<&::core::primitive::str>>::from("kalam.table"), <::std::string::String as ::core::convert::From<&::core::primitive::str>>::from(#name)),
                            (<::std::string::String as ::core::convert::From<&::core::primitive::str>>::from("kalam.namespace"), <::std::string::String as ::core::convert::From<&::core::primitive::str>>::from(#namespace)),
                        ]);
                        ::std::sync::Arc::new(#private::arrow_schema::Schema::new_with_metadata(
                            ::std::vec![#(#fields),*],
                            metadata,
                        ))
                    }))
                }

                fn to_record_batch(
                    __kalam_rows: &[Self],
                ) -> ::core::result::Result<#private::arrow_array::RecordBatch, #private::BatchError> {
                    #(#make_builders)*
                    for row in __kalam_rows {
                        #(#appends)*
                    }
                    let columns: ::std::vec::Vec<#private::arrow_array::ArrayRef> = ::std::vec![
                        #(#private::arrow_array::builder::ArrayBuilder::finish(&mut #builders)),*
                    ];
                    ::core::result::Result::Ok(#private::arrow_array::RecordBatch::try_new(
                        <Self as #private::ArrowTable>::schema(),
                        columns,
                    )?)
                }

                fn from_record_batch(
                    batch: &#private::arrow_array::RecordBatch,
                ) -> ::core::result::Result<::std::vec::Vec<Self>, #private::BatchError> {
                    #(#get_arrays)*
                    #collect
                }

                #decoder
            }
        }
    }
}

/// The items of `ArrowTable` behind `kalam::ArrowDecoder`: a tuple of optional builders,
/// one per stored column, and a row decoder that appends each projected column's value
/// from the row's bytes and steps over the others.
fn arrow_decoder(
    stored: &[&Column<'_>],
    (oldest, version): (u8, u8),
    private: &TokenStream,
) -> TokenStream {
    let column = |c: &Column<'_>| {
        let ty = c.repr();
        quote_spanned!(ty.span()=> <#ty as #private::ArrowColumn>)
    };
    let row = |c: &Column<'_>| {
        let ty = c.repr();
        quote_spanned!(ty.span()=> <#ty as #private::ArrowRow>)
    };
    let slots: Vec<TokenStream> = stored
        .iter()
        .map(|c| {
            let col = column(c);
            quote!(::core::option::Option<#col::Builder>)
        })
        .collect();
    let index = (0..stored.len()).map(syn::Index::from);
    let make = stored.iter().zip(index.clone()).map(|(c, i)| {
        let col = column(c);
        quote! {
            match <[::core::primitive::bool]>::get(projected, #i) {
                ::core::option::Option::Some(true) => ::core::option::Option::Some(#col::builder(
                    rows,
                    if #col::VARIABLE { rows * 16 } else { 0 },
                )),
                _ => ::core::option::Option::None,
            }
        }
    });
    let pushes = stored.iter().zip(index.clone()).map(|(c, i)| {
        let (col, row) = (column(c), row(c));
        let read = quote! {
            match &mut builders.#i {
                ::core::option::Option::Some(builder) => #row::append_row(&mut input, builder)?,
                ::core::option::Option::None => #row::skip_row(&mut input)?,
            }
        };
        match c.attrs.since {
            Some((since, _)) => {
                let (ty, default) = (c.ty, c.default_value(private));
                let value = c.value(&quote!(__kalam_default), false, private);
                quote! {
                    if __kalam_version >= #since {
                        #read
                    } else if let ::core::option::Option::Some(builder) = &mut builders.#i {
                        let __kalam_default: #ty = #default;
                        #col::append(#value, builder);
                    }
                }
            }
            None => read,
        }
    });
    let finishes = index.map(|i| {
        quote! {
            ::core::option::Option::map(
                ::core::option::Option::as_mut(&mut builders.#i),
                #private::arrow_array::builder::ArrayBuilder::finish,
            )
        }
    });
    quote! {
        type Builders = (#(#slots,)*);

        fn builders(
            projected: &[::core::primitive::bool],
            rows: ::core::primitive::usize,
        ) -> Self::Builders {
            (#(#make,)*)
        }

        #[inline]
        fn push_row(
            builders: &mut Self::Builders,
            row: &[::core::primitive::u8],
        ) -> ::core::result::Result<(), #private::DecodeError> {
            let mut input = row;
            #[allow(unused_variables)]
            let __kalam_version = #private::read_version_in(&mut input, #oldest, #version)?;
            #(#pushes)*
            #private::finish(input)
        }

        fn finish_builders(
            builders: &mut Self::Builders,
        ) -> ::std::vec::Vec<::core::option::Option<#private::arrow_array::ArrayRef>> {
            ::std::vec![#(#finishes),*]
        }
    }
}
