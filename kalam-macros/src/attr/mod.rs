//! Parsing of `#[layout(..)]`, `#[kalam(..)]`, `#[repr(..)]` and the field-level `#[hot]`.
//!
//! Parsing records every mistake in the [`Ctxt`] and keeps going, so that one pass reports
//! them all. Rules that relate several attributes live in `check.rs`.

use proc_macro2::Span;
use syn::meta::ParseNestedMeta;
use syn::spanned::Spanned as _;
use syn::{Attribute, Expr, GenericParam, Generics, Ident, LitInt, LitStr, Path, Token, Type};

use crate::ctxt::Ctxt;

pub(crate) mod table;

/// A value and the span of the `key = value` that gave it.
#[derive(Clone, Copy)]
pub(crate) struct Spanned<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

/// A flag key such as `optimal`: present or not, with its span.
pub(crate) type Flag = Option<Span>;

/// Everything `#[layout(..)]` said on the struct or enum.
#[derive(Default)]
pub(crate) struct LayoutAttrs {
    pub(crate) max_size: Option<Spanned<usize>>,
    pub(crate) size: Option<Spanned<usize>>,
    pub(crate) max_padding: Option<Spanned<usize>>,
    pub(crate) no_padding: Flag,
    pub(crate) optimal: Flag,
    pub(crate) allow_waste: Flag,
    pub(crate) cache_line: Option<Spanned<usize>>,
    pub(crate) hot_first_line: Flag,
    pub(crate) no_straddle: Flag,
    pub(crate) max_variant_size: Option<Spanned<usize>>,
    pub(crate) check_with: Vec<CheckWith>,
    /// Every key given, in source order, for errors that list them.
    pub(crate) keys: Vec<(String, Span)>,
}

impl LayoutAttrs {
    /// The keys that ask for a compile-time check, with their spans, in a fixed order.
    pub(crate) fn checks(&self) -> Vec<(&'static str, Span)> {
        let values = [
            ("max_size", self.max_size.map(|s| s.span)),
            ("size", self.size.map(|s| s.span)),
            ("max_padding", self.max_padding.map(|s| s.span)),
            ("no_padding", self.no_padding),
            ("optimal", self.optimal),
            ("hot_first_line", self.hot_first_line),
            ("no_straddle", self.no_straddle),
            ("max_variant_size", self.max_variant_size.map(|s| s.span)),
        ];
        values
            .into_iter()
            .filter_map(|(key, span)| Some((key, span?)))
            .collect()
    }
}

/// One `check_with(T = u64, N = 4)`: generic arguments to run the checks on.
pub(crate) struct CheckWith {
    pub(crate) span: Span,
    pub(crate) args: Vec<(Ident, CheckArg)>,
}

/// The value given to one generic parameter in `check_with`.
pub(crate) enum CheckArg {
    Type(Type),
    Const(Expr),
}

/// The parts of `#[repr(..)]` that affect layout.
#[derive(Default)]
pub(crate) struct Repr {
    pub(crate) c: bool,
    pub(crate) transparent: bool,
    pub(crate) int: Option<String>,
    /// `packed` is `packed(1)`.
    pub(crate) packed: Option<u64>,
    pub(crate) align: Option<u64>,
}

impl Repr {
    /// The text stored in `StructLayout::repr`: `"C, align(64)"`, `"Rust"`, …
    pub(crate) fn describe(&self) -> String {
        let mut parts = Vec::new();
        if self.c {
            parts.push("C".to_owned());
        }
        if self.transparent {
            parts.push("transparent".to_owned());
        }
        if let Some(int) = &self.int {
            parts.push(int.clone());
        }
        match self.packed {
            Some(1) => parts.push("packed".to_owned()),
            Some(n) => parts.push(format!("packed({n})")),
            None => {}
        }
        if let Some(n) = self.align {
            parts.push(format!("align({n})"));
        }
        if !(self.c || self.transparent || self.int.is_some()) {
            parts.insert(0, "Rust".to_owned());
        }
        parts.join(", ")
    }
}

