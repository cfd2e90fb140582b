// `optimal` on a repr(Rust) struct passes: rustc already ordered it. With repr(C) and
// an explicit key, the error points at the key.
use kalam::AlignedModel;

#[derive(AlignedModel)]
#[layout(optimal)]
struct Fine {
    flag: bool,
    count: i64,
}

#[derive(AlignedModel)]
#[repr(C)]
#[layout(optimal)]
struct Header {
    kind: u8,
    len: u32,
    crc: u16,
}

fn main() {}
