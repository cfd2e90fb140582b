//! `#[hot]`: `#[inline]` on the methods of an impl block, a trait or a fn, and the inline
//! accessors generated for `#[hot]` fields of an `AlignedModel` struct.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::parse::Parser;
use syn::spanned::Spanned as _;
use syn::{Attribute, GenericArgument, ImplItem, Item, PathArguments, TraitItem, Type};

use crate::ast::{Field, Input, unraw};
use crate::attr::{HotField, path_text};
use crate::fallback;

/// Options of the `#[hot]` attribute macro.
#[derive(Clone, Copy, Default)]
struct HotOptions {
    always: bool,
}

impl HotOptions {
    fn parse(args: TokenStream) -> syn::Result<Self> {
        let mut options = HotOptions::default();
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("always") {
                if std::mem::replace(&mut options.always, true) {
                    return Err(meta.error("duplicate `always`"));
                }
                Ok(())
            } else {
                Err(meta.error(format!(
                    "unknown #[hot] option `{}`; on a fn, impl or trait the only option is \
                     `always`",
                    path_text(&meta.path)
                )))
            }
        });
        parser.parse2(args)?;
        Ok(options)
    }

    fn inline_attr(self) -> TokenStream {
        inline_attr(self.always)
    }
}

/// The attribute macro. On failure the original item is emitted after the errors, so the
/// rest of the crate keeps compiling.
pub(crate) fn attribute(args: TokenStream, item: TokenStream) -> TokenStream {
    let options = match HotOptions::parse(args) {
        Ok(options) => options,
        Err(err) => return fallback::with_original(&err, item),
    };
    let mut parsed: Item = match syn::parse2(item.clone()) {
        Ok(parsed) => parsed,
        Err(err) => return fallback::with_original(&err, item),
    };
    let mut errors: Option<syn::Error> = None;
    let mut add_error = |err: syn::Error| match &mut errors {
        Some(all) => all.combine(err),
        None => errors = Some(err),
    };
    match &mut parsed {
        Item::Fn(function) => mark(&mut function.attrs, options),
        Item::Impl(block) => {
            for impl_item in &mut block.items {
                if let ImplItem::Fn(method) = impl_item {
                    match own_options(&mut method.attrs, options) {
                        Ok(options) => mark(&mut method.attrs, options),
                        Err(err) => add_error(err),
                    }
                }
            }
        }
        Item::Trait(definition) => {
            for trait_item in &mut definition.items {
                // A method without a default body has nothing to inline.
                if let TraitItem::Fn(method) = trait_item
                    && method.default.is_some()
                {
                    match own_options(&mut method.attrs, options) {
                        Ok(options) => mark(&mut method.attrs, options),
                        Err(err) => add_error(err),
                    }
                }
            }
        }
        other => {
            let err = syn::Error::new(
                item_span(other),
                "#[hot] goes on a fn, an impl block or a trait; on a field of an \
                 #[derive(AlignedModel)] struct it generates an accessor",
            );
            return fallback::with_original(&err, item);
        }
    }
    match errors {
        // The methods' own `#[hot]` attributes are taken off even then, so that they do
        // not fail a second time as unknown attributes.
        Some(err) => fallback::with_original(&err, parsed.into_token_stream()),
        None => parsed.into_token_stream(),
    }
}

/// Whether `#[hot]` adds inline attributes: always, except in a build with the
/// `no-hot-inline` feature, which exists to measure what the attributes gain.
const INLINING: bool = !cfg!(feature = "no-hot-inline");

