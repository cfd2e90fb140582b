//! The derives never panic, whatever they are given: generated struct and enum definitions,
//! valid and broken, always come back as an expansion or as spanned errors. So do the
//! attribute macros, on any item.

use proc_macro2::TokenStream;
use proptest::prelude::*;

use crate::expand::derive_aligned_model::derive;

const LAYOUT_KEYS: &[&str] = &[
    "max_size = 16",
    "max_size = 0",
    "size = 24",
    "max_padding = 3",
    "no_padding",
    "optimal",
    "allow_waste",
    "cache_line = 64",
    "cache_line = 3",
    "cache_line = 0",
    "hot_first_line",
    "no_straddle",
    "max_variant_size = 8",
    "check_with(T = u8)",
    "check_with(T = u8, N = 2)",
    "check_with(N = 1 + 1)",
    "check_with(U = u8)",
    "check_with()",
    "check_with",
    "check_with(T)",
    "max_size",
    "max_size = \"8\"",
    "max_size = 8u8",
    "max_size = -1",
    "max_size = 99999999999999999999999999",
    "optimal = true",
    "kalam::optimal",
    "unknown",
    "max_size = 8, max_size = 8",
    "= 8",
    "",
];

const TYPES: &[&str] = &[
    "u8",
    "u64",
    "bool",
    "String",
    "[u8; 3]",
    "&'a str",
    "T",
    "[T; N]",
    "Option<Box<u8>>",
    "()",
    "[u8]",
    "str",
    "dyn Send",
    "(u8, u64)",
    "fn() -> u8",
];

const FIELD_ATTRS: &[&str] = &[
    "",
    "",
    "#[hot]",
    "#[hot(always)]",
    "#[hot = 1]",
    "#[layout(max_size = 8)]",
    "#[cfg(any())]",
    "#[cfg(all())]",
    "#[hot] #[hot]",
    "#[kalam(crate = \"x\")]",
];

const HEADS: &[&str] = &[
    "",
    "#[repr(C)]",
    "#[repr(C, packed)]",
    "#[repr(C, align(64))]",
    "#[repr(packed(2))]",
    "#[repr(u8)]",
    "#[repr(transparent)]",
    "#[kalam(crate = \"::kalam\")]",
    "#[kalam(crate = \"not a path\")]",
    "#[kalam(crate = ::other)]",
    "#[kalam(krate = \"x\")]",
    "#[repr(align(x))]",
];

const GENERICS: &[&str] = &[
    "",
    "<'a>",
    "<T>",
    "<'a, T: Copy, const N: usize>",
    "<T = u8>",
];

fn pick(list: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    prop::sample::select(list)
}

fn definition() -> impl Strategy<Value = String> {
    let keys = prop::collection::vec(pick(LAYOUT_KEYS), 0..4);
    let fields = prop::collection::vec((pick(FIELD_ATTRS), pick(TYPES)), 0..5);
    (pick(HEADS), keys, pick(GENERICS), 0..5usize, fields).prop_map(
        |(head, keys, generics, shape, fields)| {
            let layout = if keys.is_empty() {
                String::new()
            } else {
                format!("#[layout({})]", keys.join(", "))
            };
            let named = fields
                .iter()
                .enumerate()
                .map(|(i, (attr, ty))| format!("{attr} f{i}: {ty},"))
                .collect::<String>();
            let unnamed = fields
                .iter()
                .map(|(attr, ty)| format!("{attr} {ty},"))
                .collect::<String>();
            let body = match shape {
                0 => format!("struct S{generics} {{ {named} }}"),
                1 => format!("struct S{generics}({unnamed});"),
                2 => "struct S;".to_owned(),
                3 => format!("enum S{generics} {{ A, B({unnamed}), C {{ {named} }} }}"),
                _ => format!("union S{generics} {{ {named} }}"),
            };
            format!("{head} {layout} {body}")
        },
    )
}

const TABLE_ATTRS: &[&str] = &[
    "",
    "#[table(name = \"jobs\")]",
    "#[table(name = \"jobs\", namespace = \"system\", version = 3)]",
    "#[table(version = 0)]",
    "#[table(version = 300)]",
    "#[table(nmespace = \"x\")]",
    "#[table(name)]",
    "#[table(name = 1)]",
    "#[table]",
    "#[table = \"x\"]",
    "#[kalam(crate = \"::kalam\")]",
    "#[kalam(crate = \"not a path\")]",
];

const COLUMN_ATTRS: &[&str] = &[
    "",
    "",
    "#[column(primary_key)]",
    "#[column(primary_key)]",
    "#[column(primary_key, name = \"k\")]",
    "#[column(name = \"k\")]",
    "#[column(name = \"two words\")]",
    "#[column(skip)]",
    "#[column(skip, primary_key)]",
    "#[column(nullable)]",
    "#[column(via = u64)]",
    "#[column(via = Option<u64>)]",
    "#[column(via)]",
    "#[column(via = )]",
    "#[column(primary_key, primary_key)]",
    "#[column(sise = 3)]",
    "#[column]",
    "#[column = 1]",
];

const COLUMN_TYPES: &[&str] = &[
    "u8",
    "i64",
    "bool",
    "f64",
    "String",
    "Vec<u8>",
    "Option<String>",
    "Option<u64>",
    "Option<NodeId>",
    "Option<>",
    "Option<u8, u8>",
    "NodeId",
    "std::string::String",
    "T",
    "&'a str",
    "[u8; 4]",
    "(u8, u8)",
];

