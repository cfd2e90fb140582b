//! Expansion snapshots of the main shapes, so that a change in generated code shows in
//! review. Update with `INSTA_UPDATE=always cargo test -p kalam-macros` and read the diff.

use crate::expand::derive_aligned_model::derive;

fn expand(source: &str) -> String {
    let input: proc_macro2::TokenStream = source.parse().expect("test input tokenizes");
    let output = derive(input);
    let file = syn::parse2::<syn::File>(output).expect("expansion parses");
    prettyplease::unparse(&file)
}

#[test]
fn repr_c_struct_with_checks() {
    insta::assert_snapshot!(expand(
        r#"
        #[repr(C)]
        #[layout(max_size = 24, hot_first_line, no_straddle, cache_line = 32)]
        struct Job {
            #[hot]
            count: i64,
            timestamp: i64,
            #[cfg(feature = "ids")]
            id: u32,
            flag: bool,
        }
        "#
    ));
}

#[test]
fn tuple_struct_repr_rust() {
    insta::assert_snapshot!(expand("struct Pair(u8, u64);"));
}

#[test]
fn generic_struct_with_check_with() {
    insta::assert_snapshot!(expand(
        r#"
        #[layout(max_size = 16, check_with(T = u64, N = 2))]
        struct Slot<'a, T: Copy, const N: usize> where T: 'a {
            items: [T; N],
            name: &'a str,
        }
        "#
    ));
}

#[test]
fn enum_with_variant_bound() {
    insta::assert_snapshot!(expand(
        r#"
        #[layout(max_variant_size = 32)]
        enum Message {
            Ping,
            Text(String),
            Blob { bytes: [u8; 64], len: u8 },
        }
        "#
    ));
}

#[test]
fn renamed_crate_path() {
    insta::assert_snapshot!(expand(
        r#"
        #[kalam(crate = "my_kalam")]
        #[repr(C, packed)]
        struct Packed { tag: u8, value: u64 }
        "#
    ));
}

#[test]
fn misuse_emits_errors_and_a_stub() {
    insta::assert_snapshot!(expand(
        r#"
        #[layout(max_sise = 8, optimal = 1)]
        struct Broken<T> { #[hot(x)] value: T }
        "#
    ));
}

fn expand_attribute(
    macro_fn: fn(proc_macro2::TokenStream, proc_macro2::TokenStream) -> proc_macro2::TokenStream,
    args: &str,
    item: &str,
) -> String {
    let output = macro_fn(
        args.parse().expect("args tokenize"),
        item.parse().expect("item tokenizes"),
    );
    prettyplease::unparse(&syn::parse2::<syn::File>(output).expect("expansion parses"))
}

#[test]
fn hot_field_accessors() {
    insta::assert_snapshot!(expand(
        r#"
        pub struct Job<'a> {
            /// The job's id.
            #[hot(set)]
            id: u64,
            #[hot(vis = pub(crate), name = title)]
            name: String,
            #[hot]
            tags: Vec<u16>,
            #[hot]
            note: Option<String>,
            #[hot(copy, always)]
            status: Status,
            #[hot]
            label: &'a str,
            #[hot]
            blob: Box<[u8]>,
        }
        "#
    ));
}

#[test]
fn hot_on_an_impl_block() {
    insta::assert_snapshot!(expand_attribute(
        crate::expand::hot::attribute,
        "",
        r#"
        impl Cursor {
            fn next(&mut self) -> Option<u64> { self.pos += 1; Some(self.pos) }
            #[hot(always)]
            fn peek(&self) -> u64 { self.pos }
            #[inline(never)]
            fn rewind(&mut self) { self.pos = 0 }
            const START: u64 = 0;
        }
        "#
    ));
}

#[test]
fn opt_in_on_a_method() {
    insta::assert_snapshot!(expand_attribute(
        crate::expand::opt_in::attribute,
        r#""audit", feature = "audit-log""#,
        r#"
        pub fn record(&self, entry: &Entry) -> Option<u64> {
            self.log.push(entry.clone());
            Some(self.log.len() as u64)
        }
        "#
    ));
}

#[test]
fn opt_in_on_an_async_fn_with_default() {
    insta::assert_snapshot!(expand_attribute(
        crate::expand::opt_in::attribute,
        r#""metrics", default"#,
        "async fn flush(&self) -> Stats { self.sink.flush().await }",
    ));
}

#[test]
fn aligned_model_reorders_and_keeps_the_declared_layout() {
    insta::assert_snapshot!(expand_attribute(
        crate::expand::aligned_model::attribute,
        "",
        r#"
        #[repr(C)]
        #[derive(Debug)]
        pub struct Job {
            pub flag: bool,
            /// Count.
            pub count: i64,
            #[layout(align = 4)]
            pub id: Id,
        }
        "#
    ));
}

#[test]
fn kalam_table() {
    let input: proc_macro2::TokenStream = r#"
        #[table(name = "jobs", namespace = "system")]
        pub struct Job {
            #[column(primary_key)]
            namespace: String,
            #[column(primary_key)]
            job_id: i64,
            #[column(name = "kind")]
            job_type: u8,
            note: Option<String>,
            #[column(skip)]
            cached: Vec<String>,
        }
    "#
    .parse()
    .unwrap();
    let output = crate::expand::table::derive(input);
    let file = syn::parse2::<syn::File>(output).expect("expansion parses");
    insta::assert_snapshot!(prettyplease::unparse(&file));
}
