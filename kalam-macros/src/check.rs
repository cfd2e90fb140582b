//! Rules across attributes and the shape of the input, checked before any code is generated.

use syn::{GenericParam, Type};

use crate::ast::{Column, Data, Input, TableInput, is_option};
use crate::ctxt::Ctxt;

pub(crate) fn check(cx: &Ctxt, input: &Input<'_>) {
    let layout = &input.attrs.layout;
    let name = input.ident;

    match &input.data {
        Data::Union(token) => {
            cx.error_spanned_by(
                token,
                format!(
                    "AlignedModel does not support unions: `{name}`'s fields overlap, so there \
                     is no field order or padding to check"
                ),
            );
            return;
        }
        Data::Enum(_) => {
            const STRUCT_ONLY: [&str; 7] = [
                "max_padding",
                "no_padding",
                "optimal",
                "allow_waste",
                "cache_line",
                "hot_first_line",
                "no_straddle",
            ];
            for (key, span) in &layout.keys {
                if STRUCT_ONLY.contains(&key.as_str()) {
                    cx.error_at(
                        *span,
                        format!(
                            "`{key}` applies to structs; on enums, #[layout] takes max_size, \
                             size, max_variant_size and check_with"
                        ),
                    );
                }
            }
        }
        Data::Struct(fields) => {
            if let Some(max) = layout.max_variant_size {
                cx.error_at(max.span, "`max_variant_size` applies to enums");
            }
            if let Some(last) = fields.last()
                && is_unsized(last.ty)
            {
                cx.error_spanned_by(
                    last.ty,
                    "AlignedModel needs a sized struct: this unsized last field has no \
                     compile-time size; store it behind a pointer (`Box<..>`, `&..`)",
                );
            }
            if layout.hot_first_line.is_some() && !fields.iter().any(|f| f.attrs.hot.is_some()) {
                cx.error_at(
                    layout
                        .hot_first_line
                        .unwrap_or_else(proc_macro2::Span::call_site),
                    "`hot_first_line` needs at least one field marked #[hot]",
                );
            }
        }
    }

    if let (Some(size), Some(max)) = (layout.size, layout.max_size)
        && size.value > max.value
    {
        cx.error_at(
            size.span,
            format!(
                "`size = {}` contradicts `max_size = {}`: a type cannot be both",
                size.value, max.value
            ),
        );
    }
    if let (Some(span), Some(_)) = (layout.no_padding, layout.max_padding) {
        cx.error_at(
            span,
            "`no_padding` means `max_padding = 0`: keep one of the two",
        );
    }
    if let (Some(span), Some(_)) = (layout.allow_waste, layout.optimal) {
        cx.error_at(
            span,
            "`allow_waste` turns `optimal` off: keep one of the two",
        );
    }
    if let Some(line) = layout.cache_line
        && layout.hot_first_line.is_none()
        && layout.no_straddle.is_none()
    {
        cx.error_at(
            line.span,
            "`cache_line` sets the line size for `hot_first_line` and `no_straddle`; \
             add one of them, or remove it",
        );
    }

    check_generics(cx, input);
}

/// `check_with` must cover exactly the struct's type and const parameters, and a generic
/// struct's checks need it.
fn check_generics(cx: &Ctxt, input: &Input<'_>) {
    let layout = &input.attrs.layout;
    let name = input.ident;
    if !input.is_generic() {
        for check in &layout.check_with {
            cx.error_at(
                check.span,
                format!(
                    "`check_with` is for generic types; `{name}` has no type or const parameters"
                ),
            );
        }
        return;
    }
    if layout.check_with.is_empty() {
        if let Some((key, span)) = layout.checks().into_iter().next() {
            let example = input
                .generics
                .params
                .iter()
                .find_map(|p| match p {
                    GenericParam::Type(t) => Some(format!("{} = u64", t.ident)),
                    GenericParam::Const(c) => Some(format!("{} = 4", c.ident)),
                    GenericParam::Lifetime(_) => None,
                })
                .unwrap_or_default();
            cx.error_at(
                span,
                format!(
                    "`{name}` is generic, so `{key}` can only be checked on concrete types: \
                     add `check_with({example})` (once per instantiation to check)"
                ),
            );
        }
        return;
    }
    for check in &layout.check_with {
        let missing: Vec<String> = input
            .generics
            .params
            .iter()
            .filter_map(|p| match p {
                GenericParam::Type(t) if t.default.is_none() => Some(&t.ident),
                GenericParam::Const(c) if c.default.is_none() => Some(&c.ident),
                _ => None,
            })
            .filter(|ident| !check.args.iter().any(|(given, _)| given == *ident))
            .map(|ident| format!("`{ident}`"))
            .collect();
        if !missing.is_empty() {
            cx.error_at(
                check.span,
                format!(
                    "`check_with` must give every generic parameter; missing {}",
                    missing.join(", ")
                ),
            );
        }
    }
}