fn table_definition() -> impl Strategy<Value = String> {
    let columns = prop::collection::vec((pick(COLUMN_ATTRS), pick(COLUMN_TYPES)), 0..6);
    (pick(TABLE_ATTRS), pick(GENERICS), 0..5usize, columns).prop_map(
        |(head, generics, shape, columns)| {
            let named = columns
                .iter()
                .enumerate()
                .map(|(i, (attr, ty))| format!("{attr} c{i}: {ty},"))
                .collect::<String>();
            let unnamed = columns
                .iter()
                .map(|(attr, ty)| format!("{attr} {ty},"))
                .collect::<String>();
            let body = match shape {
                0 | 1 => format!("struct S{generics} {{ {named} }}"),
                2 => format!("struct S{generics}({unnamed});"),
                3 => format!("enum S{generics} {{ A, B {{ {named} }} }}"),
                _ => format!("union S{generics} {{ {named} }}"),
            };
            format!("{head} {body}")
        },
    )
}

/// `text`'s tokens with the one `at` removed, or with `repeat`, repeated.
fn mutated(text: &str, at: prop::sample::Index, repeat: bool) -> TokenStream {
    let tokens: Vec<proc_macro2::TokenTree> = text
        .parse::<TokenStream>()
        .expect("tokenizes")
        .into_iter()
        .collect();
    let mut mutated = tokens.clone();
    if !tokens.is_empty() {
        let i = at.index(tokens.len());
        if repeat {
            mutated.insert(i, tokens[i].clone());
        } else {
            mutated.remove(i);
        }
    }
    mutated.into_iter().collect()
}

/// Runs the `AlignedModel` derive and checks that it returned tokens that parse as items.
fn expands_without_panic(input: &TokenStream) -> Result<(), TestCaseError> {
    derives_without_panic(derive, input)
}

/// Runs `derive` and checks that it returned tokens that parse as items.
fn derives_without_panic(
    derive: fn(TokenStream) -> TokenStream,
    input: &TokenStream,
) -> Result<(), TestCaseError> {
    let output = std::panic::catch_unwind(|| derive(input.clone()))
        .map_err(|_| TestCaseError::fail(format!("derive panicked on: {input}")))?;
    prop_assert!(!output.is_empty(), "empty expansion for: {}", input);
    syn::parse2::<syn::File>(output.clone()).map_err(|e| {
        TestCaseError::fail(format!("unparsable output ({e}) for: {input}\n{output}"))
    })?;
    Ok(())
}

const ATTRIBUTE_ARGS: &[&str] = &[
    "",
    "always",
    "always, always",
    "fast",
    "\"audit\"",
    "\"audit\", default",
    "\"audit\", feature = \"x\"",
    "\"a b\"",
    "\"\"",
    "audit",
    "\"audit\",",
    "= 1",
    "\"audit\", crate = \"::kalam\"",
    "\"audit\", crate = \"not a path\"",
];

const ITEMS: &[&str] = &[
    "fn f() {}",
    "pub fn f(&self, x: u8) -> Option<&str> { None }",
    "async fn f(&self) -> u8 { 1 }",
    "const fn f() {}",
    "fn f() -> impl Iterator<Item = u8> { [].into_iter() }",
    "fn f() -> Result<u8, ()> { Ok(1) }",
    "fn f(&self);",
    "impl S { fn a(&self) {} #[hot(always)] fn b() {} #[hot(x)] fn c() {} const C: u8 = 1; }",
    "impl T for S { fn a(&self) {} }",
    "trait T { fn a(&self); fn b(&self) {} }",
    "struct S;",
    "const C: u8 = 1;",
    "mod m {}",
    "",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    #[test]
    fn attribute_macros(args in pick(ATTRIBUTE_ARGS), item in pick(ITEMS), which in any::<bool>()) {
        let args: TokenStream = args.parse().expect("tokenizes");
        let item: TokenStream = item.parse().expect("tokenizes");
        let expand = if which { crate::expand::hot::attribute } else { crate::expand::opt_in::attribute };
        let output = std::panic::catch_unwind(|| expand(args.clone(), item.clone()))
            .map_err(|_| TestCaseError::fail(format!("panicked on {args} / {item}")))?;
        syn::parse2::<syn::File>(output.clone())
            .map_err(|e| TestCaseError::fail(format!("unparsable ({e}): {output}")))?;
    }

    #[test]
    fn generated_definitions(text in definition()) {
        // Every text the strategy makes is tokenizable; whether it is a valid item is up
        // to the derive to judge.
        let tokens: TokenStream = text.parse().expect("strategy output tokenizes");
        expands_without_panic(&tokens)?;
    }

    #[test]
    fn generated_tables(text in table_definition()) {
        let tokens: TokenStream = text.parse().expect("strategy output tokenizes");
        derives_without_panic(crate::expand::table::derive, &tokens)?;
    }

    #[test]
    fn tables_with_a_token_removed_or_repeated(
        text in table_definition(),
        at in any::<prop::sample::Index>(),
        repeat in any::<bool>(),
    ) {
        derives_without_panic(crate::expand::table::derive, &mutated(&text, at, repeat))?;
    }

    #[test]
    fn definitions_with_a_token_removed_or_repeated(
        text in definition(),
        at in any::<prop::sample::Index>(),
        repeat in any::<bool>(),
    ) {
        expands_without_panic(&mutated(&text, at, repeat))?;
    }
}
