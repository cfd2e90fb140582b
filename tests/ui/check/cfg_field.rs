use kalam::AlignedModel;

// A field removed by #[cfg] is not part of the layout or its checks.
#[derive(AlignedModel)]
#[repr(C)]
#[layout(no_straddle, cache_line = 8)]
struct Probe {
    a: u8,
    #[cfg(any())]
    gone: u64,
    b: u16,
    c: u64,
    d: u32,
}

fn main() {}
