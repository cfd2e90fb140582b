//! `#[derive(AlignedModel)]`: the `LAYOUT` constant and one `const` item per check.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{DeriveInput, GenericParam};

use crate::ast::{Data, Field, Input, Variant, crate_path, unraw};
use crate::attr::CheckArg;
use crate::ctxt::Ctxt;
use crate::expand::hot;
use crate::{check, fallback, text};

/// Cache-line size used when `cache_line` is not given.
const DEFAULT_CACHE_LINE: usize = 64;

pub(crate) fn derive(input: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(err) => return err.to_compile_error(),
    };
    let cx = Ctxt::new();
    let model = Input::from_syn(&cx, &input);
    check::check(&cx, &model);
    let krate = crate_path(model.attrs.krate.as_ref());
    match cx.check() {
        Ok(()) => expand(&model, &krate, None),
        Err(err) => fallback::aligned_model(&input, &krate, &err),
    }
}

/// The layout of the declared field order, when `#[kalam::aligned_model]` reordered them:
/// items that define it (a shadow struct and its impl), and an expression of type
/// `&'static StructLayout` that reads it.
pub(crate) struct Declared {
    pub(crate) items: TokenStream,
    pub(crate) layout: TokenStream,
}

pub(crate) fn expand(
    input: &Input<'_>,
    krate: &TokenStream,
    declared: Option<&Declared>,
) -> TokenStream {
    let private = quote!(#krate::__private);
    let ident = input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let mut layout = match &input.data {
        Data::Struct(fields) => struct_layout(input, fields, &private),
        Data::Enum(variants) => enum_layout(input, variants, &private),
        // Rejected by `check`.
        Data::Union(_) => return TokenStream::new(),
    };
    let mut items = TokenStream::new();
    if let Some(declared) = declared {
        let declared_layout = &declared.layout;
        layout = quote!(#layout.with_declared(#declared_layout));
        items.extend(declared.items.clone());
    }
    let checks: Vec<TokenStream> = subjects(input)
        .iter()
        .flat_map(|subject| checks(input, subject, &private))
        .collect();
    let accessors = hot::accessors(input, &private);
    quote! {
        #[doc(hidden)]
        const _: () = {
            #items
            #[automatically_derived]
            impl #impl_generics #private::AlignedModel for #ident #ty_generics #where_clause {
                const LAYOUT: #private::StructLayout = #layout;
            }
            #accessors
            #(#checks)*
        };
    }
}

fn struct_layout(input: &Input<'_>, fields: &[Field<'_>], private: &TokenStream) -> TokenStream {
    let name = &input.name;
    let repr = input.attrs.repr.describe();
    let pack = input.attrs.repr.packed;
    let count = fields.len();
    let pushes = fields.iter().map(|field| {
        let member = &field.member;
        let ty = field.ty;
        let field_name = &field.name;
        let ty_text = text::compact(ty);
        let hot = field.attrs.hot.is_some();
        let cfgs = &field.cfgs;
        let align = match pack {
            Some(pack) => {
                let pack = pack as usize;
                quote!(#private::packed_align(::core::mem::align_of::<#ty>(), #pack))
            }
            None => quote!(::core::mem::align_of::<#ty>()),
        };
        // Spanned at the field's type, so an error about the type lands on it.
        let size = quote_spanned!(ty.span()=> ::core::mem::size_of::<#ty>());
        quote! {
            #(#cfgs)*
            {
                __kalam_fields = __kalam_fields.with(#private::FieldLayout::new(
                    #field_name,
                    #ty_text,
                    ::core::mem::offset_of!(Self, #member),
                    #size,
                    #align,
                    #hot,
                ));
            }
        }
    });
    let fields = if count == 0 {
        quote!(#private::FieldBuf::<0>::new())
    } else {
        quote! {
            let mut __kalam_fields = #private::FieldBuf::<#count>::new();
            #(#pushes)*
            __kalam_fields.sorted()
        }
    };
    quote! {
        #private::StructLayout::new(
            #name,
            #repr,
            ::core::mem::size_of::<Self>(),
            ::core::mem::align_of::<Self>(),
            const { #fields }.as_slice(),
        )
    }
}

fn enum_layout(input: &Input<'_>, variants: &[Variant<'_>], private: &TokenStream) -> TokenStream {
    let name = &input.name;
    let repr = input.attrs.repr.describe();
    let count = variants.len();
    let pushes = variants.iter().map(|variant| {
        let variant_name = unraw(variant.ident);
        let types = &variant.types;
        let cfgs = &variant.cfgs;
        quote! {
            #(#cfgs)*
            {
                __kalam_variants = __kalam_variants.with(#private::VariantLayout::new(
                    #variant_name,
                    ::core::mem::size_of::<(#(#types,)*)>(),
                ));
            }
        }
    });
    let variants = if count == 0 {
        quote!(#private::VariantBuf::<0>::new())
    } else {
        quote! {
            let mut __kalam_variants = #private::VariantBuf::<#count>::new();
            #(#pushes)*
            __kalam_variants
        }
    };
    quote! {
        #private::StructLayout::new_enum(
            #name,
            #repr,
            ::core::mem::size_of::<Self>(),
            ::core::mem::align_of::<Self>(),
            const { #variants }.as_slice(),
        )
    }
}

/// A concrete type the checks run on, and how messages name it.
struct Subject {
    ty: TokenStream,
    name: String,
}

/// The type itself (lifetimes set to `'static`), or one type per `check_with`.
fn subjects(input: &Input<'_>) -> Vec<Subject> {
    let ident = input.ident;
    let name = input.name.clone();
    if !input.is_generic() {
        let lifetimes: Vec<TokenStream> = input
            .generics
            .lifetimes()
            .map(|_| quote!('static))
            .collect();
        let ty = if lifetimes.is_empty() {
            quote!(#ident)
        } else {
            quote!(#ident<#(#lifetimes),*>)
        };
        return vec![Subject { ty, name }];
    }
    input
        .attrs
        .layout
        .check_with
        .iter()
        .map(|check| {
            let mut args = Vec::new();
            let mut shown = Vec::new();
            for param in &input.generics.params {
                let given = |ident: &syn::Ident| {
                    check
                        .args
                        .iter()
                        .find(|(name, _)| name == ident)
                        .map(|(_, arg)| arg)
                };
                match param {
                    GenericParam::Lifetime(_) => args.push(quote!('static)),
                    GenericParam::Type(t) => {
                        let ty = match (given(&t.ident), &t.default) {
                            (Some(CheckArg::Type(ty)), _) => ty.to_token_stream(),
                            (_, Some(default)) => default.to_token_stream(),
                            // Reported by `check`.
                            _ => quote!(()),
                        };
                        shown.push(text::compact(&ty));
                        args.push(ty);
                    }
                    GenericParam::Const(c) => {
                        let value = match (given(&c.ident), &c.default) {
                            (Some(CheckArg::Const(expr)), _) => expr.to_token_stream(),
                            (_, Some(default)) => default.to_token_stream(),
                            _ => quote!(0),
                        };
                        shown.push(text::compact(&value));
                        args.push(quote!({ #value }));
                    }
                }
            }
            Subject {
                ty: quote!(#ident<#(#args),*>),
                name: format!("{name}<{}>", shown.join(", ")),
            }
        })
        .collect()
}

fn checks(input: &Input<'_>, subject: &Subject, private: &TokenStream) -> Vec<TokenStream> {
    let layout = &input.attrs.layout;
    let attrs = &input.attrs;
    let ty = &subject.ty;
    let name = &subject.name;
    let target = quote!(&<#ty as #private::AlignedModel>::LAYOUT);
    let mut items = Vec::new();
    let mut item = |span: Span, cfgs: &[&syn::Attribute], call: TokenStream| {
        items.push(check_item(span, cfgs, &call));
    };

    let default_optimal = attrs.repr.c
        && attrs.repr.packed.is_none()
        && layout.allow_waste.is_none()
        && !input.hot_first_reordered;
    // The default check points at the struct's name, an explicit one at the key.
    let optimal = layout
        .optimal
        .or(default_optimal.then(|| input.ident.span()));
    if let (Data::Struct(_), Some(span)) = (&input.data, optimal) {
        item(span, &[], quote!(#private::check::optimal(#target, #name)));
    }
    if let Some(max) = layout.max_size {
        let value = max.value;
        item(
            max.span,
            &[],
            quote!(#private::check::max_size(#target, #name, #value)),
        );
    }
    if let Some(size) = layout.size {
        let value = size.value;
        item(
            size.span,
            &[],
            quote!(#private::check::exact_size(#target, #name, #value)),
        );
    }
    if let Some(max) = layout.max_padding {
        let value = max.value;
        item(
            max.span,
            &[],
            quote!(#private::check::max_padding(#target, #name, #value, false)),
        );
    }
    if let Some(span) = layout.no_padding {
        item(
            span,
            &[],
            quote!(#private::check::max_padding(#target, #name, 0, true)),
        );
    }
    let line = layout
        .cache_line
        .map_or(DEFAULT_CACHE_LINE, |line| line.value);
    for field in input.fields() {
        let field_name = &field.name;
        let span = field_span(field);
        if layout.hot_first_line.is_some() && field.attrs.hot.is_some() {
            let call = quote!(#private::check::hot_first_line(#target, #name, #line, #field_name));
            item(span, &field.cfgs, call);
        }
        if layout.no_straddle.is_some() {
            let call = quote!(#private::check::no_straddle(#target, #name, #line, #field_name));
            item(span, &field.cfgs, call);
        }
    }
    for field in input.fields() {
        if let Some(assumed) = field.assumed {
            let (field_name, on_64, on_32) = (&field.name, assumed.on_64, assumed.on_32);
            let from_attr = assumed.from_attr;
            let call = quote!(#private::check::assumed_align(
                #target, #name, #field_name, #on_64, #on_32, #from_attr
            ));
            let span = field
                .attrs
                .align
                .map_or_else(|| field.ty.span(), |align| align.span);
            item(span, &field.cfgs, call);
        }
    }
    if let (Some(max), Data::Enum(variants)) = (layout.max_variant_size, &input.data) {
        let value = max.value;
        for variant in variants {
            let variant_name = unraw(variant.ident);
            let call =
                quote!(#private::check::max_variant_size(#target, #name, #value, #variant_name));
            item(variant.ident.span(), &variant.cfgs, call);
        }
    }
    items
}

/// Where a field's check errors point: its name, or its type for a tuple field.
fn field_span(field: &Field<'_>) -> Span {
    match &field.original.ident {
        Some(ident) => ident.span(),
        None => field.ty.span(),
    }
}

/// A `const` item that evaluates one check and fails compilation with its message. The
/// panic is spanned at `span`, so the error points at the user's attribute or field.
fn check_item(span: Span, cfgs: &[&syn::Attribute], call: &TokenStream) -> TokenStream {
    let span = Span::call_site().located_at(span);
    let panic = quote_spanned! {span=>
        ::core::panic!("{}", __kalam_verdict.as_str())
    };
    quote! {
        #(#cfgs)*
        const _: () = {
            let __kalam_verdict = #call;
            if !__kalam_verdict.is_empty() {
                #panic
            }
        };
    }
}
