//! `#[kalam::aligned_model]`: everything `#[derive(AlignedModel)]` does, after declaring
//! the fields of a `repr(C)` struct in an order with no avoidable padding.
//!
//! Order: `#[hot]` fields first when `hot_first_line` is asked for, then by decreasing
//! alignment (ties keep their declared order), zero-sized fields last. The alignment of
//! each field is recognised from its type (see `align.rs`) or given with
//! `#[layout(align = N)]`, and checked by a `const` assertion either way. The layout of the
//! declared order is kept, through a shadow struct, for `StructLayout::declared`.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote};
use syn::{Attribute, Data, DeriveInput, Fields};

use crate::align::{self, Known};
use crate::ast::crate_path;
use crate::ast::{Assumed, Input};
use crate::ctxt::Ctxt;
use crate::expand::derive_aligned_model::{self, Declared};
use crate::{check, fallback};

pub(crate) fn attribute(args: TokenStream, item: TokenStream) -> TokenStream {
    let input: DeriveInput = match syn::parse2(item.clone()) {
        Ok(input) => input,
        Err(_) => {
            let err = syn::Error::new(
                Span::call_site(),
                "#[kalam::aligned_model] goes on a struct with named fields",
            );
            return fallback::with_original(&err, item);
        }
    };
    let cx = Ctxt::new();
    if !args.is_empty() {
        cx.error_spanned_by(
            args,
            "#[kalam::aligned_model] takes no arguments; the checks go in #[layout(..)]",
        );
    }
    let model = Input::from_syn(&cx, &input);
    check::check(&cx, &model);
    let plan = plan(&cx, &input, &model);
    let krate = crate_path(model.attrs.krate.as_ref());
    drop(model);
    if let Err(err) = cx.check() {
        // A stub impl keeps uses of `LAYOUT` from adding errors, unless a derive of
        // AlignedModel on the item (itself an error) already provides one.
        let derived = input
            .attrs
            .iter()
            .any(|attr| derives_aligned_model(attr).is_some());
        let stub = if derived {
            err.to_compile_error()
        } else {
            fallback::aligned_model(&input, &krate, &err)
        };
        let item = strip_helpers(input);
        return quote!(#item #stub);
    }
    expand(&input, &plan, &krate)
}

/// One field's place in the new order and what was assumed of it.
struct Placed {
    declared: usize,
    assumed: Assumed,
}

fn plan(cx: &Ctxt, input: &DeriveInput, model: &Input<'_>) -> Vec<Placed> {
    let name = &input.ident;
    let fields = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => &fields.named,
            Fields::Unnamed(fields) => {
                cx.error_spanned_by(
                    fields,
                    format!(
                        "#[kalam::aligned_model] reorders named fields; the order of a tuple \
                         struct's fields is its API (`.0`, patterns, constructors). Name the \
                         fields, or use #[derive(AlignedModel)] to check `{name}` as it is"
                    ),
                );
                return Vec::new();
            }
            Fields::Unit => return Vec::new(),
        },
        Data::Enum(data) => {
            cx.error_spanned_by(
                data.enum_token,
                "#[kalam::aligned_model] reorders struct fields; for an enum's layout report \
                 and checks, use #[derive(AlignedModel)]",
            );
            return Vec::new();
        }
        // Reported by `check`.
        Data::Union(_) => return Vec::new(),
    };

    let repr = &model.attrs.repr;
    if repr.packed.is_some() {
        cx.error_spanned_by(
            name,
            format!(
                "`{name}` is packed: it has no padding to remove, and its field order is its \
                 wire format; use #[derive(AlignedModel)] to check it as it is"
            ),
        );
    } else if repr.transparent {
        cx.error_spanned_by(
            name,
            format!(
                "`{name}` is repr(transparent): its layout is that of its one non-zero-sized \
                 field, with nothing to reorder; use #[derive(AlignedModel)] to check it"
            ),
        );
    } else if !repr.c {
        cx.error_spanned_by(
            name,
            format!(
                "#[kalam::aligned_model] reorders the fields of #[repr(C)] structs; `{name}` is \
                 repr({}), whose fields rustc already orders itself. Add #[repr(C)] if the \
                 order is yours to fix, or use #[derive(AlignedModel)] for the checks alone",
                repr.describe()
            ),
        );
    }
    for attr in &input.attrs {
        if let Some(path) = derives_aligned_model(attr) {
            cx.error_spanned_by(
                path,
                "#[kalam::aligned_model] implements AlignedModel itself; remove this derive",
            );
        }
    }

    let hot_first = model.attrs.layout.hot_first_line.is_some();
    let mut placed: Vec<(Placed, Known, bool)> = Vec::new();
    for (declared, (field, parsed)) in fields.iter().zip(model.fields()).enumerate() {
        let known = match (parsed.attrs.align, align::known(&field.ty)) {
            (Some(given), known) => Known {
                align: align::Align {
                    on_64: given.value,
                    on_32: given.value,
                },
                zero_sized: known.is_some_and(|k| k.zero_sized),
            },
            (None, Some(known)) => known,
            (None, None) => {
                cx.error_spanned_by(
                    &field.ty,
                    format!(
                        "#[kalam::aligned_model] cannot tell the alignment of `{}` from its name; \
                         give it: #[layout(align = N)] on this field (it is checked at compile \
                         time)",
                        crate::text::compact(&field.ty)
                    ),
                );
                continue;
            }
        };
        let assumed = Assumed {
            on_64: known.align.on_64,
            on_32: known.align.on_32,
            from_attr: parsed.attrs.align.is_some(),
        };
        let hot = hot_first && parsed.attrs.hot.is_some();
        placed.push((Placed { declared, assumed }, known, hot));
    }
    placed.sort_by_key(|(place, known, hot)| {
        (
            !hot,
            known.zero_sized,
            std::cmp::Reverse(known.align.on_64),
            std::cmp::Reverse(known.align.on_32),
            place.declared,
        )
    });
    placed.into_iter().map(|(place, _, _)| place).collect()
}