/// Struct- or enum-level attributes.
#[derive(Default)]
pub(crate) struct ModelAttrs {
    pub(crate) krate: Option<Path>,
    pub(crate) layout: LayoutAttrs,
    pub(crate) repr: Repr,
}

impl ModelAttrs {
    pub(crate) fn from_attrs(cx: &Ctxt, attrs: &[Attribute], generics: &Generics) -> Self {
        let mut out = ModelAttrs::default();
        for attr in attrs {
            if attr.path().is_ident("layout") {
                let result = attr.parse_nested_meta(|meta| {
                    if let Err(err) = parse_layout_key(cx, &meta, &mut out.layout, generics) {
                        cx.syn_error(err);
                        skip_value(&meta);
                    }
                    Ok(())
                });
                if let Err(err) = result {
                    cx.syn_error(err);
                }
            } else if attr.path().is_ident("kalam") {
                parse_kalam(cx, attr, &mut out.krate);
            } else if attr.path().is_ident("repr") {
                parse_repr(attr, &mut out.repr);
            }
        }
        out
    }
}

/// `#[kalam(crate = "path")]`: where generated code finds the facade.
fn parse_kalam(cx: &Ctxt, attr: &Attribute, krate: &mut Option<Path>) {
    let result = attr.parse_nested_meta(|meta| {
        if !meta.path.is_ident("crate") {
            return Err(meta.error(format!(
                "unknown #[kalam] key `{}`; the only key is `crate = \"path\"`",
                path_text(&meta.path)
            )));
        }
        let value = meta.value()?;
        // `crate = "path"`, as serde spells it, or a bare path.
        let path = if value.peek(LitStr) {
            let lit: LitStr = value.parse()?;
            lit.parse::<Path>()
                .map_err(|_| syn::Error::new(lit.span(), "expected a path, like \"::kalam\""))?
        } else {
            value.parse::<Path>()?
        };
        if krate.replace(path).is_some() {
            return Err(meta.error("duplicate `crate` in #[kalam(..)]"));
        }
        Ok(())
    });
    if let Err(err) = result {
        cx.syn_error(err);
    }
}

/// The `#[kalam(crate = ..)]` of an item, for derives that read no other kalam attribute.
pub(crate) fn crate_attr(cx: &Ctxt, attrs: &[Attribute]) -> Option<Path> {
    let mut krate = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("kalam")) {
        parse_kalam(cx, attr, &mut krate);
    }
    krate
}

/// After a bad key, consume its value (if any) so parsing can go on with the next key.
fn skip_value(meta: &ParseNestedMeta<'_>) {
    if meta.input.peek(Token![=]) {
        let _ = meta.input.parse::<Token![=]>();
        let _ = meta.input.parse::<Expr>();
    } else if meta.input.peek(syn::token::Paren) {
        let _ = meta.input.parse::<proc_macro2::Group>();
    }
}

const LAYOUT_KEYS: &str = "max_size, size, max_padding, no_padding, optimal, allow_waste, \
                           cache_line, hot_first_line, no_straddle, max_variant_size, check_with";

fn parse_layout_key(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    layout: &mut LayoutAttrs,
    generics: &Generics,
) -> syn::Result<()> {
    let Some(key) = meta.path.get_ident().map(Ident::to_string) else {
        return Err(meta.error(format!(
            "unknown #[layout] key `{}`; expected one of: {LAYOUT_KEYS}",
            path_text(&meta.path)
        )));
    };
    let key_span = meta.path.span();
    layout.keys.push((key.clone(), key_span));
    match key.as_str() {
        "max_size" => set_number(meta, &mut layout.max_size, &key),
        "size" => set_number(meta, &mut layout.size, &key),
        "max_padding" => set_number(meta, &mut layout.max_padding, &key),
        "max_variant_size" => set_number(meta, &mut layout.max_variant_size, &key),
        "cache_line" => {
            set_number(meta, &mut layout.cache_line, &key)?;
            match layout.cache_line {
                Some(line) if !line.value.is_power_of_two() => Err(syn::Error::new(
                    line.span,
                    "`cache_line` must be a power of two, like 64 or 128",
                )),
                _ => Ok(()),
            }
        }
        "no_padding" => set_flag(meta, &mut layout.no_padding, &key),
        "optimal" => set_flag(meta, &mut layout.optimal, &key),
        "allow_waste" => set_flag(meta, &mut layout.allow_waste, &key),
        "hot_first_line" => set_flag(meta, &mut layout.hot_first_line, &key),
        "no_straddle" => set_flag(meta, &mut layout.no_straddle, &key),
        "check_with" => {
            layout
                .check_with
                .push(parse_check_with(cx, meta, generics)?);
            Ok(())
        }
        _ => Err(syn::Error::new(
            key_span,
            format!("unknown #[layout] key `{key}`; expected one of: {LAYOUT_KEYS}"),
        )),
    }
}