/// `#[inline(always)]` or `#[inline]`; nothing without [`INLINING`].
fn inline_attr(always: bool) -> TokenStream {
    match (INLINING, always) {
        (false, _) => TokenStream::new(),
        (true, true) => quote!(#[inline(always)]),
        (true, false) => quote!(#[inline]),
    }
}

/// Adds the inline attribute unless the item already has `#[inline]` or `#[cold]`.
fn mark(attrs: &mut Vec<Attribute>, options: HotOptions) {
    let has_own = attrs
        .iter()
        .any(|a| a.path().is_ident("inline") || a.path().is_ident("cold"));
    if !has_own && INLINING {
        let inline = options.inline_attr();
        attrs.push(syn::parse_quote!(#inline));
    }
}

/// A method inside a `#[hot]` block may carry its own `#[hot]` (to ask for `always`): it is
/// taken off, so that it does not expand a second time, and its options win.
fn own_options(attrs: &mut Vec<Attribute>, block: HotOptions) -> syn::Result<HotOptions> {
    let mut options = block;
    let mut result = Ok(());
    attrs.retain(|attr| {
        let path = attr.path();
        let is_hot = path.is_ident("hot")
            || (path.segments.len() == 2
                && path.segments[0].ident == "kalam"
                && path.segments[1].ident == "hot");
        if !is_hot {
            return true;
        }
        let args = match &attr.meta {
            syn::Meta::Path(_) => TokenStream::new(),
            syn::Meta::List(list) => list.tokens.clone(),
            syn::Meta::NameValue(_) => {
                result = Err(syn::Error::new_spanned(
                    attr,
                    "write `#[hot]` or `#[hot(always)]`",
                ));
                return false;
            }
        };
        match HotOptions::parse(args) {
            Ok(own) => options.always |= own.always,
            Err(err) => result = Err(err),
        }
        false
    });
    result.map(|()| options)
}

fn item_span(item: &Item) -> Span {
    match item {
        Item::Struct(s) => s.struct_token.span(),
        Item::Enum(e) => e.enum_token.span(),
        Item::Union(u) => u.union_token.span(),
        Item::Const(c) => c.const_token.span(),
        Item::Static(s) => s.static_token.span(),
        Item::Type(t) => t.type_token.span(),
        Item::Mod(m) => m.mod_token.span(),
        Item::Use(u) => u.use_token.span(),
        other => other.span(),
    }
}

/// How an accessor hands out a field.
enum Access<'a> {
    /// By value: `Copy` primitives, shared references, `Option`s of those, and `copy`.
    Value,
    /// `String` as `&str`.
    Str,
    /// `Vec<T>` as `&[T]`.
    Slice(&'a Type),
    /// `Option<T>` as `Option<&T>`.
    OptionRef(&'a Type),
    /// `Box<T>` as `&T`.
    BoxRef(&'a Type),
    /// Anything else as `&T`.
    Ref,
}

const COPY_PRIMITIVES: [&str; 16] = [
    "bool", "char", "f32", "f64", "i8", "i16", "i32", "i64", "i128", "isize", "u8", "u16", "u32",
    "u64", "u128", "usize",
];

/// The single generic argument of `Name<T>` when the last path segment is `name`.
fn generic_arg<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(path) = ty else { return None };
    if path.qself.is_some() {
        return None;
    }
    let last = path.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.iter().collect::<Vec<_>>().as_slice() {
        [GenericArgument::Type(inner)] => Some(inner),
        _ => None,
    }
}

/// Whether values of `ty` are known to be `Copy` from the way it is written.
fn is_known_copy(ty: &Type) -> bool {
    match ty {
        Type::Reference(reference) => reference.mutability.is_none(),
        Type::Paren(inner) => is_known_copy(&inner.elem),
        Type::Group(inner) => is_known_copy(&inner.elem),
        Type::Path(path) if path.qself.is_none() => {
            if let Some(ident) = path.path.get_ident() {
                let name = ident.to_string();
                return COPY_PRIMITIVES.contains(&name.as_str()) || name.starts_with("NonZero");
            }
            generic_arg(ty, "Option").is_some_and(is_known_copy)
                || generic_arg(ty, "NonZero").is_some()
        }
        _ => false,
    }
}

fn classify<'a>(ty: &'a Type, hot: &HotField) -> Access<'a> {
    if hot.copy.is_some() || is_known_copy(ty) {
        return Access::Value;
    }
    if let Type::Path(path) = ty
        && path.path.is_ident("String")
    {
        return Access::Str;
    }
    if let Some(elem) = generic_arg(ty, "Vec") {
        return Access::Slice(elem);
    }
    if let Some(inner) = generic_arg(ty, "Option") {
        return Access::OptionRef(inner);
    }
    if let Some(inner) = generic_arg(ty, "Box") {
        return Access::BoxRef(inner);
    }
    Access::Ref
}

/// The accessors of every `#[hot]` field, in one inherent impl.
pub(crate) fn accessors(input: &Input<'_>, private: &TokenStream) -> TokenStream {
    let methods: Vec<TokenStream> = input
        .fields()
        .iter()
        .filter_map(|field| {
            Some(field_accessors(
                input,
                field,
                field.attrs.hot.as_ref()?,
                private,
            ))
        })
        .collect();
    if methods.is_empty() {
        return TokenStream::new();
    }
    let ident = input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics #ident #ty_generics #where_clause {
            #(#methods)*
        }
    }
}

fn field_accessors(
    input: &Input<'_>,
    field: &Field<'_>,
    hot: &HotField,
    private: &TokenStream,
) -> TokenStream {
    let member = &field.member;
    let ty = field.ty;
    let vis = hot.vis.as_ref().unwrap_or(input.vis);
    let getter = match (&hot.name, &field.original.ident) {
        (Some(name), _) => name.clone(),
        (None, Some(ident)) => ident.clone(),
        // Rejected while parsing: tuple fields need a name.
        (None, None) => format_ident!("field_{}", field.name),
    };
    // The field's docs, or a line of our own: a public accessor must not trip
    // `missing_docs` in the user's crate.
    let field_docs: Vec<&Attribute> = field
        .original
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .collect();
    let docs = if field_docs.is_empty() {
        let line = format!(" Reads the `{}` field.", field.name);
        quote!(#[doc = #line])
    } else {
        quote!(#(#field_docs)*)
    };
    let cfgs = &field.cfgs;
    let inline = inline_attr(hot.always);
    let span = ty.span();

    let (constness, ret, body) = match classify(ty, hot) {
        Access::Value => {
            // Spanned at the type: "the trait bound `String: Copy` is not satisfied" lands on it.
            let assert = hot
                .copy
                .map(|_| quote_spanned!(span=> #private::assert_copy::<#ty>();));
            (quote!(const), quote!(#ty), quote!(#assert self.#member))
        }
        Access::Str => (quote!(const), quote!(&str), quote!(self.#member.as_str())),
        Access::Slice(elem) => (
            quote!(const),
            quote!(&[#elem]),
            quote!(self.#member.as_slice()),
        ),
        Access::OptionRef(inner) => (
            quote!(const),
            quote!(::core::option::Option<&#inner>),
            quote!(self.#member.as_ref()),
        ),
        // Deref is not const.
        Access::BoxRef(inner) => (quote!(), quote!(&#inner), quote!(&self.#member)),
        Access::Ref => (quote!(const), quote!(&#ty), quote!(&self.#member)),
    };
    let getter_fn = quote! {
        #(#cfgs)*
        #docs
        #inline
        #[must_use]
        #vis #constness fn #getter(&self) -> #ret {
            #body
        }
    };

    let setter_fn = hot.set.as_ref().map(|name| {
        let setter = name
            .clone()
            .unwrap_or_else(|| format_ident!("set_{}", unraw(&getter), span = getter.span()));
        // Assigning drops the old value, which only types without drop glue may do in a
        // const fn.
        let constness = if is_known_copy(ty) {
            quote!(const)
        } else {
            quote!()
        };
        let doc = format!("Sets the value that [`{getter}`](Self::{getter}) returns.");
        quote! {
            #(#cfgs)*
            #[doc = #doc]
            #inline
            #vis #constness fn #setter(&mut self, value: #ty) {
                self.#member = value;
            }
        }
    });
    quote!(#getter_fn #setter_fn)
}
