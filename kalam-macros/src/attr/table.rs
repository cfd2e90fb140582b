//! `#[table(..)]` and `#[column(..)]`, for `#[derive(KalamTable)]`.

use proc_macro2::Span;
use syn::spanned::Spanned as _;
use syn::{Attribute, LitInt, LitStr};

use super::path_text;
use crate::ctxt::Ctxt;

/// `#[table(name = "..", namespace = "..", version = N)]`.
#[derive(Default)]
pub(crate) struct TableAttrs {
    pub(crate) name: Option<LitStr>,
    pub(crate) namespace: Option<LitStr>,
    pub(crate) version: Option<(u8, Span)>,
}

/// `#[column(primary_key, name = "..", skip, nullable, via = T, since = N, default = expr)]`.
#[derive(Default)]
pub(crate) struct ColumnAttrs {
    pub(crate) primary_key: Option<Span>,
    pub(crate) name: Option<LitStr>,
    pub(crate) skip: Option<Span>,
    pub(crate) nullable: Option<Span>,
    /// `via = Repr`: stored as `Repr`, converted through `kalam::ColumnVia<Repr>`.
    pub(crate) via: Option<syn::Type>,
    /// `since = N`: the row version that added the column.
    pub(crate) since: Option<(u8, Span)>,
    /// `default = expr`: the value of rows written before `since`.
    pub(crate) default: Option<syn::Expr>,
}

/// A name usable as an SQL identifier without quoting.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn identifier(lit: LitStr, what: &str) -> syn::Result<LitStr> {
    if is_identifier(&lit.value()) {
        Ok(lit)
    } else {
        Err(syn::Error::new(
            lit.span(),
            format!(
                "a {what} is an identifier: ASCII letters, digits and `_`, not starting with a digit"
            ),
        ))
    }
}

/// A version byte given as `key = N`.
fn version_byte(meta: &syn::meta::ParseNestedMeta<'_>, key: &str) -> syn::Result<(u8, Span)> {
    let lit: LitInt = meta.value()?.parse()?;
    let version = lit.base10_parse::<u8>().map_err(|_| {
        syn::Error::new(
            lit.span(),
            format!("`{key}` is a row format's version byte: 0 to 255"),
        )
    })?;
    Ok((version, lit.span()))
}

impl TableAttrs {
    pub(crate) fn from_attrs(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut out = TableAttrs::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("table")) {
            let result = attr.parse_nested_meta(|meta| {
                let duplicate = || meta.error(format!("duplicate #[table] key `{}`", path_text(&meta.path)));
                if meta.path.is_ident("name") {
                    let lit = identifier(meta.value()?.parse()?, "table name")?;
                    if out.name.replace(lit).is_some() {
                        return Err(duplicate());
                    }
                } else if meta.path.is_ident("namespace") {
                    let lit = identifier(meta.value()?.parse()?, "namespace")?;
                    if out.namespace.replace(lit).is_some() {
                        return Err(duplicate());
                    }
                } else if meta.path.is_ident("version") {
                    let version = version_byte(&meta, "version")?;
                    if out.version.replace(version).is_some() {
                        return Err(duplicate());
                    }
                } else {
                    return Err(meta.error(format!(
                        "unknown #[table] key `{}`; expected name = \"..\", namespace = \"..\" or version = N",
                        path_text(&meta.path)
                    )));
                }
                Ok(())
            });
            if let Err(err) = result {
                cx.syn_error(err);
            }
        }
        out
    }
}

impl ColumnAttrs {
    pub(crate) fn from_attrs(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut out = ColumnAttrs::default();
        for attr in attrs.iter().filter(|a| a.path().is_ident("column")) {
            let result = attr.parse_nested_meta(|meta| {
                let key = path_text(&meta.path);
                let duplicate = || meta.error(format!("duplicate #[column] key `{key}`"));
                let flag = |slot: &mut Option<Span>| {
                    if !meta.input.is_empty() && !meta.input.peek(syn::Token![,]) {
                        return Err(meta.error(format!("`{key}` takes no value")));
                    }
                    if slot.replace(meta.path.span()).is_some() {
                        return Err(duplicate());
                    }
                    Ok(())
                };
                match key.as_str() {
                    "primary_key" => flag(&mut out.primary_key),
                    "skip" => flag(&mut out.skip),
                    "nullable" => flag(&mut out.nullable),
                    "name" => {
                        let lit = identifier(meta.value()?.parse()?, "column name")?;
                        if out.name.replace(lit).is_some() {
                            return Err(duplicate());
                        }
                        Ok(())
                    }
                    "via" => {
                        let repr: syn::Type = meta.value()?.parse()?;
                        if out.via.replace(repr).is_some() {
                            return Err(duplicate());
                        }
                        Ok(())
                    }
                    "since" => {
                        let since = version_byte(&meta, "since")?;
                        if out.since.replace(since).is_some() {
                            return Err(duplicate());
                        }
                        Ok(())
                    }
                    "default" => {
                        let value: syn::Expr = meta.value()?.parse()?;
                        if out.default.replace(value).is_some() {
                            return Err(duplicate());
                        }
                        Ok(())
                    }
                    _ => Err(meta.error(format!(
                        "unknown #[column] key `{key}`; expected primary_key, name = \"..\", skip, \
                         nullable, via = Type, since = N or default = expr"
                    ))),
                }
            });
            if let Err(err) = result {
                cx.syn_error(err);
            }
        }
        out
    }
}