fn set_flag(meta: &ParseNestedMeta<'_>, slot: &mut Flag, key: &str) -> syn::Result<()> {
    if !meta.input.is_empty() && !meta.input.peek(Token![,]) {
        return Err(meta.error(format!("`{key}` takes no value: write `#[layout({key})]`")));
    }
    if slot.replace(meta.path.span()).is_some() {
        return Err(meta.error(format!("duplicate #[layout] key `{key}`")));
    }
    Ok(())
}

fn set_number(
    meta: &ParseNestedMeta<'_>,
    slot: &mut Option<Spanned<usize>>,
    key: &str,
) -> syn::Result<()> {
    if !meta.input.peek(Token![=]) {
        return Err(meta.error(format!("`{key}` needs a value in bytes: `{key} = 64`")));
    }
    let value = meta.value()?;
    let expr: Expr = value.parse()?;
    let lit = match &expr {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(lit),
            ..
        }) => lit,
        other => {
            return Err(syn::Error::new_spanned(
                other,
                format!("`{key}` takes a whole number of bytes: `{key} = 64`"),
            ));
        }
    };
    let number = parse_usize(lit, key)?;
    let span = meta
        .path
        .span()
        .join(lit.span())
        .unwrap_or_else(|| meta.path.span());
    if slot
        .replace(Spanned {
            value: number,
            span,
        })
        .is_some()
    {
        return Err(meta.error(format!("duplicate #[layout] key `{key}`")));
    }
    Ok(())
}

fn parse_usize(lit: &LitInt, key: &str) -> syn::Result<usize> {
    if !matches!(lit.suffix(), "" | "usize") {
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "`{key}` is a number of bytes: write it without the `{}` suffix",
                lit.suffix()
            ),
        ));
    }
    lit.base10_parse::<usize>()
        .map_err(|_| syn::Error::new(lit.span(), format!("`{key}` does not fit in a usize")))
}

fn parse_check_with(
    cx: &Ctxt,
    meta: &ParseNestedMeta<'_>,
    generics: &Generics,
) -> syn::Result<CheckWith> {
    let mut check = CheckWith {
        span: meta.path.span(),
        args: Vec::new(),
    };
    if !meta.input.peek(syn::token::Paren) {
        return Err(meta.error("`check_with` lists generic arguments: `check_with(T = u64)`"));
    }
    let has_params =
        generics.type_params().next().is_some() || generics.const_params().next().is_some();
    meta.parse_nested_meta(|arg| {
        if !has_params {
            // `check.rs` reports the whole `check_with`; read past its arguments.
            skip_value(&arg);
            return Ok(());
        }
        let Some(name) = arg.path.get_ident().cloned() else {
            return Err(arg.error("expected a generic parameter name, as in `T = u64`"));
        };
        let param = generics.params.iter().find_map(|p| match p {
            GenericParam::Type(t) if t.ident == name => Some(true),
            GenericParam::Const(c) if c.ident == name => Some(false),
            _ => None,
        });
        let Some(is_type) = param else {
            let known: Vec<String> = generics
                .params
                .iter()
                .filter_map(|p| match p {
                    GenericParam::Type(t) => Some(format!("`{}`", t.ident)),
                    GenericParam::Const(c) => Some(format!("`{}`", c.ident)),
                    GenericParam::Lifetime(_) => None,
                })
                .collect();
            // Report, then skip the value so the other arguments are still read.
            cx.error_at(
                name.span(),
                format!(
                    "`{name}` is not a generic parameter here; they are {}",
                    known.join(", ")
                ),
            );
            skip_value(&arg);
            return Ok(());
        };
        if !arg.input.peek(Token![=]) {
            return Err(arg.error(format!("give `{name}` a value: `{name} = ...`")));
        }
        let value = arg.value()?;
        let parsed = if is_type {
            CheckArg::Type(value.parse()?)
        } else {
            CheckArg::Const(value.parse()?)
        };
        if check.args.iter().any(|(seen, _)| *seen == name) {
            cx.error_at(
                name.span(),
                format!("`{name}` is given twice in this check_with"),
            );
            return Ok(());
        }
        check.args.push((name, parsed));
        Ok(())
    })?;
    Ok(check)
}

