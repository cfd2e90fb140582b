//! Source tokens printed the way people write them: `Vec<u8>`, not `Vec < u8 >`.

use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use quote::ToTokens;

/// Prints `tokens` compactly, as rustfmt would lay out a type or an expression.
pub(crate) fn compact(tokens: &impl ToTokens) -> String {
    let mut out = String::new();
    write_stream(&mut out, tokens.to_token_stream());
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Last {
    Start,
    /// An identifier or literal: the next word needs a space.
    Word,
    /// A keyword after which a group or path needs a space: `mut [u8]`, `dyn ::T`.
    Keyword,
    /// A lifetime: `'a [u8]`, `'a ::path`.
    Lifetime,
    /// An opening delimiter, `&`, `*`, `::`, `<`, `'`: nothing follows with a space.
    Open,
    /// A closing delimiter or `>`.
    Close,
    /// A token that is followed by a space: `,`, `;`, `=`, `->`, `+`, `:`.
    Spaced,
}

fn write_stream(out: &mut String, tokens: TokenStream) {
    let mut last = Last::Start;
    let mut pending_joint = String::new();
    for tree in tokens {
        match tree {
            TokenTree::Ident(ident) => {
                let lifetime = out.ends_with('\'');
                if matches!(
                    last,
                    Last::Word | Last::Keyword | Last::Lifetime | Last::Close
                ) && !lifetime
                {
                    out.push(' ');
                }
                let text = ident.to_string();
                out.push_str(&text);
                last = if lifetime {
                    Last::Lifetime
                } else if KEYWORDS.contains(&text.as_str()) {
                    Last::Keyword
                } else {
                    Last::Word
                };
            }
            TokenTree::Literal(lit) => {
                if matches!(
                    last,
                    Last::Word | Last::Keyword | Last::Lifetime | Last::Close
                ) {
                    out.push(' ');
                }
                out.push_str(&lit.to_string());
                last = Last::Word;
            }
            TokenTree::Group(group) => {
                let (open, close) = match group.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Brace => ("{ ", " }"),
                    Delimiter::None => ("", ""),
                };
                let spaced = match group.delimiter() {
                    Delimiter::Brace => last != Last::Start,
                    _ => matches!(last, Last::Keyword | Last::Lifetime),
                };
                if spaced {
                    out.push(' ');
                }
                out.push_str(open);
                write_stream(out, group.stream());
                out.push_str(close);
                last = Last::Close;
            }
            TokenTree::Punct(punct) => {
                pending_joint.push(punct.as_char());
                if punct.spacing() == Spacing::Joint && punct.as_char() != '\'' {
                    continue;
                }
                let op = std::mem::take(&mut pending_joint);
                last = write_punct(out, &op, last);
            }
        }
    }
    if !pending_joint.is_empty() {
        out.push_str(&pending_joint);
    }
}

/// Keywords that a following `(`, `[` or `::` is separated from by a space.
const KEYWORDS: [&str; 7] = ["mut", "dyn", "impl", "const", "as", "unsafe", "extern"];

fn write_punct(out: &mut String, op: &str, last: Last) -> Last {
    match op {
        "," | ";" => {
            out.push_str(op);
            out.push(' ');
            Last::Spaced
        }
        ":" => {
            out.push_str(": ");
            Last::Spaced
        }
        "&" | "*" if matches!(last, Last::Word | Last::Lifetime | Last::Close) => {
            // After an operand they are binary: `N * 2`.
            out.push(' ');
            out.push_str(op);
            out.push(' ');
            Last::Spaced
        }
        "::" | "<" | "&" | "*" | "'" | "!" | "#" | "$" => {
            // `Vec<`, `&` and `::` hug what follows; a leading `::` after a keyword or a
            // lifetime does not hug what precedes it.
            if op == "::" && matches!(last, Last::Keyword | Last::Lifetime) {
                out.push(' ');
            }
            out.push_str(op);
            Last::Open
        }
        ">" | ">>" | "?" | "." => {
            out.push_str(op);
            Last::Close
        }
        _ => {
            // Binary operators and arrows: `->`, `=`, `+`, `..`.
            if !matches!(last, Last::Start | Last::Open) && !out.ends_with(' ') {
                out.push(' ');
            }
            out.push_str(op);
            out.push(' ');
            Last::Spaced
        }
    }
}

#[cfg(test)]
mod tests {
    use super::compact;

    fn ty(text: &str) -> String {
        compact(&syn::parse_str::<syn::Type>(text).unwrap())
    }

    #[test]
    fn types_print_as_written() {
        for text in [
            "u64",
            "Vec<u8>",
            "Option<Box<[u8]>>",
            "[u8; 16]",
            "&'a str",
            "&'static mut Vec<u8>",
            "*const u8",
            "(u8, i64)",
            "HashMap<String, Vec<(u8, u16)>>",
            "::core::option::Option<u8>",
            "Box<dyn Fn(u8) -> u8 + Send>",
            "PhantomData<fn() -> T>",
            "<T as Iterator>::Item",
            "[u8; N * 2]",
            "Foo<'a, T, 4>",
            "Foo<Item = u8>",
            "&'a [u8]",
            "&'a ::core::primitive::str",
            "&mut [u8]",
            "&'a mut (u8, u16)",
            "Box<dyn ::std::any::Any>",
            "*const [u8]",
            "unsafe extern \"C\" fn(u8)",
        ] {
            assert_eq!(ty(text), text);
        }
    }
}