/// `AlignedModel` in `#[derive(.., AlignedModel, ..)]`.
fn derives_aligned_model(attr: &Attribute) -> Option<syn::Path> {
    if !attr.path().is_ident("derive") {
        return None;
    }
    let paths = attr
        .parse_args_with(syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated)
        .ok()?;
    paths.into_iter().find(|path| {
        path.segments
            .last()
            .is_some_and(|s| s.ident == "AlignedModel")
    })
}

fn expand(input: &DeriveInput, plan: &[Placed], krate: &TokenStream) -> TokenStream {
    let mut reordered = input.clone();
    if let Data::Struct(data) = &mut reordered.data
        && let Fields::Named(fields) = &mut data.fields
    {
        let declared: Vec<syn::Field> = fields.named.iter().cloned().collect();
        fields.named = plan
            .iter()
            .map(|place| declared[place.declared].clone())
            .collect();
    }

    // The shadow: the same fields in their declared order, for the "before" layout.
    let shadow_ident = format_ident!("__KalamDeclared");
    let mut shadow = input.clone();
    shadow.ident = shadow_ident.clone();
    shadow.vis = syn::Visibility::Inherited;
    shadow.attrs.retain(|attr| attr.path().is_ident("repr"));
    shadow.attrs.push(syn::parse_quote!(#[layout(allow_waste)]));
    if let Data::Struct(data) = &mut shadow.data {
        for field in &mut data.fields {
            field.attrs.retain(|attr| attr.path().is_ident("cfg"));
            field.vis = syn::Visibility::Inherited;
        }
    }

    let cx = Ctxt::new();
    let mut shadow_model = Input::from_syn(&cx, &shadow);
    shadow_model.name = crate::ast::unraw(&input.ident);
    let shadow_impl = derive_aligned_model::expand(&shadow_model, krate, None);
    let mut model = Input::from_syn(&cx, &reordered);
    model.hot_first_reordered = model.attrs.layout.hot_first_line.is_some()
        && model.fields().iter().any(|field| field.attrs.hot.is_some());
    if let crate::ast::Data::Struct(fields) = &mut model.data {
        for (field, place) in fields.iter_mut().zip(plan) {
            field.assumed = Some(place.assumed);
        }
    }
    // Both inputs were validated above; anything reported now is a bug, not user input.
    if let Err(err) = cx.check() {
        return err.to_compile_error();
    }

    let (_, ty_generics, _) = input.generics.split_for_impl();
    let shadow_def = strip_helpers(shadow.clone());
    let declared = Declared {
        items: quote! {
            #[allow(dead_code, non_camel_case_types)]
            #shadow_def
            #shadow_impl
        },
        layout: quote!(&<#shadow_ident #ty_generics as #krate::__private::AlignedModel>::LAYOUT),
    };
    let expansion = derive_aligned_model::expand(&model, krate, Some(&declared));
    let item = strip_helpers(reordered);
    quote! {
        #item
        #expansion
    }
}

/// The item without the helper attributes only the derive understands.
fn strip_helpers(mut input: DeriveInput) -> TokenStream {
    input
        .attrs
        .retain(|attr| !attr.path().is_ident("layout") && !attr.path().is_ident("kalam"));
    if let Data::Struct(data) = &mut input.data {
        for field in &mut data.fields {
            field
                .attrs
                .retain(|attr| !attr.path().is_ident("layout") && !attr.path().is_ident("hot"));
        }
    }
    input.into_token_stream()
}
