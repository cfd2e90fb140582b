//! `#[opt_in_feature("name")]`: a function that runs only while its named gate is on.
//!
//! The generated function reads its gate (one relaxed load and a compare when off) and
//! returns at once when the gate is off. When it is on, the original body runs from a
//! closure passed to a non-inlined helper, so the function itself stays small enough to
//! inline into its callers. A `--cfg kalam_disable = "name"` flag (or `"all"`), or a cargo
//! feature named with `feature = ".."` being off, removes the body: it is still
//! type-checked, but nothing of it is compiled in.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned as _;
use syn::{ItemFn, LitStr, ReturnType, Token, Type};

use crate::ast::crate_path;
use crate::fallback;

struct Args {
    name: LitStr,
    default: bool,
    feature: Option<LitStr>,
    krate: Option<syn::Path>,
}

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        if input.is_empty() {
            return Err(syn::Error::new(
                Span::call_site(),
                "name the gate: #[opt_in_feature(\"audit\")]; it is what KALAM_GATES and \
                 kalam::set_gate refer to",
            ));
        }
        let name: LitStr = input.parse()?;
        let text = name.value();
        if text.is_empty()
            || !text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'))
        {
            return Err(syn::Error::new(
                name.span(),
                "a gate name is ASCII letters, digits, `_`, `-`, `.` or `:` (it is listed in \
                 the comma-separated KALAM_GATES)",
            ));
        }
        let mut args = Args {
            name,
            default: false,
            feature: None,
            krate: None,
        };
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key: syn::Path = input.call(syn::Path::parse_mod_style)?;
            let duplicate = || syn::Error::new_spanned(&key, "duplicate option");
            if key.is_ident("default") {
                if std::mem::replace(&mut args.default, true) {
                    return Err(duplicate());
                }
            } else if key.is_ident("feature") {
                input.parse::<Token![=]>()?;
                if args.feature.replace(input.parse()?).is_some() {
                    return Err(duplicate());
                }
            } else if key.is_ident("crate") {
                input.parse::<Token![=]>()?;
                let lit: LitStr = input.parse()?;
                if args.krate.replace(lit.parse()?).is_some() {
                    return Err(duplicate());
                }
            } else {
                return Err(syn::Error::new_spanned(
                    &key,
                    "unknown option; #[opt_in_feature] takes the gate name, then `default`, \
                     `feature = \"..\"` or `crate = \"..\"`",
                ));
            }
        }
        Ok(args)
    }
}

pub(crate) fn attribute(args: TokenStream, item: TokenStream) -> TokenStream {
    let args: Args = match syn::parse2(args) {
        Ok(args) => args,
        Err(err) => return fallback::with_original(&err, item),
    };
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let err = match syn::parse2::<syn::TraitItemFn>(item.clone()) {
                Ok(method) => syn::Error::new(
                    method.sig.ident.span(),
                    "#[opt_in_feature] needs a body to gate; put it on the implementations, \
                     or give this trait method a default body",
                ),
                Err(_) => syn::Error::new(
                    Span::call_site(),
                    "#[opt_in_feature] goes on a function or a method",
                ),
            };
            return fallback::with_original(&err, item);
        }
    };
    match expand(&args, function) {
        Ok(tokens) => tokens,
        Err(err) => fallback::with_original(&err, item),
    }
}

