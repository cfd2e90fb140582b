//! Generated code compiles whatever the user's scope holds: no prelude, and local items
//! named like the ones it uses.

mod no_prelude {
    #![no_implicit_prelude]
    #![allow(dead_code, non_camel_case_types, unused_macros, unreachable_pub)]

    // Every name the expansion could pick up from its surroundings, shadowed.
    mod core {}
    mod std {}
    mod kalam {}
    struct Option;
    struct Some;
    struct None;
    struct Result;
    struct Ok;
    struct Err;
    struct str;
    struct usize;
    struct bool;
    trait AlignedModel {}
    trait Default {}
    fn size_of() {}
    fn align_of() {}
    macro_rules! panic {
        ($($t:tt)*) => {
            compile_error!("the expansion called an unqualified panic!")
        };
    }
    macro_rules! offset_of {
        ($($t:tt)*) => {
            compile_error!("the expansion called an unqualified offset_of!")
        };
    }

    #[derive(::kalam::AlignedModel)]
    #[repr(C)]
    #[layout(max_size = 24, optimal, hot_first_line, no_straddle, max_padding = 7)]
    pub struct Job {
        #[hot]
        pub count: i64,
        pub timestamp: i64,
        pub id: u32,
        pub flag: ::core::primitive::bool,
    }

    #[derive(::kalam::AlignedModel)]
    #[layout(max_size = 24, check_with(T = u32, N = 2))]
    pub struct Generic<'a, T, const N: ::core::primitive::usize> {
        pub items: [T; N],
        pub name: &'a ::core::primitive::str,
    }

    #[derive(::kalam::AlignedModel)]
    #[layout(max_variant_size = 16, max_size = 24)]
    pub enum Value {
        Int(i64),
        Pair(u32, u32),
    }

    #[derive(::kalam::AlignedModel)]
    pub struct Tuple(pub u8, pub u64);

    #[derive(::kalam::AlignedModel)]
    pub struct Unit;

    /// A node id stored as its integer, for a `via` column through an `Option`.
    #[derive(
        ::core::fmt::Debug, ::core::cmp::PartialEq, ::core::clone::Clone, ::core::marker::Copy,
    )]
    pub struct Node(pub u64);

    impl ::kalam::ColumnVia<u64> for Node {
        fn to_repr(&self) -> u64 {
            self.0
        }
        fn from_repr(repr: u64) -> ::core::result::Result<Self, ::std::string::String> {
            ::core::result::Result::Ok(Node(repr))
        }
    }

    #[derive(::kalam::KalamTable, ::core::fmt::Debug, ::core::cmp::PartialEq)]
    #[table(name = "rows", namespace = "hygiene")]
    pub struct Row {
        #[column(primary_key)]
        pub owner: ::std::string::String,
        #[column(primary_key)]
        pub seq: i64,
        pub note: ::core::option::Option<::std::string::String>,
        pub data: ::std::vec::Vec<u8>,
        #[column(via = u64)]
        pub leader: ::core::option::Option<Node>,
        #[column(skip)]
        pub cache: ::core::option::Option<u8>,
    }

    /// Gated, with a value to return when off.
    #[::kalam::opt_in_feature("hygiene_gate")]
    pub fn gated(x: u64) -> ::core::option::Option<u64> {
        ::core::option::Option::Some(x + 1)
    }

    pub struct Counter(pub u64);

    impl Counter {
        #[::kalam::opt_in_feature("hygiene_gate", default)]
        pub fn bump(&mut self) -> u64 {
            self.0 += 1;
            self.0
        }
    }
}

#[test]
fn tables_and_gates_work_without_a_prelude() {
    use kalam::Table;
    let row = no_prelude::Row {
        owner: "ann".to_owned(),
        seq: -3,
        note: Some("n".to_owned()),
        data: vec![1, 2],
        leader: Some(no_prelude::Node(9)),
        cache: None,
    };
    assert_eq!(no_prelude::Row::decode(&row.to_row()).unwrap(), row);
    assert_eq!(no_prelude::Row::key_for("ann", &-3), row.key());
    assert_eq!(<no_prelude::Row as Table>::NAME, "rows");

    assert_eq!(no_prelude::gated(1), None);
    let mut counter = no_prelude::Counter(0);
    assert_eq!(counter.bump(), 0);
    kalam::set_gate("hygiene_gate", true);
    assert_eq!(no_prelude::gated(1), Some(2));
    assert_eq!(counter.bump(), 1);
    kalam::set_gate("hygiene_gate", false);
}

#[test]
fn layouts_are_computed_without_a_prelude() {
    use kalam::AlignedModel;
    assert_eq!(<no_prelude::Job as AlignedModel>::LAYOUT.size, 24);
    assert_eq!(
        <no_prelude::Generic<'static, u8, 3> as AlignedModel>::LAYOUT
            .fields
            .len(),
        2
    );
    assert_eq!(
        <no_prelude::Value as AlignedModel>::LAYOUT.variants.len(),
        2
    );
    assert_eq!(
        <no_prelude::Tuple as AlignedModel>::LAYOUT.fields[0].name,
        "1"
    );
    assert_eq!(<no_prelude::Unit as AlignedModel>::LAYOUT.size, 0);
}
