//! `#[kalam::aligned_model]` on a varied set of `repr(C)` structs: the fields come out in
//! an order with no avoidable padding, they are the same fields, and the declared order is
//! still reported.

#![allow(dead_code)]

use std::marker::PhantomData;
use std::mem::size_of;
use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use kalam::{AlignedModel, StructLayout};

/// Checks `$ty` after reordering, against the names in declaration order.
fn assert_reordered(layout: &StructLayout, size: usize, declared: &[&str]) {
    assert_eq!(
        layout.size, size,
        "{}: LAYOUT agrees with size_of",
        layout.name
    );
    assert_eq!(
        layout.size,
        layout.optimal_size(),
        "{}: no avoidable padding",
        layout.name
    );
    let before = layout
        .declared
        .expect("a reordered struct reports its declared order");
    let names = |l: &StructLayout| l.fields.iter().map(|f| f.name).collect::<Vec<_>>();
    assert_eq!(
        names(before),
        declared,
        "{}: the declared layout keeps the declared order",
        layout.name
    );
    let mut now: Vec<_> = layout
        .fields
        .iter()
        .map(|f| (f.name, f.ty, f.size))
        .collect();
    let mut then: Vec<_> = before
        .fields
        .iter()
        .map(|f| (f.name, f.ty, f.size))
        .collect();
    now.sort_unstable();
    then.sort_unstable();
    assert_eq!(now, then, "{}: the same fields", layout.name);
    assert!(before.size >= layout.size);
}

#[kalam::aligned_model]
#[repr(C)]
#[derive(Debug, Clone, PartialEq)]
struct Job {
    flag: bool,
    count: i64,
    timestamp: i64,
    id: u32,
}

#[test]
fn the_design_example() {
    assert_reordered(
        &Job::LAYOUT,
        size_of::<Job>(),
        &["flag", "count", "timestamp", "id"],
    );
    assert_eq!(
        (Job::LAYOUT.size, Job::LAYOUT.declared.unwrap().size),
        (24, 32)
    );
    let order: Vec<&str> = Job::LAYOUT.fields.iter().map(|f| f.name).collect();
    assert_eq!(order, ["count", "timestamp", "id", "flag"]);
    // Struct literals, field access and derives work as before.
    let job = Job {
        flag: true,
        count: 2,
        timestamp: 3,
        id: 4,
    };
    assert_eq!(job.clone(), job);
    assert_eq!((job.flag, job.count, job.id), (true, 2, 4));
}

#[kalam::aligned_model]
#[repr(C)]
struct Mixed<'a> {
    tag: u8,
    name: &'a str,
    small: u16,
    bytes: Vec<u8>,
    wide: u128,
    ch: char,
    maybe: Option<Box<u32>>,
    grid: [u32; 3],
    pair: (u8, u64),
    shared: Arc<String>,
    counter: AtomicU32,
    nothing: (),
    marker: PhantomData<&'a u8>,
    empty: [u64; 0],
    ratio: f32,
    ptr: *const u8,
    callback: fn(u8) -> u8,
    last: bool,
}

#[test]
fn known_types_of_every_kind() {
    let layout = <Mixed<'static> as AlignedModel>::LAYOUT;
    assert_reordered(
        &layout,
        size_of::<Mixed<'static>>(),
        &[
            "tag", "name", "small", "bytes", "wide", "ch", "maybe", "grid", "pair", "shared",
            "counter", "nothing", "marker", "empty", "ratio", "ptr", "callback", "last",
        ],
    );
    // Zero-sized fields go last.
    let tail: Vec<&str> = layout.fields.iter().rev().take(3).map(|f| f.name).collect();
    assert!(
        tail.iter()
            .all(|name| ["nothing", "marker", "empty"].contains(name)),
        "{tail:?}"
    );
}

struct Opaque {
    a: u64,
    b: u8,
}

#[kalam::aligned_model]
#[repr(C)]
struct WithHint {
    flag: bool,
    #[layout(align = 8)]
    opaque: Opaque,
    id: u32,
}

#[test]
fn an_unknown_type_with_its_alignment_given() {
    assert_reordered(
        &WithHint::LAYOUT,
        size_of::<WithHint>(),
        &["flag", "opaque", "id"],
    );
    assert_eq!(WithHint::LAYOUT.fields[0].name, "opaque");
}

#[kalam::aligned_model]
#[repr(C)]
struct Configured {
    a: u8,
    #[cfg(any())]
    removed: u64,
    #[cfg(not(any()))]
    kept: u64,
    b: u16,
}

#[test]
fn cfg_fields_keep_their_cfg() {
    assert_reordered(
        &Configured::LAYOUT,
        size_of::<Configured>(),
        &["a", "kept", "b"],
    );
    let value = Configured {
        a: 1,
        kept: 2,
        b: 3,
    };
    assert_eq!(value.a + value.b as u8, 4);
}

#[kalam::aligned_model]
#[repr(C, align(64))]
#[layout(hot_first_line, max_size = 64)]
struct Session {
    name: [u8; 40],
    created: u64,
    #[hot]
    user_id: u32,
    #[hot]
    last_seen: u64,
}

#[test]
fn hot_fields_first_with_accessors() {
    let order: Vec<&str> = Session::LAYOUT.fields.iter().map(|f| f.name).collect();
    assert_eq!(
        order,
        ["last_seen", "user_id", "created", "name"],
        "hot first, then by alignment"
    );
    assert_eq!(Session::LAYOUT.declared.unwrap().repr, "C, align(64)");
    let session = Session {
        name: [0; 40],
        created: 1,
        user_id: 2,
        last_seen: 3,
    };
    assert_eq!((session.user_id(), session.last_seen()), (2, 3));
}

#[kalam::aligned_model]
#[repr(C)]
struct AlreadyOptimal {
    a: u64,
    b: u32,
    c: u16,
}

#[test]
fn an_optimal_struct_keeps_its_order() {
    let order: Vec<&str> = AlreadyOptimal::LAYOUT
        .fields
        .iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(order, ["a", "b", "c"]);
    assert_eq!(
        AlreadyOptimal::LAYOUT.declared.unwrap().size,
        AlreadyOptimal::LAYOUT.size
    );
}

#[test]
fn display_says_what_moved() {
    let table = Job::LAYOUT.to_string();
    assert!(
        table.ends_with(
            "reordered by #[kalam::aligned_model]: declared as flag, count, timestamp, id \
             (32 bytes, 11 of padding), now 24 bytes"
        ),
        "{table}"
    );
}

#[test]
fn struct_in_a_function_body() {
    #[kalam::aligned_model]
    #[repr(C)]
    struct Local {
        a: u8,
        b: u64,
    }
    assert_reordered(&Local::LAYOUT, size_of::<Local>(), &["a", "b"]);
}