/// Reads `#[repr(..)]` leniently: rustc reports malformed reprs itself.
fn parse_repr(attr: &Attribute, repr: &mut Repr) {
    let _ = attr.parse_nested_meta(|meta| {
        let Some(ident) = meta.path.get_ident() else {
            return Ok(());
        };
        let name = ident.to_string();
        let number = |meta: &ParseNestedMeta<'_>| -> Option<u64> {
            let group = meta.input.parse::<proc_macro2::Group>().ok()?;
            syn::parse2::<LitInt>(group.stream())
                .ok()?
                .base10_parse()
                .ok()
        };
        match name.as_str() {
            "C" => repr.c = true,
            "transparent" => repr.transparent = true,
            "packed" => {
                repr.packed = if meta.input.peek(syn::token::Paren) {
                    number(&meta)
                } else {
                    Some(1)
                };
            }
            "align" => {
                if meta.input.peek(syn::token::Paren) {
                    repr.align = number(&meta);
                }
            }
            "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64"
            | "i128" | "isize" => repr.int = Some(name),
            _ => skip_value(&meta),
        }
        Ok(())
    });
}

/// `#[hot(..)]` on a field: generate an accessor.
pub(crate) struct HotField {
    /// `always`: `#[inline(always)]` instead of `#[inline]`.
    pub(crate) always: bool,
    /// `copy`: return by value, checked with a `T: Copy` assertion.
    pub(crate) copy: Option<Span>,
    /// `name = ident`: the getter's name (required on tuple fields).
    pub(crate) name: Option<Ident>,
    /// `vis = pub(crate)`: the accessors' visibility (default: the struct's).
    pub(crate) vis: Option<syn::Visibility>,
    /// `set` or `set = ident`: also generate a setter.
    pub(crate) set: Option<Option<Ident>>,
}

const HOT_FIELD_KEYS: &str = "always, copy, name = .., vis = .., set, set = ..";

impl HotField {
    fn parse(cx: &Ctxt, attr: &Attribute) -> Option<Self> {
        let mut hot = HotField {
            always: false,
            copy: None,
            name: None,
            vis: None,
            set: None,
        };
        if let syn::Meta::NameValue(meta) = &attr.meta {
            cx.error_spanned_by(
                meta,
                format!("write `#[hot]` or `#[hot({HOT_FIELD_KEYS})]`"),
            );
            return None;
        }
        if matches!(attr.meta, syn::Meta::Path(_)) {
            return Some(hot);
        }
        let result = attr.parse_nested_meta(|meta| {
            let duplicate = || meta.error("duplicate #[hot] option");
            if meta.path.is_ident("always") {
                if std::mem::replace(&mut hot.always, true) {
                    return Err(duplicate());
                }
            } else if meta.path.is_ident("copy") {
                if hot.copy.replace(meta.path.span()).is_some() {
                    return Err(duplicate());
                }
            } else if meta.path.is_ident("name") {
                let ident: Ident = meta.value()?.parse()?;
                if hot.name.replace(ident).is_some() {
                    return Err(duplicate());
                }
            } else if meta.path.is_ident("vis") {
                let vis: syn::Visibility = meta.value()?.parse()?;
                if hot.vis.replace(vis).is_some() {
                    return Err(duplicate());
                }
            } else if meta.path.is_ident("set") {
                let name = if meta.input.peek(Token![=]) {
                    Some(meta.value()?.parse::<Ident>()?)
                } else {
                    None
                };
                if hot.set.replace(name).is_some() {
                    return Err(duplicate());
                }
            } else {
                return Err(meta.error(format!(
                    "unknown #[hot] option `{}`; on a field the options are: {HOT_FIELD_KEYS}",
                    path_text(&meta.path)
                )));
            }
            Ok(())
        });
        match result {
            Ok(()) => Some(hot),
            Err(err) => {
                cx.syn_error(err);
                None
            }
        }
    }
}

