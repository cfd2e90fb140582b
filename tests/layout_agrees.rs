//! `LAYOUT` agrees with what the compiler says through `size_of`, `align_of` and
//! `offset_of!`, for every shape the derive accepts.

#![allow(dead_code)]

use std::mem::{align_of, offset_of, size_of};

use kalam::{AlignedModel, ModelKind, StructLayout};

/// Asserts that `$ty`'s layout lists exactly these fields, with the compiler's offsets and
/// sizes, sorted by offset, and that the padding figures add up.
macro_rules! assert_agrees {
    ($ty:ty { $($field:tt : $fty:ty),* $(,)? }) => {{
        let layout: StructLayout = <$ty as AlignedModel>::LAYOUT;
        assert_eq!(layout.kind, ModelKind::Struct);
        assert_eq!(layout.size, size_of::<$ty>(), "size of {}", stringify!($ty));
        assert_eq!(layout.align, align_of::<$ty>(), "align of {}", stringify!($ty));
        #[allow(unused_mut)]
        let mut expected: Vec<(String, usize, usize)> = vec![
            $((stringify!($field).trim_start_matches("r#").to_owned(), offset_of!($ty, $field), size_of::<$fty>())),*
        ];
        // Stable: zero-sized fields that share an offset stay in declaration order.
        expected.sort_by_key(|(_, offset, _)| *offset);
        let actual: Vec<(String, usize, usize)> =
            layout.fields.iter().map(|f| (f.name.to_owned(), f.offset, f.size)).collect();
        assert_eq!(actual, expected, "fields of {}", stringify!($ty));
        let data: usize = expected.iter().map(|(_, _, size)| size).sum();
        assert_eq!(layout.padding(), layout.size - data);
        assert_eq!(layout.holes().map(|h| h.size).sum::<usize>(), layout.padding());
        assert!(layout.optimal_size() <= layout.size);
        layout
    }};
}

#[derive(AlignedModel)]
struct Named {
    flag: bool,
    count: i64,
    id: u32,
    name: String,
}

#[derive(AlignedModel)]
#[repr(C)]
#[layout(allow_waste)]
struct NamedC {
    flag: bool,
    count: i64,
    id: u32,
    name: String,
}

#[derive(AlignedModel)]
struct Tuple(u8, u64, u16);

#[derive(AlignedModel)]
struct Unit;

#[derive(AlignedModel)]
struct Empty {}

#[derive(AlignedModel)]
struct Borrowed<'a, 'b: 'a> {
    text: &'a str,
    bytes: &'b [u8],
    n: u8,
}

#[derive(AlignedModel)]
struct ConstGeneric<const N: usize, T: Copy = u16> {
    items: [T; N],
    len: u8,
}

#[derive(AlignedModel)]
struct WithWhere<T>
where
    T: Clone + 'static,
{
    value: Option<T>,
    tag: u8,
}

#[derive(AlignedModel)]
#[repr(C)]
#[layout(allow_waste)]
struct Configured {
    a: u8,
    #[cfg(any())]
    removed: u64,
    #[cfg(not(any()))]
    kept: u32,
    b: u16,
}

#[derive(AlignedModel)]
#[repr(C, align(64))]
struct CacheAligned {
    hits: u64,
    misses: u64,
}

#[derive(AlignedModel)]
#[repr(C, packed)]
struct Packed {
    tag: u8,
    value: u64,
    len: u16,
}

#[derive(AlignedModel)]
#[repr(C, packed(2))]
struct Packed2 {
    tag: u8,
    value: u64,
}

#[derive(AlignedModel)]
#[repr(transparent)]
struct Wrapper(u64);

#[derive(AlignedModel)]
#[repr(C)]
#[layout(allow_waste)]
struct ZeroSized {
    marker: std::marker::PhantomData<u64>,
    a: u8,
    unit: (),
    b: u32,
    empty: [u64; 0],
}

#[derive(AlignedModel)]
struct RawNames {
    r#type: u8,
    r#match: u64,
}

