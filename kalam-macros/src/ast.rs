//! Typed views of a derive input that borrow from it: [`Input`] for `AlignedModel`,
//! [`TableInput`] for `KalamTable`.

use proc_macro2::TokenStream;
use quote::{ToTokens as _, quote, quote_spanned};
use syn::spanned::Spanned as _;
use syn::{Attribute, DeriveInput, Generics, Ident, Member, Path, Type};

use crate::attr::table::{ColumnAttrs, TableAttrs};
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

/// The path generated code reaches the facade through: `::kalam` unless
/// `#[kalam(crate = "..")]` says otherwise.
pub(crate) fn crate_path(krate: Option<&Path>) -> TokenStream {
    match krate {
        Some(path) => path.to_token_stream(),
        None => quote!(::kalam),
    }
}

/// `#[derive(KalamTable)]`'s view of a struct: its `#[table]` attributes and its columns.
pub(crate) struct TableInput<'a> {
    pub(crate) input: &'a DeriveInput,
    pub(crate) attrs: TableAttrs,
    /// The `#[kalam(crate = ..)]` path.
    pub(crate) krate: Option<Path>,
    /// One per named field, skipped ones included; empty when the shape is wrong.
    pub(crate) columns: Vec<Column<'a>>,
    /// Whether the input is a struct with named fields (otherwise an error is reported).
    pub(crate) named: bool,
}

/// A field of a `KalamTable` struct: a column unless `#[column(skip)]`.
pub(crate) struct Column<'a> {
    pub(crate) ident: &'a Ident,
    pub(crate) ty: &'a Type,
    /// The column's name in keys, schemas and SQL.
    pub(crate) name: String,
    pub(crate) attrs: ColumnAttrs,
    /// The type the column is stored as: the field's; or with `via = R`, `R`, and
    /// `Option<R>` for a field of type `Option<T>` (each value converted through
    /// `ColumnVia<R>` for `T`).
    pub(crate) repr: Type,
    /// With `via` on an `Option<T>` field: `T`, the type that converts.
    pub(crate) via_inner: Option<&'a Type>,
}

impl Column<'_> {
    pub(crate) fn nullable(&self) -> bool {
        self.attrs.nullable.is_some() || is_option(&self.repr)
    }

    /// The type the column is stored as.
    pub(crate) fn repr(&self) -> &Type {
        &self.repr
    }

    /// The value of rows written before the column existed: `default = ..`, or the field
    /// type's `Default`.
    pub(crate) fn default_value(&self, private: &TokenStream) -> TokenStream {
        match &self.attrs.default {
            Some(value) => quote!(#value),
            None => {
                let ty = self.ty;
                quote_spanned!(ty.span()=> <#ty as #private::Default>::default())
            }
        }
    }
}

impl<'a> TableInput<'a> {
    pub(crate) fn from_syn(cx: &Ctxt, input: &'a DeriveInput) -> Self {
        let attrs = TableAttrs::from_attrs(cx, &input.attrs);
        let krate = attr::crate_attr(cx, &input.attrs);
        let message = "KalamTable is for structs: a table row has columns";
        let fields = match &input.data {
            syn::Data::Struct(data) => match &data.fields {
                syn::Fields::Named(fields) => Some(&fields.named),
                other => {
                    cx.error_spanned_by(
                        other,
                        "KalamTable needs named fields: each one is a column, and its name the column's",
                    );
                    None
                }
            },
            syn::Data::Enum(data) => {
                cx.error_spanned_by(data.enum_token, message);
                None
            }
            syn::Data::Union(data) => {
                cx.error_spanned_by(data.union_token, message);
                None
            }
        };
        let columns = fields
            .into_iter()
            .flatten()
            .filter_map(|field| {
                let ident = field.ident.as_ref()?;
                let attrs = ColumnAttrs::from_attrs(cx, &field.attrs);
                let name = attrs
                    .name
                    .as_ref()
                    .map_or_else(|| unraw(ident), syn::LitStr::value);
                let via_inner = attrs.via.as_ref().and_then(|_| option_inner(&field.ty));
                let repr = match (&attrs.via, via_inner) {
                    (Some(via), Some(_)) => syn::parse_quote!(::core::option::Option<#via>),
                    (Some(via), None) => via.clone(),
                    (None, _) => field.ty.clone(),
                };
                Some(Column {
                    ident,
                    ty: &field.ty,
                    name,
                    attrs,
                    repr,
                    via_inner,
                })
            })
            .collect();
        TableInput {
            input,
            attrs,
            krate,
            columns,
            named: fields.is_some(),
        }
    }
}

/// Whether `ty` is written `Option<..>`.
pub(crate) fn is_option(ty: &Type) -> bool {
    matches!(ty, Type::Path(path) if path.qself.is_none()
        && path.path.segments.last().is_some_and(|s| s.ident == "Option"))
}

/// `T` of a type written `Option<T>`.
fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if path.qself.is_some() || last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(inner) if args.args.len() == 1 => Some(inner),
        _ => None,
    }
}
