//! Typed views of a derive input that borrow from it.

use syn::{Attribute, DeriveInput, Generics, Ident, Member, Type};

use crate::attr::{self, FieldAttrs, ModelAttrs};
use crate::ctxt::Ctxt;

pub(crate) struct Input<'a> {
    pub(crate) ident: &'a Ident,
    /// The name reported in layouts and messages (`r#type` as `type`).
    pub(crate) name: String,
    pub(crate) vis: &'a syn::Visibility,
    pub(crate) generics: &'a Generics,
    pub(crate) attrs: ModelAttrs,
    pub(crate) data: Data<'a>,
    /// `#[kalam::aligned_model]` put the `#[hot]` fields first for `hot_first_line`, which
    /// may cost padding: the default `optimal` check is then off (an explicit one stays).
    pub(crate) hot_first_reordered: bool,
}

pub(crate) enum Data<'a> {
    Struct(Vec<Field<'a>>),
    Enum(Vec<Variant<'a>>),
    /// Unions are rejected; the token is kept for the error's span.
    Union(&'a syn::token::Union),
}

pub(crate) struct Field<'a> {
    pub(crate) original: &'a syn::Field,
    /// `flag` or `0`: what `offset_of!` takes.
    pub(crate) member: Member,
    /// The name reported in the layout (`r#type` is reported as `type`).
    pub(crate) name: String,
    pub(crate) ty: &'a Type,
    pub(crate) attrs: FieldAttrs,
    pub(crate) cfgs: Vec<&'a Attribute>,
    /// An alignment to assert at compile time: from `#[layout(align = N)]`, or what
    /// `#[kalam::aligned_model]` assumed when it ordered the fields.
    pub(crate) assumed: Option<Assumed>,
}

/// An alignment the expansion relies on, checked by a `const` assertion.
#[derive(Clone, Copy)]
pub(crate) struct Assumed {
    pub(crate) on_64: usize,
    pub(crate) on_32: usize,
    /// Given by the user with `#[layout(align = N)]`, rather than known from the type.
    pub(crate) from_attr: bool,
}

pub(crate) struct Variant<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) types: Vec<&'a Type>,
    pub(crate) cfgs: Vec<&'a Attribute>,
}

impl<'a> Input<'a> {
    pub(crate) fn from_syn(cx: &Ctxt, input: &'a DeriveInput) -> Self {
        let attrs = ModelAttrs::from_attrs(cx, &input.attrs, &input.generics);
        let data = match &input.data {
            syn::Data::Struct(data) => Data::Struct(fields_from_syn(cx, &data.fields)),
            syn::Data::Enum(data) => Data::Enum(
                data.variants
                    .iter()
                    .map(|variant| {
                        attr::reject_misplaced(cx, &variant.attrs, "enum variants");
                        for field in &variant.fields {
                            attr::reject_misplaced(cx, &field.attrs, "the fields of enum variants");
                        }
                        Variant {
                            ident: &variant.ident,
                            types: variant.fields.iter().map(|f| &f.ty).collect(),
                            cfgs: attr::cfgs(&variant.attrs),
                        }
                    })
                    .collect(),
            ),
            syn::Data::Union(data) => Data::Union(&data.union_token),
        };
        Input {
            ident: &input.ident,
            name: unraw(&input.ident),
            vis: &input.vis,
            generics: &input.generics,
            attrs,
            data,
            hot_first_reordered: false,
        }
    }

    /// Whether the type has type or const parameters (lifetimes alone do not count: the
    /// checks use `'static` for them).
    pub(crate) fn is_generic(&self) -> bool {
        self.generics.type_params().next().is_some()
            || self.generics.const_params().next().is_some()
    }

    pub(crate) fn fields(&self) -> &[Field<'a>] {
        match &self.data {
            Data::Struct(fields) => fields,
            _ => &[],
        }
    }
}

fn fields_from_syn<'a>(cx: &Ctxt, fields: &'a syn::Fields) -> Vec<Field<'a>> {
    fields
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let member = match &field.ident {
                Some(ident) => Member::Named(ident.clone()),
                None => Member::Unnamed(syn::Index {
                    index: i as u32,
                    span: field_span(field),
                }),
            };
            let name = match &field.ident {
                Some(ident) => unraw(ident),
                None => i.to_string(),
            };
            let attrs = FieldAttrs::from_attrs(cx, &field.attrs, field.ident.is_some());
            let assumed = attrs.align.map(|align| Assumed {
                on_64: align.value,
                on_32: align.value,
                from_attr: true,
            });
            Field {
                original: field,
                member,
                name,
                ty: &field.ty,
                attrs,
                cfgs: attr::cfgs(&field.attrs),
                assumed,
            }
        })
        .collect()
}

fn field_span(field: &syn::Field) -> proc_macro2::Span {
    use syn::spanned::Spanned as _;
    field.ty.span()
}

/// `r#type` -> `type`.
pub(crate) fn unraw(ident: &Ident) -> String {
    let text = ident.to_string();
    match text.strip_prefix("r#") {
        Some(bare) => bare.to_owned(),
        None => text,
    }
}
