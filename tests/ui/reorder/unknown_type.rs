use std::collections::HashMap;

#[kalam::aligned_model]
#[repr(C)]
struct Index<T> {
    flag: bool,
    map: HashMap<u64, u64>,
    value: T,
    #[layout(align = 8)]
    known: Custom,
}

struct Custom(u64);

fn main() {}