/// What the function returns while its gate is off.
fn off_value(sig: &syn::Signature, default: bool) -> syn::Result<TokenStream> {
    if default {
        // Spanned at the return type: "`Result<..>: Default` is not satisfied" lands there.
        let span = match &sig.output {
            ReturnType::Default => sig.ident.span(),
            ReturnType::Type(_, ty) => ty.span(),
        };
        return Ok(quote_spanned!(span=> ::core::default::Default::default()));
    }
    let ty = match &sig.output {
        ReturnType::Default => return Ok(quote!(())),
        ReturnType::Type(_, ty) => ty,
    };
    match strip(ty) {
        Type::Tuple(tuple) if tuple.elems.is_empty() => Ok(quote!(())),
        Type::Path(path)
            if path.qself.is_none()
                && path
                    .path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "Option") =>
        {
            Ok(quote!(::core::option::Option::None))
        }
        Type::ImplTrait(_) => Err(syn::Error::new_spanned(
            ty,
            "#[opt_in_feature] cannot make a value of an `impl Trait` type for when its gate \
             is off; return a concrete type",
        )),
        _ => Err(syn::Error::new_spanned(
            ty,
            format!(
                "#[opt_in_feature] must return something when its gate is off: it returns `()` \
                 and `None` by itself, but `{}` is neither; add `default` to return \
                 `Default::default()`: #[opt_in_feature(\"name\", default)]",
                crate::text::compact(ty)
            ),
        )),
    }
}

fn strip(ty: &Type) -> &Type {
    match ty {
        Type::Paren(inner) => strip(&inner.elem),
        Type::Group(inner) => strip(&inner.elem),
        other => other,
    }
}

fn expand(args: &Args, function: ItemFn) -> syn::Result<TokenStream> {
    let ItemFn {
        attrs,
        vis,
        sig,
        block,
    } = function;
    if let Some(constness) = &sig.constness {
        return Err(syn::Error::new(
            constness.span(),
            "gates are read at run time, so #[opt_in_feature] cannot go on a const fn",
        ));
    }
    let off = off_value(&sig, args.default)?;
    let krate = crate_path(args.krate.as_ref());
    let private = quote!(#krate::__private);
    let name = &args.name;

    // Compiled out by `--cfg kalam_disable = "name"` or `"all"`, or by the feature.
    let mut removed = vec![quote!(kalam_disable = #name), quote!(kalam_disable = "all")];
    if let Some(feature) = &args.feature {
        removed.push(quote!(not(feature = #feature)));
    }

    let block = &block;
    let (dead, enabled) = if sig.asyncness.is_some() {
        // A future's state machine is its own frame: run the body in place.
        let run = quote!((async move #block).await);
        let enabled = quote! {
            if !__KALAM_GATE.is_on() {
                return #off;
            }
            __KALAM_GATE.record_hit();
            return #run;
        };
        (run, enabled)
    } else {
        // Off: one load, one compare, return. On: a tail call to the outlined body. The
        // first call registers the site, out of line too, so that the arguments never have
        // to be saved across a call in this function.
        let enabled = quote! {
            let __kalam_state = __KALAM_GATE.state();
            if __kalam_state == #private::GATE_OFF {
                return #off;
            }
            // Through `once`, so that the closure is inferred `FnOnce` and may hand out
            // borrows of what it captured (`&mut self` returning `&mut T`).
            let __kalam_body = #private::once(move || #block);
            if __kalam_state == #private::GATE_ON {
                __KALAM_GATE.record_hit();
                return #private::outlined(__kalam_body);
            }
            return #private::first_call(&__KALAM_GATE, __kalam_body, || #off);
        };
        (quote!(#private::outlined(move || #block)), enabled)
    };
    let has_inline = attrs
        .iter()
        .any(|a| a.path().is_ident("inline") || a.path().is_ident("cold"));
    let inline = if has_inline || sig.asyncness.is_some() {
        quote!()
    } else {
        quote!(#[inline])
    };

    let body = quote! {{
        #[cfg(any(#(#removed),*))]
        {
            // Compiled out: type-checked, never run.
            #[allow(unreachable_code)]
            if false {
                return #dead;
            }
            return #off;
        }
        #[cfg(not(any(#(#removed),*)))]
        {
            static __KALAM_GATE: #private::Gate = #private::Gate::new(#name);
            #enabled
        }
    }};
    Ok(quote! {
        #(#attrs)*
        #inline
        #[allow(unexpected_cfgs)]
        #vis #sig #body
    })
}