#[test]
fn structs_of_every_shape() {
    assert_agrees!(Named {
        flag: bool,
        count: i64,
        id: u32,
        name: String
    });
    let c = assert_agrees!(NamedC {
        flag: bool,
        count: i64,
        id: u32,
        name: String
    });
    assert_eq!(
        c.fields.iter().map(|f| f.name).collect::<Vec<_>>(),
        ["flag", "count", "id", "name"]
    );
    assert_eq!(c.repr, "C");
    assert_agrees!(Tuple {
        0: u8,
        1: u64,
        2: u16
    });
    assert_eq!(assert_agrees!(Unit {}).size, 0);
    assert_agrees!(Empty {});
    assert_agrees!(Borrowed<'static, 'static> { text: &str, bytes: &[u8], n: u8 });
    assert_agrees!(ConstGeneric<3> { items: [u16; 3], len: u8 });
    assert_agrees!(ConstGeneric<5, u64> { items: [u64; 5], len: u8 });
    assert_agrees!(WithWhere<String> { value: Option<String>, tag: u8 });
    let configured = assert_agrees!(Configured {
        a: u8,
        kept: u32,
        b: u16
    });
    assert!(configured.field("removed").is_none());
    assert_eq!(
        assert_agrees!(CacheAligned {
            hits: u64,
            misses: u64
        })
        .repr,
        "C, align(64)"
    );
    let packed = assert_agrees!(Packed {
        tag: u8,
        value: u64,
        len: u16
    });
    assert_eq!((packed.repr, packed.padding()), ("C, packed", 0));
    assert!(
        packed.fields.iter().all(|f| f.align == 1),
        "packed caps alignment at 1"
    );
    let packed2 = assert_agrees!(Packed2 {
        tag: u8,
        value: u64
    });
    assert_eq!(packed2.field("value").map(|f| f.align), Some(2));
    assert_eq!(assert_agrees!(Wrapper { 0: u64 }).repr, "transparent");
    let zst = assert_agrees!(ZeroSized {
        marker: std::marker::PhantomData<u64>,
        a: u8,
        unit: (),
        b: u32,
        empty: [u64; 0],
    });
    assert_eq!(
        zst.optimal_order().last().map(|f| f.size),
        Some(0),
        "zero-sized fields go last"
    );
    let raw = assert_agrees!(RawNames {
        r#type: u8,
        r#match: u64
    });
    assert!(raw.field("type").is_some() && raw.field("match").is_some());
}

#[test]
fn struct_declared_in_a_function_body() {
    #[derive(AlignedModel)]
    #[layout(max_size = 16)]
    struct Local {
        a: u32,
        b: u64,
    }
    assert_agrees!(Local { a: u32, b: u64 });
}

#[test]
fn types_and_hot_flags_are_reported() {
    #[derive(AlignedModel)]
    struct Typed<'a> {
        #[hot]
        id: u64,
        map: std::collections::HashMap<String, Vec<(u8, u16)>>,
        callback: Option<fn(&'a str) -> usize>,
        grid: [[u8; 3]; 2],
    }
    let layout = <Typed<'static> as AlignedModel>::LAYOUT;
    let ty = |name: &str| layout.field(name).map(|f| (f.ty, f.hot));
    assert_eq!(ty("id"), Some(("u64", true)));
    assert_eq!(
        ty("map"),
        Some(("std::collections::HashMap<String, Vec<(u8, u16)>>", false))
    );
    assert_eq!(
        ty("callback"),
        Some(("Option<fn(&'a str) -> usize>", false))
    );
    assert_eq!(ty("grid"), Some(("[[u8; 3]; 2]", false)));
}

#[derive(AlignedModel)]
enum Value<T> {
    Null,
    Int(i64),
    Pair(u8, u32),
    Text {
        text: String,
        flags: u8,
    },
    Custom(T),
    #[cfg(any())]
    Removed([u8; 512]),
}

#[derive(AlignedModel)]
#[repr(u8)]
enum Code {
    A = 1,
    B = 2,
}

#[derive(AlignedModel)]
enum Never {}

#[test]
fn enums_report_size_and_payloads() {
    let layout = <Value<[u8; 40]> as AlignedModel>::LAYOUT;
    assert_eq!(layout.kind, ModelKind::Enum);
    assert_eq!(layout.size, size_of::<Value<[u8; 40]>>());
    assert_eq!(layout.align, align_of::<Value<[u8; 40]>>());
    let payloads: Vec<(&str, usize)> = layout
        .variants
        .iter()
        .map(|v| (v.name, v.payload))
        .collect();
    assert_eq!(
        payloads,
        [
            ("Null", 0),
            ("Int", size_of::<i64>()),
            ("Pair", size_of::<(u8, u32)>()),
            ("Text", size_of::<(String, u8)>()),
            ("Custom", 40),
        ]
    );
    assert!(layout.fields.is_empty());
    assert_eq!((layout.padding(), layout.optimal_size()), (0, layout.size));

    let code = <Code as AlignedModel>::LAYOUT;
    assert_eq!((code.repr, code.size), ("u8", 1));
    assert_eq!(<Never as AlignedModel>::LAYOUT.size, 0);
}

/// The order the error messages suggest really reaches `optimal_size` when declared.
#[test]
fn the_suggested_order_reaches_the_optimum() {
    #[derive(AlignedModel)]
    #[repr(C)]
    #[layout(allow_waste)]
    struct Job {
        flag: bool,
        count: i64,
        timestamp: i64,
        id: u32,
    }
    #[derive(AlignedModel)]
    #[repr(C)]
    #[layout(optimal, size = 24)]
    struct JobReordered {
        count: i64,
        timestamp: i64,
        id: u32,
        flag: bool,
    }
    let job = Job::LAYOUT;
    let order: Vec<&str> = job.optimal_order().map(|f| f.name).collect();
    let declared: Vec<&str> = JobReordered::LAYOUT.fields.iter().map(|f| f.name).collect();
    assert_eq!(order, declared);
    assert_eq!(job.optimal_size(), JobReordered::LAYOUT.size);
    assert_eq!(job.avoidable_padding(), 8);
}
