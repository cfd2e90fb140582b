// A failing check reads the same in a module without the prelude.
#![no_implicit_prelude]

#[derive(::kalam::AlignedModel)]
#[repr(C)]
struct Job {
    flag: bool,
    count: i64,
    id: u8,
}

fn main() {}
