//! `#[hot]` accessors and the attribute form, used together under `use kalam::*`.

#![allow(dead_code)]

use kalam::*;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Status {
    Queued,
    Done,
}

#[derive(Clone, Debug, PartialEq)]
struct Owner {
    name: String,
}

#[derive(AlignedModel)]
struct Job<'a> {
    /// The job's id.
    #[hot(set)]
    id: u64,
    #[hot]
    name: String,
    #[hot(name = tag_list)]
    tags: Vec<u16>,
    #[hot]
    note: Option<String>,
    #[hot]
    retries: Option<u8>,
    #[hot(copy, set = mark)]
    status: Status,
    #[hot]
    owner: Owner,
    #[hot]
    label: &'a str,
    #[hot]
    blob: Box<[u8]>,
    #[hot(always)]
    flag: bool,
    cold: [u8; 4],
}

fn job() -> Job<'static> {
    Job {
        id: 7,
        name: "compact".to_owned(),
        tags: vec![1, 2],
        note: None,
        retries: Some(3),
        status: Status::Queued,
        owner: Owner {
            name: "ops".to_owned(),
        },
        label: "nightly",
        blob: vec![9, 8].into_boxed_slice(),
        flag: true,
        cold: [0; 4],
    }
}

#[test]
fn accessors_return_the_right_shapes() {
    let job = job();
    let id: u64 = job.id();
    let name: &str = job.name();
    let tags: &[u16] = job.tag_list();
    let note: Option<&String> = job.note();
    let retries: Option<u8> = job.retries();
    let status: Status = job.status();
    let owner: &Owner = job.owner();
    let label: &'static str = job.label();
    let blob: &[u8] = job.blob();
    let flag: bool = job.flag();
    assert_eq!(
        (
            id,
            name,
            tags,
            note,
            retries,
            status,
            owner.name.as_str(),
            label,
            blob,
            flag
        ),
        (
            7,
            "compact",
            &[1u16, 2][..],
            None,
            Some(3),
            Status::Queued,
            "ops",
            "nightly",
            &[9u8, 8][..],
            true
        )
    );
}

#[test]
fn setters_write_the_field() {
    let mut job = job();
    job.set_id(11);
    job.mark(Status::Done);
    assert_eq!((job.id(), job.status()), (11, Status::Done));
}

#[test]
fn accessors_are_const_where_the_body_allows() {
    #[derive(AlignedModel)]
    struct Point {
        #[hot(set)]
        x: i32,
        #[hot]
        y: i32,
    }
    const ORIGIN: Point = {
        let mut p = Point { x: 0, y: 2 };
        p.set_x(5);
        p
    };
    const X: i32 = ORIGIN.x();
    const Y: i32 = ORIGIN.y();
    assert_eq!((X, Y), (5, 2));
}

#[test]
fn generic_and_tuple_structs() {
    #[derive(AlignedModel)]
    struct Wrapper<T: Clone>(#[hot(name = inner)] T, u8);
    let w = Wrapper(String::from("x"), 1);
    assert_eq!(w.inner(), "x");
}

#[test]
fn hot_fields_feed_the_layout() {
    let layout = <Job<'static> as AlignedModel>::LAYOUT;
    let hot: Vec<&str> = layout
        .fields
        .iter()
        .filter(|f| f.hot)
        .map(|f| f.name)
        .collect();
    assert_eq!(hot.len(), 10);
    assert!(!layout.field("cold").unwrap().hot);
}

// The attribute form, on an impl block, a trait, a trait impl and a free fn, next to the
// field form above: both resolve under `use kalam::*`.
struct Counter {
    n: u64,
}

#[hot]
impl Counter {
    fn get(&self) -> u64 {
        self.n
    }

    #[hot(always)]
    fn bump(&mut self) {
        self.n += 1;
    }

    #[inline(never)]
    fn slow(&self) -> u64 {
        self.n * 2
    }
}

#[hot]
trait Source {
    fn read(&self) -> u64;

    fn read_twice(&self) -> u64 {
        self.read() * 2
    }
}

#[hot(always)]
impl Source for Counter {
    fn read(&self) -> u64 {
        self.n
    }
}

#[hot]
fn add(a: u64, b: u64) -> u64 {
    a + b
}

#[test]
fn attribute_form_keeps_behaviour() {
    let mut c = Counter { n: 1 };
    c.bump();
    assert_eq!(
        (c.get(), c.slow(), c.read(), c.read_twice(), add(2, 3)),
        (2, 4, 2, 4, 5)
    );
}
