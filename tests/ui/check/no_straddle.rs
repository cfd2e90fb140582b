use kalam::AlignedModel;

#[derive(AlignedModel)]
#[repr(C, packed)]
#[layout(no_straddle)]
struct Record {
    head: [u8; 60],
    value: u64,
}

#[derive(AlignedModel)]
#[repr(C)]
#[layout(no_straddle, cache_line = 16)]
struct Big {
    id: u32,
    blob: [u8; 20],
}

fn main() {}
