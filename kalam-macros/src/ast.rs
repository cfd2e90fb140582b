//! Typed views of a derive input that borrow from it.

use syn::{Attribute, DeriveInput, Generics, Ident, Member, Type};

use crate::attr::{self, FieldAttrs, ModelAttrs};
use crate::ctxt::Ctxt;

pub(crate) struct Input<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) vis: &'a syn::Visibility,
    pub(crate) generics: &'a Generics,
    pub(crate) attrs: ModelAttrs,
    pub(crate) data: Data<'a>,
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
            vis: &input.vis,
            generics: &input.generics,
            attrs,
            data,
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
            Field {
                original: field,
                member,
                name,
                ty: &field.ty,
                attrs: FieldAttrs::from_attrs(cx, &field.attrs, field.ident.is_some()),
                cfgs: attr::cfgs(&field.attrs),
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