/// `[T]`, `str` and `dyn Trait` have no size known at compile time.
fn is_unsized(ty: &Type) -> bool {
    match ty {
        Type::Slice(_) | Type::TraitObject(_) => true,
        Type::Path(path) => path.qself.is_none() && path.path.is_ident("str"),
        Type::Paren(inner) => is_unsized(&inner.elem),
        Type::Group(inner) => is_unsized(&inner.elem),
        _ => false,
    }
}

/// `#[derive(KalamTable)]`'s rules: a concrete struct with named fields, a primary key,
/// column names unique, `skip` alone on its field, no optional primary-key column.
/// `since` and `default` on one stored column: a version the table has, not on a key
/// column, after every column of an earlier version.
fn versions<'a>(
    cx: &Ctxt,
    table: &TableInput<'_>,
    column: &'a Column<'_>,
    added: &mut Option<(u8, &'a str)>,
) {
    let version = table.attrs.version.map_or(1, |(v, _)| v);
    let Some((since, span)) = column.attrs.since else {
        if let Some(default) = &column.attrs.default {
            cx.error_spanned_by(
                default,
                format!(
                    "`default` is what rows written before `{}` existed read; say since which \
                     version it exists: #[column(since = N, default = ..)]",
                    column.name
                ),
            );
        }
        if let Some((since, earlier)) = *added {
            cx.error_at(
                column.ident.span(),
                format!(
                    "`{}` is in every row version, but is declared after `{earlier}`, added in \
                     version {since}: declare the columns a version adds after all the others",
                    column.name
                ),
            );
        }
        return;
    };
    if column.attrs.primary_key.is_some() {
        cx.error_at(
            span,
            format!(
                "`{}` is part of the primary key, which every row holds: a key column cannot \
                 be added by a later version",
                column.name
            ),
        );
        return;
    }
    if since == 0 || since > version {
        cx.error_at(
            span,
            format!(
                "`since = {since}` is not a version of this table, which writes version \
                 {version}: a column added now has `since = {version}`, with \
                 #[table(version = {version})] raised to it"
            ),
        );
        return;
    }
    match *added {
        Some((later, earlier)) if later > since => cx.error_at(
            span,
            format!(
                "`{}`, added in version {since}, is declared after `{earlier}`, added in \
                 version {later}: declare the columns of each version after those of the \
                 versions before",
                column.name
            ),
        ),
        _ => *added = Some((since, column.name.as_str())),
    }
}

pub(crate) fn table(cx: &Ctxt, table: &TableInput<'_>) {
    let (input, columns) = (table.input, &table.columns);
    if let Some(param) = input.generics.params.first() {
        cx.error_spanned_by(
            param,
            "KalamTable needs a concrete row type: a table's columns have fixed types",
        );
    }
    if !table.named {
        return;
    }
    let mut seen: Vec<&str> = Vec::new();
    // The latest `since` so far, and its column: columns added by a version come last.
    let mut added: Option<(u8, &str)> = None;
    for column in columns {
        if column.attrs.skip.is_some() {
            for (key, span) in [
                ("primary_key", column.attrs.primary_key),
                ("nullable", column.attrs.nullable),
                ("name", column.attrs.name.as_ref().map(syn::LitStr::span)),
                ("since", column.attrs.since.map(|(_, span)| span)),
            ] {
                if let Some(span) = span {
                    cx.error_at(
                        span,
                        format!("`{key}` describes a column, and `skip` makes this field none"),
                    );
                }
            }
            continue;
        }
        if let Some(span) = column.attrs.primary_key
            && is_option(column.ty)
        {
            cx.error_at(
                span,
                format!(
                    "`{}` is optional, but a primary-key column cannot be null; use the inner type",
                    column.name
                ),
            );
        }
        versions(cx, table, column, &mut added);
        if seen.contains(&column.name.as_str()) {
            let span = column
                .attrs
                .name
                .as_ref()
                .map_or_else(|| column.ident.span(), syn::LitStr::span);
            cx.error_at(span, format!("two columns are named `{}`", column.name));
        } else {
            seen.push(&column.name);
        }
    }
    if !columns
        .iter()
        .any(|c| c.attrs.primary_key.is_some() && c.attrs.skip.is_none())
    {
        cx.error_spanned_by(
            &input.ident,
            format!(
                "`{}` needs a primary key for its storage key: mark one or more fields \
                 #[column(primary_key)], in key order",
                input.ident
            ),
        );
    }
}
