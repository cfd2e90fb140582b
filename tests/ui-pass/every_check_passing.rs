// Every #[layout] key on types that satisfy it, built and run.
use kalam::AlignedModel;

#[derive(AlignedModel)]
#[repr(C, align(64))]
#[layout(size = 64, max_size = 64, optimal, hot_first_line, no_straddle, cache_line = 64)]
struct Counter {
    #[hot]
    hits: u64,
    #[hot]
    misses: u64,
    name: [u8; 16],
}

#[derive(AlignedModel)]
#[repr(C)]
#[layout(no_padding)]
struct Dense {
    #[layout(align = 8)]
    a: u64,
    b: u32,
    c: u16,
    d: u8,
    e: u8,
}

#[derive(AlignedModel)]
#[repr(C)]
#[layout(max_padding = 7, allow_waste)]
struct Wasteful {
    flag: bool,
    count: u64,
}

#[derive(AlignedModel)]
#[layout(max_size = 24, max_variant_size = 16)]
enum Value {
    Null,
    Int(i64),
    Pair(u32, u32),
    Text(Box<str>),
}

#[derive(AlignedModel)]
#[repr(C)]
#[layout(max_size = 16, check_with(T = u64), check_with(T = u8, N = 8))]
struct Slot<T, const N: usize = 4> {
    key: T,
    tag: [u8; N],
}

fn main() {
    assert_eq!(Counter::LAYOUT.size, 64);
    assert_eq!(Dense::LAYOUT.padding(), 0);
    assert_eq!(Wasteful::LAYOUT.padding(), 7);
    assert_eq!(Value::LAYOUT.variants.len(), 4);
    assert_eq!(<Slot<u64> as AlignedModel>::LAYOUT.size, 16);
}