/// Field-level attributes.
#[derive(Default)]
pub(crate) struct FieldAttrs {
    pub(crate) hot: Option<HotField>,
    /// `#[layout(align = N)]`: the field's alignment, asserted at compile time (and used by
    /// `#[kalam::aligned_model]` to order fields of types it does not know).
    pub(crate) align: Option<Spanned<usize>>,
}

impl FieldAttrs {
    pub(crate) fn from_attrs(cx: &Ctxt, attrs: &[Attribute], named: bool) -> Self {
        let mut out = FieldAttrs::default();
        for attr in attrs {
            if attr.path().is_ident("hot") {
                let Some(hot) = HotField::parse(cx, attr) else {
                    continue;
                };
                if !named && hot.name.is_none() {
                    cx.error_spanned_by(
                        attr,
                        "a tuple field has no name to call its accessor by: \
                         write `#[hot(name = ..)]`",
                    );
                    continue;
                }
                if out.hot.replace(hot).is_some() {
                    cx.error_spanned_by(attr, "duplicate #[hot] on this field");
                }
            } else if attr.path().is_ident("layout") {
                parse_field_layout(cx, attr, &mut out);
            } else if attr.path().is_ident("kalam") {
                cx.error_spanned_by(
                    attr,
                    "#[kalam(..)] goes on the struct or enum, not on a field",
                );
            }
        }
        out
    }
}

/// `#[layout(align = N)]` on a field; any other key belongs on the struct.
fn parse_field_layout(cx: &Ctxt, attr: &Attribute, out: &mut FieldAttrs) {
    if !matches!(attr.meta, syn::Meta::List(_)) {
        cx.error_spanned_by(attr, "on a field, write #[layout(align = N)]");
        return;
    }
    let result = attr.parse_nested_meta(|meta| {
        if meta.path.is_ident("align") {
            set_number(&meta, &mut out.align, "align")?;
            if let Some(align) = out.align
                && !align.value.is_power_of_two()
            {
                return Err(syn::Error::new(
                    align.span,
                    "`align` must be a power of two",
                ));
            }
            Ok(())
        } else {
            Err(meta.error(format!(
                "on a field, #[layout] takes only `align = N`; `{}` goes on the struct",
                path_text(&meta.path)
            )))
        }
    });
    if let Err(err) = result {
        cx.syn_error(err);
    }
}

/// Rejects kalam attributes where they have no meaning (on enum variants and their fields).
pub(crate) fn reject_misplaced(cx: &Ctxt, attrs: &[Attribute], place: &str) {
    for attr in attrs {
        for name in ["hot", "layout", "kalam"] {
            if attr.path().is_ident(name) {
                cx.error_spanned_by(attr, format!("#[{name}] is not supported on {place}"));
            }
        }
    }
}

/// The `#[cfg(..)]` attributes of a field or variant, repeated on the code generated for
/// it. (rustc strips disabled fields before a derive runs; repeating the rest keeps the
/// expansion right when it is read or reused elsewhere.)
pub(crate) fn cfgs(attrs: &[Attribute]) -> Vec<&Attribute> {
    attrs.iter().filter(|a| a.path().is_ident("cfg")).collect()
}

pub(crate) fn path_text(path: &Path) -> String {
    let mut out = String::new();
    if path.leading_colon.is_some() {
        out.push_str("::");
    }
    for (i, segment) in path.segments.iter().enumerate() {
        if i > 0 {
            out.push_str("::");
        }
        out.push_str(&segment.ident.to_string());
    }
    out
}
