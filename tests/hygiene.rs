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
