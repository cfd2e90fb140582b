// repr(C) structs are checked for avoidable padding by default.
use kalam::AlignedModel;

#[derive(AlignedModel)]
#[repr(C)]
struct Job {
    flag: bool,
    count: i64,
    timestamp: i64,
    id: u32,
}

fn main() {}
