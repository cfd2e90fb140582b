//! What `#[kalam::aligned_model]` knows of type alignments before the compiler has run.
//!
//! A proc macro sees tokens, not types, so the alignment of a field has to be recognised
//! from how its type is written. What is recognised here is standard and stable; every
//! assumption is still checked by a `const` assertion in the expansion.

use syn::{GenericArgument, PathArguments, Type};

/// An alignment on 64-bit and on 32-bit targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Align {
    pub(crate) on_64: usize,
    pub(crate) on_32: usize,
}

impl Align {
    const fn fixed(bytes: usize) -> Self {
        Align {
            on_64: bytes,
            on_32: bytes,
        }
    }

    /// Pointers, references, `usize`, `Box`, `Vec`, …
    const POINTER: Align = Align { on_64: 8, on_32: 4 };

    fn max(self, other: Align) -> Align {
        Align {
            on_64: self.on_64.max(other.on_64),
            on_32: self.on_32.max(other.on_32),
        }
    }
}

/// The field's alignment, and whether the field is known to be zero-sized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Known {
    pub(crate) align: Align,
    pub(crate) zero_sized: bool,
}

impl Known {
    const fn sized(align: Align) -> Self {
        Known {
            align,
            zero_sized: false,
        }
    }
}

const ZERO_SIZED: Known = Known {
    align: Align::fixed(1),
    zero_sized: true,
};

/// The alignment of `ty`, if the way it is written tells it.
pub(crate) fn known(ty: &Type) -> Option<Known> {
    match ty {
        Type::Paren(inner) => known(&inner.elem),
        Type::Group(inner) => known(&inner.elem),
        Type::Reference(_) | Type::Ptr(_) | Type::BareFn(_) => Some(Known::sized(Align::POINTER)),
        Type::Array(array) => {
            let element = known(&array.elem)?;
            let empty = matches!(
                &array.len,
                syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(n), .. }) if n.base10_digits() == "0"
            );
            Some(Known {
                align: element.align,
                zero_sized: element.zero_sized || empty,
            })
        }
        Type::Tuple(tuple) => {
            let mut out = ZERO_SIZED;
            for element in &tuple.elems {
                let element = known(element)?;
                out.align = out.align.max(element.align);
                out.zero_sized &= element.zero_sized;
            }
            Some(out)
        }
        Type::Path(path) if path.qself.is_none() => {
            let last = path.path.segments.last()?;
            let name = last.ident.to_string();
            let arg = single_type_arg(&last.arguments);
            if let Some(align) = primitive(&name) {
                return Some(Known::sized(align));
            }
            match name.as_str() {
                "Box" | "Vec" | "String" | "Arc" | "Rc" | "NonNull" | "Weak" | "AtomicPtr" => {
                    Some(Known::sized(Align::POINTER))
                }
                "PhantomData" | "PhantomPinned" => Some(ZERO_SIZED),
                // Same layout as what they wrap; `Option` adds a tag no wider than it.
                "Option" | "Cell" | "UnsafeCell" | "ManuallyDrop" | "MaybeUninit" | "Wrapping"
                | "Saturating" | "Reverse" | "NonZero" => known(arg?),
                // NonZeroU32 and friends.
                _ => name
                    .strip_prefix("NonZero")
                    .and_then(|int| primitive(&int.to_ascii_lowercase()))
                    .map(Known::sized),
            }
        }
        _ => None,
    }
}

fn primitive(name: &str) -> Option<Align> {
    Some(match name {
        "u8" | "i8" | "bool" | "AtomicU8" | "AtomicI8" | "AtomicBool" => Align::fixed(1),
        "u16" | "i16" | "AtomicU16" | "AtomicI16" => Align::fixed(2),
        "u32" | "i32" | "f32" | "char" | "AtomicU32" | "AtomicI32" => Align::fixed(4),
        // 8 on 32-bit targets too, except x86 (see the crate docs): the assertion says so.
        "u64" | "i64" | "f64" | "AtomicU64" | "AtomicI64" => Align::fixed(8),
        "u128" | "i128" => Align::fixed(16),
        "usize" | "isize" | "AtomicUsize" | "AtomicIsize" => Align::POINTER,
        _ => return None,
    })
}

fn single_type_arg(arguments: &PathArguments) -> Option<&Type> {
    let PathArguments::AngleBracketed(args) = arguments else {
        return None;
    };
    let mut types = args.args.iter().filter_map(|arg| match arg {
        GenericArgument::Type(ty) => Some(ty),
        _ => None,
    });
    let first = types.next()?;
    types.next().is_none().then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn align(text: &str) -> Option<(usize, usize, bool)> {
        let ty: Type = syn::parse_str(text).unwrap();
        known(&ty).map(|k| (k.align.on_64, k.align.on_32, k.zero_sized))
    }

    #[test]
    fn recognised_types() {
        assert_eq!(align("u8"), Some((1, 1, false)));
        assert_eq!(align("std::primitive::u64"), Some((8, 8, false)));
        assert_eq!(align("&'a str"), Some((8, 4, false)));
        assert_eq!(align("Box<dyn Fn()>"), Some((8, 4, false)));
        assert_eq!(align("Option<Box<u8>>"), Some((8, 4, false)));
        assert_eq!(align("Option<u16>"), Some((2, 2, false)));
        assert_eq!(align("[u32; 4]"), Some((4, 4, false)));
        assert_eq!(align("[u64; 0]"), Some((8, 8, true)));
        assert_eq!(align("(u8, u64)"), Some((8, 8, false)));
        assert_eq!(align("()"), Some((1, 1, true)));
        assert_eq!(align("PhantomData<T>"), Some((1, 1, true)));
        assert_eq!(align("core::num::NonZeroU32"), Some((4, 4, false)));
        assert_eq!(align("NonZero<u128>"), Some((16, 16, false)));
        assert_eq!(align("std::sync::atomic::AtomicUsize"), Some((8, 4, false)));
        assert_eq!(align("fn(u8) -> u8"), Some((8, 4, false)));
    }

    #[test]
    fn unknown_types() {
        for text in [
            "T",
            "MyStruct",
            "HashMap<u8, u8>",
            "[T; 3]",
            "(u8, T)",
            "Option<T>",
            "dyn Send",
        ] {
            assert_eq!(align(text), None, "{text}");
        }
    }
}
